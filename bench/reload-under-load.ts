import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConsulKvClient } from '../src/kv/consul-kv-client.ts';
import { EmbeddedKvServer } from '../src/kv/kv-server.ts';
import { tenantConfigKey } from '../src/tenants/desired-tenants.ts';
import { runLoad, type LatencySummary } from './load.ts';

/**
 * Reload under load: a tenant of ~2,000 chunks queried by concurrent clients, first idle, then
 * while its index is rebuilt back to back. The service runs in its own process (as in production)
 * so the load generator does not share its event loop.
 */

const ROOT = path.resolve(import.meta.dirname, '..');
const WORDS = ('alpha beta gamma delta epsilon orbit rocket garden river mountain harbor signal engine ' +
  'market ledger invoice vacation policy server cluster network kernel memory thread worker queue ' +
  'tenant index vector chunk embedding answer source bucket object region replica shard').split(' ');

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

/** Deterministic pseudo-random documents (a linear congruential generator, so runs compare). */
async function writeCorpus(directory: string, documents: number, sentencesPerDocument: number): Promise<void> {
  let seed = 42;
  const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
  await mkdir(directory, { recursive: true });
  for (let document = 0; document < documents; document += 1) {
    const sentences: string[] = [];
    for (let sentence = 0; sentence < sentencesPerDocument; sentence += 1) {
      const words = Array.from({ length: 12 }, () => WORDS[next() % WORDS.length]);
      sentences.push(`Document ${document} notes that ${words.join(' ')}.`);
    }
    await writeFile(path.join(directory, `doc-${document}.txt`), sentences.join(' '));
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function tenantStatus(url: string): Promise<{ state: string; serving_version: string | null; chunks: number | null }> {
  return (await fetch(`${url}/tenants/bench`)).json() as Promise<{ state: string; serving_version: string | null; chunks: number | null }>;
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out after ${timeoutMs} ms`);
}

export async function reloadUnderLoad(options: { seconds: number; clients: number }): Promise<ReloadResult> {
  const workDir = await mkdtemp(path.join(tmpdir(), 'ragswap-bench-'));
  const corpus = path.join(workDir, 'corpus');
  await writeCorpus(corpus, 250, 40);
  const kv = await EmbeddedKvServer.start({ port: 0 });
  const kvClient = new ConsulKvClient({ address: kv.address });
  const key = tenantConfigKey('rag/tenants/', 'bench');
  const config = (version: string) => JSON.stringify({ version, data_source: { type: 'fs', path: corpus }, index_params: { chunk_size: 128, chunk_overlap: 16 } });
  await kvClient.put(key, config('v0'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, CONSUL_HTTP_ADDR: kv.address, PORT: String(port), LOG_LEVEL: 'warn', RAGSWAP_DATA_DIR: workDir },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  try {
    await waitUntil(async () => (await tenantStatus(url)).serving_version === 'v0', 120_000);
    const chunks = (await tenantStatus(url)).chunks ?? 0;
    const load = (durationMs: number) =>
      runLoad({
        url: `${url}/query/bench`,
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
        await waitUntil(async () => !rebuilding || (await tenantStatus(url)).serving_version === version, 120_000);
        if ((await tenantStatus(url)).serving_version === version) rebuilds += 1;
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
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    await kv.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}
