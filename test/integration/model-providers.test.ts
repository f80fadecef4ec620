import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConsulKvClient } from '../../src/kv/consul-kv-client.ts';
import { EmbeddedKvServer } from '../../src/kv/kv-server.ts';
import { REDACTED_PATHS } from '../../src/logger.ts';
import { startService, type RunningService } from '../../src/service.ts';
import { tenantConfigKey } from '../../src/tenants/desired-tenants.ts';
import { startFakeModelServer, type FakeModelServer } from '../helpers/fake-model-server.ts';
import { PREFIX, testSettings } from '../helpers/stack.ts';
import { freePort } from '../helpers/ports.ts';

/**
 * Remote providers through the whole service: KV config → worker-thread build embedding through a
 * fake OpenAI-compatible server → query (embedding the query through it, answering with its chat
 * endpoint, streaming, retrieve-only) → status when the endpoint is down or rejects the key.
 */

const API_KEY = 'sk-integration-secret-0987654321';
const HANDBOOK = { type: 'fs', path: 'examples/acme-handbook' };

let models: FakeModelServer;
let kv: EmbeddedKvServer;
let kvClient: ConsulKvClient;
let service: RunningService;
let dataDir: string;
const logLines: string[] = [];


async function put(tenantId: string, config: unknown): Promise<void> {
  expect(await kvClient.put(tenantConfigKey(PREFIX, tenantId), JSON.stringify(config))).toBe(true);
}

async function status(tenantId: string): Promise<any> {
  return (await fetch(`${service.url}/tenants/${tenantId}`)).json();
}

async function waitForState(tenantId: string, state: string): Promise<any> {
  let last: any;
  await vi.waitFor(
    async () => {
      last = await status(tenantId);
      expect(last.state).toBe(state);
    },
    { timeout: 20_000, interval: 25 },
  );
  return last;
}

function query(tenantId: string, body: unknown): Promise<Response> {
  return fetch(`${service.url}/query/${tenantId}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** Requests for acme's models: the other tenants' builds (retried in the background) also reach the fake server. */
function acmeRequests() {
  return models.requests.filter((request) => ['fake-model', 'fake-chat'].includes(request.body?.model));
}

/** Parses a text/event-stream body into [event, data] pairs. */
function parseSse(text: string): [string, any][] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)![1]!;
      const data = /^data: (.*)$/m.exec(block)![1]!;
      return [event, JSON.parse(data)];
    });
}

beforeAll(async () => {
  models = await startFakeModelServer();
  dataDir = await mkdtemp(path.join(tmpdir(), 'ragswap-providers-'));
  kv = await EmbeddedKvServer.start({ port: 0, dataDir });
  kvClient = new ConsulKvClient({ address: kv.address });
  await put('acme', {
    version: 'v1',
    data_source: HANDBOOK,
    index_params: { chunk_size: 128, chunk_overlap: 16 },
    embedding_model: 'openai:fake-model',
    llm: 'openai:fake-chat',
    retrieval: { mode: 'hybrid', top_k: 2 },
  });
  await put('ollama-down', { version: 'v1', data_source: HANDBOOK, embedding_model: 'ollama:nomic-embed-text' });
  await put('wrong-key', { version: 'v1', data_source: HANDBOOK, embedding_model: 'openai:forbidden-model' });
  const settings = testSettings({ consulAddress: kv.address });
  const logger = pino({ level: 'debug', redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, { write: (line: string) => logLines.push(line) });
  service = await startService({
    settings: {
      ...settings,
      providers: {
        ...settings.providers,
        openaiBaseUrl: `${models.url}/v1`,
        openaiApiKey: API_KEY,
        ollamaHost: `http://127.0.0.1:${await freePort()}`,
        maxRetries: 1,
        retryBaseMs: 10,
        requestTimeoutMs: 2_000,
      },
    },
    logger,
  });
}, 30_000);

