import { describe, expect, it } from 'vitest';
import { getPath, issuesAt, setPath } from '../../src/admin/ui/src/shared/config-fields.ts';
import { configDiff, hasChanges, lineDiff, prettyConfig } from '../../src/admin/ui/src/shared/diff.ts';
import { filterTenants, NO_FILTER, stateSummary, type FilterableTenant, type TenantState } from '../../src/admin/ui/src/shared/tenant-filter.ts';

/** The UI's pure parts: the diff shown before a save and in a conflict, and the form's field access. */
describe('config diff', () => {
  it('ignores key order and shows only real changes', () => {
    expect(hasChanges(configDiff({ a: 1, b: { c: 2, d: 3 } }, { b: { d: 3, c: 2 }, a: 1 }))).toBe(false);
    const lines = configDiff({ version: 'v1', status: 'active' }, { version: 'v2', status: 'active' });
    expect(lines.filter((line) => line.kind !== 'same')).toEqual([
      { kind: 'del', text: '  "version": "v1"' },
      { kind: 'add', text: '  "version": "v2"' },
    ]);
  });

  it('shows a creation as all additions and a deletion as all deletions', () => {
    expect(configDiff(null, { a: 1 }).every((line) => line.kind === 'add')).toBe(true);
    expect(configDiff({ a: 1 }, null).every((line) => line.kind === 'del')).toBe(true);
    expect(configDiff(null, null)).toEqual([]);
  });

  it('keeps a raw non-JSON value as text', () => {
    expect(prettyConfig('not json')).toBe('not json');
    expect(lineDiff('a\nb\nc', 'a\nc\nd')).toEqual([
      { kind: 'same', text: 'a' },
      { kind: 'del', text: 'b' },
      { kind: 'same', text: 'c' },
      { kind: 'add', text: 'd' },
    ]);
  });
});

describe('form fields', () => {
  const config = { version: 'v1', data_source: { type: 'fs', path: 'x' }, theme: { primary_color: '#fff' } };

  it('reads and writes dotted paths without touching other fields', () => {
    expect(getPath(config, 'data_source.path')).toBe('x');
    expect(getPath(config, 'index_params.chunk_size')).toBeUndefined();
    const next = setPath(config, 'index_params.chunk_size', 256);
    expect(next).toEqual({ ...config, index_params: { chunk_size: 256 } });
    expect(config).not.toHaveProperty('index_params');
  });

  it('removes emptied fields and the parents they leave empty', () => {
    expect(setPath(config, 'theme.primary_color', '')).toEqual({ version: 'v1', data_source: { type: 'fs', path: 'x' } });
    expect(setPath(config, 'version', undefined)).not.toHaveProperty('version');
  });

  it('finds the issues of a field', () => {
    const issues = [
      { path: 'theme.primary_color', message: 'bad' },
      { path: 'version', message: 'required' },
    ];
    expect(issuesAt(issues, 'theme.primary_color')).toEqual(['bad']);
    expect(issuesAt(issues, 'theme')).toEqual([]);
  });
});

describe('tenant list filter', () => {
  const tenant = (tenant_id: string, state: TenantState, extra: Partial<{ valid: boolean; last_error: unknown; warnings: string[] }> = {}): FilterableTenant => ({
    tenant_id,
    valid: extra.valid ?? true,
    status: { state, last_error: extra.last_error ?? null, warnings: extra.warnings ?? [] },
  });
  const tenants = [
    tenant('acme', 'ready'),
    tenant('acme-eu', 'ready', { warnings: ['bump version'] }),
    tenant('beta', 'failed', { last_error: { code: 'source_not_found' } }),
    tenant('gamma', 'building'),
    tenant('delta', 'ready', { valid: false }),
    { tenant_id: 'new', valid: true, status: null },
  ];
  const ids = (list: FilterableTenant[]) => list.map((t) => t.tenant_id);

  it('sorts by id, as KV key order does not (a-b/config sorts before a/config)', () => {
    expect(ids(filterTenants([tenant('shop-eu', 'ready'), tenant('shop', 'ready')], NO_FILTER))).toEqual(['shop', 'shop-eu']);
  });

  it('matches the id case-insensitively, ignoring surrounding spaces', () => {
    expect(ids(filterTenants(tenants, { text: ' ACME ', needsAttentionOnly: false }))).toEqual(['acme', 'acme-eu']);
    expect(ids(filterTenants(tenants, NO_FILTER))).toEqual(['acme', 'acme-eu', 'beta', 'delta', 'gamma', 'new']);
    expect(filterTenants(tenants, { text: 'zzz', needsAttentionOnly: false })).toEqual([]);
  });

  it('keeps only tenants that need attention: warnings, failures, errors, invalid configs', () => {
    expect(ids(filterTenants(tenants, { text: '', needsAttentionOnly: true }))).toEqual(['acme-eu', 'beta', 'delta']);
    expect(ids(filterTenants(tenants, { text: 'acme', needsAttentionOnly: true }))).toEqual(['acme-eu']);
  });

  it('summarises states in a fixed order and leaves zeros out', () => {
    expect(stateSummary(tenants)).toBe('3 ready, 1 building, 1 failed, 1 pending');
    expect(stateSummary([])).toBe('');
  });
});
