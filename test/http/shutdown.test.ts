import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { inProcessIndexBuilder } from '../../src/indexing/index-builder.ts';
import { ConsulKvClient } from '../../src/kv/consul-kv-client.ts';
import { EmbeddedKvServer } from '../../src/kv/kv-server.ts';
import { startService, type RunningService } from '../../src/service.ts';
import { tenantConfigKey } from '../../src/tenants/desired-tenants.ts';
import { PREFIX, testSettings } from '../helpers/stack.ts';

/**
 * Graceful shutdown: a query in flight when close() starts still gets its answer; a request that
 * arrives behind it on the same kept-alive (here: pipelined) connection is turned away with our
 * error shape, `Connection: close` and a `Retry-After`, so the client retries on another pod.
 */

const ACME = { version: 'v1', data_source: { type: 'fs', path: 'examples/acme-handbook' }, index_params: { chunk_size: 128, chunk_overlap: 16 } };

let kv: EmbeddedKvServer;
let service: RunningService;

beforeAll(async () => {
  kv = await EmbeddedKvServer.start({ port: 0 });
  await new ConsulKvClient({ address: kv.address }).put(tenantConfigKey(PREFIX, 'acme'), JSON.stringify(ACME));
  service = await startService({ settings: testSettings({ consulAddress: kv.address }), builder: inProcessIndexBuilder });
  await vi.waitFor(() => expect(service.manager.status('acme')?.state).toBe('ready'), { timeout: 20_000, interval: 25 });
});

afterAll(async () => {
  await service?.close();
  await kv?.stop();
});

interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Splits a byte stream of HTTP/1.1 responses with Content-Length bodies. */
function parseResponses(text: string): RawResponse[] {
  const responses: RawResponse[] = [];
  let rest = text;
  while (rest.startsWith('HTTP/1.1 ')) {
    const headEnd = rest.indexOf('\r\n\r\n');
    const [statusLine, ...lines] = rest.slice(0, headEnd).split('\r\n');
    const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
    const length = Number(headers['content-length']);
    responses.push({ status: Number(statusLine!.split(' ')[1]), headers, body: rest.slice(headEnd + 4, headEnd + 4 + length) });
    rest = rest.slice(headEnd + 4 + length);
  }
  return responses;
}

describe('graceful shutdown', () => {
  it('finishes the request in flight and answers the next one on the connection 503 shutting_down', async () => {
    const body = JSON.stringify({ query: 'How many vacation days do I get?' });
    const head = (length: number) => `POST /query/acme HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
    const socket = connect(Number(new URL(service.url).port), '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', resolve));

    // The first request is in flight (headers in, body not yet) when the service starts closing.
    const firstArrived = new Promise((resolve) => service.app.server.once('request', resolve));
    socket.write(head(body.length) + body.slice(0, 5));
    await firstArrived;
    const closed = service.close();
    await vi.waitFor(() => expect(service.app.server.listening).toBe(false), { timeout: 5_000, interval: 5 });
    socket.write(body.slice(5) + head(body.length) + body);
    await ended;
    await closed;

    const [first, second, ...more] = parseResponses(Buffer.concat(chunks).toString());
    expect(more).toEqual([]);
    expect(first?.status).toBe(200);
    expect(JSON.parse(first!.body).response).toContain('25 days');
    expect(second?.status).toBe(503);
    expect(JSON.parse(second!.body)).toEqual({ error: 'shutting_down', message: expect.stringMatching(/shutting down/) });
    expect(second!.headers.connection).toBe('close');
    expect(Number(second!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });
});
