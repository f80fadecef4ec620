import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value';
import { ConfigValidationError, type ConfigIssue } from '../errors.ts';
import { LLM_NAME_PATTERN } from '../models/model-names.ts';

/**
 * The tenant configuration stored in Consul KV at `{CONFIG_KV_PREFIX}{tenant_id}/config`.
 * One schema serves the watcher, the admin API and the docs, so that what an operator can save is
 * exactly what a pod can load.
 */

export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

const S3DataSourceSchema = Type.Object(
  {
    type: Type.Literal('s3'),
    // S3 bucket naming rules (lower-case, 3..63, no leading/trailing dot or dash).
    bucket: Type.String({ pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' }),
    prefix: Type.Optional(Type.String({ maxLength: 1024 })),
    region: Type.Optional(Type.String({ pattern: '^[a-z0-9-]{1,32}$' })),
    endpoint: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 2048 })),
    force_path_style: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const FsDataSourceSchema = Type.Object(
  {
    type: Type.Literal('fs'),
    path: Type.String({ minLength: 1, maxLength: 4096 }),
  },
  { additionalProperties: false },
);

const IndexParamsSchema = Type.Object(
  {
    chunk_size: Type.Optional(Type.Integer({ minimum: 32, maximum: 8192 })),
    chunk_overlap: Type.Optional(Type.Integer({ minimum: 0, maximum: 4096 })),
  },
  { additionalProperties: false },
);

/** `patternMessage` replaces TypeBox's "expected string to match <regex>", which operators cannot read. */
const HexColor = Type.String({ pattern: '^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$', patternMessage: 'must be a CSS hex color such as #1f6feb' });
/** A logo travels inside the config (no separate asset store), so it is a bounded data URL. */
export const MAX_LOGO_URL_LENGTH = 200_000;

/**
 * Presentation of the tenant search page. Values end up in CSS and an <img src>, so only strict hex
 * colours and image data URLs are allowed: nothing here can inject markup or load remote content.
 */
const ThemeSchema = Type.Object(
  {
    primary_color: Type.Optional(HexColor),
    secondary_color: Type.Optional(HexColor),
    font_color: Type.Optional(HexColor),
    logo_url: Type.Optional(
      Type.String({
        pattern: '^data:image/(png|jpeg|gif|svg\\+xml|webp);base64,[A-Za-z0-9+/]+={0,2}$',
        patternMessage: 'must be a base64 data URL of a png, jpeg, gif, svg+xml or webp image',
        maxLength: MAX_LOGO_URL_LENGTH,
      }),
    ),
  },
  { additionalProperties: false },
);

export const DEFAULT_TOP_K = 4;
export const MAX_TOP_K = 50;

/** How queries find chunks. Read per query (like `status`): never part of the index fingerprint. */
const RetrievalSchema = Type.Object(
  {
    mode: Type.Optional(Type.Union([Type.Literal('dense'), Type.Literal('bm25'), Type.Literal('hybrid')])),
    top_k: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_TOP_K })),
  },
  { additionalProperties: false },
);

/** Per-pod query limits, applied from KV on every query (no rebuild). */
const RateLimitSchema = Type.Object(
  {
    qps: Type.Number({ exclusiveMinimum: 0, maximum: 100_000 }),
    burst: Type.Integer({ minimum: 1, maximum: 100_000 }),
  },
  { additionalProperties: false },
);

const LlmSchema = Type.String({ pattern: LLM_NAME_PATTERN, maxLength: 208, patternMessage: 'must be extractive, openai:<model> or ollama:<model>' });

const DATA_SOURCE_SCHEMAS: Record<string, TSchema> = { s3: S3DataSourceSchema, fs: FsDataSourceSchema };

export const TenantConfigSchema = Type.Object(
  {
    version: Type.String({ minLength: 1, maxLength: 128 }),
    data_source: Type.Union([S3DataSourceSchema, FsDataSourceSchema]),
    index_params: Type.Optional(IndexParamsSchema),
    embedding_model: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('inactive')])),
    theme: Type.Optional(ThemeSchema),
    retrieval: Type.Optional(RetrievalSchema),
    llm: Type.Optional(LlmSchema),
    rate_limit: Type.Optional(RateLimitSchema),
    max_concurrent_queries: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
  },
  { additionalProperties: false },
);

export type S3DataSourceConfig = Static<typeof S3DataSourceSchema>;
export type FsDataSourceConfig = Static<typeof FsDataSourceSchema>;
export type DataSourceConfig = S3DataSourceConfig | FsDataSourceConfig;
export type TenantTheme = Static<typeof ThemeSchema>;
type RawTenantConfig = Static<typeof TenantConfigSchema>;

/** A validated config with every default filled in. */
export interface TenantConfig {
  readonly version: string;
  readonly data_source: DataSourceConfig;
  readonly index_params: { readonly chunk_size: number; readonly chunk_overlap: number };
  readonly embedding_model: string;
  readonly status: 'active' | 'inactive';
  /** Search-page theme; never part of the index fingerprint. Absent means the page's defaults. */
  readonly theme?: TenantTheme;
  /** Query-time settings (no rebuild): dense, bm25 or hybrid (default) retrieval; top_k default 4. */
  readonly retrieval: { readonly mode: 'dense' | 'bm25' | 'hybrid'; readonly top_k: number };
  /** Answer synthesis: `extractive` (default), `openai:<model>` or `ollama:<model>`. Query-time, no rebuild. */
  readonly llm: string;
  /** Per-pod token bucket for queries; absent means unlimited. Query-time, no rebuild. */
  readonly rate_limit?: { readonly qps: number; readonly burst: number };
  /** Per-pod cap on queries running at once for this tenant; absent means unlimited. */
  readonly max_concurrent_queries?: number;
}

