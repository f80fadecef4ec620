import { MetadataMode, TextNode } from '@llamaindex/core/schema';
import { VectorStoreQueryMode, type BaseVectorStore } from '@llamaindex/core/vector-store';
import { SimpleVectorStore } from 'llamaindex';
import { ContiguousVectorStore, createVectorStoreIndex, topKByDotProduct, type ChunkTable } from '../src/indexing/contiguous-vector-store.ts';
import { buildBm25 } from '../src/indexing/bm25-index.ts';
import { TenantEngine } from '../src/indexing/tenant-engine.ts';
import { DenseDotKernel, allocateEmbeddings } from '../src/indexing/simd-dot-kernel.ts';
import { HashEmbedding, embedText, embedTextInto } from '../src/models/hash-embedding.ts';
import { median, randomGenerator, randomWords } from './support.ts';

/**
 * Retrieval speed: top-k over synthetic tenants, the same vectors for every contender, measured
 * in this process, interleaved (the order rotates every round) and warmed, median of the rounds.
 *
 * - `hash-1024`: rows and queries embedded by the default `hash` model (sparse queries of a few
 *   words: ragswap's sparse fast path applies, so this is the realistic case *and* a flattering one);
 * - `dense-1024`, `dense-384`: random unit vectors, as a neural model would give (no sparsity).
 *
 * The rows are allocated as a build allocates them (`allocateEmbeddings`: inside a shared
 * WebAssembly memory where SIMD is available), so dense queries take the SIMD kernel as in service.
 */

export const TOP_K = 10;

export interface RetrievalOptions {
  readonly sizes: readonly number[];
  readonly rounds: number;
  readonly roundMs: number;
}

export interface ContenderResult {
  readonly queriesPerSecond: number;
  /** qps of every round, for the noise. */
  readonly rounds: readonly number[];
}

export interface RetrievalCaseResult {
  readonly case: string;
  readonly chunks: number;
  readonly dimensions: number;
  /** Mean non-zero entries of a query vector. */
  readonly queryNonZeros: number;
  readonly contenders: Record<string, ContenderResult>;
  /** ragswap store qps / SimpleVectorStore qps (goal ≥ 10). */
  readonly storeVsSimple: number;
  /** plain scan qps / ragswap store qps (goal ≤ 2). */
  readonly plainVsStore: number;
  /** Every contender returned the same top-k ids as the plain scan on the probe queries. */
  readonly sameTopK: boolean;
}

export interface RetrievalResult {
  readonly topK: number;
  readonly cases: readonly RetrievalCaseResult[];
  /** In-process cost of the whole TenantEngine.query path vs its parts (hash model), per size. */
  readonly endToEnd: readonly { readonly chunks: number; readonly contenders: Record<string, ContenderResult> }[];
}

interface Dataset {
  readonly name: string;
  readonly table: ChunkTable;
  readonly queryTexts: readonly string[];
  readonly queries: readonly Float32Array[];
}

// ---------------------------------------------------------------- data

/** A vocabulary of pronounceable pseudo-words, so hashed rows look like real chunks (~70 distinct tokens of 1024 buckets). */
function vocabulary(size: number): string[] {
  const syllables = 'ka lo mi ne ru sa te vo zi pa do gu fe hi ja ko lu ma ni po'.split(' ');
  return Array.from({ length: size }, (_, index) => {
    let word = '';
    for (let rest = index + size; rest > 0; rest = Math.floor(rest / syllables.length)) word += syllables[rest % syllables.length];
    return word;
  });
}

function emptyTable(rows: number, dimensions: number): ChunkTable {
  const ids = Array.from({ length: rows }, (_, row) => `doc-${row >> 3}#${row & 7}`);
  const { embeddings, memory } = allocateEmbeddings(rows, dimensions);
  return { dimensions, ids, texts: new Array<string>(rows), metadata: ids.map((id) => ({ source: id.split('#')[0] })), embeddings, ...(memory ? { memory } : {}) };
}

function hashDataset(rows: number): Dataset {
  const random = randomGenerator(7);
  const words = vocabulary(4000);
  const dimensions = 1024;
  const table = emptyTable(rows, dimensions);
  for (let row = 0; row < rows; row++) {
    table.texts[row] = `${randomWords(random, 40, words)}. ${randomWords(random, 40, words)}.`;
    embedTextInto(table.texts[row]!, table.embeddings, row * dimensions, dimensions);
  }
  const queryTexts = Array.from({ length: 64 }, () => randomWords(random, 4, words));
  return { name: 'hash-1024', table, queryTexts, queries: queryTexts.map((text) => embedText(text, dimensions)) };
}

/** Unit vectors with Gaussian entries (Box–Muller), i.e. uniformly distributed directions. */
function randomUnitVector(random: () => number, out: Float32Array, offset: number, dimensions: number): void {
  let norm = 0;
  for (let column = 0; column < dimensions; column++) {
    const value = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    out[offset + column] = value;
    norm += value * value;
  }
  const scale = 1 / Math.sqrt(norm);
  for (let column = 0; column < dimensions; column++) out[offset + column]! *= scale;
}

