import { describe, expect, it } from 'vitest';
import type { KvEntry } from '../../src/kv/consul-kv-client.ts';
import { DesiredTenants, tenantConfigKey, tenantIdFromKey } from '../../src/tenants/desired-tenants.ts';

const PREFIX = 'rag/tenants/';
const config = (version: string) => JSON.stringify({ version, data_source: { type: 'fs', path: 'examples/acme-handbook' } });
const entry = (tenant: string, modifyIndex: number, value: string, createIndex = 1): KvEntry => ({
  key: tenantConfigKey(PREFIX, tenant),
  value,
  createIndex,
  modifyIndex,
  flags: 0,
});

describe('tenantIdFromKey', () => {
  it('takes only {prefix}{tenant}/config with a valid tenant id', () => {
    expect(tenantIdFromKey(PREFIX, 'rag/tenants/acme/config')).toBe('acme');
    expect(tenantIdFromKey(PREFIX, 'rag/tenants/acme/notes')).toBeUndefined();
    expect(tenantIdFromKey(PREFIX, 'rag/tenants/acme/sub/config')).toBeUndefined();
    expect(tenantIdFromKey(PREFIX, 'rag/tenants/ACME/config')).toBeUndefined();
    expect(tenantIdFromKey(PREFIX, 'other/acme/config')).toBeUndefined();
  });
});

describe('DesiredTenants', () => {
  it('parses new keys, skips unchanged ModifyIndex and reports deletions', () => {
    const desired = new DesiredTenants(PREFIX);
    expect(desired.applySnapshot([entry('a', 5, config('v1')), entry('b', 6, config('v1'))])).toEqual(['a', 'b']);
    expect(desired.applySnapshot([entry('a', 5, config('v1')), entry('b', 6, config('v1'))])).toEqual([]);
    expect(desired.applySnapshot([entry('a', 7, config('v2'))])).toEqual(['a', 'b']);
    expect(desired.get('a')?.config?.version).toBe('v2');
    expect(desired.get('b')).toBeUndefined();
    expect(desired.tenantIds()).toEqual(['a']);
  });

  it('does not let a re-created key inherit the deleted one\'s config when its first value is invalid', () => {
    const desired = new DesiredTenants(PREFIX);
    desired.applySnapshot([entry('a', 5, config('v1'), 5)]);
    // Deleted and written again with a broken value, both in one snapshot: a new CreateIndex.
    desired.applySnapshot([entry('a', 9, '{"version": broken', 9)]);
    expect(desired.get('a')).toMatchObject({ createIndex: 9, modifyIndex: 9, config: undefined });
    expect(desired.get('a')?.error).toBeDefined();
  });

  it('keeps the last valid config as the target when the new value is invalid', () => {
    const desired = new DesiredTenants(PREFIX);
    desired.applySnapshot([entry('a', 5, config('v1'))]);
    desired.applySnapshot([entry('a', 8, '{"version": broken')]);
    const tenant = desired.get('a');
    expect(tenant?.error?.message).toMatch(/not valid JSON/);
    expect(tenant?.config?.version).toBe('v1');
    expect(tenant?.modifyIndex).toBe(8);
    desired.applySnapshot([entry('a', 9, config('v3'))]);
    expect(desired.get('a')?.error).toBeUndefined();
    expect(desired.get('a')?.config?.version).toBe('v3');
  });

  it('has no target for a tenant whose first value is invalid', () => {
    const desired = new DesiredTenants(PREFIX);
    desired.applySnapshot([entry('a', 5, '{"version":"v1"}')]);
    expect(desired.get('a')?.config).toBeUndefined();
    expect(desired.get('a')?.error?.issues.map((issue) => issue.path)).toEqual(['data_source']);
  });

  it('ignores other keys under the prefix', () => {
    const desired = new DesiredTenants(PREFIX);
    const other: KvEntry = { key: 'rag/tenants/a/secrets', value: 'x', createIndex: 1, modifyIndex: 3, flags: 0 };
    expect(desired.applySnapshot([other])).toEqual([]);
  });

  it('treats an empty value as invalid config, not a crash', () => {
    const desired = new DesiredTenants(PREFIX);
    desired.applySnapshot([{ ...entry('a', 4, ''), value: null }]);
    expect(desired.get('a')?.error).toBeDefined();
  });
});
