import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { inProcessIndexBuilder, type IndexBuilder } from '../../src/indexing/index-builder.ts';
import { ConsulKvClient } from '../../src/kv/consul-kv-client.ts';
import { EmbeddedKvServer } from '../../src/kv/kv-server.ts';
import { startService, type RunningService } from '../../src/service.ts';
import { tenantConfigKey } from '../../src/tenants/desired-tenants.ts';
import { PREFIX, testSettings } from '../helpers/stack.ts';

/**
 * The HTTP contract: every error has the `{"error", "message"}` shape and the documented status.
 * Tenants read the shipped examples through the fs source; builds run in process here (the worker
 * path is covered by the integration suite).
 */

const ACME = { version: 'v1', data_source: { type: 'fs', path: 'examples/acme-handbook' }, index_params: { chunk_size: 128, chunk_overlap: 16 } };

let kv: EmbeddedKvServer;
let kvClient: ConsulKvClient;
let service: RunningService;
let dataDir: string;
const releaseSlowBuild = Promise.withResolvers<void>();

/** Builds for tenant `slow` wait until the test releases them, so "not ready yet" can be observed. */
const builder: IndexBuilder = {
  async build(request, signal) {
    if (request.tenantId.startsWith('slow')) await releaseSlowBuild.promise;
    return inProcessIndexBuilder.build(request, signal);
  },
};

async function put(tenantId: string, config: unknown): Promise<void> {
  expect(await kvClient.put(tenantConfigKey(PREFIX, tenantId), JSON.stringify(config))).toBe(true);
}

function post(url: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  return fetch(`${service.url}${url}`, { method: 'POST', headers, body });
}

async function expectError(response: Response, status: number, code: string): Promise<Record<string, unknown>> {
  expect(response.status).toBe(status);
  const body = (await response.json()) as Record<string, unknown>;
  expect(body.error).toBe(code);
  expect(typeof body.message).toBe('string');
  expect((body.message as string).length).toBeGreaterThan(0);
  return body;
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'ragswap-http-'));
  kv = await EmbeddedKvServer.start({ port: 0, dataDir });
  kvClient = new ConsulKvClient({ address: kv.address });
  await put('acme', ACME);
  await put('sleepy', { ...ACME, status: 'inactive' });
  service = await startService({ settings: testSettings({ consulAddress: kv.address }), builder });
  await vi.waitFor(async () => expect(((await (await fetch(`${service.url}/tenants/acme`)).json()) as { state: string }).state).toBe('ready'), {
    timeout: 15_000,
    interval: 25,
  });
});

