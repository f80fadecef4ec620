import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { inProcessIndexBuilder } from '../../src/indexing/index-builder.ts';
import { ConsulKvClient } from '../../src/kv/consul-kv-client.ts';
import { EmbeddedKvServer } from '../../src/kv/kv-server.ts';
import { createLogger } from '../../src/logger.ts';
import { startService, type RunningService } from '../../src/service.ts';
import { tenantConfigKey } from '../../src/tenants/desired-tenants.ts';
import { PREFIX, testSettings } from '../helpers/stack.ts';

/**
 * A client that hangs up mid-answer is not a model failure: the model call is cancelled, nothing is
 * sent, the query is counted as status 499 (nginx's "client closed request") and logged at info.
 * The model is a fake OpenAI-compatible server that drips one token every 100 ms and, without
 * streaming, answers only after 5 s.
 */

const DRIP_MS = 100;
let models: Server;
let modelsUrl: string;
const chatRequests: { stream: boolean; cancelled: boolean }[] = [];
let kv: EmbeddedKvServer;
let service: RunningService;
const logLines: { level: number; msg: string; tenant?: string }[] = [];

function startDrippingModelServer(): Promise<void> {
  models = createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    request.on('end', () => {
      const body = JSON.parse(raw) as { stream?: boolean };
      const seen = { stream: !!body.stream, cancelled: false };
      chatRequests.push(seen);
      const timers: NodeJS.Timeout[] = [];
      response.on('close', () => {
        seen.cancelled = !response.writableFinished;
        timers.forEach(clearTimeout);
        timers.forEach(clearInterval);
      });
      if (!seen.stream) {
        const answer = { choices: [{ index: 0, message: { role: 'assistant', content: 'late' }, finish_reason: 'stop' }] };
        timers.push(setTimeout(() => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer)), 5_000));
        return;
      }
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      timers.push(setInterval(() => response.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'word ' } }] })}\n\n`), DRIP_MS));
    });
  });
  return new Promise((resolve) => models.listen(0, '127.0.0.1', () => {
    modelsUrl = `http://127.0.0.1:${(models.address() as AddressInfo).port}`;
    resolve();
  }));
}

beforeAll(async () => {
  await startDrippingModelServer();
  kv = await EmbeddedKvServer.start({ port: 0 });
  const config = { version: 'v1', data_source: { type: 'fs', path: 'examples/acme-handbook' }, llm: 'openai:slow-chat' };
  await new ConsulKvClient({ address: kv.address }).put(tenantConfigKey(PREFIX, 'slowllm'), JSON.stringify(config));
  const settings = testSettings({ consulAddress: kv.address });
  const logger = createLogger({ level: 'info' }, { write: (line: string) => void logLines.push(JSON.parse(line)) });
  service = await startService({
    settings: { ...settings, providers: { ...settings.providers, openaiBaseUrl: `${modelsUrl}/v1`, maxRetries: 0, requestTimeoutMs: 10_000 } },
    builder: inProcessIndexBuilder,
    logger,
  });
  await vi.waitFor(() => expect(service.manager.status('slowllm')?.state).toBe('ready'), { timeout: 20_000, interval: 25 });
});

afterAll(async () => {
  await service?.close();
  await kv?.stop();
  models?.closeAllConnections();
  await new Promise((resolve) => models?.close(resolve));
});

function startQuery(stream: boolean, signal: AbortSignal): Promise<Response> {
  return fetch(`${service.url}/query/slowllm`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: 'How many vacation days do I get?', stream }),
    signal,
  });
}

async function queryCount(status: string): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const match = new RegExp(`ragswap_query_duration_seconds_count\\{tenant="slowllm",status="${status}"\\} (\\d+)`).exec(text);
  return match ? Number(match[1]) : 0;
}

describe('a client that disconnects before the answer is complete', () => {
  it('mid-stream: the model call is cancelled and the query counts as 499, not 502', async () => {
    const client = new AbortController();
    const response = await startQuery(true, client.signal);
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    let received = '';
    while (!received.includes('event: delta')) received += new TextDecoder().decode((await reader.read()).value);
    client.abort();

    await vi.waitFor(async () => expect(await queryCount('499')).toBe(1), { timeout: 5_000, interval: 20 });
    await vi.waitFor(() => expect(chatRequests.at(-1)).toEqual({ stream: true, cancelled: true }), { timeout: 5_000, interval: 20 });
  });

  it('before a non-streamed answer: the model call is cancelled and the query counts as 499, not 502', async () => {
    const client = new AbortController();
    const before = chatRequests.length;
    const pending = startQuery(false, client.signal).catch((error: Error) => error);
    await vi.waitFor(() => expect(chatRequests.length).toBe(before + 1), { timeout: 5_000, interval: 10 });
    client.abort();
    expect(((await pending) as Error).name).toBe('AbortError');

    await vi.waitFor(async () => expect(await queryCount('499')).toBe(2), { timeout: 5_000, interval: 20 });
    await vi.waitFor(() => expect(chatRequests.at(-1)).toEqual({ stream: false, cancelled: true }), { timeout: 5_000, interval: 20 });
  });

  it('is never counted or logged as a failure', async () => {
    expect(await queryCount('502')).toBe(0);
    expect(await queryCount('500')).toBe(0);
    expect(logLines.filter((line) => line.level >= 40)).toEqual([]);
    expect(logLines.filter((line) => line.level === 30 && /client closed/.test(line.msg))).toHaveLength(2);
  });
});