function denseDataset(rows: number, dimensions: number): Dataset {
  const random = randomGenerator(dimensions);
  const table = emptyTable(rows, dimensions);
  table.texts.fill('synthetic chunk');
  for (let row = 0; row < rows; row++) randomUnitVector(random, table.embeddings, row * dimensions, dimensions);
  const queries = Array.from({ length: 64 }, () => {
    const query = new Float32Array(dimensions);
    randomUnitVector(random, query, 0, dimensions);
    return query;
  });
  return { name: `dense-${dimensions}`, table, queryTexts: [], queries };
}

// ---------------------------------------------------------------- contenders

/** What a developer would write by hand: a dense dot product per row, the best k kept in a small sorted array. */
export function plainScan(embeddings: Float32Array, dimensions: number, query: Float32Array, k: number): Int32Array {
  const bestRows = new Int32Array(k).fill(-1);
  const bestScores = new Float64Array(k).fill(Number.NEGATIVE_INFINITY);
  const rows = embeddings.length / dimensions;
  for (let row = 0; row < rows; row++) {
    const base = row * dimensions;
    let score = 0;
    for (let column = 0; column < dimensions; column++) score += embeddings[base + column]! * query[column]!;
    if (score <= bestScores[k - 1]!) continue;
    let position = k - 1;
    for (; position > 0 && bestScores[position - 1]! < score; position--) {
      bestScores[position] = bestScores[position - 1]!;
      bestRows[position] = bestRows[position - 1]!;
    }
    bestScores[position] = score;
    bestRows[position] = row;
  }
  return bestRows;
}

/** LlamaIndex's default in-memory store, loaded with the same vectors as plain `number[]` node embeddings. */
async function simpleVectorStoreOf(table: ChunkTable): Promise<SimpleVectorStore> {
  // Its query never embeds (it gets the query vector), but BaseVectorStore insists on a model.
  const store = new SimpleVectorStore({ embedModel: new HashEmbedding(table.dimensions) });
  const nodes: TextNode[] = table.ids.map(
    (id, row) =>
      new TextNode({
        id_: id,
        text: table.texts[row]!,
        metadata: table.metadata[row]!,
        embedding: Array.from(table.embeddings.subarray(row * table.dimensions, (row + 1) * table.dimensions)),
      }),
  );
  await store.add(nodes);
  return store;
}

type Contender = (query: number) => unknown;

async function vectorStoreQuery(store: BaseVectorStore, queries: readonly number[][], index: number) {
  return store.query({ queryEmbedding: queries[index % queries.length]!, similarityTopK: TOP_K, mode: VectorStoreQueryMode.DEFAULT });
}

interface Stores {
  readonly ragswap: ContiguousVectorStore;
  readonly simple: SimpleVectorStore;
}

async function storesOf(table: ChunkTable): Promise<Stores> {
  return { ragswap: ContiguousVectorStore.fromChunkTable(table, new HashEmbedding(table.dimensions)), simple: await simpleVectorStoreOf(table) };
}

function storeContenders({ table, queries }: Dataset, { ragswap, simple }: Stores): Record<string, Contender> {
  const asArrays = queries.map((query) => Array.from(query));
  const pick = (index: number) => queries[index % queries.length]!;
  const kernel = DenseDotKernel.over(table.memory, table.embeddings, table.dimensions);
  return {
    'plain Float32Array scan': (index) => plainScan(table.embeddings, table.dimensions, pick(index), TOP_K),
    'ragswap topKByDotProduct': (index) => topKByDotProduct(table.embeddings, table.dimensions, pick(index), TOP_K, undefined, kernel),
    'ragswap ContiguousVectorStore.query': (index) => vectorStoreQuery(ragswap, asArrays, index),
    'LlamaIndex SimpleVectorStore.query': (index) => vectorStoreQuery(simple, asArrays, index),
  };
}

/** Whether every contender ranks the same top-k ids as the plain scan for a few probe queries (as sets: exact ties may order differently). */
async function sameTopK({ table, queries }: Dataset, stores: Stores): Promise<boolean> {
  const idsOf = (rows: Int32Array) => Array.from(rows, (row) => table.ids[row]!);
  const kernel = DenseDotKernel.over(table.memory, table.embeddings, table.dimensions);
  const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((id) => b.includes(id));
  for (const query of queries.slice(0, 4)) {
    const expected = idsOf(plainScan(table.embeddings, table.dimensions, query, TOP_K));
    const answers = [
      idsOf(topKByDotProduct(table.embeddings, table.dimensions, query, TOP_K, undefined, kernel).indices),
      (await vectorStoreQuery(stores.ragswap, [Array.from(query)], 0)).ids,
      (await vectorStoreQuery(stores.simple, [Array.from(query)], 0)).ids,
    ];
    if (!answers.every((ids) => sameSet(ids, expected))) return false;
  }
  return true;
}

