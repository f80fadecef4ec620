import { describe, expect, it } from 'vitest';
import { ConfigValidationError } from '../../src/errors.ts';
import { indexFingerprint, isValidTenantId, parseTenantConfig, stableStringify, validateTenantConfig } from '../../src/tenants/tenant-config.ts';

const valid = {
  version: 'v1.2',
  data_source: { type: 's3', bucket: 'kb-alpha', prefix: 'documents/2023-11/', region: 'us-east-1', endpoint: 'http://127.0.0.1:9000', force_path_style: true },
  index_params: { chunk_size: 512, chunk_overlap: 50 },
  embedding_model: 'hash',
  status: 'active',
  retrieval: { mode: 'hybrid', top_k: 4 },
  llm: 'extractive',
};

function issuesOf(value: unknown): { path: string; message: string }[] {
  try {
    validateTenantConfig(value);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigValidationError);
    return [...(error as ConfigValidationError).issues];
  }
  throw new Error('expected a validation error');
}

function paths(value: unknown): string[] {
  return issuesOf(value).map((issue) => issue.path);
}

const withField = (path: string[], fieldValue: unknown) => {
  const copy = structuredClone(valid) as Record<string, unknown>;
  let target = copy;
  for (const segment of path.slice(0, -1)) target = target[segment] as Record<string, unknown>;
  const last = path.at(-1)!;
  if (fieldValue === undefined) delete target[last];
  else target[last] = fieldValue;
  return copy;
};

describe('tenant config validation', () => {
  it('accepts the documented example and keeps every field', () => {
    const config = validateTenantConfig(valid);
    expect(config).toEqual(valid);
  });

  it('fills defaults for optional fields', () => {
    const config = validateTenantConfig({ version: 'v1', data_source: { type: 'fs', path: 'examples/x' } });
    expect(config.index_params).toEqual({ chunk_size: 512, chunk_overlap: 50 });
    expect(config.embedding_model).toBe('hash');
    expect(config.status).toBe('active');
  });

  it('names unknown fields at every level', () => {
    expect(issuesOf({ ...valid, colour: 'red' })).toContainEqual({ path: 'colour', message: 'unknown field' });
    expect(paths(withField(['data_source', 'bukket'], 'x'))).toContain('data_source.bukket');
    expect(paths(withField(['index_params', 'chunksize'], 1))).toContain('index_params.chunksize');
  });

  it.each([
    [['version'], undefined, 'version'],
    [['version'], '', 'version'],
    [['version'], 12, 'version'],
    [['version'], 'x'.repeat(129), 'version'],
    [['data_source'], undefined, 'data_source'],
    [['data_source'], 'kb-alpha', 'data_source'],
    [['data_source', 'type'], 'gcs', 'data_source.type'],
    [['data_source', 'type'], undefined, 'data_source.type'],
    [['data_source', 'bucket'], undefined, 'data_source.bucket'],
    [['data_source', 'bucket'], 'KB_Alpha', 'data_source.bucket'],
    [['data_source', 'bucket'], 'ab', 'data_source.bucket'],
    [['data_source', 'prefix'], 7, 'data_source.prefix'],
    [['data_source', 'region'], 'US East', 'data_source.region'],
    [['data_source', 'endpoint'], 'ftp://x', 'data_source.endpoint'],
    [['data_source', 'force_path_style'], 'yes', 'data_source.force_path_style'],
    [['index_params'], 'big', 'index_params'],
    [['index_params', 'chunk_size'], 16, 'index_params.chunk_size'],
    [['index_params', 'chunk_size'], 10_000, 'index_params.chunk_size'],
    [['index_params', 'chunk_size'], 100.5, 'index_params.chunk_size'],
    [['index_params', 'chunk_overlap'], -1, 'index_params.chunk_overlap'],
    [['index_params', 'chunk_overlap'], 512, 'index_params.chunk_overlap'],
    [['embedding_model'], '', 'embedding_model'],
    [['embedding_model'], 3, 'embedding_model'],
    [['status'], 'paused', 'status'],
  ])('rejects %j = %j naming %s', (path, fieldValue, expectedPath) => {
    expect(paths(withField(path, fieldValue))).toContain(expectedPath);
  });

  it('validates the fs source on its own schema', () => {
    expect(validateTenantConfig({ version: 'v1', data_source: { type: 'fs', path: '/srv/kb' } }).data_source).toEqual({ type: 'fs', path: '/srv/kb' });
    expect(paths({ version: 'v1', data_source: { type: 'fs' } })).toContain('data_source.path');
    expect(paths({ version: 'v1', data_source: { type: 'fs', path: '/x', bucket: 'b' } })).toContain('data_source.bucket');
  });

  it('explains a status value with the allowed choices', () => {
    expect(issuesOf(withField(['status'], 'paused'))).toContainEqual({ path: 'status', message: 'must be one of active, inactive' });
  });

  it('reports every problem at once, not only the first', () => {
    expect(paths({ version: 1, data_source: { type: 's3' }, extra: true }).sort()).toEqual(['data_source.bucket', 'extra', 'version']);
  });

  it('rejects JSON that does not parse and documents that are not objects', () => {
    expect(() => parseTenantConfig('{"version": ')).toThrow(/not valid JSON/);
    expect(() => parseTenantConfig('[]')).toThrow(/must be a JSON object/);
    expect(() => parseTenantConfig('null')).toThrow(/must be a JSON object/);
  });
});

