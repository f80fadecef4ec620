import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedKvServer } from '../../src/kv/kv-server.ts';
import { clientErrorResponse } from '../../src/http/error-handler.ts';
import { startService, type RunningService } from '../../src/service.ts';
import { inProcessIndexBuilder } from '../../src/indexing/index-builder.ts';
import { testSettings } from '../helpers/stack.ts';

/** Requests Node's HTTP parser rejects before Fastify routes them still get the error shape. */

let kv: EmbeddedKvServer;
let service: RunningService;

async function rawRequest(text: string): Promise<string> {
  const { port } = new URL(service.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(text));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString()));
    socket.on('error', (error) => (chunks.length ? resolve(Buffer.concat(chunks).toString()) : reject(error)));
  });
}

beforeAll(async () => {
  kv = await EmbeddedKvServer.start({ port: 0 });
  service = await startService({ settings: testSettings({ consulAddress: kv.address }), builder: inProcessIndexBuilder });
});

afterAll(async () => {
  await service?.close();
  await kv?.stop();
});

describe('client errors', () => {
  it('answers oversized headers with 431 headers_too_large', async () => {
    const response = await rawRequest(`POST /query/acme HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\nContent-Length: 2\r\n\r\n{}`);
    expect(response).toMatch(/^HTTP\/1.1 431 /);
    expect(JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4))).toEqual({ error: 'headers_too_large', message: 'request headers exceed the size limit' });
  });

  it('answers a malformed request line with 400 invalid_request', async () => {
    const response = await rawRequest('NOT A REQUEST\r\n\r\n');
    expect(response).toMatch(/^HTTP\/1.1 400 /);
    expect(JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)).error).toBe('invalid_request');
  });

  it.each([
    ['GET', '/tenants/%zz'],
    ['GET', '/health%zz'],
    ['POST', '/query/%E0%A4%A'],
    ['GET', '/admin/api/tenants/%zz/config'],
  ])('answers bad percent-encoding in %s %s with 400 invalid_request', async (method, url) => {
    const response = await rawRequest(`${method} ${url} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 13\r\nConnection: close\r\n\r\n{"query":"a"}`);
    expect(response).toMatch(/^HTTP\/1.1 400 /);
    const body = JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4));
    expect(Object.keys(body).sort()).toEqual(['error', 'message']);
    expect(body.error).toBe('invalid_request');
    expect(body.message).toMatch(/not a valid url component/);
  });

  it('answers a path parameter over the router limit with 400 invalid_request', async () => {
    const response = await fetch(`${service.url}/tenants/${'a'.repeat(500)}`);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'invalid_request', message: expect.any(String) });
  });

  it('still serves normal requests afterwards', async () => {
    expect((await fetch(`${service.url}/health`)).status).toBe(200);
  });

  it('maps parser error codes', () => {
    expect(clientErrorResponse('ERR_HTTP_REQUEST_TIMEOUT').status).toBe(408);
    expect(clientErrorResponse(undefined).status).toBe(400);
  });
});
