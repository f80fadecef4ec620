import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBucketWith } from '../helpers/s3-server.ts';
import { KvStore } from '../../src/kv/kv-store.ts';
import { tenantConfigKey } from '../../src/tenants/desired-tenants.ts';
import { PREFIX, s3Config, startStack, type Stack } from '../helpers/stack.ts';

/**
 * The engine end to end: s3rver + embedded KV server + the whole service with worker-thread
 * builds, driven only through the KV API and HTTP, as an operator and an app would.
 */

const ALPHA_V1 = [
  { key: 'docs/v1/rockets.md', body: '# Rockets\n\nThe Saturn V rocket carried astronauts to the Moon. Its first stage burned kerosene and liquid oxygen.' },
  { key: 'docs/v1/gardening.txt', body: 'Tomatoes need full sun and regular watering. Prune the side shoots every week.' },
];
const ALPHA_V2 = [
  { key: 'docs/v2/rockets.md', body: '# Rockets\n\nThe Falcon 9 booster lands vertically on a drone ship after launch and is reused.' },
  { key: 'docs/v2/gardening.txt', body: 'Tomatoes need full sun and regular watering. Prune the side shoots every week.' },
];
const BETA = [
  { key: 'kb/secret-recipe.md', body: 'The secret rocket fuel recipe of beta corp mixes glucose and potassium nitrate. Tomatoes are not involved.' },
];

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
  const client = stack.s3.client();
  await createBucketWith(client, 'kb-alpha', [...ALPHA_V1, ...ALPHA_V2]);
  await createBucketWith(client, 'kb-beta', BETA);
  await stack.putConfig('alpha', s3Config('v1', 'kb-alpha', 'docs/v1/'));
  await stack.putConfig('beta', s3Config('b1', 'kb-beta'));
  await stack.waitForServing('alpha', 'v1');
  await stack.waitForServing('beta', 'b1');
});

afterAll(async () => {
  await stack?.close();
});

