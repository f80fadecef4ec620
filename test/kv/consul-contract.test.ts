/**
 * Consul KV contract: the same assertions run against the embedded server and, when
 * CONSUL_HTTP_ADDR is set, against a real Consul (under a random key prefix that is removed
 * afterwards; CONSUL_HTTP_TOKEN is sent when set). Only behaviour a client can rely on is asserted
 * here; embedded-only features (ACL token option, maxWaitMs, restart) live in kv-server.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import Consul from 'consul';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedKvServer } from '../../src/kv/kv-server.ts';

interface Target {
  readonly name: string;
  /** `http://host:port`, known once setup ran. */
  baseUrl: string;
  /** Every key a test touches starts with this. */
  readonly prefix: string;
  readonly token: string | undefined;
  setup(): Promise<void>;
  teardown(): Promise<void>;
}

function embeddedTarget(): Target {
  let server: EmbeddedKvServer | undefined;
  return {
    name: 'embedded server',
    baseUrl: '',
    prefix: 'contract/',
    token: undefined,
    async setup() {
      server = await EmbeddedKvServer.start({ port: 0 });
      this.baseUrl = server.address;
    },
    async teardown() {
      await server?.stop();
    },
  };
}

function realConsulTarget(address: string): Target {
  const withScheme = /^https?:\/\//.test(address) ? address : `http://${address}`;
  return {
    name: `real Consul at ${address}`,
    baseUrl: withScheme.replace(/\/+$/, ''),
    prefix: `ragswap-contract-${randomUUID()}/`,
    token: process.env.CONSUL_HTTP_TOKEN || undefined,
    async setup() {},
    async teardown() {
      await fetch(`${this.baseUrl}/v1/kv/${this.prefix}?recurse`, { method: 'DELETE', headers: authHeaders(this) });
    },
  };
}

const targets: Target[] = [embeddedTarget()];
if (process.env.CONSUL_HTTP_ADDR) targets.push(realConsulTarget(process.env.CONSUL_HTTP_ADDR));

function authHeaders(target: Target): Record<string, string> {
  return target.token ? { 'X-Consul-Token': target.token } : {};
}

interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly bytes: Buffer;
  readonly text: string;
  /** X-Consul-Index as a number (NaN when absent). */
  readonly index: number;
  json<T = unknown>(): T;
}

interface ConsulEntry {
  Key: string;
  Value: string | null;
  Flags: number;
  LockIndex: number;
  CreateIndex: number;
  ModifyIndex: number;
}

