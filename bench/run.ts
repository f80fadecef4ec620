import { writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { buildThroughput, type BuildThroughputResult } from './build-throughput.ts';
import { chunkingSpeed, type ChunkingRow } from './chunking.ts';
import { memoryPerTenant, type MemoryRow } from './memory.ts';
import { propagation, type PropagationResult } from './propagation.ts';
import { reloadUnderLoad, type ReloadResult } from './reload-under-load.ts';
import { retrievalSpeed, type RetrievalResult } from './retrieval.ts';

/**
 * `npm run bench [reload retrieval build chunking propagation memory]` (or `BENCH_ONLY=retrieval,memory`):
 * runs the selected benchmarks (all by default), prints one table each and a summary of the goals,
 * and writes everything to `bench-results.json`. Every comparison is a ratio of two measurements
 * taken in this same run.
 */

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const settings = {
  /** Reload under load: seconds per phase (idle, during rebuilds). */
  seconds: env('BENCH_SECONDS', 30),
  clients: env('BENCH_CLIENTS', 8),
  /** Retrieval: measured rounds per contender and the length of each. */
  rounds: env('BENCH_ROUNDS', 5),
  roundMs: env('BENCH_ROUND_MS', 500),
};

interface Goal {
  readonly benchmark: string;
  readonly goal: string;
  readonly measured: string;
  readonly met: boolean;
}

interface Benchmark<T> {
  readonly title: string;
  run(): Promise<T>;
  print(result: T): void;
  goals(result: T): Goal[];
}

const fixed = (value: number, digits = 2) => value.toFixed(digits);
const integer = (value: number) => Math.round(value).toLocaleString('en-US');
/** Queries per second: three significant digits (100k-chunk scans run at a few per second). */
const rate = (value: number) => (value >= 100 ? integer(value) : value.toPrecision(3));
const goal = (benchmark: string, text: string, measured: string, met: boolean): Goal => ({ benchmark, goal: text, measured, met });

const reload: Benchmark<ReloadResult> = {
  title: 'Reload under load',
  run: () => reloadUnderLoad({ seconds: settings.seconds, clients: settings.clients }),
  print(result) {
    console.log(`${result.chunks} chunks, ${result.clients} clients, ${result.seconds} s per phase, ${result.rebuilds} rebuilds swapped in`);
    const row = (phase: ReloadResult['idle']) => ({ requests: phase.requests, failed: phase.failed, 'p50 ms': fixed(phase.p50), 'p99 ms': fixed(phase.p99), 'max ms': fixed(phase.max) });
    console.table({ idle: row(result.idle), 'during rebuilds': row(result.duringRebuilds) });
    console.log(`p50 during/idle = ${fixed(result.p50Ratio)}×, p99 during/idle = ${fixed(result.p99Ratio)}×`);
  },
  goals: (result) => [
    goal('reload', 'failed requests = 0', String(result.idle.failed + result.duringRebuilds.failed), result.idle.failed + result.duringRebuilds.failed === 0),
    goal('reload', 'p99 during rebuilds ≤ 2× idle p99', `${fixed(result.p99Ratio)}×`, result.p99Ratio <= 2),
    // Without a rebuild swapped in, the second phase measured load beside a build, not a reload.
    goal('reload', 'rebuilds swapped in during the phase ≥ 1', String(result.rebuilds), result.rebuilds >= 1),
  ],
};

const retrieval: Benchmark<RetrievalResult> = {
  title: 'Retrieval speed',
  run: () => retrievalSpeed({ sizes: [10_000, 100_000], rounds: settings.rounds, roundMs: settings.roundMs }),
  print(result) {
    console.log(`top-${result.topK}, queries/s (median of ${settings.rounds} interleaved rounds of ${settings.roundMs} ms)`);
    console.table(
      result.cases.map((entry) => ({
        case: entry.case,
        chunks: entry.chunks,
        'query non-zeros': integer(entry.queryNonZeros),
        ...Object.fromEntries(Object.entries(entry.contenders).map(([name, contender]) => [name, rate(contender.queriesPerSecond)])),
        'store / Simple': `${fixed(entry.storeVsSimple, 1)}×`,
        'plain / store': `${fixed(entry.plainVsStore)}×`,
        'same top-k': entry.sameTopK,
      })),
    );
    console.log('End to end in-process (hash model, top-4), queries/s:');
    const layers = Object.keys(result.endToEnd[0]?.contenders ?? {});
    console.table(Object.fromEntries(layers.map((layer) => [layer, Object.fromEntries(result.endToEnd.map(({ chunks, contenders }) => [`${chunks} chunks`, rate(contenders[layer]!.queriesPerSecond)]))])));
  },
  goals: (result) =>
    result.cases.flatMap((entry) => [
      goal('retrieval', `${entry.case} ${entry.chunks}: store ≥ 10× SimpleVectorStore`, `${fixed(entry.storeVsSimple, 1)}×`, entry.storeVsSimple >= 10),
      goal('retrieval', `${entry.case} ${entry.chunks}: plain scan ≤ 2× store`, `${fixed(entry.plainVsStore)}×`, entry.plainVsStore <= 2),
      goal('retrieval', `${entry.case} ${entry.chunks}: same top-k as the plain scan`, String(entry.sameTopK), entry.sameTopK),
    ]),
};

const build: Benchmark<BuildThroughputResult> = {
  title: 'Build throughput (s3rver → serving index, hash embedder)',
  run: () => buildThroughput({ documents: 1_000, builds: 3 }),
  print(result) {
    console.log(`${result.documents} documents, ${result.chunks} chunks, ${result.runs.length} builds`);
    console.table(result.runs.map((run) => ({ 'PUT → serving ms': integer(run.putToServingMs), 'build ms (manager)': integer(run.buildMs) })));
    console.table({
      median: {
        'documents/s': integer(result.documentsPerSecond),
        'chunks/s': integer(result.chunksPerSecond),
        'RSS before MiB': integer(result.rssBeforeBuildsMiB),
        'peak RSS MiB': integer(result.peakRssMiB),
      },
    });
    console.log('in-process phases (same s3rver, median ms):', result.phases);
  },
  goals: () => [],
};

const propagationBench: Benchmark<{ paced: PropagationResult; backToBack: PropagationResult }> = {
  title: 'Propagation (KV PUT → build scheduled, embedded KV)',
  // Paced slower than the watch limit's one call a second, so every change finds a token: what an
  // operator sees. Back to back shows the limit at work (a second per change once the burst is spent).
  run: async () => ({ paced: await propagation({ changes: 40, gapMs: 1_100 }), backToBack: await propagation({ changes: 10, gapMs: 0 }) }),
  print(result) {
    const row = (summary: PropagationResult) => ({ changes: summary.requests, 'p50 ms': fixed(summary.p50), 'p99 ms': fixed(summary.p99), 'max ms': fixed(summary.max) });
    console.table({ 'paced (1.1 s apart)': row(result.paced), 'back to back': row(result.backToBack) });
  },
  goals: (result) => [goal('propagation', 'paced p99 in milliseconds (< 100 ms)', `${fixed(result.paced.p99)} ms`, result.paced.p99 < 100)],
};

const chunking: Benchmark<ChunkingRow[]> = {
  title: 'Chunking a large document: sectioned chunkDocuments vs the whole text in SentenceSplitter (512/50)',
  run: async () => chunkingSpeed({ markdownKilobytes: [40, 170], cjkCharacters: 3_500, chunkSize: 512, chunkOverlap: 50 }),
  print(rows) {
    console.table(
      rows.map((row) => ({
        document: row.document,
        KB: row.kilobytes,
        'sectioned ms': integer(row.sectionedMs),
        'whole ms': integer(row.wholeMs),
        'whole / sectioned': `${fixed(row.wholeMs / row.sectionedMs, 1)}×`,
        'chunks (sectioned / whole)': `${row.sectionedChunks} / ${row.wholeChunks}`,
      })),
    );
  },
  // Documents within one section take the same path either way (timing noise only); larger ones must gain.
  goals: (rows) =>
    rows.map((row) =>
      goal('chunking', `${row.document}: sectioned no slower than whole (within 20 %)`, `${fixed(row.wholeMs / row.sectionedMs, 1)}× faster`, row.sectionedMs <= row.wholeMs * 1.2),
    ),
};

const memory: Benchmark<MemoryRow[]> = {
  title: 'Memory per tenant (fresh process per size, after full GC)',
  run: () => memoryPerTenant({ sizes: [1_000, 10_000, 100_000] }),
  print(rows) {
    console.table(
      rows.map((row) => ({
        chunks: row.chunks,
        'RSS/tenant MiB': integer(row.perTenantMiB),
        'bytes/chunk': integer(row.bytesPerChunk),
        'typed arrays MiB': integer(row.arrayBuffersMiB),
        'JS heap MiB': integer(row.heapMiB),
        'embeddings MiB': integer(row.embeddingsMiB),
        'RSS during swap MiB': integer(row.duringSwapMiB),
        'RSS after swap MiB': integer(row.afterSwapMiB),
      })),
    );
  },
  goals: () => [],
};

const BENCHMARKS: Record<string, Benchmark<any>> = { reload, retrieval, build, chunking, propagation: propagationBench, memory };

function selected(): string[] {
  const requested = [...process.argv.slice(2), ...(process.env.BENCH_ONLY?.split(',') ?? [])].map((name) => name.trim()).filter(Boolean);
  const unknown = requested.filter((name) => !(name in BENCHMARKS));
  if (unknown.length > 0) throw new Error(`unknown benchmark(s) ${unknown.join(', ')}; choose from ${Object.keys(BENCHMARKS).join(', ')}`);
  return requested.length > 0 ? Object.keys(BENCHMARKS).filter((name) => requested.includes(name)) : Object.keys(BENCHMARKS);
}

const machine = {
  cores: availableParallelism(),
  cpu: cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
};
console.log(`machine: ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB, Node ${machine.node}`);

const results: Record<string, unknown> = {};
const goals: Goal[] = [];
const names = selected();
for (const [position, name] of names.entries()) {
  const benchmark = BENCHMARKS[name]!;
  console.log(`\n${position + 1}/${names.length}. ${benchmark.title}`);
  const startedAt = performance.now();
  // The 1-minute load average before and after: on a shared machine, other work skews the numbers.
  const loadBefore = loadavg()[0]!;
  const result = await benchmark.run();
  benchmark.print(result);
  const loadAverage = { before: loadBefore, after: loadavg()[0]! };
  console.log(`(${fixed((performance.now() - startedAt) / 1000, 0)} s; 1-min load average ${fixed(loadAverage.before)} → ${fixed(loadAverage.after)} on ${machine.cores} cores)`);
  results[name] = { loadAverage, result };
  goals.push(...benchmark.goals(result));
}

console.log('\nSummary');
console.table(goals.map(({ benchmark, goal: text, measured, met }) => ({ benchmark, goal: text, measured, met: met ? 'met' : 'MISSED' })));
await writeFile('bench-results.json', `${JSON.stringify({ machine, measuredAt: new Date().toISOString(), settings, results, goals }, null, 2)}\n`);
console.log('wrote bench-results.json');
