import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readAuthSettings } from '../../src/http/auth/auth-settings.ts';
import { inProcessIndexBuilder } from '../../src/indexing/index-builder.ts';
import { ConsulKvClient } from '../../src/kv/consul-kv-client.ts';
import { EmbeddedKvServer } from '../../src/kv/kv-server.ts';
import { createLogger } from '../../src/logger.ts';
import { startService, type RunningService } from '../../src/service.ts';
import { tenantConfigKey } from '../../src/tenants/desired-tenants.ts';
import { PREFIX, testSettings } from '../helpers/stack.ts';

/**
 * AUTH_MODE=jwt end to end: tokens, scopes, tenant claims, the three tenant-resolution modes,
 * per-tenant limits applied live from KV, and logs that never carry a credential.
 */

const SECRET = 'an-hs256-secret-for-the-auth-tests-0123456789';
const ISSUER = 'https://idp.test';
const AUDIENCE = 'ragswap';
const CONSUL_TOKEN = 'consul-acl-token-never-logged';
const ACME = { version: 'v1', data_source: { type: 'fs', path: 'examples/acme-handbook' }, index_params: { chunk_size: 128, chunk_overlap: 16 } };

let kv: EmbeddedKvServer;
let kvClient: ConsulKvClient;
let service: RunningService;
let dataDir: string;
const logLines: string[] = [];
const issuedTokens: string[] = [];

async function token(claims: Record<string, unknown>, options: { expiresIn?: number; secret?: string } = {}): Promise<string> {
  const jwt = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (options.expiresIn ?? 300))
    .sign(new TextEncoder().encode(options.secret ?? SECRET));
  issuedTokens.push(jwt);
  return jwt;
}

function query(url: string, headers: Record<string, string> = {}, body: unknown = { query: 'How many vacation days?' }) {
  return service.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', ...headers }, payload: JSON.stringify(body) });
}

const bearer = (jwt: string) => ({ authorization: `Bearer ${jwt}` });

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'ragswap-auth-'));
  kv = await EmbeddedKvServer.start({ port: 0, dataDir, aclToken: CONSUL_TOKEN });
  kvClient = new ConsulKvClient({ address: kv.address, token: CONSUL_TOKEN });
  await kvClient.put(tenantConfigKey(PREFIX, 'acme'), JSON.stringify(ACME));
  await kvClient.put(tenantConfigKey(PREFIX, 'beta'), JSON.stringify({ ...ACME, data_source: { type: 'fs', path: 'examples/tea-guide-zh' } }));
  const auth = readAuthSettings(
    { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE, TENANT_RESOLUTION: 'path,header,subdomain', TENANT_BASE_DOMAIN: 'rag.test' },
    '127.0.0.1',
  );
  const logger = createLogger({ level: 'trace' }, { write: (line: string) => void logLines.push(line) });
  service = await startService({
    settings: testSettings({ consulAddress: kv.address, consulToken: CONSUL_TOKEN, auth }),
    builder: inProcessIndexBuilder,
    logger,
  });
  await vi.waitFor(() => expect(service.manager.statuses().filter((status) => status.state === 'ready')).toHaveLength(2), { timeout: 20_000, interval: 25 });
});