/** Keys may contain anything; encode each segment, keep the slashes. */
function keyPath(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

async function request(target: Target, method: string, path: string, body?: Uint8Array | string): Promise<Reply> {
  const response = await fetch(`${target.baseUrl}${path}`, {
    method,
    headers: authHeaders(target),
    ...(body === undefined ? {} : { body }),
  });
  const bytes = Buffer.from(await response.arrayBuffer());
  const text = bytes.toString('utf8');
  return {
    status: response.status,
    headers: response.headers,
    bytes,
    text,
    index: Number(response.headers.get('x-consul-index') ?? NaN),
    json: <T,>() => JSON.parse(text) as T,
  };
}

describe.each(targets)('Consul KV contract: $name', (target) => {
  let n = 0;
  /** A fresh key (or prefix) per test, so tests never see each other's data. */
  const fresh = (name: string) => `${target.prefix}${++n}-${name}`;
  const kv = (method: string, key: string, query = '', body?: Uint8Array | string) =>
    request(target, method, `/v1/kv/${keyPath(key)}${query === '' ? '' : `?${query}`}`, body);

  beforeAll(() => target.setup());
  afterAll(() => target.teardown());

  describe('reads', () => {
    it('answers a missing key with 404, an empty body and query metadata', async () => {
      const reply = await kv('GET', fresh('missing'));
      expect(reply.status).toBe(404);
      expect(reply.text).toBe('');
      expect(reply.index).toBeGreaterThanOrEqual(1);
      expect(reply.headers.get('x-consul-knownleader')).toBe('true');
      expect(reply.headers.get('x-consul-lastcontact')).toMatch(/^\d+$/);
    });

    it('stores with PUT (answer: true) and returns the entry in Consul\'s shape', async () => {
      const key = fresh('shape');
      const put = await kv('PUT', key, '', 'hello');
      expect(put.status).toBe(200);
      expect(put.headers.get('content-type')).toBe('application/json');
      expect(put.json()).toBe(true);

      const reply = await kv('GET', key);
      expect(reply.status).toBe(200);
      expect(reply.headers.get('content-type')).toBe('application/json');
      const [entry, ...rest] = reply.json<ConsulEntry[]>();
      expect(rest).toEqual([]);
      expect(Object.keys(entry ?? {}).sort()).toEqual(['CreateIndex', 'Flags', 'Key', 'LockIndex', 'ModifyIndex', 'Value']);
      expect(entry).toMatchObject({ Key: key, Value: Buffer.from('hello').toString('base64'), Flags: 0, LockIndex: 0 });
      expect(entry?.CreateIndex).toBe(entry?.ModifyIndex);
      expect(reply.index).toBe(entry?.ModifyIndex);
    });

    it('keeps CreateIndex across updates and advances ModifyIndex', async () => {
      const key = fresh('update');
      await kv('PUT', key, '', 'v1');
      const [before] = (await kv('GET', key)).json<ConsulEntry[]>();
      await kv('PUT', key, '', 'v2');
      const [after] = (await kv('GET', key)).json<ConsulEntry[]>();
      expect(after?.CreateIndex).toBe(before?.CreateIndex);
      expect(after?.ModifyIndex).toBeGreaterThan(before?.ModifyIndex ?? Infinity);
    });

    it('reports an empty value as null, and ?raw returns the bytes as stored', async () => {
      const empty = fresh('empty');
      await kv('PUT', empty);
      expect((await kv('GET', empty)).json<ConsulEntry[]>()[0]?.Value).toBeNull();

      const binary = fresh('binary');
      const bytes = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x0a]);
      await kv('PUT', binary, '', bytes);
      const raw = await kv('GET', binary, 'raw');
      expect(raw.status).toBe(200);
      expect(raw.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(raw.headers.get('x-content-type-options')).toBe('nosniff');
      expect(raw.bytes.equals(bytes)).toBe(true);
      expect(Buffer.from((await kv('GET', binary)).json<ConsulEntry[]>()[0]?.Value ?? '', 'base64').equals(bytes)).toBe(true);

      expect((await kv('GET', fresh('no-such'), 'raw')).status).toBe(404);
    });

    it('keeps flags as an exact uint64', async () => {
      const key = fresh('flags');
      await kv('PUT', key, 'flags=18446744073709551615', 'x');
      expect((await kv('GET', key)).text).toContain('"Flags":18446744073709551615');
      await kv('PUT', key, '', 'y');
      expect((await kv('GET', key)).json<ConsulEntry[]>()[0]?.Flags).toBe(0);
    });

    it('decodes the key from the path, slashes and escapes included', async () => {
      const key = `${fresh('odd')}/with space/ü/%`;
      await kv('PUT', key, '', 'odd');
      const [entry] = (await kv('GET', key)).json<ConsulEntry[]>();
      expect(entry?.Key).toBe(key);
    });

    it('lists a prefix with ?recurse, sorted by key, and 404s an empty prefix', async () => {
      const prefix = `${fresh('tree')}/`;
      await kv('PUT', `${prefix}b`, '', 'b');
      await kv('PUT', `${prefix}a/deep`, '', 'deep');
      await kv('PUT', `${prefix}a`, '', 'a');
      await kv('PUT', `${prefix.slice(0, -1)}-sibling`, '', 'not under the prefix');
      const reply = await kv('GET', prefix, 'recurse');
      const entries = reply.json<ConsulEntry[]>();
      expect(entries.map((entry) => entry.Key)).toEqual([`${prefix}a`, `${prefix}a/deep`, `${prefix}b`]);
      expect(reply.index).toBe(Math.max(...entries.map((entry) => entry.ModifyIndex)));

      const none = await kv('GET', `${fresh('empty-tree')}/`, 'recurse');
      expect(none.status).toBe(404);
      expect(none.index).toBeGreaterThanOrEqual(1);
    });

    it('lists key names with ?keys, folded at the separator', async () => {
      const prefix = `${fresh('keys')}/`;
      for (const name of ['x', 'dir/1', 'dir/2', 'other/3']) await kv('PUT', `${prefix}${name}`, '', name);
      expect((await kv('GET', prefix, 'keys')).json()).toEqual([`${prefix}dir/1`, `${prefix}dir/2`, `${prefix}other/3`, `${prefix}x`]);
      expect((await kv('GET', prefix, 'keys&separator=/')).json()).toEqual([`${prefix}dir/`, `${prefix}other/`, `${prefix}x`]);
      expect((await kv('GET', `${fresh('no-keys')}/`, 'keys')).status).toBe(404);
    });
  });

  describe('writes', () => {
    it('check-and-set: cas=0 creates only, cas=N updates only ModifyIndex N', async () => {
      const key = fresh('cas');
      expect((await kv('PUT', key, 'cas=0', 'first')).json()).toBe(true);
      expect((await kv('PUT', key, 'cas=0', 'second')).json()).toBe(false);
      const [entry] = (await kv('GET', key)).json<ConsulEntry[]>();
      const modifyIndex = entry?.ModifyIndex ?? 0;
      expect((await kv('PUT', key, `cas=${modifyIndex + 1000}`, 'stale')).json()).toBe(false);
      expect((await kv('PUT', key, `cas=${modifyIndex}`, 'third')).json()).toBe(true);
      expect((await kv('GET', key, 'raw')).text).toBe('third');
      expect((await kv('PUT', fresh('cas-missing'), 'cas=5', 'x')).json()).toBe(false);
    });

    it('deletes a key and moves the prefix index forward (tombstone)', async () => {
      const prefix = `${fresh('tomb')}/`;
      await kv('PUT', `${prefix}keep`, '', 'k');
      await kv('PUT', `${prefix}drop`, '', 'd');
      const before = await kv('GET', prefix, 'recurse');

      const deleted = await kv('DELETE', `${prefix}drop`);
      expect(deleted.status).toBe(200);
      expect(deleted.json()).toBe(true);
      expect((await kv('GET', `${prefix}drop`)).status).toBe(404);

      const after = await kv('GET', prefix, 'recurse');
      expect(after.json<ConsulEntry[]>().map((entry) => entry.Key)).toEqual([`${prefix}keep`]);
      // Without the tombstone the index would fall back to `keep`'s older ModifyIndex.
      expect(after.index).toBeGreaterThan(before.index);

      expect((await kv('DELETE', fresh('never-existed'))).json()).toBe(true);
    });

    it('deletes with cas only at the matching ModifyIndex', async () => {
      const key = fresh('del-cas');
      await kv('PUT', key, '', 'v');
      const [entry] = (await kv('GET', key)).json<ConsulEntry[]>();
      expect((await kv('DELETE', key, `cas=${(entry?.ModifyIndex ?? 0) + 1000}`)).json()).toBe(false);
      expect((await kv('GET', key)).status).toBe(200);
      expect((await kv('DELETE', key, `cas=${entry?.ModifyIndex}`)).json()).toBe(true);
      expect((await kv('GET', key)).status).toBe(404);
    });

    it('deletes a whole prefix with ?recurse', async () => {
      const prefix = `${fresh('rm-tree')}/`;
      await kv('PUT', `${prefix}a`, '', 'a');
      await kv('PUT', `${prefix}b/c`, '', 'c');
      const before = await kv('GET', prefix, 'recurse');
      expect((await kv('DELETE', prefix, 'recurse')).json()).toBe(true);
      const after = await kv('GET', prefix, 'recurse');
      expect(after.status).toBe(404);
      expect(after.index).toBeGreaterThan(before.index);
    });

    it('rejects a value over 512 KiB with 413', async () => {
      const reply = await kv('PUT', fresh('huge'), '', Buffer.alloc(512 * 1024 + 1, 0x61));
      expect(reply.status).toBe(413);
      expect((await kv('PUT', fresh('max'), '', Buffer.alloc(512 * 1024, 0x61))).json()).toBe(true);
    });
  });

  describe('blocking queries', () => {
    it('hold the request until a write moves the index, then answer with the new data', async () => {
      const key = fresh('block');
      await kv('PUT', key, '', 'old');
      const { index } = await kv('GET', key);
      const started = Date.now();
      const blocked = kv('GET', key, `index=${index}&wait=10s`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await kv('PUT', key, '', 'new');
      const reply = await blocked;
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(reply.index).toBeGreaterThan(index);
      expect(Buffer.from(reply.json<ConsulEntry[]>()[0]?.Value ?? '', 'base64').toString()).toBe('new');
    });

    it('wake a prefix watcher when a key under it is deleted', async () => {
      const prefix = `${fresh('block-tree')}/`;
      await kv('PUT', `${prefix}a`, '', 'a');
      await kv('PUT', `${prefix}b`, '', 'b');
      const { index } = await kv('GET', prefix, 'recurse');
      const blocked = kv('GET', prefix, `recurse&index=${index}&wait=10s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await kv('DELETE', `${prefix}b`);
      const reply = await blocked;
      expect(reply.index).toBeGreaterThan(index);
      expect(reply.json<ConsulEntry[]>().map((entry) => entry.Key)).toEqual([`${prefix}a`]);
    });

    it('answer after `wait` (plus at most wait/16 jitter) with the unchanged index when nothing happens', async () => {
      const key = fresh('quiet');
      await kv('PUT', key, '', 'v');
      const { index } = await kv('GET', key);
      const started = Date.now();
      const reply = await kv('GET', key, `index=${index}&wait=600ms`);
      const elapsed = Date.now() - started;
      expect(reply.status).toBe(200);
      expect(reply.index).toBe(index);
      expect(elapsed).toBeGreaterThanOrEqual(550);
      expect(elapsed).toBeLessThan(600 * (1 + 1 / 16) + 1_000);
    });

    it('answer at once when the index is already past, or index=0', async () => {
      const key = fresh('past');
      await kv('PUT', key, '', 'v');
      const { index } = await kv('GET', key);
      const started = Date.now();
      expect((await kv('GET', key, `index=${index - 1}&wait=10s`)).status).toBe(200);
      expect((await kv('GET', key, 'index=0&wait=10s')).status).toBe(200);
      expect(Date.now() - started).toBeLessThan(2_000);
    });

    it('also block on a missing key and 404 with an index when they time out', async () => {
      const key = fresh('absent');
      const { index } = await kv('GET', key);
      const reply = await kv('GET', key, `index=${index}&wait=300ms`);
      expect(reply.status).toBe(404);
      expect(reply.index).toBeGreaterThanOrEqual(index);
    });

    it('reject a malformed wait or index with 400 and Consul\'s message', async () => {
      const key = fresh('bad-params');
      const badWait = await kv('GET', key, 'index=1&wait=10');
      expect(badWait.status).toBe(400);
      expect(badWait.text).toBe('Invalid wait time');
      const badIndex = await kv('GET', key, 'index=-3');
      expect(badIndex.status).toBe(400);
      expect(badIndex.text).toBe('Invalid index');
    });
  });

  describe('routing', () => {
    it('requires a key name except for recursive reads', async () => {
      for (const method of ['GET', 'PUT', 'DELETE']) {
        const reply = await request(target, method, '/v1/kv/');
        expect(reply.status).toBe(400);
        expect(reply.text).toBe('Missing key name');
      }
    });

    it('404s unknown endpoints and 405s unsupported methods with an Allow header', async () => {
      expect((await request(target, 'GET', '/v1/no-such-endpoint')).status).toBe(404);
      const reply = await request(target, 'PATCH', `/v1/kv/${keyPath(fresh('patch'))}`);
      expect(reply.status).toBe(405);
      expect(reply.headers.get('allow')).toContain('GET');
    });

    it('reports a leader', async () => {
      const reply = await request(target, 'GET', '/v1/status/leader');
      expect(reply.status).toBe(200);
      expect(reply.json()).toMatch(/^[\w.[\]:-]+:\d+$/);
    });
  });

  describe('the npm consul client', () => {
    let consul: Consul;
    beforeAll(() => {
      const url = new URL(target.baseUrl);
      consul = new Consul({
        host: url.hostname,
        port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
        secure: url.protocol === 'https:',
        ...(target.token ? { defaults: { token: target.token } } : {}),
      });
    });
    afterAll(() => consul.destroy());

    /** The client's types know neither `index`/`wait` nor `ctx`; keep the loose view in one place. */
    const looseKv = () => consul.kv as unknown as { get(options: Record<string, unknown>): Promise<unknown>; set(options: Record<string, unknown>): Promise<unknown> };
    const includeResponse = () => Object.assign(new EventEmitter(), { includeResponse: true });

    it('runs a blocking recursive get and exposes X-Consul-Index through includeResponse', async () => {
      const prefix = `${fresh('npm')}/`;
      await consul.kv.set(`${prefix}a`, 'one');
      const first = (await looseKv().get({ key: prefix, recurse: true, ctx: includeResponse() })) as [IncomingMessage, ConsulEntry[]];
      // consul@2 resolves [response, body] when includeResponse is set (the response carries headers and the raw body).
      const [response, entries] = first;
      const index = Number(response.headers['x-consul-index']);
      expect(index).toBeGreaterThan(0);
      expect(entries.map((entry) => [entry.Key, entry.Value])).toEqual([[`${prefix}a`, 'one']]);

      const blocked = looseKv().get({ key: prefix, recurse: true, index: String(index), wait: '10s', ctx: includeResponse() });
      await new Promise((resolve) => setTimeout(resolve, 200));
      await consul.kv.set(`${prefix}b`, 'two');
      const [nextResponse, nextEntries] = (await blocked) as [IncomingMessage, ConsulEntry[]];
      expect(Number(nextResponse.headers['x-consul-index'])).toBeGreaterThan(index);
      expect(nextEntries.map((entry) => entry.Key)).toEqual([`${prefix}a`, `${prefix}b`]);
    });

    it('resolves a lost CAS as false (undefined without includeResponse) and a won one as true', async () => {
      const key = fresh('npm-cas');
      expect(await consul.kv.set({ key, value: 'v', cas: 0 })).toBe(true);
      expect(await consul.kv.set({ key, value: 'again', cas: 0 })).toBeFalsy();
      const [, body] = (await looseKv().set({ key, value: 'again', cas: 0, ctx: includeResponse() })) as [IncomingMessage, boolean];
      expect(body).toBe(false);
      expect(await consul.kv.get(key)).toMatchObject({ Key: key, Value: 'v' });
    });

    it('answers a missing key with undefined', async () => {
      expect(await consul.kv.get(fresh('npm-missing'))).toBeUndefined();
    });
  });
});