afterAll(async () => {
  releaseSlowBuild.resolve();
  await service?.close();
  await kv?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('POST /query/:tenant', () => {
  it('answers with the documented shape', async () => {
    const response = await post('/query/acme', JSON.stringify({ query: 'How many vacation days do employees get?', top_k: 2 }));
    expect(response.status).toBe(200);
    const body = (await response.json()) as any;
    expect(Object.keys(body).sort()).toEqual(['response', 'sources', 'tenant_id', 'took_ms', 'version']);
    expect(body.response).toContain('25 days of paid vacation');
    expect(body.sources).toHaveLength(2);
    expect(body.sources[0]).toMatchObject({ metadata: { source: 'file://vacation-policy.md' } });
    expect(Object.keys(body.sources[0]).sort()).toEqual(['id', 'metadata', 'score', 'text']);
  });

  it('defaults top_k to 4', async () => {
    const response = await post('/query/acme', JSON.stringify({ query: 'office hours bicycles passwords receipts' }));
    expect(((await response.json()) as any).sources).toHaveLength(4);
  });

  it.each([
    ['no body', ''],
    ['not JSON', '{"query": '],
    ['a JSON array', '[]'],
    ['missing query', '{}'],
    ['empty query', '{"query": ""}'],
    ['query too long', JSON.stringify({ query: 'x'.repeat(4001) })],
    ['query not a string', '{"query": 42}'],
    ['top_k zero', '{"query": "a", "top_k": 0}'],
    ['top_k over 50', '{"query": "a", "top_k": 51}'],
    ['top_k fractional', '{"query": "a", "top_k": 2.5}'],
    ['top_k as a string', '{"query": "a", "top_k": "3"}'],
    ['unknown field', '{"query": "a", "temperature": 0.2}'],
  ])('rejects %s with 400 invalid_request', async (_name, body) => {
    await expectError(await post('/query/acme', body), 400, 'invalid_request');
  });

  it('accepts a query of exactly 4000 characters', async () => {
    expect((await post('/query/acme', JSON.stringify({ query: 'vacation '.repeat(444) + 'days' }))).status).toBe(200);
  });

  it('rejects bodies over 64 KiB with 413', async () => {
    await expectError(await post('/query/acme', JSON.stringify({ query: 'a', padding: 'x'.repeat(70_000) })), 413, 'payload_too_large');
  });

  it.each([
    ['text/plain (JSON-looking body)', 'text/plain', '{"query": "vacation"}'],
    ['text/plain; charset=utf-8', 'text/plain; charset=utf-8', '{"query": "vacation"}'],
    ['a form', 'application/x-www-form-urlencoded', 'query=vacation'],
    ['multipart', 'multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="query"\r\n\r\nvacation\r\n--x--\r\n'],
    // A structured +json type (merge-patch, json-patch) means other semantics than a plain document.
    ['application/merge-patch+json', 'application/merge-patch+json', '{"query": "vacation"}'],
    ['a malformed content type', 'application/', '{"query": "vacation"}'],
  ])('rejects %s with 415 unsupported_media_type', async (_name, contentType, body) => {
    await expectError(await post('/query/acme', body, { 'content-type': contentType }), 415, 'unsupported_media_type');
    await expectError(await post('/query', body, { 'content-type': contentType, 'x-tenant-id': 'acme' }), 415, 'unsupported_media_type');
  });

  it('rejects a body without a content type with 415 (Fastify has no parser for it)', async () => {
    // fetch would add text/plain to a string body; a Blob without a type sends no content-type.
    const response = await fetch(`${service.url}/query/acme`, { method: 'POST', body: new Blob(['{"query": "vacation"}']) });
    await expectError(response, 415, 'unsupported_media_type');
  });

  it('accepts application/json with a charset parameter', async () => {
    expect((await post('/query/acme', '{"query": "vacation"}', { 'content-type': 'application/json; charset=utf-8' })).status).toBe(200);
  });

  it.each(['UPPER', 'a.b', '-leading', 'x'.repeat(64), '%F0%9F%98%80', '..%2F..%2Fetc'])('rejects the tenant id %s with 400', async (tenant) => {
    await expectError(await post(`/query/${tenant}`, '{"query": "a"}'), 400, 'invalid_request');
  });

  it('answers 404 tenant_not_found for an unknown tenant', async () => {
    await expectError(await post('/query/nobody', '{"query": "a"}'), 404, 'tenant_not_found');
  });

  it('answers 403 tenant_inactive for an inactive tenant', async () => {
    await expectError(await post('/query/sleepy', '{"query": "a"}'), 403, 'tenant_inactive');
  });

  it('answers 503 index_not_ready with Retry-After while the first build runs', async () => {
    await put('slow', ACME);
    await expect.poll(async () => (await post('/query/slow', '{"query": "a"}')).status, { timeout: 5_000 }).toBe(503);
    const response = await post('/query/slow', '{"query": "a"}');
    await expectError(response, 503, 'index_not_ready');
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('answers 404 with the error shape for unknown routes and methods', async () => {
    await expectError(await fetch(`${service.url}/nope`), 404, 'not_found');
    await expectError(await fetch(`${service.url}/query/acme`), 404, 'not_found');
  });
});

describe('status endpoints', () => {
  it('GET /health is always 200', async () => {
    const response = await fetch(`${service.url}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('GET /tenants lists every tenant with its state and the KV watch status', async () => {
    const body = (await (await fetch(`${service.url}/tenants`)).json()) as any;
    const byId = Object.fromEntries(body.tenants.map((tenant: any) => [tenant.tenant_id, tenant]));
    expect(byId.acme).toMatchObject({ state: 'ready', serving_version: 'v1', desired_version: 'v1', documents: 4, skipped_files: 0, last_error: null, warnings: [] });
    expect(byId.acme.chunks).toBeGreaterThanOrEqual(4);
    expect(byId.acme.last_build_ms).toBeGreaterThanOrEqual(0);
    expect(byId.acme.modify_index).toBeGreaterThan(0);
    expect(Date.parse(byId.acme.loaded_at)).not.toBeNaN();
    expect(byId.sleepy).toMatchObject({ state: 'inactive', serving_version: null });
    expect(body.kv).toMatchObject({ connected: true, last_error: null });
    expect(body.kv.last_index).toBeGreaterThan(0);
  });

  it('GET /tenants/:tenant shows one tenant, 404 for unknown, 400 for an invalid id', async () => {
    const body = (await (await fetch(`${service.url}/tenants/acme`)).json()) as any;
    expect(body).toMatchObject({ tenant_id: 'acme', state: 'ready', kv: { connected: true } });
    await expectError(await fetch(`${service.url}/tenants/nobody`), 404, 'tenant_not_found');
    await expectError(await fetch(`${service.url}/tenants/NOPE`), 400, 'invalid_request');
  });

  it('GET /metrics exports query, build, version, KV and queue metrics', async () => {
    await post('/query/acme', '{"query": "vacation"}');
    const text = await (await fetch(`${service.url}/metrics`)).text();
    expect(text).toMatch(/ragswap_query_duration_seconds_count\{tenant="acme",status="200"\} [1-9]/);
    expect(text).toMatch(/ragswap_index_build_duration_seconds_count\{tenant="acme",result="swapped"\} 1/);
    expect(text).toContain('ragswap_serving_version_info{tenant="acme",version="v1"} 1');
    expect(text).toMatch(/ragswap_kv_last_index [1-9]/);
    expect(text).toMatch(/ragswap_kv_watch_errors_total 0/);
    expect(text).toContain('ragswap_build_queue_length');
    expect(text).toMatch(/ragswap_reconcile_total\{outcome="done"\} [1-9]/);
  });

  it('counts queries for made-up tenant ids in one series, not one per id', async () => {
    for (let index = 0; index < 20; index += 1) await expectError(await post(`/query/ghost-${index}`, '{"query": "x"}'), 404, 'tenant_not_found');
    const text = await (await fetch(`${service.url}/metrics`)).text();
    expect(text).not.toContain('tenant="ghost-');
    expect(text).toMatch(/ragswap_query_duration_seconds_count\{tenant="_unknown",status="404"\} (\d+)/);
    expect(Number(/ragswap_query_duration_seconds_count\{tenant="_unknown",status="404"\} (\d+)/.exec(text)?.[1])).toBeGreaterThanOrEqual(20);
  });
});

describe('GET /ready', () => {
  it('waits for the first KV read, then for first builds, then stays ready', async () => {
    // A second instance pointed at a KV server that is not up yet.
    const lateDir = await mkdtemp(path.join(tmpdir(), 'ragswap-ready-'));
    const probe = await EmbeddedKvServer.start({ port: 0 });
    const port = probe.port;
    await probe.stop();
    const late = await startService({ settings: testSettings({ consulAddress: `127.0.0.1:${port}` }), builder });
    try {
      let response = await fetch(`${late.url}/ready`);
      expect(response.status).toBe(503);
      expect(((await response.json()) as any).waiting_for.join()).toMatch(/kv: first read/);

      const lateKv = await EmbeddedKvServer.start({ port, dataDir: lateDir });
      const lateClient = new ConsulKvClient({ address: lateKv.address });
      await lateClient.put(tenantConfigKey(PREFIX, 'slow2'), JSON.stringify(ACME));
      await expect
        .poll(async () => ((await (await fetch(`${late.url}/ready`)).json()) as any).waiting_for.join(), { timeout: 15_000 })
        .toMatch(/tenant slow2: first index build/);
      releaseSlowBuild.resolve();
      await expect.poll(async () => (await fetch(`${late.url}/ready`)).status, { timeout: 15_000 }).toBe(200);

      // Latched: a new tenant still building, or Consul going away, does not make the pod unready.
      await lateClient.put(tenantConfigKey(PREFIX, 'another'), JSON.stringify({ ...ACME, data_source: { type: 'fs', path: 'examples/tea-guide-zh' } }));
      await lateKv.stop();
      response = await fetch(`${late.url}/ready`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ ready: true, waiting_for: [] });
    } finally {
      await late.close();
      await rm(lateDir, { recursive: true, force: true });
    }
  }, 45_000);
});