afterAll(async () => {
  await service?.close();
  await kv?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('query authentication and authorization', () => {
  it('answers a token for the tenant with the query scope', async () => {
    const response = await query('/query/acme', bearer(await token({ sub: 'app', tenant_id: 'acme', scope: 'query' })));
    expect(response.statusCode).toBe(200);
    expect(response.json().response).toContain('25 days');
  });

  it('401 with WWW-Authenticate for missing, malformed, expired or forged tokens', async () => {
    const cases = [
      {},
      { authorization: 'Basic YWxhZGRpbjpvcGVu' },
      { authorization: 'Bearer not.a.jwt' },
      bearer(await token({ tenant_id: 'acme', scope: 'query' }, { expiresIn: -3600 })),
      bearer(await token({ tenant_id: 'acme', scope: 'query' }, { secret: 'some-other-secret-that-is-long-enough-0000' })),
    ];
    for (const headers of cases) {
      const response = await query('/query/acme', headers);
      expect(response.statusCode).toBe(401);
      expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(response.json().error).toBe('unauthorized');
    }
  });

  it('403 tenant_mismatch for another tenant or no tenant claim, 403 insufficient_scope without query', async () => {
    expect((await query('/query/beta', bearer(await token({ tenant_id: 'acme', scope: 'query' })))).json().error).toBe('tenant_mismatch');
    expect((await query('/query/acme', bearer(await token({ scope: 'query' })))).json().error).toBe('tenant_mismatch');
    const noScope = await query('/query/acme', bearer(await token({ tenant_id: 'acme', scope: 'admin' })));
    expect(noScope.statusCode).toBe(403);
    expect(noScope.json().error).toBe('insufficient_scope');
  });

  it('accepts `tid` as the tenant claim', async () => {
    expect((await query('/query/acme', bearer(await token({ tid: 'acme', scp: ['query'] })))).statusCode).toBe(200);
  });
});

describe('tenant resolution', () => {
  it('takes the tenant from X-Tenant-ID on POST /query and cross-checks it with the token', async () => {
    const acme = await token({ tenant_id: 'acme', scope: 'query' });
    const ok = await query('/query', { ...bearer(acme), 'x-tenant-id': 'acme' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().tenant_id).toBe('acme');
    expect((await query('/query', { ...bearer(acme), 'x-tenant-id': 'beta' })).json().error).toBe('tenant_mismatch');
    expect((await query('/query', { ...bearer(acme), 'x-tenant-id': '../beta' })).json().error).toBe('invalid_request');
  });

  it('takes the tenant from the subdomain', async () => {
    const beta = await token({ tenant_id: 'beta', scope: 'query' });
    const response = await query('/query', { ...bearer(beta), host: 'beta.rag.test' }, { query: '铁观音' });
    expect(response.statusCode).toBe(200);
    expect(response.json().tenant_id).toBe('beta');
  });

  it('prefers the path over the header, so a header cannot redirect a path query', async () => {
    const response = await query('/query/acme', { ...bearer(await token({ tenant_id: 'acme', scope: 'query' })), 'x-tenant-id': 'beta' });
    expect(response.json().tenant_id).toBe('acme');
  });

  it('400 when no source names a tenant', async () => {
    const response = await query('/query', bearer(await token({ tenant_id: 'acme', scope: 'query' })));
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toMatch(/no tenant in the request/);
  });
});

describe('admin and status endpoints need the admin scope', () => {
  it.each(['/tenants', '/tenants/acme', '/admin/api/tenants', '/admin/api/audit'])('%s', async (url) => {
    expect((await service.app.inject({ url })).statusCode).toBe(401);
    const queryOnly = await service.app.inject({ url, headers: bearer(await token({ tenant_id: 'acme', scope: 'query' })) });
    expect(queryOnly.statusCode).toBe(403);
    expect(queryOnly.json().error).toBe('insufficient_scope');
    expect((await service.app.inject({ url, headers: bearer(await token({ sub: 'ops', scope: 'admin' })) })).statusCode).toBe(200);
  });

  it('health, readiness and metrics stay open for probes and scrapers', async () => {
    for (const url of ['/health', '/ready', '/metrics']) expect((await service.app.inject({ url })).statusCode).toBe(200);
  });

  it("audits an admin write under the token's subject, not the X-Admin-User header", async () => {
    const headers = { ...bearer(await token({ sub: 'carol', scope: 'admin' })), 'x-admin-user': 'mallory', 'if-match': '0', 'content-type': 'application/json' };
    const config = { version: 'v1', data_source: { type: 'fs', path: 'examples/acme-handbook' } };
    const write = await service.app.inject({ method: 'PUT', url: '/admin/api/tenants/audited-jwt/config', headers, payload: config });
    expect(write.statusCode).toBe(201);
    const audit = await service.app.inject({ url: '/admin/api/audit?limit=5', headers: bearer(await token({ sub: 'ops', scope: 'admin' })) });
    const record = audit.json().records.find((entry: { tenant_id: string }) => entry.tenant_id === 'audited-jwt');
    expect(record).toMatchObject({ who: 'carol', action: 'create' });
  });

  it('no shared admin token exists in jwt mode', () => {
    expect(service.adminToken).toBeUndefined();
  });
});

describe('per-tenant limits', () => {
  it('applies rate_limit from KV at once, without a rebuild, and answers 429 with Retry-After', async () => {
    const jwt = await token({ tenant_id: 'acme', scope: 'query' });
    const before = service.manager.status('acme');
    await kvClient.put(tenantConfigKey(PREFIX, 'acme'), JSON.stringify({ ...ACME, rate_limit: { qps: 0.5, burst: 2 } }));
    await vi.waitFor(() => expect(service.manager.status('acme')?.modify_index).toBeGreaterThan(before!.modify_index), { timeout: 10_000, interval: 20 });
    const statuses = [];
    for (let attempt = 0; attempt < 4; attempt += 1) statuses.push((await query('/query/acme', bearer(jwt))).statusCode);
    expect(statuses).toEqual([200, 200, 429, 429]);
    const limited = await query('/query/acme', bearer(jwt));
    expect(limited.json().error).toBe('rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // Other tenants are not affected.
    expect((await query('/query/beta', bearer(await token({ tenant_id: 'beta', scope: 'query' })), { query: '绿茶' })).statusCode).toBe(200);
    // No rebuild happened: the same index is serving.
    expect(service.manager.status('acme')?.loaded_at).toBe(before?.loaded_at);
    await kvClient.put(tenantConfigKey(PREFIX, 'acme'), JSON.stringify(ACME));
    await vi.waitFor(async () => expect((await query('/query/acme', bearer(jwt))).statusCode).toBe(200), { timeout: 10_000, interval: 20 });
  });
});

describe('random tokens and headers (property)', () => {
  it('never answer with a 5xx, and never 200 without a valid token', async () => {
    const header = fc.oneof(
      fc.string({ maxLength: 300 }).map((value) => value.replace(/[^\t\x20-\x7e]/g, '')),
      fc.string({ maxLength: 200 }).map((value) => `Bearer ${value.replace(/[^\x21-\x7e]/g, '')}`),
      fc.tuple(fc.base64String(), fc.base64String(), fc.base64String()).map(([a, b, c]) => `Bearer ${a}.${b}.${c}`),
    );
    await fc.assert(
      fc.asyncProperty(header, fc.constantFrom('/query/acme', '/query', '/tenants', '/admin/api/tenants'), async (authorization, url) => {
        const response = await service.app.inject({ method: url.startsWith('/query') ? 'POST' : 'GET', url, headers: { authorization, 'content-type': 'application/json', 'x-tenant-id': 'acme' }, payload: url.startsWith('/query') ? '{"query":"x"}' : undefined });
        expect(response.statusCode).toBeGreaterThanOrEqual(400);
        expect(response.statusCode).toBeLessThan(500);
        expect(typeof response.json().error).toBe('string');
      }),
      { numRuns: 200 },
    );
  });
});

describe('logs', () => {
  it('never contain a token, an Authorization header or the Consul token', async () => {
    // Make the service log at every level it can: an admin write, failed auth, a KV error.
    await service.app.inject({ method: 'GET', url: '/admin/api/tenants', headers: bearer('garbage.token.value') });
    await kv.stop();
    await vi.waitFor(() => expect(service.watcher.status.connected).toBe(false), { timeout: 10_000 });
    kv = await EmbeddedKvServer.start({ port: kv.port, dataDir, aclToken: CONSUL_TOKEN });
    await vi.waitFor(() => expect(service.watcher.status.connected).toBe(true), { timeout: 30_000 });
    const text = logLines.join('');
    expect(logLines.length).toBeGreaterThan(5);
    for (const jwt of issuedTokens) expect(text).not.toContain(jwt);
    expect(text).not.toContain('garbage.token.value');
    expect(text).not.toContain(CONSUL_TOKEN);
    expect(text.toLowerCase()).not.toMatch(/"authorization":"bearer/);
  }, 60_000);
});

describe('security headers on the web pages', () => {
  it.each(['/admin/', '/t/acme'])('%s is served with helmet headers and a same-origin CSP', async (url) => {
    const response = await service.app.inject({ url });
    expect(response.statusCode).toBe(200);
    const csp = String(response.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("img-src 'self' data:");
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['strict-transport-security']).toMatch(/max-age=/);
  });

  it('the JSON API is left to the app (no page CSP on /query)', async () => {
    const response = await query('/query/acme', bearer(await token({ tenant_id: 'acme', scope: 'query' })));
    expect(response.headers['content-security-policy']).toBeUndefined();
  });
});
