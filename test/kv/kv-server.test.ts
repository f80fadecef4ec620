/**
 * Behaviour of the embedded server beyond the shared Consul contract (consul-contract.test.ts):
 * its parsing helpers, the ACL token option, maxWaitMs, restart on the same port and data
 * directory, shutdown of open connections, and robustness against malformed or aborted requests.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  blockingTimeoutMs,
  ConsulHttpError,
  DEFAULT_WAIT_MS,
  EmbeddedKvServer,
  encodeEntries,
  MAX_VALUE_BYTES,
  MAX_WAIT_MS,
  parseGoDuration,
  parseQueryOptions,
  parseRequestTarget,
  parseUint64,
  requestToken,
} from '../../src/kv/kv-server.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('parseGoDuration', () => {
  it.each([
    ['100ms', 100],
    ['10s', 10_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1_500],
    ['.5s', 500],
    ['1.s', 1_000],
    ['250us', 0.25],
    ['250µs', 0.25],
    ['250μs', 0.25],
    ['1000000ns', 1],
    ['0', 0],
    ['-5s', -5_000],
    ['+1m', 60_000],
  ])('parses %s like Go', (text, ms) => {
    expect(parseGoDuration(text)).toBeCloseTo(ms, 9);
  });

  it.each(['', '10', 's', '.s', '1x', '1s2', 'abc', '1 s', ' 1s', '-', '9999999999h'])('rejects %j like Go', (text) => {
    expect(parseGoDuration(text)).toBeUndefined();
  });
});

describe('parseUint64', () => {
  it('accepts 0 to 2^64-1 in plain decimal', () => {
    expect(parseUint64('0')).toEqual({ ok: true, value: 0n });
    expect(parseUint64('18446744073709551615')).toEqual({ ok: true, value: 2n ** 64n - 1n });
  });

  it('tells syntax errors from range errors, as strconv does', () => {
    expect(parseUint64('18446744073709551616')).toEqual({ ok: false, reason: 'value out of range' });
    for (const text of ['', '-1', '+1', '1.0', ' 1', '0x10', '1e3']) {
      expect(parseUint64(text)).toEqual({ ok: false, reason: 'invalid syntax' });
    }
  });
});

describe('blockingTimeoutMs', () => {
  it('defaults to 5 minutes when wait is absent or not positive', () => {
    for (const requested of [undefined, 0, -1_000]) expect(blockingTimeoutMs(requested, MAX_WAIT_MS, () => 0)).toBe(DEFAULT_WAIT_MS);
  });

  it('caps at 10 minutes and at the configured maximum', () => {
    expect(blockingTimeoutMs(60 * 60_000, MAX_WAIT_MS, () => 0)).toBe(MAX_WAIT_MS);
    expect(blockingTimeoutMs(60_000, 1_000, () => 0)).toBe(1_000);
    expect(blockingTimeoutMs(undefined, 1_000, () => 0)).toBe(1_000);
  });

  it('adds jitter of at most wait/16', () => {
    expect(blockingTimeoutMs(1_600, MAX_WAIT_MS, () => 0.5)).toBe(1_650);
    expect(blockingTimeoutMs(1_600, MAX_WAIT_MS, () => 0.999_999)).toBeLessThan(1_700);
  });
});

describe('parseQueryOptions', () => {
  const parse = (query: string) => parseQueryOptions(new URLSearchParams(query));

  it('reads index, wait and pretty; empty values count as absent', () => {
    expect(parse('index=42&wait=2s&pretty')).toEqual({ minIndex: 42, waitMs: 2_000, pretty: true });
    expect(parse('index=&wait=')).toEqual({ minIndex: 0, waitMs: undefined, pretty: false });
  });

  it('rejects what Consul rejects, with its messages', () => {
    const failure = (query: string) => {
      try {
        parse(query);
      } catch (error) {
        return error instanceof ConsulHttpError ? [error.status, error.message] : error;
      }
      return 'accepted';
    };
    expect(failure('wait=5')).toEqual([400, 'Invalid wait time']);
    expect(failure('index=abc')).toEqual([400, 'Invalid index']);
    expect(failure('index=18446744073709551616')).toEqual([400, 'Invalid index']);
    expect(failure('stale&consistent')).toEqual([400, 'Cannot specify ?stale with ?consistent, conflicting semantics.']);
  });
});

describe('requestToken', () => {
  const query = (text: string) => new URLSearchParams(text);

  it('prefers ?token=, then X-Consul-Token, then Authorization: Bearer', () => {
    const all = { 'x-consul-token': 'header', authorization: 'Bearer bearer' };
    expect(requestToken(all, query('token=query'))).toBe('query');
    expect(requestToken(all, query(''))).toBe('header');
    expect(requestToken({ authorization: 'bearer  spaced ' }, query(''))).toBe('spaced');
    expect(requestToken({ authorization: 'Basic abc' }, query(''))).toBeUndefined();
    expect(requestToken({}, query('token='))).toBeUndefined();
  });
});

describe('parseRequestTarget', () => {
  it('decodes the path and keeps the query', () => {
    const target = parseRequestTarget('/v1/kv/a%2Fb/%C3%BC?recurse&index=3#frag');
    expect(target.path).toBe('/v1/kv/a/b/ü');
    expect(target.rawQuery).toBe('recurse&index=3');
    expect(target.query.get('index')).toBe('3');
  });

  it('accepts the absolute form', () => {
    expect(parseRequestTarget('http://127.0.0.1:8500/v1/kv/x?raw').path).toBe('/v1/kv/x');
  });

  it('turns malformed targets into 400s', () => {
    for (const url of ['/v1/kv/%zz', '/v1/kv/%01', '/v1/kv/a%0Ab', 'not a url']) {
      expect(() => parseRequestTarget(url)).toThrow(ConsulHttpError);
    }
  });
});

describe('encodeEntries', () => {
  it('writes Consul DirEntries with exact uint64 flags and null for empty values', () => {
    const entries = [
      { key: 'a', value: Buffer.from('hi'), flags: 2n ** 64n - 1n, createIndex: 3, modifyIndex: 4 },
      { key: 'b', value: Buffer.alloc(0), flags: 0n, createIndex: 5, modifyIndex: 5 },
    ];
    expect(encodeEntries(entries)).toBe(
      '[{"LockIndex":0,"Key":"a","Flags":18446744073709551615,"Value":"aGk=","CreateIndex":3,"ModifyIndex":4},' +
        '{"LockIndex":0,"Key":"b","Flags":0,"Value":null,"CreateIndex":5,"ModifyIndex":5}]',
    );
    expect(encodeEntries(entries.slice(1), true)).toBe(
      '[\n    {\n        "LockIndex": 0,\n        "Key": "b",\n        "Flags": 0,\n        "Value": null,\n        "CreateIndex": 5,\n        "ModifyIndex": 5\n    }\n]\n',
    );
  });
});

/** Sends bytes as they are (for requests fetch refuses to build) and returns the whole reply. */
function rawHttp(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
    socket.write(text);
  });
}