describe('tenant theme', () => {
  const base = { version: 'v1', data_source: { type: 'fs', path: 'examples/x' } };
  const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

  it('accepts hex colors and an image data URL, and keeps them', () => {
    const theme = { primary_color: '#1f6feb', secondary_color: '#FFF', font_color: '#0a0a0a', logo_url: PNG };
    expect(validateTenantConfig({ ...base, theme }).theme).toEqual(theme);
    expect(validateTenantConfig({ ...base, theme: { logo_url: 'data:image/svg+xml;base64,PHN2Zy8+' } }).theme).toEqual({ logo_url: 'data:image/svg+xml;base64,PHN2Zy8+' });
  });

  it('is optional and absent when not given', () => {
    expect(validateTenantConfig(base).theme).toBeUndefined();
  });

  it.each([
    ['primary_color', 'red'],
    ['primary_color', '#12345'],
    ['secondary_color', '#gggggg'],
    ['font_color', '123456'],
    ['font_color', '#1234567'],
    ['primary_color', '#fff; background: url(x)'],
  ])('rejects %s = %j with a readable message', (field, value) => {
    expect(issuesOf({ ...base, theme: { [field]: value } })).toContainEqual({ path: `theme.${field}`, message: 'must be a CSS hex color such as #1f6feb' });
  });

  it.each([
    'https://cdn.example/logo.png',
    'data:text/html;base64,PHNjcmlwdD4=',
    'data:image/png,raw-not-base64',
    'data:image/png;base64,<script>',
    'javascript:alert(1)',
  ])('rejects the logo_url %j', (logo) => {
    expect(paths({ ...base, theme: { logo_url: logo } })).toEqual(['theme.logo_url']);
  });

  it('rejects a logo over the size limit and unknown theme fields', () => {
    expect(paths({ ...base, theme: { logo_url: `data:image/png;base64,${'A'.repeat(200_000)}` } })).toEqual(['theme.logo_url']);
    expect(issuesOf({ ...base, theme: { background: '#fff' } })).toContainEqual({ path: 'theme.background', message: 'unknown field' });
    expect(paths({ ...base, theme: '#fff' })).toEqual(['theme']);
  });

  it('does not change the index fingerprint', () => {
    const plain = validateTenantConfig(base);
    expect(indexFingerprint(validateTenantConfig({ ...base, theme: { primary_color: '#000' } }))).toBe(indexFingerprint(plain));
  });
});

describe('tenant ids', () => {
  it.each(['a', 'acme', 'tenant_1', 'a-b', '0', 'a'.repeat(63)])('accepts %s', (id) => expect(isValidTenantId(id)).toBe(true));
  it.each(['', 'A', '-a', '_a', 'a/b', '../a', 'a.b', 'ä', 'a'.repeat(64), 'a b'])('rejects %j', (id) => expect(isValidTenantId(id)).toBe(false));
});

describe('indexFingerprint', () => {
  const config = validateTenantConfig(valid);
  it('ignores fields that do not affect the index and key order', () => {
    expect(indexFingerprint({ ...config, status: 'inactive', version: 'v9' })).toBe(indexFingerprint(config));
    const reordered = validateTenantConfig({ status: 'active', embedding_model: 'hash', index_params: { chunk_overlap: 50, chunk_size: 512 }, data_source: valid.data_source, version: 'v1.2' });
    expect(indexFingerprint(reordered)).toBe(indexFingerprint(config));
  });
  it('changes with the data source, chunking or embedding model', () => {
    expect(indexFingerprint({ ...config, embedding_model: 'other' })).not.toBe(indexFingerprint(config));
    expect(indexFingerprint({ ...config, index_params: { chunk_size: 256, chunk_overlap: 50 } })).not.toBe(indexFingerprint(config));
    expect(indexFingerprint({ ...config, data_source: { type: 'fs', path: '/x' } })).not.toBe(indexFingerprint(config));
  });
  it('stableStringify sorts keys and drops undefined', () => {
    expect(stableStringify({ b: 1, a: [{ d: 2, c: undefined }] })).toBe('{"a":[{"d":2}],"b":1}');
  });
});

