import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveEmbeddingModel } from '../../src/models/embedding-models.ts';
import { USE_LITE_DIMENSIONS, embedUseLiteBatchInto } from '../../src/models/providers/use-lite-model.ts';
import { UseLiteQueryWorker, useLiteQueryWorker } from '../../src/models/providers/use-lite-query-worker-client.ts';

const texts = [
  'How much vacation time do staff get?',
  'Where is the server room?',
  '',
  'Filler sentence number 7 about nothing in particular, and something a little longer.',
];

/** The reference: each text embedded alone, in this thread. */
async function inProcess(text: string): Promise<Float32Array> {
  const row = new Float32Array(USE_LITE_DIMENSIONS);
  await embedUseLiteBatchInto([text], row, 0);
  return row;
}

function expectSameRow(actual: readonly number[], expected: Float32Array): void {
  expect(actual).toHaveLength(USE_LITE_DIMENSIONS);
  const worst = actual.reduce((max, value, index) => Math.max(max, Math.abs(value - expected[index]!)), 0);
  expect(worst).toBeLessThan(1e-5);
}

/** The real model, offline, in the real worker thread. */
describe('use-lite query worker', { timeout: 60_000 }, () => {
  const clients: UseLiteQueryWorker[] = [];
  afterAll(() => Promise.all([useLiteQueryWorker, ...clients].map((client) => client.close())));

  it("embeds queries through the model's LlamaIndex view exactly as in-process embedding does", async () => {
    const llama = resolveEmbeddingModel('use-lite').llamaEmbedding();
    for (const text of texts) expectSameRow(await llama.getTextEmbedding(text), await inProcess(text));
  });

  it('gives concurrent queries (batched in one turn) each its own row', async () => {
    const client = new UseLiteQueryWorker();
    clients.push(client);
    const many = Array.from({ length: 40 }, (_, index) => texts[index % texts.length]!);
    const rows = await Promise.all(many.map((text) => client.embed(text)));
    const references = await Promise.all(texts.map(inProcess));
    rows.forEach((row, index) => expectSameRow(row, references[index % texts.length]!));
  });

  it('keeps the event loop free while the worker embeds', async () => {
    const client = new UseLiteQueryWorker();
    clients.push(client);
    await client.warm();
    let ticks = 0;
    const interval = setInterval(() => ticks++, 1);
    try {
      for (let index = 0; index < 20; index++) await client.embed(`query number ${index} about paid holiday`);
    } finally {
      clearInterval(interval);
    }
    // Embedding on this thread leaves no tick at all (TF.js's forward pass never yields to the loop);
    // off it, each 20–40 ms query leaves room for many.
    expect(ticks).toBeGreaterThan(3 * 20);
  });

  it('replaces a crashed worker: the query in flight fails clearly, the next one works', async () => {
    const client = new UseLiteQueryWorker();
    clients.push(client);
    await client.warm();
    const crashed = client.thread!;
    const inFlight = client.embed(texts[0]!);
    // Let the turn's flush post the query to the worker, then kill the worker under it.
    await new Promise((resolve) => setImmediate(resolve));
    await crashed.terminate();
    await expect(inFlight).rejects.toThrow(/use-lite query worker exited with code \d+ before replying/);
    expectSameRow(await client.embed(texts[1]!), await inProcess(texts[1]!));
    expect(client.thread).toBeDefined();
    expect(client.thread).not.toBe(crashed);
  });

  it('lets the process exit with the worker idle', async () => {
    const client = new URL('../../src/models/providers/use-lite-query-worker-client.ts', import.meta.url).href;
    const script = `const { useLiteQueryWorker } = await import(${JSON.stringify(client)});
      console.log((await useLiteQueryWorker.embed('paid holiday')).length);`;
    // No close(): the script ends by itself only if the idle worker does not hold the event loop.
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 30_000 });
    expect(stdout.trim()).toBe(String(USE_LITE_DIMENSIONS));
  });

  it('replaces a hung worker after a timeout: the queries it holds fail, the next one gets a fresh thread', async () => {
    const started: Worker[] = [];
    const client = new UseLiteQueryWorker({
      timeoutMs: 400,
      startThread: () => {
        const worker = new Worker(new URL('./fixtures/hanging-query-worker.mjs', import.meta.url));
        started.push(worker);
        return worker;
      },
    });
    clients.push(client);
    expect((await client.embed('warm'))[0]).toBe(4);
    const hung = client.embed('hang');
    await new Promise((resolve) => setImmediate(resolve));
    // Posted to the same thread while it spins: it can only ever fail.
    const behind = client.embed('queued behind');
    await expect(hung).rejects.toMatchObject({ code: 'model_unavailable', message: 'use-lite query embedding timed out after 400 ms' });
    await expect(behind).rejects.toMatchObject({ code: 'model_unavailable' });
    const after = await client.embed('after the hang');
    expect(after[0]).toBe('after the hang'.length);
    expect(started).toHaveLength(2);
    expect(client.thread).toBe(started[1]);
  });

  it('fails a query that outlives its timeout with a clear error', async () => {
    const client = new UseLiteQueryWorker({ timeoutMs: 1 });
    clients.push(client);
    // A cold worker cannot start, load the weights and embed within a millisecond.
    await expect(client.embed(texts[0]!)).rejects.toMatchObject({ code: 'model_unavailable', message: 'use-lite query embedding timed out after 1 ms' });
  });
});