describe('engine core', () => {
  it('(1) serves v1 with an answer that cites the right S3 object', async () => {
    const { status, body } = await stack.query('alpha', { query: 'Which rocket carried astronauts to the Moon?' });
    expect(status).toBe(200);
    expect(body.tenant_id).toBe('alpha');
    expect(body.version).toBe('v1');
    expect(body.response).toContain('Saturn V');
    expect(body.sources[0].metadata.source).toBe('s3://kb-alpha/docs/v1/rockets.md');
    expect(body.sources[0].metadata.etag).toMatch(/^[0-9a-f]{32}$/);
    expect(body.sources[0].text).toContain('Saturn V');
    expect(typeof body.took_ms).toBe('number');
    const ready = await fetch(`${stack.service.url}/ready`);
    expect(ready.status).toBe(200);
  });

  it('(2) 8 concurrent query loops see zero failures while the index is rebuilt 10 times, and end on v2 content', async () => {
    let running = true;
    const failures: { status: number; body: unknown }[] = [];
    const versionsSeen = new Set<string>();
    let answered = 0;
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const loop = async () => {
      while (running) {
        const { status, body } = await stack.query('alpha', { query: 'Which rocket lands on a drone ship or carried astronauts?', top_k: 2 });
        answered += 1;
        if (status !== 200) failures.push({ status, body });
        else versionsSeen.add(body.version);
      }
    };
    const loops = Array.from({ length: 8 }, loop);
    for (let rebuild = 1; rebuild <= 10; rebuild += 1) {
      // Odd rebuilds serve the v2 documents, even ones go back to v1: each swap changes the content.
      const version = `r${rebuild}`;
      await stack.putConfig('alpha', s3Config(version, 'kb-alpha', rebuild % 2 === 1 ? 'docs/v2/' : 'docs/v1/'));
      await stack.waitForServing('alpha', version);
      const { body } = await stack.query('alpha', { query: 'Which rocket lands on a drone ship or carried astronauts?', top_k: 1 });
      expect(body.version).toBe(version);
      expect(body.sources[0].metadata.source).toBe(rebuild % 2 === 1 ? 's3://kb-alpha/docs/v2/rockets.md' : 's3://kb-alpha/docs/v1/rockets.md');
    }
    await stack.putConfig('alpha', s3Config('v2', 'kb-alpha', 'docs/v2/'));
    await stack.waitForServing('alpha', 'v2');
    running = false;
    await Promise.all(loops);
    delay.disable();

    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(50);
    expect(versionsSeen.size).toBeGreaterThanOrEqual(5);
    const { body } = await stack.query('alpha', { query: 'Which booster lands on a drone ship?' });
    expect(body.version).toBe('v2');
    expect(body.response).toContain('Falcon 9');
    expect(body.sources[0].metadata.source).toBe('s3://kb-alpha/docs/v2/rockets.md');
    // Builds run in worker threads: the event loop serving these queries never stalled for long.
    // (A generous bound for a shared 2-core machine; latency ratios are measured in `npm run bench`.)
    expect(delay.max / 1e6).toBeLessThan(500);
  });

  it('(3) invalid JSON for a serving tenant keeps it serving and shows the error', async () => {
    await stack.putConfig('beta', '{"version": "b2", "data_source": ');
    const status = await stack.waitForState('beta', 'config_error');
    expect(status.serving_version).toBe('b1');
    expect(status.last_error).toMatchObject({ code: 'invalid_config' });
    expect(status.last_error?.message).toMatch(/not valid JSON/);
    const { status: code, body } = await stack.query('beta', { query: 'secret rocket fuel recipe' });
    expect(code).toBe(200);
    expect(body.version).toBe('b1');
    // A schema error names the field.
    await stack.putConfig('beta', { ...s3Config('b2', 'kb-beta'), colour: 'blue' });
    await stack.waitForState('beta', 'config_error').then((current) => expect(current.last_error?.message).toMatch(/colour: unknown field/));
    await stack.putConfig('beta', s3Config('b1', 'kb-beta'));
    await stack.waitForState('beta', 'ready');
  });

  it('(6) two tenants never see each other’s chunks', async () => {
    // Ask alpha about beta's content and beta about alpha's, with a top_k larger than either index.
    const fromAlpha = await stack.query('alpha', { query: 'secret rocket fuel recipe of beta corp glucose potassium nitrate', top_k: 50 });
    const fromBeta = await stack.query('beta', { query: 'Falcon 9 Saturn V tomatoes prune side shoots', top_k: 50 });
    expect(fromAlpha.status).toBe(200);
    expect(fromBeta.status).toBe(200);
    expect(fromAlpha.body.sources.length).toBeGreaterThan(0);
    expect(fromAlpha.body.sources.every((source: any) => source.metadata.source.startsWith('s3://kb-alpha/'))).toBe(true);
    expect(fromBeta.body.sources.every((source: any) => source.metadata.source.startsWith('s3://kb-beta/'))).toBe(true);
    expect(JSON.stringify(fromAlpha.body)).not.toContain('glucose');
    expect(JSON.stringify(fromBeta.body)).not.toContain('Falcon');
  });

  it('(7) a missing bucket fails that tenant only', async () => {
    await stack.putConfig('gamma', s3Config('g1', 'kb-does-not-exist'));
    const status = await stack.waitForState('gamma', 'failed');
    expect(status.last_error).toMatchObject({ code: 'source_not_found' });
    expect(status.last_error?.message).toContain('kb-does-not-exist');
    const gamma = await stack.query('gamma', { query: 'anything' });
    expect(gamma.status).toBe(503);
    expect(gamma.body.error).toBe('index_not_ready');
    expect(gamma.headers.get('retry-after')).toBeTruthy();
    expect((await stack.query('alpha', { query: 'Falcon 9' })).status).toBe(200);
    expect((await stack.status('alpha')).state).toBe('ready');
  });

  it('(7b) a typo in the prefix (nothing to index) keeps the serving index and says why', async () => {
    await stack.putConfig('zeta', s3Config('z1', 'kb-beta'));
    await stack.waitForServing('zeta', 'z1');
    await stack.putConfig('zeta', s3Config('z2', 'kb-beta', 'no-such-prefix/'));
    const status = await stack.waitForState('zeta', 'failed');
    expect(status).toMatchObject({ serving_version: 'z1', last_error: { code: 'source_empty', message: expect.stringContaining('s3://kb-beta/no-such-prefix/') } });
    const { status: code, body } = await stack.query('zeta', { query: 'secret rocket fuel recipe' });
    expect(code).toBe(200);
    expect(body.version).toBe('z1');
    expect(body.sources.length).toBeGreaterThan(0);
    await stack.deleteConfig('zeta');
  });

  it('(4) survives the KV server being down for 5 s and applies a change made after it returns', async () => {
    let running = true;
    const failures: number[] = [];
    const loop = async () => {
      while (running) {
        const { status } = await stack.query('beta', { query: 'secret recipe' });
        if (status !== 200) failures.push(status);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    const loops = Array.from({ length: 4 }, loop);
    await stack.stopKv();
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const during = await stack.status('beta');
    expect(during.kv.connected).toBe(false);
    expect(during.kv.last_error).toBeTruthy();
    expect((await fetch(`${stack.service.url}/ready`)).status).toBe(200);
    await stack.restartKv();
    await stack.putConfig('beta', s3Config('b3', 'kb-beta'));
    await stack.waitForServing('beta', 'b3', 30_000);
    running = false;
    await Promise.all(loops);
    expect(failures).toEqual([]);
    expect((await stack.status('beta')).kv.connected).toBe(true);
  }, 60_000);

  it('(4b) notices a deletion made while it was disconnected', async () => {
    await stack.putConfig('delta', s3Config('d1', 'kb-beta'));
    await stack.waitForServing('delta', 'd1');
    await stack.stopKv();
    // Delete the key in the server's persisted state while no client can reach it, as another
    // operator would during an outage; the watcher only ever sees the snapshot after it.
    const store = await KvStore.open({ directory: path.join(stack.kvDataDir, 'kv') });
    expect(await store.delete(tenantConfigKey(PREFIX, 'delta'))).toBe(true);
    await store.close();
    await stack.restartKv();
    await expect.poll(async () => (await stack.query('delta', { query: 'x' })).status, { timeout: 30_000, interval: 50 }).toBe(404);
  }, 60_000);

  it('(4c) a tenant deleted and re-created during an outage, same version, serves only the new data', async () => {
    await stack.putConfig('epsilon', s3Config('e1', 'kb-beta'));
    await stack.waitForServing('epsilon', 'e1');
    await stack.stopKv();
    // Another customer takes over the id while the pod cannot see KV: one snapshot shows both writes.
    const store = await KvStore.open({ directory: path.join(stack.kvDataDir, 'kv') });
    expect(await store.delete(tenantConfigKey(PREFIX, 'epsilon'))).toBe(true);
    expect(await store.set(tenantConfigKey(PREFIX, 'epsilon'), JSON.stringify(s3Config('e1', 'kb-alpha', 'docs/v1/')))).toBe(true);
    await store.close();
    await stack.restartKv();
    await expect
      .poll(async () => (await stack.query('epsilon', { query: 'rocket fuel', top_k: 50 })).body.sources?.[0]?.metadata.source ?? null, { timeout: 30_000, interval: 50 })
      .toMatch(/^s3:\/\/kb-alpha\//);
    const { body } = await stack.query('epsilon', { query: 'secret rocket fuel recipe glucose potassium nitrate', top_k: 50 });
    expect(body.sources.every((source: any) => source.metadata.source.startsWith('s3://kb-alpha/'))).toBe(true);
    expect((await stack.status('epsilon')).warnings).toEqual([]);
    await stack.deleteConfig('epsilon');
  }, 60_000);

  it('(5) a deleted key unloads its tenant: queries get 404', async () => {
    await stack.deleteConfig('gamma');
    await expect.poll(async () => (await stack.query('gamma', { query: 'x' })).status, { timeout: 10_000, interval: 20 }).toBe(404);
    const { body } = await stack.query('gamma', { query: 'x' });
    expect(body).toEqual({ error: 'tenant_not_found', message: "tenant 'gamma' does not exist" });
    expect((await fetch(`${stack.service.url}/tenants/gamma`)).status).toBe(404);
  });
});
