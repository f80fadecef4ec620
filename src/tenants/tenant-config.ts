import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value';
import { ConfigValidationError, type ConfigIssue } from '../errors.ts';

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

const DATA_SOURCE_SCHEMAS: Record<string, TSchema> = { s3: S3DataSourceSchema, fs: FsDataSourceSchema };

export const TenantConfigSchema = Type.Object(
  {
    version: Type.String({ minLength: 1, maxLength: 128 }),
    data_source: Type.Union([S3DataSourceSchema, FsDataSourceSchema]),
    index_params: Type.Optional(IndexParamsSchema),
    embedding_model: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('inactive')])),
  },
  { additionalProperties: false },
);

export type S3DataSourceConfig = Static<typeof S3DataSourceSchema>;
export type FsDataSourceConfig = Static<typeof FsDataSourceSchema>;
export type DataSourceConfig = S3DataSourceConfig | FsDataSourceConfig;
type RawTenantConfig = Static<typeof TenantConfigSchema>;

/** A validated config with every default filled in. */
export interface TenantConfig {
  readonly version: string;
  readonly data_source: DataSourceConfig;
  readonly index_params: { readonly chunk_size: number; readonly chunk_overlap: number };
  readonly embedding_model: string;
  readonly status: 'active' | 'inactive';
}

export const DEFAULT_CHUNK_SIZE = 512;
export const DEFAULT_CHUNK_OVERLAP = 50;
export const DEFAULT_EMBEDDING_MODEL = 'hash';

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
