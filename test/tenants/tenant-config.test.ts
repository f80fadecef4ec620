import { describe, expect, it } from 'vitest';
import { ConfigValidationError } from '../../src/errors.ts';
import { indexFingerprint, isValidTenantId, parseTenantConfig, stableStringify, validateTenantConfig } from '../../src/tenants/tenant-config.ts';

const valid = {
  version: 'v1.2',
  data_source: { type: 's3', bucket: 'kb-alpha', prefix: 'documents/2023-11/', region: 'us-east-1', endpoint: 'http://127.0.0.1:9000', force_path_style: true },
  index_params: { chunk_size: 512, chunk_overlap: 50 },
  embedding_model: 'hash',
  status: 'active',
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