export const DEFAULT_CHUNK_SIZE = 512;
export const DEFAULT_CHUNK_OVERLAP = 50;
export const DEFAULT_EMBEDDING_MODEL = 'hash';
export const DEFAULT_LLM = 'extractive';

export function isValidTenantId(tenantId: string): boolean {
  return TENANT_ID_PATTERN.test(tenantId);
}

/** Parses a KV value (UTF-8 JSON text) into a validated config, or throws ConfigValidationError. */
export function parseTenantConfig(text: string): TenantConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigValidationError([{ path: '', message: `not valid JSON: ${(error as Error).message}` }]);
  }
  return validateTenantConfig(value);
}

export function validateTenantConfig(value: unknown): TenantConfig {
  const issues = collectIssues(value);
  if (issues.length > 0) throw new ConfigValidationError(issues);
  return withDefaults(value as RawTenantConfig);
}

function collectIssues(value: unknown): ConfigIssue[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return [{ path: '', message: 'must be a JSON object' }];
  }
  // The union's errors are unreadable ("expected union"), so data_source is checked against the
  // schema its `type` selects, and the rest of the document against the schema without it.
  const { data_source: dataSource, ...rest } = value as Record<string, unknown>;
  const issues = [...Value.Errors(Type.Omit(TenantConfigSchema, ['data_source']), rest)].map((error) => toIssue(error));
  issues.push(...dataSourceIssues(dataSource));
  const params = (value as { index_params?: { chunk_size?: unknown; chunk_overlap?: unknown } }).index_params;
  const chunkSize = typeof params?.chunk_size === 'number' ? params.chunk_size : DEFAULT_CHUNK_SIZE;
  if (typeof params?.chunk_overlap === 'number' && params.chunk_overlap >= chunkSize) {
    issues.push({ path: 'index_params.chunk_overlap', message: `must be less than chunk_size (${chunkSize})` });
  }
  return dedupeIssues(issues);
}

function dataSourceIssues(dataSource: unknown): ConfigIssue[] {
  if (dataSource === undefined) return [{ path: 'data_source', message: 'is required' }];
  if (typeof dataSource !== 'object' || dataSource === null || Array.isArray(dataSource)) {
    return [{ path: 'data_source', message: 'must be an object' }];
  }
  const type = (dataSource as { type?: unknown }).type;
  const schema = typeof type === 'string' ? DATA_SOURCE_SCHEMAS[type] : undefined;
  if (!schema) {
    return [{ path: 'data_source.type', message: `must be one of ${Object.keys(DATA_SOURCE_SCHEMAS).join(', ')}` }];
  }
  return [...Value.Errors(schema, dataSource)].map((error) => toIssue(error, 'data_source'));
}

function toIssue(error: ValueError, parent?: string): ConfigIssue {
  const pointer = error.path.split('/').filter(Boolean).map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
  const path = [...(parent ? [parent] : []), ...pointer].join('.');
  return { path, message: issueMessage(error) };
}

function issueMessage(error: ValueError): string {
  if (error.type === ValueErrorType.ObjectAdditionalProperties) return 'unknown field';
  const patternMessage = (error.schema as { patternMessage?: unknown }).patternMessage;
  if (error.type === ValueErrorType.StringPattern && typeof patternMessage === 'string') return patternMessage;
  const choices = (error.schema as { anyOf?: { const?: unknown }[] }).anyOf?.map((option) => option.const);
  if (error.type === ValueErrorType.Union && choices?.every((choice) => typeof choice === 'string')) {
    return `must be one of ${choices.join(', ')}`;
  }
  return error.message.charAt(0).toLowerCase() + error.message.slice(1);
}

/** One issue per field: a missing field otherwise also reports that `undefined` is not a string. */
function dedupeIssues(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    if (seen.has(issue.path)) return false;
    seen.add(issue.path);
    return true;
  });
}

function withDefaults(raw: RawTenantConfig): TenantConfig {
  return {
    version: raw.version,
    data_source: raw.data_source,
    index_params: {
      chunk_size: raw.index_params?.chunk_size ?? DEFAULT_CHUNK_SIZE,
      chunk_overlap: raw.index_params?.chunk_overlap ?? DEFAULT_CHUNK_OVERLAP,
    },
    embedding_model: raw.embedding_model ?? DEFAULT_EMBEDDING_MODEL,
    status: raw.status ?? 'active',
    ...(raw.theme ? { theme: raw.theme } : {}),
    retrieval: { mode: raw.retrieval?.mode ?? 'hybrid', top_k: raw.retrieval?.top_k ?? DEFAULT_TOP_K },
    llm: raw.llm ?? DEFAULT_LLM,
    ...(raw.rate_limit ? { rate_limit: raw.rate_limit } : {}),
    ...(raw.max_concurrent_queries ? { max_concurrent_queries: raw.max_concurrent_queries } : {}),
  };
}

/**
 * The part of a config that determines the built index. Two configs with the same fingerprint
 * produce the same index; a change here without a version bump earns a warning, not a rebuild.
 */
export function indexFingerprint(config: TenantConfig): string {
  return stableStringify({
    data_source: config.data_source,
    index_params: config.index_params,
    embedding_model: config.embedding_model,
  });
}

/** JSON with sorted keys, so that key order in KV does not look like a change. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, entry]) => entry !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, entry]) => `${JSON.stringify(key)}:${stableStringify(entry)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