describe('EmbeddedKvServer', () => {
  let dataDir: string;
  const servers: EmbeddedKvServer[] = [];
  const start = async (options: Parameters<typeof EmbeddedKvServer.start>[0] = {}) => {
    const server = await EmbeddedKvServer.start({ port: 0, ...options });
    servers.push(server);
    return server;
  };

  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'ragswap-kv-server-'));
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.stop()));
    await rm(dataDir, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1 and exposes address, port and store', async () => {
    const server = await start();
    expect(server.port).toBeGreaterThan(0);
    expect(server.address).toBe(`http://127.0.0.1:${server.port}`);
    await server.store.set('a', 'b');
    expect(await (await fetch(`${server.address}/v1/kv/a?raw`)).text()).toBe('b');
  });

  it('refuses to start on a port in use', async () => {
    const server = await start();
    await expect(EmbeddedKvServer.start({ port: server.port })).rejects.toThrow(/EADDRINUSE/);
  });

  describe('with an ACL token', () => {
    it('rejects requests without the token, accepts it from any of Consul\'s three places', async () => {
      const server = await start({ aclToken: 's3cret' });
      const url = `${server.address}/v1/kv/k`;

      const anonymous = await fetch(url);
      expect(anonymous.status).toBe(403);
      expect(await anonymous.text()).toBe('Permission denied');
      expect(anonymous.headers.get('x-consul-default-acl-policy')).toBe('deny');
      const wrong = await fetch(url, { headers: { 'X-Consul-Token': 'nope' } });
      expect([wrong.status, await wrong.text()]).toEqual([403, 'ACL not found']);
      expect((await fetch(url, { method: 'PUT', body: 'v' })).status).toBe(403);
      expect(server.store.get('k').entry).toBeUndefined();

      expect(await (await fetch(url, { method: 'PUT', body: 'v', headers: { 'X-Consul-Token': 's3cret' } })).json()).toBe(true);
      expect((await fetch(`${url}?token=s3cret`)).status).toBe(200);
      expect((await fetch(url, { headers: { Authorization: 'Bearer s3cret' } })).status).toBe(200);
    });

    it('leaves /v1/status/leader open, as Consul does', async () => {
      const server = await start({ aclToken: 's3cret' });
      expect((await fetch(`${server.address}/v1/status/leader`)).status).toBe(200);
    });
  });

  describe('blocking queries', () => {
    it('never hold a request longer than maxWaitMs (plus jitter)', async () => {
      const server = await start({ maxWaitMs: 200 });
      await server.store.set('k', 'v');
      const started = Date.now();
      const reply = await fetch(`${server.address}/v1/kv/k?index=${server.store.index}&wait=10m`);
      expect(reply.status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);
      expect(Date.now() - started).toBeLessThan(1_500);
    });

    it('are not woken by an identical write, which leaves the index alone', async () => {
      const server = await start();
      await server.store.set('k', 'same');
      const { index } = server.store;
      const started = Date.now();
      const blocked = fetch(`${server.address}/v1/kv/k?index=${index}&wait=400ms`);
      await sleep(50);
      expect(await (await fetch(`${server.address}/v1/kv/k`, { method: 'PUT', body: 'same' })).json()).toBe(true);
      const reply = await blocked;
      expect(Date.now() - started).toBeGreaterThanOrEqual(380);
      expect(reply.headers.get('x-consul-index')).toBe(String(index));
    });

    it('on the empty prefix wake on any write', async () => {
      const server = await start();
      const blocked = fetch(`${server.address}/v1/kv/?recurse&index=1&wait=10s`);
      await sleep(50);
      await server.store.set('anything', 'x');
      const reply = await blocked;
      expect(reply.headers.get('x-consul-index')).toBe('2');
    });

    it('release their waiter when the client disconnects', async () => {
      const server = await start();
      const controller = new AbortController();
      const blocked = fetch(`${server.address}/v1/kv/k?index=1&wait=10m`, { signal: controller.signal });
      await sleep(50);
      expect(server.store.waiting).toBe(1);
      controller.abort();
      await expect(blocked).rejects.toThrow();
      await sleep(50);
      expect(server.store.waiting).toBe(0);
    });
  });

  describe('stop and restart', () => {
    it('answers open blocking queries at once and frees the port for an immediate restart', async () => {
      const first = await start({ dataDir });
      await first.store.set('tenants/a', 'A', { flags: 9 });
      await first.store.set('tenants/b', 'B');
      await first.store.delete('tenants/b');
      const { index } = first.store;

      const blocked = fetch(`${first.address}/v1/kv/tenants/?recurse&index=${index}&wait=5m`);
      await sleep(50);
      const stopping = Date.now();
      await first.stop();
      const reply = await blocked;
      expect(Date.now() - stopping).toBeLessThan(1_500);
      expect(reply.status).toBe(200);
      expect(reply.headers.get('x-consul-index')).toBe(String(index));

      const second = await start({ dataDir, port: first.port });
      expect(second.port).toBe(first.port);
      const list = await fetch(`${second.address}/v1/kv/tenants/?recurse`);
      expect(list.headers.get('x-consul-index')).toBe(String(index));
      expect(await list.json()).toEqual([{ LockIndex: 0, Key: 'tenants/a', Flags: 9, Value: 'QQ==', CreateIndex: 2, ModifyIndex: 2 }]);
      expect(await (await fetch(`${second.address}/v1/kv/tenants/c`, { method: 'PUT', body: 'C' })).json()).toBe(true);
      expect(second.store.get('tenants/c').entry?.modifyIndex).toBe(index + 1);
    });

    it('closes idle keep-alive connections instead of waiting for them', async () => {
      const server = await start();
      const agent = new Agent({ keepAlive: true });
      try {
        const status = await new Promise<number>((resolve, reject) => {
          httpRequest(`${server.address}/v1/status/leader`, { agent }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          })
            .on('error', reject)
            .end();
        });
        expect(status).toBe(200);
        const stopping = Date.now();
        await server.stop();
        expect(Date.now() - stopping).toBeLessThan(500);
      } finally {
        agent.destroy();
      }
    });

    it('stays in memory without a dataDir: a restart starts empty', async () => {
      const first = await start();
      await first.store.set('k', 'v');
      await first.stop();
      const second = await start({ port: first.port });
      expect(second.store.get('k').entry).toBeUndefined();
    });

    it('seeds on the first start only', async () => {
      const seed = [{ key: 'ragswap/tenants/demo', value: '{"active":true}' }];
      const first = await start({ dataDir });
      expect(await first.seedIfEmpty(seed)).toBe(true);
      await first.stop();
      const second = await start({ dataDir });
      expect(await second.seedIfEmpty(seed)).toBe(false);
      expect(second.store.get('ragswap/tenants/demo').entry?.value.toString()).toBe('{"active":true}');
    });
  });

  describe('robustness', () => {
    it('answers malformed request targets with 400 and keeps serving', async () => {
      const server = await start();
      expect(await rawHttp(server.port, 'GET /v1/kv/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
      expect(await rawHttp(server.port, 'GET /v1/kv/a%01b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
      expect(await rawHttp(server.port, 'complete garbage\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
      await server.store.set('k', 'v');
      expect(await rawHttp(server.port, `GET http://127.0.0.1:${server.port}/v1/kv/k?raw HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)).toMatch(
        /^HTTP\/1\.1 200 [\s\S]*\r\n\r\nv$/,
      );
    });

    it('survives a client that disconnects in the middle of a PUT body', async () => {
      const server = await start();
      const socket = connect(server.port, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write('PUT /v1/kv/partial HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b');
      await sleep(50);
      socket.destroy();
      await sleep(50);
      expect(server.store.get('partial').entry).toBeUndefined();
      expect((await fetch(`${server.address}/v1/status/leader`)).status).toBe(200);
    });

    it('enforces the value limit on chunked bodies and keeps the connection usable', async () => {
      const server = await start();
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const put = (chunks: number) =>
        new Promise<{ status: number; body: string; socket: unknown }>((resolve, reject) => {
          const req = httpRequest(`${server.address}/v1/kv/chunked`, { method: 'PUT', agent }, (res: IncomingMessage) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (body += chunk));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body, socket: req.socket }));
          });
          req.on('error', reject);
          for (let i = 0; i < chunks; i++) req.write(Buffer.alloc(64 * 1024, 0x62));
          req.end();
        });
      try {
        const tooBig = await put(MAX_VALUE_BYTES / (64 * 1024) + 1);
        expect(tooBig.status).toBe(413);
        expect(tooBig.body).toMatch(/^Request body\(\d+ bytes\) too large, max size: 524288 bytes/);
        const fits = await put(2);
        expect([fits.status, fits.body]).toEqual([200, 'true']);
        expect(fits.socket).toBe(tooBig.socket);
        expect(server.store.get('chunked').entry?.value.length).toBe(128 * 1024);
      } finally {
        agent.destroy();
      }
    });

    it("answers bad write parameters as Consul does", async () => {
      const server = await start();
      const put = async (query: string) => {
        const reply = await fetch(`${server.address}/v1/kv/k?${query}`, { method: 'PUT', body: 'v' });
        return [reply.status, await reply.text()];
      };
      expect(await put('cas=1&acquire=s')).toEqual([400, 'Conflicting flags: acquire=s&cas=1\n']);
      expect(await put('flags=x')).toEqual([500, 'strconv.ParseUint: parsing "x": invalid syntax']);
      expect(await put('cas=18446744073709551616')).toEqual([500, 'strconv.ParseUint: parsing "18446744073709551616": value out of range']);
      // There are no sessions here, so a lock cannot be taken and none can be released.
      expect(await put('acquire=0c7cc0ee-0000-0000-0000-000000000000')).toEqual([500, 'invalid session "0c7cc0ee-0000-0000-0000-000000000000"']);
      expect(await put('release=0c7cc0ee-0000-0000-0000-000000000000')).toEqual([200, 'false']);
      const conflict = await fetch(`${server.address}/v1/kv/k?recurse&cas=1`, { method: 'DELETE' });
      expect([conflict.status, await conflict.text()]).toEqual([400, 'Conflicting flags: cas=1&recurse=\n']);
      expect(server.store.get('k').entry).toBeUndefined();
    });

    it("redirects paths with //, . or .. segments to the clean path, as Go's ServeMux does, and stores nothing", async () => {
      const server = await start();
      // fetch (and a URL string) would clean the path itself; a path option is sent as written.
      const raw = (method: string, target: string) =>
        new Promise<{ status: number; location: string | undefined }>((resolve, reject) => {
          const request = httpRequest({ host: '127.0.0.1', port: server.port, path: target, method }, (response) => {
            response.resume();
            resolve({ status: response.statusCode ?? 0, location: response.headers.location });
          });
          request.on('error', reject);
          request.end(method === 'PUT' ? 'v' : undefined);
        });
      expect(await raw('PUT', '/v1/kv/x/../z?cas=0')).toEqual({ status: 301, location: '/v1/kv/z?cas=0' });
      expect(await raw('PUT', '/v1/kv/a//b')).toEqual({ status: 301, location: '/v1/kv/a/b' });
      expect(await raw('GET', '/v1/kv/./a%20b/')).toEqual({ status: 301, location: '/v1/kv/a%20b/' });
      // Encoded dots and slashes are decoded first, so they cannot smuggle a segment through.
      expect(await raw('DELETE', '/v1/kv/a%2F..%2Fb')).toEqual({ status: 301, location: '/v1/kv/b' });
      expect(await raw('GET', '/v1/kv/../../etc/passwd')).toEqual({ status: 301, location: '/etc/passwd' });
      expect(server.store.list('').entries).toEqual([]);
    });

    it('refuses namespaces and partitions as Consul CE does, and writes nothing', async () => {
      const server = await start();
      const answer = async (query: string, headers: Record<string, string> = {}, method = 'PUT') => {
        const reply = await fetch(`${server.address}/v1/kv/k${query}`, { method, body: method === 'PUT' ? 'v' : undefined, headers });
        return [reply.status, await reply.text()];
      };
      expect(await answer('?ns=team-a')).toEqual([400, 'Bad request: Invalid query parameter: "ns" - Namespaces are a Consul Enterprise feature']);
      expect(await answer('?partition=p', {}, 'GET')).toEqual([400, 'Bad request: Invalid query parameter: "partition" - Partitions are a Consul Enterprise feature']);
      expect(await answer('', { 'X-Consul-Namespace': 'team-a' }, 'DELETE')).toEqual([400, 'Bad request: Invalid header: "X-Consul-Namespace" - Namespaces are a Consul Enterprise feature']);
      expect(await answer('', { 'X-Consul-Partition': 'p' })).toEqual([400, 'Bad request: Invalid header: "X-Consul-Partition" - Partitions are a Consul Enterprise feature']);
      expect(server.store.get('k').entry).toBeUndefined();
      // An empty value names no namespace: Consul reads it as the default one.
      expect(await answer('?ns=')).toEqual([200, 'true']);
    });

    it('answers OPTIONS with Allow, redirects /v1/kv to /v1/kv/ and 404s non-API paths', async () => {
      const server = await start();
      const options = await fetch(`${server.address}/v1/kv/k`, { method: 'OPTIONS' });
      expect([options.status, options.headers.get('allow')]).toEqual([200, 'OPTIONS,GET,PUT,DELETE']);
      const redirect = await fetch(`${server.address}/v1/kv?recurse`, { redirect: 'manual' });
      expect([redirect.status, redirect.headers.get('location')]).toEqual([301, '/v1/kv/?recurse']);
      const outside = await fetch(`${server.address}/favicon.ico`);
      expect([outside.status, await outside.text()]).toEqual([404, "Invalid URL path: if attempting to use the HTTP API, ensure the path starts with '/v1/'\n"]);
      expect((await fetch(`${server.address}/v1/kv/k`, { method: 'HEAD' })).status).toBe(405);
    });

    it('lists an empty root as [] with ?keys and 404 with ?recurse, at index 1', async () => {
      const server = await start();
      const keys = await fetch(`${server.address}/v1/kv/?keys`);
      expect([keys.status, await keys.json(), keys.headers.get('x-consul-index')]).toEqual([200, [], '1']);
      const recurse = await fetch(`${server.address}/v1/kv/?recurse`);
      expect([recurse.status, recurse.headers.get('x-consul-index')]).toEqual([404, '1']);
    });
  });
});
