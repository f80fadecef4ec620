import { buildBm25 } from '../src/indexing/bm25-index.ts';
import { TenantEngine } from '../src/indexing/tenant-engine.ts';
import type { ChunkTable } from '../src/indexing/contiguous-vector-store.ts';
import { HASH_EMBEDDING_DIMENSIONS, HashEmbedding, embedTextInto } from '../src/models/hash-embedding.ts';
import { MiB, randomGenerator, syntheticDocument } from './support.ts';

/**
 * Child process of the memory benchmark (`node --expose-gc … memory-probe.ts <chunks>`): RSS with
 * no tenant, one tenant of `chunks` chunks, two (old and new index live, as during a swap), and
 * after the old one is dropped. Prints one JSON line.
 */

/** Process memory after a full GC, in MiB: RSS, the live JS heap, and ArrayBuffer memory (typed arrays) within it or beside it. */
export interface MemorySnapshot {
  readonly rss: number;
  readonly heapUsed: number;
  readonly arrayBuffers: number;
}

export interface MemoryProbe {
  readonly chunks: number;
  readonly baseline: MemorySnapshot;
  readonly oneTenant: MemorySnapshot;
  readonly duringSwap: MemorySnapshot;
  readonly afterSwap: MemorySnapshot;
}

/** A chunk table as a build hands it over: ~500-character texts, S3-like metadata, hash embeddings. */
function syntheticTable(chunks: number, seed: number): ChunkTable {
  const random = randomGenerator(seed);
  const dimensions = HASH_EMBEDDING_DIMENSIONS;
  const table: ChunkTable = { dimensions, ids: [], texts: [], metadata: [], embeddings: new Float32Array(chunks * dimensions) };
  for (let row = 0; row < chunks; row++) {
    const source = `s3://kb/docs/doc-${row >> 2}.txt`;
    table.ids.push(`${source}#${row & 3}`);
    table.texts.push(syntheticDocument(random, row >> 2, 6));
    table.metadata.push({ source, key: `docs/doc-${row >> 2}.txt`, etag: `"${(row >> 2).toString(16).padStart(32, '0')}"`, chunk: row & 3 });
    embedTextInto(table.texts[row]!, table.embeddings, row * dimensions, dimensions);
  }
  return table;
}

/** A tenant's engine as the manager creates it: dense store + BM25 over the same chunks. */
function engineOf(table: ChunkTable, embedModel: HashEmbedding): Promise<TenantEngine> {
  return TenantEngine.create(table, buildBm25(table.texts), embedModel);
}

function settled(): MemorySnapshot {
  for (let pass = 0; pass < 3; pass++) globalThis.gc!();
  const { rss, heapUsed, arrayBuffers } = process.memoryUsage();
  return { rss: rss / MiB, heapUsed: heapUsed / MiB, arrayBuffers: arrayBuffers / MiB };
}

async function probe(chunks: number): Promise<MemoryProbe> {
  if (!globalThis.gc) throw new Error('run with --expose-gc');
  const embedModel = new HashEmbedding();
  // Load and JIT the query path first, so code is not counted as tenant memory.
  await (await engineOf(syntheticTable(8, 1), embedModel)).query('warm up', { topK: 4 });
  const baseline = settled();
  let old: TenantEngine | undefined = await engineOf(syntheticTable(chunks, 2), embedModel);
  const oneTenant = settled();
  const replacement = await engineOf(syntheticTable(chunks, 3), embedModel);
  const duringSwap = settled();
  await old.query('alpha', { topK: 4 });
  old = undefined;
  const afterSwap = settled();
  await replacement.query('alpha', { topK: 4 });
  return { chunks, baseline, oneTenant, duringSwap, afterSwap };
}

process.stdout.write(`${JSON.stringify(await probe(Number(process.argv[2])))}\n`);
