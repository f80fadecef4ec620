import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvUnavailableError } from '../../src/errors.ts';
import { blockingTimeoutMs, consulBaseUrl, ConsulKvClient, formatWait } from '../../src/kv/consul-kv-client.ts';
import { EmbeddedKvServer } from '../../src/kv/kv-server.ts';

const TOKEN = 'test-acl-token';
let server: EmbeddedKvServer;
let client: ConsulKvClient;

beforeAll(async () => {
  server = await EmbeddedKvServer.start({ port: 0, aclToken: TOKEN });
  client = new ConsulKvClient({ address: server.address, token: TOKEN });
});

afterAll(async () => {
  await server?.stop();
});

describe('ConsulKvClient helpers', () => {
  it('accepts CONSUL_HTTP_ADDR with or without a scheme', () => {
    expect(consulBaseUrl('127.0.0.1:8500')).toBe('http://127.0.0.1:8500/v1');
    expect(consulBaseUrl('https://consul.example:8501/')).toBe('https://consul.example:8501/v1');
  });
  it('waits longer than wait + wait/16 for a blocking query', () => {
    expect(blockingTimeoutMs(60_000)).toBeGreaterThan(60_000 + 60_000 / 16);
    expect(formatWait(60_000)).toBe('60000ms');
  });
});

describe('ConsulKvClient against the embedded server with ACLs on', () => {
  it('reads, writes with check-and-set and deletes, sending the token', async () => {
    expect(await client.put('t/a/config', '{"v":1}', { cas: 0 })).toBe(true);
    expect(await client.put('t/a/config', '{"v":2}', { cas: 0 })).toBe(false);
    const read = await client.get('t/a/config');
    expect(read.value).toMatchObject({ key: 't/a/config', value: '{"v":1}' });
    expect(read.index).toBe(read.value!.modifyIndex);
    expect(await client.put('t/a/config', '{"v":2}', { cas: read.value!.modifyIndex + 99 })).toBe(false);
    expect(await client.put('t/a/config', '{"v":2}', { cas: read.value!.modifyIndex })).toBe(true);
    const listed = await client.list('t/');
    expect(listed.value.map((entry) => entry.value)).toEqual(['{"v":2}']);
    expect(await client.delete('t/a/config')).toBe(true);
    expect((await client.get('t/a/config')).value).toBeUndefined();
    expect((await client.list('t/')).value).toEqual([]);
  });

  it('lists keys without values, and none under an empty prefix', async () => {
    expect(await client.keys('k/')).toEqual([]);
    for (const key of ['k/b', 'k/a', 'k/c/d']) expect(await client.put(key, 'x'.repeat(1000))).toBe(true);
    expect(await client.keys('k/')).toEqual(['k/a', 'k/b', 'k/c/d']);
    expect(await client.delete('k/', { recurse: true })).toBe(true);
  });

  it('blocks on an index until a write moves it', async () => {
    const { index } = await client.list('w/');
    const blocked = client.list('w/', { index, waitMs: 10_000 });
    setTimeout(() => void client.put('w/x', 'hello'), 50);
    const startedAt = performance.now();
    const changed = await blocked;
    expect(performance.now() - startedAt).toBeLessThan(5_000);
    expect(changed.index).toBeGreaterThan(index);
    expect(changed.value.map((entry) => entry.value)).toEqual(['hello']);
  });

  it('cancels a blocking query when its signal aborts', async () => {
    const { index } = await client.list('c/');
    const controller = new AbortController();
    const blocked = client.list('c/', { index, waitMs: 30_000, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stop watching')), 20);
    await expect(blocked).rejects.toThrow('stop watching');
  });

  it('reports a missing or wrong token as KV unavailable, not a crash', async () => {
    const anonymous = new ConsulKvClient({ address: server.address });
    await expect(anonymous.list('t/')).rejects.toBeInstanceOf(KvUnavailableError);
    const wrong = new ConsulKvClient({ address: server.address, token: 'nope' });
    await expect(wrong.put('t/b', 'x')).rejects.toBeInstanceOf(KvUnavailableError);
  });

  it('reports an unreachable server as KV unavailable', async () => {
    const probe = await EmbeddedKvServer.start({ port: 0 });
    const address = probe.address;
    await probe.stop();
    await expect(new ConsulKvClient({ address }).list('t/')).rejects.toBeInstanceOf(KvUnavailableError);
  });
});
