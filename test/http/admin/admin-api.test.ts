import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { inProcessIndexBuilder } from '../../../src/indexing/index-builder.ts';
import { ConsulKvClient, type KvClient } from '../../../src/kv/consul-kv-client.ts';
import { EmbeddedKvServer } from '../../../src/kv/kv-server.ts';
import { startService, type RunningService } from '../../../src/service.ts';
import { tenantConfigKey } from '../../../src/tenants/desired-tenants.ts';
import { PREFIX, testSettings } from '../../helpers/stack.ts';

/**
 * The admin API against a real service on the embedded KV server: bearer auth, check-and-set
 * writes (If-Match = ModifyIndex), validation, audit records, reindex, theme, and what happens
 * when KV is down. Builds run in process on the shipped example documents.
 */

const TOKEN = 'admin-test-token-0123456789';
const AUDIT = 'rag/audit/';
const config = (version: string, extra: Record<string, unknown> = {}) => ({
  version,
  data_source: { type: 'fs', path: 'examples/acme-handbook' },
  index_params: { chunk_size: 128, chunk_overlap: 16 },
  ...extra,
});

let kv: EmbeddedKvServer;
let kvClient: KvClient;
let service: RunningService;
let dataDir: string;

interface Answer {
  status: number;
  body: any;
  headers: Headers;
}

async function api(method: string, url: string, options: { body?: unknown; headers?: Record<string, string>; token?: string | null } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? TOKEN : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${service.url}/admin/api${url}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
}

const putConfig = (tenant: string, body: unknown, ifMatch?: string | number, headers: Record<string, string> = {}) =>
  api('PUT', `/tenants/${tenant}/config`, { body, headers: { ...headers, ...(ifMatch === undefined ? {} : { 'if-match': String(ifMatch) }) } });

function expectError(answer: Answer, status: number, code: string) {
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  expect(answer.body.error).toBe(code);
  expect(answer.body.message.length).toBeGreaterThan(0);
}

async function kvValue(tenant: string): Promise<unknown> {
  const { value } = await kvClient.get(tenantConfigKey(PREFIX, tenant));
  return value ? JSON.parse(value.value!) : undefined;
}

async function auditFor(tenant: string): Promise<any[]> {
  return (await api('GET', '/audit?limit=100')).body.records.filter((record: any) => record.tenant_id === tenant);
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'ragswap-admin-'));
  kv = await EmbeddedKvServer.start({ port: 0, dataDir });
  kvClient = new ConsulKvClient({ address: kv.address, requestTimeoutMs: 2_000 });
  service = await startService({ settings: testSettings({ consulAddress: kv.address, adminToken: TOKEN, auditPrefix: AUDIT }), builder: inProcessIndexBuilder });
});

afterAll(async () => {
  await service?.close();
  await kv?.stop().catch(() => undefined);
  await rm(dataDir, { recursive: true, force: true });
});

