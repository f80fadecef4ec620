import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConsulKvClient } from '../src/kv/consul-kv-client.ts';
import { EmbeddedKvServer } from '../src/kv/kv-server.ts';
import { tenantConfigKey } from '../src/tenants/desired-tenants.ts';
import { runLoad, type LatencySummary } from './load.ts';
import { WORDS, randomGenerator, startServiceProcess, syntheticDocument, waitUntil } from './support.ts';

/**
 * Reload under load: a tenant of ~2,000+ chunks queried by concurrent clients, first idle, then
 * while its index is rebuilt back to back. The service runs in its own process (as in production)
 * so the load generator does not share its event loop.
 */

export interface ReloadResult {
  readonly chunks: number;
  readonly clients: number;
  readonly seconds: number;
  readonly idle: LatencySummary;
  readonly duringRebuilds: LatencySummary;
  readonly rebuilds: number;
  readonly p50Ratio: number;
  readonly p99Ratio: number;
}

/** Deterministic pseudo-random documents, so runs compare. */
async function writeCorpus(directory: string, documents: number, sentencesPerDocument: number): Promise<void> {
  const random = randomGenerator(42);
  await mkdir(directory, { recursive: true });
  for (let document = 0; document < documents; document += 1) {
    await writeFile(path.join(directory, `doc-${document}.txt`), syntheticDocument(random, document, sentencesPerDocument));
  }
}

export async function reloadUnderLoad(options: { seconds: number; clients: number }): Promise<ReloadResult> {
  const workDir = await mkdtemp(path.join(tmpdir(), 'ragswap-bench-'));
  const corpus = path.join(workDir, 'corpus');
  await writeCorpus(corpus, 340, 40); // ~2,000 chunks of 128 tokens
  const kv = await EmbeddedKvServer.start({ port: 0 });
  const kvClient = new ConsulKvClient({ address: kv.address });
  const key = tenantConfigKey('rag/tenants/', 'bench');
  const config = (version: string) => JSON.stringify({ version, data_source: { type: 'fs', path: corpus }, index_params: { chunk_size: 128, chunk_overlap: 16 } });
  await kvClient.put(key, config('v0'));
  const service = await startServiceProcess({ CONSUL_HTTP_ADDR: kv.address, RAGSWAP_DATA_DIR: workDir });
  try {
    await service.waitForServing('bench', 'v0');
    const chunks = (await service.status('bench')).chunks ?? 0;
    const load = (durationMs: number) =>
      runLoad({
        url: `${service.url}/query/bench`,
        clients: options.clients,
        durationMs,
        body: () => JSON.stringify({ query: `${WORDS[Math.floor(Math.random() * WORDS.length)]} rocket garden tenant`, top_k: 4 }),
      });
    await load(2_000); // warm-up: JIT, connections
    const idle = await load(options.seconds * 1000);

    let rebuilding = true;
    let rebuilds = 0;
    const rebuilder = (async () => {
      while (rebuilding) {
        const version = `v${rebuilds + 1}`;
        await kvClient.put(key, config(version));
        await waitUntil(async () => !rebuilding || (await service.status('bench')).serving_version === version, 120_000);
        if ((await service.status('bench')).serving_version === version) rebuilds += 1;
      }
    })();
    const duringRebuilds = await load(options.seconds * 1000);
    rebuilding = false;
    await rebuilder;
    return {
      chunks,
      clients: options.clients,
      seconds: options.seconds,
      idle,
      duringRebuilds,
      rebuilds,
      p50Ratio: duringRebuilds.p50 / idle.p50,
      p99Ratio: duringRebuilds.p99 / idle.p99,
    };
  } finally {
    await service.stop();
    await kv.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}