// ---------------------------------------------------------------- measurement

/** Queries answered in `durationMs` (at least one), as queries per second. */
async function queriesPerSecond(contender: Contender, durationMs: number, start: number): Promise<number> {
  const startedAt = performance.now();
  let count = 0;
  let elapsed = 0;
  do {
    const result = contender(start + count);
    if (result instanceof Promise) await result;
    count++;
    elapsed = performance.now() - startedAt;
  } while (elapsed < durationMs);
  return (count * 1000) / elapsed;
}

/** One warm-up round, then `rounds` rounds, each running every contender once in a rotated order. */
export async function measureInterleaved(contenders: Record<string, Contender>, options: Pick<RetrievalOptions, 'rounds' | 'roundMs'>): Promise<Record<string, ContenderResult>> {
  const names = Object.keys(contenders);
  const samples = new Map<string, number[]>(names.map((name) => [name, []]));
  for (let round = -1; round < options.rounds; round++) {
    for (let offset = 0; offset < names.length; offset++) {
      const name = names[(Math.max(round, 0) + offset) % names.length]!;
      // Collect the garbage of the previous contender (SimpleVectorStore allocates per row) here,
      // untimed, rather than in the next contender's round.
      globalThis.gc?.();
      const qps = await queriesPerSecond(contenders[name]!, round < 0 ? options.roundMs / 2 : options.roundMs, (round + 1) * 7919);
      if (round >= 0) samples.get(name)!.push(qps);
    }
  }
  return Object.fromEntries(names.map((name) => [name, { queriesPerSecond: median(samples.get(name)!), rounds: samples.get(name)! }]));
}

async function measureCase(dataset: Dataset, options: RetrievalOptions): Promise<RetrievalCaseResult> {
  const stores = await storesOf(dataset.table);
  const contenders = await measureInterleaved(storeContenders(dataset, stores), options);
  const qps = (name: string) => contenders[name]!.queriesPerSecond;
  const nonZeros = dataset.queries.reduce((sum, query) => sum + query.filter((value) => value !== 0).length, 0) / dataset.queries.length;
  return {
    case: dataset.name,
    chunks: dataset.table.ids.length,
    dimensions: dataset.table.dimensions,
    queryNonZeros: nonZeros,
    contenders,
    storeVsSimple: qps('ragswap ContiguousVectorStore.query') / qps('LlamaIndex SimpleVectorStore.query'),
    plainVsStore: qps('plain Float32Array scan') / qps('ragswap ContiguousVectorStore.query'),
    sameTopK: await sameTopK(dataset, stores),
  };
}

/** The serving path in-process, layer by layer: kernel → store → LlamaIndex retriever → TenantEngine (retrieval + extractive answer). */
async function measureEndToEnd(dataset: Dataset, options: RetrievalOptions) {
  const { table, queryTexts, queries } = dataset;
  const embedModel = new HashEmbedding();
  const store = ContiguousVectorStore.fromChunkTable(table, embedModel);
  const retriever = (await createVectorStoreIndex(store)).asRetriever({ similarityTopK: 4 });
  const engine = await TenantEngine.create(table, buildBm25(table.texts), embedModel);
  const text = (index: number) => queryTexts[index % queryTexts.length]!;
  const contenders: Record<string, Contender> = {
    'topKByDotProduct (query pre-embedded)': (index) => topKByDotProduct(table.embeddings, table.dimensions, queries[index % queries.length]!, 4),
    'embed query + ContiguousVectorStore.query': async (index) =>
      store.query({ queryEmbedding: await embedModel.getTextEmbedding(text(index)), similarityTopK: 4, mode: VectorStoreQueryMode.DEFAULT }),
    'LlamaIndex retriever.retrieve': (index) => retriever.retrieve({ query: text(index) }),
    'TenantEngine.query dense + extractive answer': (index) => engine.query(text(index), { topK: 4, mode: 'dense' }),
    'TenantEngine.query hybrid (default) + extractive answer': (index) => engine.query(text(index), { topK: 4 }),
  };
  const [first] = await retriever.retrieve({ query: text(0) });
  if (first && first.node.getContent(MetadataMode.NONE) !== table.texts[table.ids.indexOf(first.node.id_)]) throw new Error('retriever returned the wrong text');
  return { chunks: table.ids.length, contenders: await measureInterleaved(contenders, options) };
}

export async function retrievalSpeed(options: RetrievalOptions): Promise<RetrievalResult> {
  const cases: RetrievalCaseResult[] = [];
  const endToEnd: RetrievalResult['endToEnd'][number][] = [];
  for (const size of options.sizes) {
    for (const makeDataset of [() => hashDataset(size), () => denseDataset(size, 1024), () => denseDataset(size, 384)]) {
      const dataset = makeDataset();
      cases.push(await measureCase(dataset, options));
      if (dataset.name === 'hash-1024') endToEnd.push(await measureEndToEnd(dataset, options));
      globalThis.gc?.();
    }
  }
  return { topK: TOP_K, cases, endToEnd };
}