describe('bearer token', () => {
  it.each([
    ['no Authorization header', null],
    ['a wrong token', 'not-the-token-0123456789'],
    ['a prefix of the token', TOKEN.slice(0, -1)],
    ['an empty token', ''],
  ])('rejects %s with 401 and WWW-Authenticate: Bearer', async (_name, token) => {
    const answer = await api('GET', '/tenants', { token });
    expectError(answer, 401, 'unauthorized');
    expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('guards every admin route, including writes, before they touch KV', async () => {
    expectError(await api('PUT', '/tenants/intruder/config', { token: null, body: config('v1'), headers: { 'if-match': '0' } }), 401, 'unauthorized');
    expectError(await api('POST', '/tenants/intruder/reindex', { token: 'x' }), 401, 'unauthorized');
    expectError(await api('GET', '/audit', { token: null }), 401, 'unauthorized');
    expectError(await api('GET', '/rollout', { token: null }), 401, 'unauthorized');
    expect(await kvValue('intruder')).toBeUndefined();
  });

  it('leaves the public routes alone', async () => {
    expect((await fetch(`${service.url}/health`)).status).toBe(200);
    expect((await fetch(`${service.url}/tenants`)).status).toBe(200);
  });

  it('generates a token when ADMIN_TOKEN is unset and serves no admin API when disabled', async () => {
    const generated = await startService({ settings: testSettings({ consulAddress: kv.address }), builder: inProcessIndexBuilder });
    const disabled = await startService({ settings: testSettings({ consulAddress: kv.address, adminEnabled: false }), builder: inProcessIndexBuilder });
    try {
      expect(generated.adminToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const ok = await fetch(`${generated.url}/admin/api/tenants`, { headers: { authorization: `Bearer ${generated.adminToken}` } });
      expect(ok.status).toBe(200);
      expect(disabled.adminToken).toBeUndefined();
      expect((await fetch(`${disabled.url}/admin/api/tenants`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
      expect((await fetch(`${disabled.url}/admin/`)).status).toBe(404);
    } finally {
      await generated.close();
      await disabled.close();
    }
  });
});

describe('tenant config CRUD with check-and-set', () => {
  it('creates with If-Match: 0, reads back with modify_index and ETag, and builds', async () => {
    const created = await putConfig('alpha', config('v1'), 0, { 'x-admin-user': 'alice' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ tenant_id: 'alpha', config: config('v1'), warnings: [] });
    expect(created.body.modify_index).toBeGreaterThan(0);
    expect(created.headers.get('etag')).toBe(`"${created.body.modify_index}"`);

    const read = await api('GET', '/tenants/alpha/config');
    expect(read.status).toBe(200);
    expect(read.body).toEqual({ tenant_id: 'alpha', modify_index: created.body.modify_index, config: config('v1'), valid: true, issues: [] });
    expect(read.headers.get('etag')).toBe(`"${created.body.modify_index}"`);
    expect(await kvValue('alpha')).toEqual(config('v1'));

    await vi.waitFor(async () => expect(((await api('GET', '/tenants')).body.tenants.find((t: any) => t.tenant_id === 'alpha')?.status?.state)).toBe('ready'), { timeout: 15_000, interval: 50 });
  });

  it('lists every config with its modify_index and this pod\'s status', async () => {
    await kvClient.put(tenantConfigKey(PREFIX, 'handmade'), '{"version": "v1", "data_source": {"type": "fs"}}');
    await kvClient.put(tenantConfigKey(PREFIX, 'garbage'), 'not json at all');
    const list = await api('GET', '/tenants');
    expect(list.status).toBe(200);
    expect(list.body.kv_index).toBeGreaterThan(0);
    const byId = Object.fromEntries(list.body.tenants.map((tenant: any) => [tenant.tenant_id, tenant]));
    expect(byId.alpha).toMatchObject({ valid: true, issues: [], config: config('v1'), status: { state: 'ready', serving_version: 'v1', documents: 4 } });
    expect(byId.alpha.modify_index).toBeGreaterThan(0);
    expect(byId.handmade).toMatchObject({ valid: false, issues: [{ path: 'data_source.path' }] });
    expect(byId.garbage).toMatchObject({ valid: false, config: 'not json at all', issues: [{ path: '', message: 'not valid JSON' }] });
  });

  it.each([
    ['PUT', '/tenants/plain/config', 'text/plain'],
    ['PUT', '/tenants/plain/config', 'application/x-www-form-urlencoded'],
    ['POST', '/validate', 'text/plain'],
    ['POST', '/validate', 'multipart/form-data; boundary=x'],
  ])('%s %s with %s answers 415 unsupported_media_type and writes nothing', async (method, url, contentType) => {
    const response = await fetch(`${service.url}/admin/api${url}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': contentType, 'if-match': '0' },
      body: JSON.stringify(config('v1')),
    });
    expectError({ status: response.status, body: await response.json(), headers: response.headers }, 415, 'unsupported_media_type');
    expect(await kvValue('plain')).toBeUndefined();
  });

  it('refuses to create a tenant that exists (409 with the current value)', async () => {
    const current = await api('GET', '/tenants/alpha/config');
    const answer = await putConfig('alpha', config('v9'), 0);
    expectError(answer, 409, 'conflict');
    expect(answer.body.current).toEqual({ config: config('v1'), modify_index: current.body.modify_index });
    expect(await kvValue('alpha')).toEqual(config('v1'));
  });

  it('answers 428 precondition_required without If-Match, for PUT and DELETE', async () => {
    expectError(await putConfig('alpha', config('v2')), 428, 'precondition_required');
    expectError(await api('DELETE', '/tenants/alpha/config'), 428, 'precondition_required');
    expect(await kvValue('alpha')).toEqual(config('v1'));
  });

  it.each(['abc', '-1', '1.5', '*', 'W/"1"', '"1", "2"', '99999999999999999'])('rejects If-Match %j with 400', async (ifMatch) => {
    expectError(await putConfig('alpha', config('v2'), ifMatch), 400, 'invalid_request');
  });

  it.each(['UPPER', 'a.b', '-lead', 'x'.repeat(64), '%F0%9F%98%80'])('rejects the tenant id %j with 400', async (tenant) => {
    expectError(await putConfig(tenant, config('v1'), 0), 400, 'invalid_request');
    expectError(await api('GET', `/tenants/${tenant}/config`), 400, 'invalid_request');
    expectError(await api('POST', `/tenants/${tenant}/reindex`), 400, 'invalid_request');
  });

  it('rejects a bad X-Admin-User', async () => {
    expectError(await putConfig('beta', config('v1'), 0, { 'x-admin-user': 'bob smith' }), 400, 'invalid_request');
    expect(await kvValue('beta')).toBeUndefined();
  });

  it('answers 404 for a config that does not exist', async () => {
    expectError(await api('GET', '/tenants/nobody/config'), 404, 'tenant_not_found');
  });

  it('rejects invalid configs with 400 naming each field, and writes nothing', async () => {
    const answer = await putConfig('beta', { version: '', data_source: { type: 's3', bucket: 'NO' }, colour: 'red', theme: { primary_color: 'blue' } }, 0);
    expectError(answer, 400, 'invalid_config');
    expect(answer.body.issues).toEqual(
      expect.arrayContaining([
        { path: 'version', message: expect.any(String) },
        { path: 'data_source.bucket', message: expect.any(String) },
        { path: 'colour', message: 'unknown field' },
        { path: 'theme.primary_color', message: 'must be a CSS hex color such as #1f6feb' },
      ]),
    );
    expectError(await putConfig('beta', [1, 2], 0), 400, 'invalid_config');
    expectError(await putConfig('beta', '{"version": ', 0), 400, 'invalid_request');
    expect(await kvValue('beta')).toBeUndefined();
  });

  it('validates without saving (the UI checks before showing the diff)', async () => {
    expect((await api('POST', '/validate', { body: config('v1') })).body).toEqual({ valid: true, issues: [] });
    const invalid = await api('POST', '/validate', { body: { version: 'v1' } });
    expect(invalid.body).toEqual({ valid: false, issues: [{ path: 'data_source', message: 'is required' }] });
  });

  it('accepts a config with a logo larger than the 64 KiB query body limit', async () => {
    const logo = `data:image/png;base64,${'A'.repeat(150_000)}`;
    const answer = await putConfig('logo', config('v1', { theme: { logo_url: logo } }), 0);
    expect(answer.status).toBe(201);
    expect(((await kvValue('logo')) as any).theme.logo_url).toBe(logo);
  });

  it('two writers with the same If-Match: exactly one wins, the other gets 409 with the winner, nothing is lost', async () => {
    const read = await api('GET', '/tenants/alpha/config');
    const index = read.body.modify_index;
    const [a, b] = await Promise.all([
      putConfig('alpha', config('v2', { status: 'active' }), index, { 'x-admin-user': 'alice' }),
      putConfig('alpha', config('v2', { embedding_model: 'hash' }), index, { 'x-admin-user': 'bob' }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const [winner, loser] = a.status === 200 ? [a, b] : [b, a];
    const loserConfig = loser === a ? config('v2', { status: 'active' }) : config('v2', { embedding_model: 'hash' });
    expectError(loser, 409, 'conflict');
    expect(loser.body.current).toEqual({ config: winner.body.config, modify_index: winner.body.modify_index });
    expect(await kvValue('alpha')).toEqual(winner.body.config);

    // The loser resolves the conflict by saving again on top of what it now knows.
    const retried = await putConfig('alpha', { ...loserConfig, version: 'v3' }, loser.body.current.modify_index);
    expect(retried.status).toBe(200);
    expect(await kvValue('alpha')).toEqual({ ...loserConfig, version: 'v3' });

    const records = await auditFor('alpha');
    expect(records.slice(0, 2).map((record) => [record.action, record.old_version, record.new_version])).toEqual([
      ['update', 'v2', 'v3'],
      ['update', 'v1', 'v2'],
    ]);
    expect(records[1].new_config).toEqual(winner.body.config);
    expect(records[1].who).toBe(winner === a ? 'alice' : 'bob');
  });

  it('a stale If-Match is a 409 and changes nothing', async () => {
    const before = await kvValue('alpha');
    const answer = await putConfig('alpha', config('v99'), 1);
    expectError(answer, 409, 'conflict');
    expect(answer.body.current.config).toEqual(before);
    expect(await kvValue('alpha')).toEqual(before);
  });

  it('deletes with check-and-set only', async () => {
    const created = await putConfig('gamma', config('v1'), 0);
    expectError(await api('DELETE', '/tenants/gamma/config', { headers: { 'if-match': '0' } }), 400, 'invalid_request');
    const stale = await api('DELETE', '/tenants/gamma/config', { headers: { 'if-match': String(created.body.modify_index - 1) } });
    expectError(stale, 409, 'conflict');
    expect(stale.body.current.modify_index).toBe(created.body.modify_index);
    const deleted = await api('DELETE', '/tenants/gamma/config', { headers: { 'if-match': `"${created.body.modify_index}"`, 'x-admin-user': 'carol' } });
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ tenant_id: 'gamma', deleted: true });
    expect(await kvValue('gamma')).toBeUndefined();
    expectError(await api('GET', '/tenants/gamma/config'), 404, 'tenant_not_found');
    expectError(await api('DELETE', '/tenants/gamma/config', { headers: { 'if-match': String(created.body.modify_index) } }), 404, 'tenant_not_found');
    const [record] = await auditFor('gamma');
    expect(record).toMatchObject({ action: 'delete', who: 'carol', old_version: 'v1', new_version: null, old_config: config('v1'), new_config: null });
  });
});

describe('reindex', () => {
  it('bumps a trailing number with CAS and the pod rebuilds', async () => {
    const created = await putConfig('delta', config('v3', { status: 'active' }), 0);
    expect(created.status).toBe(201);
    const answer = await api('POST', '/tenants/delta/reindex', { headers: { 'x-admin-user': 'dave' } });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ tenant_id: 'delta', old_version: 'v3', version: 'v4', config: config('v4', { status: 'active' }) });
    expect(answer.body.modify_index).toBeGreaterThan(created.body.modify_index);
    expect(await kvValue('delta')).toEqual(config('v4', { status: 'active' }));
    await vi.waitFor(async () => expect(((await (await fetch(`${service.url}/tenants/delta`)).json()) as any).serving_version).toBe('v4'), { timeout: 15_000, interval: 50 });
    const [record] = await auditFor('delta');
    expect(record).toMatchObject({ action: 'reindex', who: 'dave', old_version: 'v3', new_version: 'v4' });
  });

  it('appends a UTC timestamp to a version without a number', async () => {
    await putConfig('epsilon', config('main'), 0);
    const answer = await api('POST', '/tenants/epsilon/reindex');
    expect(answer.body.version).toMatch(/^main-\d{14}$/);
  });

  it('answers 404 for an unknown tenant and 400 for an invalid config in KV', async () => {
    expectError(await api('POST', '/tenants/nobody/reindex'), 404, 'tenant_not_found');
    expectError(await api('POST', '/tenants/garbage/reindex'), 400, 'invalid_config');
    expect((await kvClient.get(tenantConfigKey(PREFIX, 'garbage'))).value?.value).toBe('not json at all');
  });

  it('rejects a bump that would exceed the version length limit', async () => {
    await putConfig('zeta', config('x'.repeat(120)), 0);
    const answer = await api('POST', '/tenants/zeta/reindex');
    expectError(answer, 400, 'invalid_config');
    expect(answer.body.issues[0].path).toBe('version');
  });
});

describe('audit log', () => {
  it('records who, when, action, versions and configs, newest first', async () => {
    await putConfig('eta', config('v1'), 0, { 'x-admin-user': 'erin' });
    const [record] = (await api('GET', '/audit?limit=1')).body.records;
    expect(record).toMatchObject({ action: 'create', who: 'erin', tenant_id: 'eta', old_version: null, new_version: 'v1', old_config: null, new_config: config('v1') });
    expect(Date.now() - Date.parse(record.at)).toBeLessThan(10_000);
    expect(record.id).toMatch(/^\d{15}-[0-9a-f]{8}$/);
    const { value: stored } = await kvClient.get(`${AUDIT}${record.id}`);
    expect(JSON.parse(stored!.value!)).toEqual(record);
  });

  it('pages with limit and before, and has no next on the last page', async () => {
    const all = (await api('GET', '/audit?limit=100')).body.records;
    expect(all.length).toBeGreaterThan(5);
    const ids = all.map((record: any) => record.id);
    expect([...ids].sort().reverse()).toEqual(ids);
    const first = await api('GET', '/audit?limit=2');
    expect(first.body.records.map((r: any) => r.id)).toEqual(ids.slice(0, 2));
    expect(first.body.next).toBe(ids[1]);
    const second = await api('GET', `/audit?limit=2&before=${first.body.next}`);
    expect(second.body.records.map((r: any) => r.id)).toEqual(ids.slice(2, 4));
    const last = await api('GET', `/audit?limit=100&before=${ids.at(-2)}`);
    expect(last.body).toEqual({ records: [all.at(-1)], next: null });
    expect((await api('GET', '/audit')).body.records).toHaveLength(Math.min(20, all.length));
  });

  it.each(['limit=0', 'limit=101', 'limit=-1', 'limit=abc', 'limit=2.5', 'before=nope', 'before=123', 'page=2'])('rejects ?%s with 400', async (query) => {
    expectError(await api('GET', `/audit?${query}`), 400, 'invalid_request');
  });

  it('ignores foreign keys under the audit prefix', async () => {
    await kvClient.put(`${AUDIT}README`, 'not a record');
    await kvClient.put(`${AUDIT}000000000000001-0000000a`, '{broken');
    const records = (await api('GET', '/audit?limit=100')).body.records;
    expect(records.every((record: any) => record.id !== 'README' && record.tenant_id)).toBe(true);
  });
});

describe('rollout on a single pod', () => {
  it('shows this pod only when RAGSWAP_PEERS is unset', async () => {
    const answer = await api('GET', '/rollout');
    expect(answer.status).toBe(200);
    expect(answer.body.pods).toEqual([{ pod: expect.any(String), url: null, reachable: true, error: null }]);
    expect(answer.body.tenants.find((tenant: any) => tenant.tenant_id === 'delta')).toMatchObject({ converged: true, pods: [{ state: 'ready', serving_version: 'v4', desired_version: 'v4' }] });
  });
});

describe('tenant theme (public)', () => {
  it('serves the theme and tenant id only, follows KV changes, 404 for unknown tenants', async () => {
    const read = await api('GET', '/tenants/alpha/config');
    const themed = { ...read.body.config, theme: { primary_color: '#aa0000', font_color: '#111' } };
    expect((await putConfig('alpha', themed, read.body.modify_index)).status).toBe(200);
    await vi.waitFor(async () => {
      const response = await fetch(`${service.url}/t/alpha/theme.json`);
      expect(response.headers.get('cache-control')).toBe('no-cache');
      expect(await response.json()).toEqual({ tenant_id: 'alpha', theme: { primary_color: '#aa0000', font_color: '#111' } });
    });
    expect(await (await fetch(`${service.url}/t/eta/theme.json`)).json()).toEqual({ tenant_id: 'eta', theme: {} });
    expect((await fetch(`${service.url}/t/nobody/theme.json`)).status).toBe(404);
    expect((await fetch(`${service.url}/t/NOPE/theme.json`)).status).toBe(400);
  });
});

describe('KV down', () => {
  it('answers 503 kv_unavailable for reads and writes', async () => {
    await kv.stop();
    expectError(await api('GET', '/tenants'), 503, 'kv_unavailable');
    expectError(await api('GET', '/tenants/alpha/config'), 503, 'kv_unavailable');
    expectError(await putConfig('alpha', config('v5'), 1), 503, 'kv_unavailable');
    expectError(await api('POST', '/tenants/alpha/reindex'), 503, 'kv_unavailable');
    expectError(await api('GET', '/audit'), 503, 'kv_unavailable');
    // The rollout view reads pods, not KV: it keeps working.
    expect((await api('GET', '/rollout')).status).toBe(200);
  });
});