describe('tenant config: retrieval and llm', () => {
  const base = { version: 'v1', data_source: { type: 'fs', path: 'examples/x' } };

  it('defaults to hybrid retrieval, top_k 4 and the extractive answer', () => {
    const config = validateTenantConfig(base);
    expect(config.retrieval).toEqual({ mode: 'hybrid', top_k: 4 });
    expect(config.llm).toBe('extractive');
  });

  it('accepts each retrieval mode and a top_k of 1..50, and fills a missing half', () => {
    for (const mode of ['dense', 'bm25', 'hybrid'] as const) expect(validateTenantConfig({ ...base, retrieval: { mode } }).retrieval).toEqual({ mode, top_k: 4 });
    expect(validateTenantConfig({ ...base, retrieval: { top_k: 50 } }).retrieval).toEqual({ mode: 'hybrid', top_k: 50 });
  });

  it('rejects unknown modes, out-of-range top_k and unknown retrieval fields, naming the field', () => {
    expect(paths({ ...base, retrieval: { mode: 'sparse' } })).toEqual(['retrieval.mode']);
    expect(paths({ ...base, retrieval: { top_k: 0 } })).toEqual(['retrieval.top_k']);
    expect(paths({ ...base, retrieval: { top_k: 51 } })).toEqual(['retrieval.top_k']);
    expect(paths({ ...base, retrieval: { mode: 'dense', rerank: true } })).toEqual(['retrieval.rerank']);
  });

  it('accepts extractive, openai:<model> and ollama:<model> as llm and rejects anything else readably', () => {
    for (const llm of ['extractive', 'openai:gpt-4o-mini', 'ollama:llama3.1:8b', 'openai:Qwen/Qwen2.5-7B-Instruct']) {
      expect(validateTenantConfig({ ...base, llm }).llm).toBe(llm);
    }
    for (const llm of ['gpt-4o', 'openai:', 'ollama:has space', 'anthropic:claude', '']) {
      expect(issuesOf({ ...base, llm })).toEqual([{ path: 'llm', message: 'must be extractive, openai:<model> or ollama:<model>' }]);
    }
  });

  it('keeps retrieval and llm out of the index fingerprint (query-time settings, no rebuild)', () => {
    const plain = validateTenantConfig(base);
    const tuned = validateTenantConfig({ ...base, retrieval: { mode: 'bm25', top_k: 9 }, llm: 'ollama:llama3' });
    expect(indexFingerprint(tuned)).toBe(indexFingerprint(plain));
  });
});

describe('per-tenant limits', () => {
  const base = { version: 'v1', data_source: { type: 'fs', path: '/kb' } };
  it('accepts rate_limit and max_concurrent_queries and keeps them out of the fingerprint', () => {
    const limited = validateTenantConfig({ ...base, rate_limit: { qps: 2.5, burst: 5 }, max_concurrent_queries: 3 });
    expect(limited.rate_limit).toEqual({ qps: 2.5, burst: 5 });
    expect(limited.max_concurrent_queries).toBe(3);
    expect(indexFingerprint(limited)).toBe(indexFingerprint(validateTenantConfig(base)));
    expect(validateTenantConfig(base).rate_limit).toBeUndefined();
  });
  it.each([
    [{ rate_limit: { qps: 0, burst: 1 } }, 'rate_limit.qps'],
    [{ rate_limit: { qps: -1, burst: 1 } }, 'rate_limit.qps'],
    [{ rate_limit: { qps: 1 } }, 'rate_limit.burst'],
    [{ rate_limit: { qps: 1, burst: 0 } }, 'rate_limit.burst'],
    [{ rate_limit: { qps: 1, burst: 1.5 } }, 'rate_limit.burst'],
    [{ rate_limit: { qps: 1, burst: 1, window: 3 } }, 'rate_limit.window'],
    [{ max_concurrent_queries: 0 }, 'max_concurrent_queries'],
    [{ max_concurrent_queries: 'many' }, 'max_concurrent_queries'],
  ])('rejects %j naming %s', (extra, path) => {
    expect(paths({ ...base, ...extra })).toContain(path);
  });
});
