import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { inProcessIndexBuilder } from '../../src/indexing/index-builder.ts';
import { ConsulKvClient } from '../../src/kv/consul-kv-client.ts';
import { EmbeddedKvServer } from '../../src/kv/kv-server.ts';
import { startService, type RunningService } from '../../src/service.ts';
import { tenantConfigKey } from '../../src/tenants/desired-tenants.ts';
import { PREFIX, testSettings } from '../helpers/stack.ts';

/**
 * Property-based checks over the HTTP API: tenant isolation for random queries over random
 * knowledge bases, and "always a 4xx with the error shape, never a 5xx" for random bad input.
 */

const SHARED_WORDS = ['report', 'policy', 'system', 'order', 'customer', 'server', 'price', 'travel', '数据', '系统', '报告'];
const TENANTS = ['t-red', 't-green', 't-blue'];

let kv: EmbeddedKvServer;
let service: RunningService;
let workDir: string;

/** Each tenant's documents mix shared words with words only that tenant has, so queries can reach across. */
async function writeTenantDocuments(tenantId: string, seed: number): Promise<string> {
  const folder = path.join(workDir, tenantId);
  await mkdir(folder, { recursive: true });
  const documents = fc.sample(
    fc.array(fc.constantFrom(...SHARED_WORDS, `${tenantId}-secret`, `${tenantId}-only`), { minLength: 20, maxLength: 80 }),
    { numRuns: 6, seed },
  );
  await Promise.all(documents.map((words, index) => writeFile(path.join(folder, `doc-${index}.txt`), `${words.join(' ')}.`)));
  return folder;
}

beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'ragswap-fuzz-'));
  kv = await EmbeddedKvServer.start({ port: 0 });
  const client = new ConsulKvClient({ address: kv.address });
  for (const [index, tenantId] of TENANTS.entries()) {
    const folder = await writeTenantDocuments(tenantId, index + 1);
    await client.put(tenantConfigKey(PREFIX, tenantId), JSON.stringify({ version: 'v1', data_source: { type: 'fs', path: folder }, index_params: { chunk_size: 32, chunk_overlap: 4 } }));
  }
  service = await startService({ settings: testSettings({ consulAddress: kv.address }), builder: inProcessIndexBuilder });
  await vi.waitFor(() => expect(service.manager.statuses().filter((status) => status.state === 'ready')).toHaveLength(TENANTS.length), { timeout: 20_000, interval: 25 });
});

afterAll(async () => {
  await service?.close();
  await kv?.stop();
  await rm(workDir, { recursive: true, force: true });
});

const queryText = fc.array(fc.constantFrom(...SHARED_WORDS, ...TENANTS.flatMap((tenant) => [`${tenant}-secret`, `${tenant}-only`]), 'unrelated', '?'), { minLength: 1, maxLength: 12 }).map((words) => words.join(' '));

function expectErrorShape(statusCode: number, body: string): void {
  expect(statusCode).toBeGreaterThanOrEqual(400);
  expect(statusCode).toBeLessThan(500);
  const parsed = JSON.parse(body) as Record<string, unknown>;
  // Our snake_case codes, not Fastify's "Bad Request" and friends.
  expect(parsed.error).toMatch(/^[a-z][a-z_]*$/);
  expect(parsed.message).toEqual(expect.any(String));
  expect((parsed.message as string).length).toBeGreaterThan(0);
}

describe('tenant isolation (property)', () => {
  it('every source of every answer belongs to the queried tenant', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...TENANTS), queryText, fc.integer({ min: 1, max: 50 }), async (tenantId, query, topK) => {
        const response = await service.app.inject({ method: 'POST', url: `/query/${tenantId}`, payload: { query, top_k: topK } });
        expect(response.statusCode).toBe(200);
        const body = response.json() as { tenant_id: string; sources: { metadata: { source: string }; text: string }[] };
        expect(body.tenant_id).toBe(tenantId);
        for (const source of body.sources) {
          expect(source.metadata.source.startsWith('file://doc-')).toBe(true);
          for (const other of TENANTS.filter((candidate) => candidate !== tenantId)) expect(source.text).not.toContain(other);
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('bad input never causes a 5xx (property)', () => {
  it('random bodies get 200 or a 4xx with the error shape', async () => {
    const body = fc.oneof(
      fc.json(),
      fc.string({ maxLength: 300 }),
      fc.record({ query: fc.oneof(fc.string({ maxLength: 5000 }), fc.integer(), fc.constant(null)), top_k: fc.oneof(fc.integer({ min: -5, max: 100 }), fc.double(), fc.string()) }, { requiredKeys: [] }),
      fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue(), { maxKeys: 5 }).map((value) => JSON.stringify(value)),
    );
    await fc.assert(
      fc.asyncProperty(body, async (payload) => {
        const response = await service.app.inject({
          method: 'POST',
          url: '/query/t-red',
          headers: { 'content-type': 'application/json' },
          payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
        });
        if (response.statusCode === 200) return;
        expectErrorShape(response.statusCode, response.body);
      }),
      { numRuns: 300 },
    );
  });

  it('random tenant ids in the path get a 4xx with the error shape', async () => {
    const tenantId = fc.oneof(
      fc.string({ maxLength: 100 }),
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.constantFrom('../', '..%2F..%2Fetc', '%2F', '%00', 'a'.repeat(10_000), '%E2%80%AE', 'ACME', '.', '..', '%', '%zz'),
    );
    await fc.assert(
      fc.asyncProperty(tenantId, async (id) => {
        const url = `/query/${/%[0-9A-Fa-f]{2}|^%/.test(id) ? id : encodeURIComponent(id)}`;
        const response = await service.app.inject({ method: 'POST', url, payload: { query: 'report' } });
        expectErrorShape(response.statusCode, response.body);
      }),
      { numRuns: 300 },
    );
  });

  it('random headers, content types and authorization values never cause a 5xx', async () => {
    const headerValue = fc.string({ maxLength: 200 }).map((value) => value.replace(/[^\t\x20-\x7e]/g, ''));
    await fc.assert(
      fc.asyncProperty(headerValue, headerValue, headerValue, async (contentType, authorization, tenantHeader) => {
        const response = await service.app.inject({
          method: 'POST',
          url: '/query/t-green',
          headers: { 'content-type': contentType || 'application/json', authorization, 'x-tenant-id': tenantHeader },
          payload: '{"query":"report"}',
        });
        if (response.statusCode === 200) return;
        expectErrorShape(response.statusCode, response.body);
      }),
      { numRuns: 200 },
    );
  });
});