afterAll(async () => {
  await service?.close();
  await kv?.stop();
  await models?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('a tenant on an OpenAI-compatible server', () => {
  it('builds in the worker through the server with the key, and answers with its chat model citing the sources', async () => {
    const ready = await waitForState('acme', 'ready');
    expect(ready.chunks).toBeGreaterThan(2);
    const embeddingCalls = acmeRequests().filter((request) => request.path === '/v1/embeddings');
    expect(embeddingCalls.length).toBeGreaterThanOrEqual(2); // the probe, then the chunks
    for (const call of embeddingCalls) expect(call.headers.authorization).toBe(`Bearer ${API_KEY}`);

    models.requests.length = 0;
    const response = await query('acme', { query: 'How many vacation days do I get?' });
    expect(response.status).toBe(200);
    const body = (await response.json()) as any;
    expect(body.response).toBe(models.chatAnswer);
    // The tenant's retrieval.top_k (2) applies when the request names none.
    expect(body.sources).toHaveLength(2);
    expect(body.sources.some((source: any) => /vacation/i.test(source.text))).toBe(true);
    const [queryEmbedding, chat] = acmeRequests();
    expect(queryEmbedding).toMatchObject({ path: '/v1/embeddings', body: { model: 'fake-model', input: ['How many vacation days do I get?'] } });
    expect(chat).toMatchObject({ path: '/v1/chat/completions', body: { model: 'fake-chat', stream: false } });
    expect(chat!.body.messages[1].content).toContain(`[1] (source: ${body.sources[0].metadata.source})`);
    expect(chat!.body.messages[1].content).toContain(body.sources[1].text.trim());
  });

  it('lets the request top_k win over the tenant default', async () => {
    const body = (await (await query('acme', { query: 'vacation', top_k: 3 })).json()) as any;
    expect(body.sources).toHaveLength(3);
  });

  it('"mode": "retrieve" returns ranked sources with response null and never calls the chat model', async () => {
    models.requests.length = 0;
    const response = await query('acme', { query: 'vacation days', mode: 'retrieve' });
    expect(response.status).toBe(200);
    const body = (await response.json()) as any;
    expect(body.response).toBeNull();
    expect(body.sources.length).toBe(2);
    expect(acmeRequests().map((request) => request.path)).toEqual(['/v1/embeddings']);
  });

  it('"stream": true sends sources first, then the deltas, then done', async () => {
    const response = await query('acme', { query: 'vacation days', stream: true });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = parseSse(await response.text());
    expect(events.map(([event]) => event)).toEqual(['sources', 'delta', 'delta', 'delta', 'done']);
    expect(events[0]![1]).toMatchObject({ tenant_id: 'acme', version: 'v1' });
    expect(events[0]![1].sources).toHaveLength(2);
    expect(events.filter(([event]) => event === 'delta').map(([, data]) => data.text).join('')).toBe(models.chatAnswer);
    expect(typeof events[4]![1].took_ms).toBe('number');
  });

  it('a failing chat model is 502 llm_unavailable (JSON) or an error event (stream)', async () => {
    models.failNextOn('/v1/chat/completions', (response) => response.writeHead(500).end(), (response) => response.writeHead(500).end());
    const failed = await query('acme', { query: 'vacation days' });
    expect(failed.status).toBe(502);
    expect(await failed.json()).toEqual({ error: 'llm_unavailable', message: "language model 'openai:fake-chat' is unavailable" });

    // The query embedding succeeds, then the chat stream is refused twice (1 retry): sources were sent already.
    models.failNextOn('/v1/chat/completions', (response) => response.writeHead(503).end(), (response) => response.writeHead(503).end());
    const events = parseSse(await (await query('acme', { query: 'vacation days', stream: true })).text());
    expect(events.map(([event]) => event)).toEqual(['sources', 'error']);
    expect(events[1]![1]).toMatchObject({ error: 'llm_unavailable' });
  });
});

describe('status when the model endpoint fails', () => {
  it('shows an unreachable endpoint as a transient model_unavailable failure', async () => {
    const failed = await waitForState('ollama-down', 'failed');
    expect(failed.last_error).toMatchObject({ code: 'model_unavailable' });
    expect(failed.last_error.message).toMatch(/^Ollama at http:\/\/127\.0\.0\.1:\d+ is unreachable \(ECONNREFUSED\)/);
  });

  it('shows a rejected key as model_auth_failed, and the key is in no status, log line or KV value', async () => {
    const failed = await waitForState('wrong-key', 'failed');
    expect(failed.last_error).toMatchObject({ code: 'model_auth_failed' });
    expect(failed.last_error.message).toMatch(/rejected the credentials \(HTTP 401\)/);
    const everything = [JSON.stringify(await (await fetch(`${service.url}/tenants`)).json()), ...logLines].join('\n');
    expect(logLines.length).toBeGreaterThan(0);
    expect(everything).not.toContain(API_KEY);
    const stored = await Promise.all(['acme', 'ollama-down', 'wrong-key'].map((tenant) => kvClient.get(tenantConfigKey(PREFIX, tenant))));
    expect(JSON.stringify(stored)).not.toContain(API_KEY);
  });
});
