import type { BaseEmbedding } from '@llamaindex/core/embeddings';
import { Settings } from '@llamaindex/core/global';
import { MetadataMode, TextNode, type BaseNode } from '@llamaindex/core/schema';
import {
  BaseVectorStore,
  FilterCondition,
  FilterOperator,
  VectorStoreQueryMode,
  type MetadataFilter,
  type MetadataFilters,
  type VectorStoreQuery,
  type VectorStoreQueryResult,
} from '@llamaindex/core/vector-store';
import { VectorStoreIndex } from 'llamaindex/indices';
import { InvalidRequestError } from '../errors.ts';
import { normaliseInPlace } from '../models/hash-embedding.ts';
import { DenseDotKernel, SCORE_BLOCK_ROWS, type WasmMemory } from './simd-dot-kernel.ts';

/**
 * A tenant's chunks as parallel columns. One contiguous row-major `Float32Array` (n × d) instead of
 * n `number[]`s: half the memory (4 bytes per value, not 8, and no object per row), a build without
 * per-chunk allocations, and a sequential, cache-friendly scan.
 */
export interface ChunkTable {
  dimensions: number;
  ids: string[];
  texts: string[];
  metadata: Record<string, unknown>[];
  /** length = ids.length * dimensions; every row L2-normalised (so a dot product is a cosine). */
  embeddings: Float32Array;
  /** The source document of each chunk, matched by `delete(refDocId)`. Optional: chunks without one are never deleted by document. */
  documentIds?: (string | undefined)[];
  /**
   * The shared WebAssembly memory `embeddings` is a view of (at offset 0, with scratch room after
   * it: see `allocateEmbeddings`), when the build put them there. A store over such a table scans
   * dense queries with the SIMD kernel, in place; without it, with the JavaScript scan.
   */
  memory?: WasmMemory;
}

export interface TopKResult {
  /** Row numbers, best first; ties go to the lower row. */
  indices: Int32Array;
  scores: Float32Array;
}

export interface ContiguousVectorStoreOptions {
  /** Required: several tenants share one process, so the global `Settings.embedModel` is never consulted. */
  embedModel: BaseEmbedding;
  /** Row width; defaults to `embedModel.embedInfo.dimensions`, else fixed by the first `add`. */
  dimensions?: number;
}

const SUPPORTED_FILTER_OPERATORS: readonly string[] = [FilterOperator.EQ, FilterOperator.IN];

/**
 * A LlamaIndex vector store over one `ChunkTable`. Queries are an exact dot-product scan with a
 * bounded heap: no approximate index to build, tune or keep in sync, and linear in the table size,
 * which suits the chunk counts of a tenant knowledge base.
 *
 * The store takes ownership of the table it wraps: `add` and `delete` mutate its arrays.
 */
export class ContiguousVectorStore extends BaseVectorStore<ChunkTable> {
  storesText = true;

  #dimensions: number;
  #size: number;
  /** Capacity ≥ size rows; rows past `size` are spare room for `add`. */
  #embeddings: Float32Array;
  #ids: string[];
  #texts: string[];
  #metadata: Record<string, unknown>[];
  #documentIds: (string | undefined)[];
  /** The SIMD kernel over `#embeddings`' WebAssembly memory, while the rows live there. */
  #kernel: DenseDotKernel | undefined;

  constructor(options: ContiguousVectorStoreOptions) {
    super({ embedModel: options.embedModel });
    this.#dimensions = options.dimensions ?? options.embedModel.embedInfo?.dimensions ?? 0;
    this.#size = 0;
    this.#embeddings = new Float32Array(0);
    this.#ids = [];
    this.#texts = [];
    this.#metadata = [];
    this.#documentIds = [];
  }

  /**
   * Wraps `table` in O(1): the arrays are used as they are, nothing is copied or re-normalised.
   * When the embeddings live in a WebAssembly memory (`table.memory`), dense queries are scanned
   * there by the SIMD kernel; a plain `Float32Array` keeps the JavaScript scan (it is not copied).
   */
  static fromChunkTable(table: ChunkTable, embedModel: BaseEmbedding): ContiguousVectorStore {
    assertChunkTable(table);
    const store = new ContiguousVectorStore({ embedModel, dimensions: table.dimensions });
    store.#size = table.ids.length;
    store.#embeddings = table.embeddings;
    store.#ids = table.ids;
    store.#texts = table.texts;
    store.#metadata = table.metadata;
    store.#documentIds = table.documentIds ?? [];
    store.#kernel = DenseDotKernel.over(table.memory, table.embeddings, table.dimensions);
    return store;
  }

  get size(): number {
    return this.#size;
  }

  get dimensions(): number {
    return this.#dimensions;
  }

  /** Whether dense queries use the WebAssembly SIMD kernel (the table's rows live in its memory). */
  get usesSimd(): boolean {
    return this.#kernel !== undefined;
  }

  /** The current contents as a `ChunkTable` view (shares the store's arrays; without `memory`: the view may be shorter than the rows it was built for). */
  client(): ChunkTable {
    return {
      dimensions: this.#dimensions,
      ids: this.#ids,
      texts: this.#texts,
      metadata: this.#metadata,
      embeddings: this.#embeddings.subarray(0, this.#size * this.#dimensions),
      documentIds: this.#documentIds,
    };
  }

  /**
   * The standard LlamaIndex build path (`VectorStoreIndex.init({ nodes })`, ingestion pipelines).
   * Rows are normalised on the way in, since embedding models need not return unit vectors.
   */
  async add(nodes: BaseNode[]): Promise<string[]> {
    if (nodes.length === 0) return [];
    if (this.#dimensions === 0) this.#dimensions = nodes[0]!.getEmbedding().length;
    this.#reserve(this.#size + nodes.length);
    for (const node of nodes) {
      const embedding = node.getEmbedding();
      if (embedding.length !== this.#dimensions) {
        throw new Error(`node ${node.id_} has a ${embedding.length}-dimensional embedding; this store holds ${this.#dimensions}`);
      }
      const row = this.#size;
      this.#embeddings.set(embedding, row * this.#dimensions);
      normaliseInPlace(this.#embeddings, row * this.#dimensions, this.#dimensions);
      this.#ids[row] = node.id_;
      this.#texts[row] = node.getContent(MetadataMode.NONE);
      this.#metadata[row] = node.metadata;
      this.#documentIds[row] = node.sourceNode?.nodeId;
      this.#size = row + 1;
    }
    return nodes.map((node) => node.id_);
  }

  /** Removes every chunk of document `refDocId`, compacting the rows in place. */
  async delete(refDocId: string): Promise<void> {
    const dimensions = this.#dimensions;
    let kept = 0;
    for (let row = 0; row < this.#size; row++) {
      if (this.#documentIds[row] === refDocId) continue;
      if (kept !== row) {
        this.#embeddings.copyWithin(kept * dimensions, row * dimensions, (row + 1) * dimensions);
        this.#ids[kept] = this.#ids[row]!;
        this.#texts[kept] = this.#texts[row]!;
        this.#metadata[kept] = this.#metadata[row]!;
        this.#documentIds[kept] = this.#documentIds[row];
      }
      kept++;
    }
    this.#size = kept;
    this.#ids.length = kept;
    this.#texts.length = kept;
    this.#metadata.length = kept;
    if (this.#documentIds.length > kept) this.#documentIds.length = kept;
  }

  /**
   * Top-k by cosine similarity. Only `similarityTopK`, `queryEmbedding`, `docIds` (chunk ids) and
   * `filters` with `==` / `in` are supported; anything else throws rather than silently returning
   * unfiltered results.
   */
  async query(query: VectorStoreQuery): Promise<VectorStoreQueryResult> {
    if (query.mode !== undefined && query.mode !== VectorStoreQueryMode.DEFAULT) {
      throw new Error(`ContiguousVectorStore supports only the default query mode, not '${query.mode}'`);
    }
    if (!query.queryEmbedding) throw new Error('ContiguousVectorStore.query needs a queryEmbedding');
    if (this.#size === 0) return { nodes: [], similarities: [], ids: [] };
    if (query.queryEmbedding.length !== this.#dimensions) {
      throw new Error(`query embedding has ${query.queryEmbedding.length} dimensions; this store holds ${this.#dimensions}`);
    }
    const queryVector = Float32Array.from(query.queryEmbedding);
    normaliseInPlace(queryVector);
    const { indices, scores } = topKByDotProduct(
      this.#embeddings.subarray(0, this.#size * this.#dimensions),
      this.#dimensions,
      queryVector,
      query.similarityTopK,
      this.#rowPredicate(query),
      this.#kernel,
    );
    return this.#resultOf(indices, scores);
  }

  #resultOf(indices: Int32Array, scores: Float32Array): VectorStoreQueryResult {
    const nodes: BaseNode[] = [];
    const similarities: number[] = [];
    const ids: string[] = [];
    for (let rank = 0; rank < indices.length; rank++) {
      const row = indices[rank]!;
      const id = this.#ids[row]!;
      // A copy of the metadata: callers (postprocessors, LlamaIndex's node cache) may mutate what they get.
      nodes.push(new TextNode({ id_: id, text: this.#texts[row]!, metadata: { ...this.#metadata[row] } }));
      similarities.push(scores[rank]!);
      ids.push(id);
    }
    return { nodes, similarities, ids };
  }

  #rowPredicate(query: VectorStoreQuery): ((row: number) => boolean) | undefined {
    const matchesMetadata = query.filters ? compileMetadataFilters(query.filters) : undefined;
    const allowedIds = query.docIds ? new Set(query.docIds) : undefined;
    if (!matchesMetadata && !allowedIds) return undefined;
    const metadata = this.#metadata;
    const ids = this.#ids;
    return (row) =>
      (allowedIds === undefined || allowedIds.has(ids[row]!)) && (matchesMetadata === undefined || matchesMetadata(metadata[row]!));
  }

  /** Grows capacity by doubling, so a build of n nodes through `add` copies O(n) floats in total. */
  #reserve(rows: number): void {
    const capacity = this.#embeddings.length / Math.max(this.#dimensions, 1);
    if (rows <= capacity) return;
    const grown = new Float32Array(Math.max(rows, capacity * 2, 16) * this.#dimensions);
    grown.set(this.#embeddings.subarray(0, this.#size * this.#dimensions));
    this.#embeddings = grown;
    // The rows have left the WebAssembly memory: back to the JavaScript scan (stores built by `add` use it throughout).
    this.#kernel = undefined;
  }
}

/**
 * `VectorStoreIndex.fromVectorStore(store)` bound to the store's own embedding model.
 * LlamaIndex's index constructor reads the global `Settings.embedModel` (throwing when it is
 * unset) and its retriever prefers that model over the store's; scoping the call with
 * `Settings.withEmbedModel` makes the index embed queries with the tenant's model instead.
 */
export async function createVectorStoreIndex(store: BaseVectorStore): Promise<VectorStoreIndex> {
  const index = await Settings.withEmbedModel(store.embedModel, () => VectorStoreIndex.fromVectorStore(store));
  if (store.storesText) index.indexStruct.nodesDict = forgetfulNodesDict();
  return index;
}

/**
 * LlamaIndex's `VectorIndexRetriever` (0.12) writes every node a store returns into
 * `index.indexStruct.nodesDict` unless the id is already there, then answers with the dict's node.
 * For a store that keeps its own text the dict holds nothing else, so that only hurts: the index
 * keeps a TextNode for every chunk ever retrieved (growing towards a copy of the tenant), every
 * query shares those objects (a caller mutating one changes later answers), and after `delete` +
 * `add` under the same id it answers with the old text. This dict holds one node, readable once,
 * right after it was written: the retriever's "already cached?" check always misses, its write is
 * read straight back, and every query gets the store's fresh nodes.
 */
function forgetfulNodesDict(): Record<string, BaseNode> {
  let writtenId: string | symbol | undefined;
  let writtenNode: unknown;
  return new Proxy<Record<string, BaseNode>>(
    {},
    {
      get: (_target, id) => {
        const hit = id === writtenId ? writtenNode : undefined;
        writtenId = writtenNode = undefined;
        return hit;
      },
      set: (_target, id, node) => {
        writtenId = id;
        writtenNode = node;
        return true;
      },
      deleteProperty: () => true,
    },
  );
}

/**
 * The k rows of `embeddings` (row-major, `dimensions` wide) with the largest dot product with
 * `query`, best first, ties to the lower row. One pass with a bounded min-heap in typed arrays:
 * O(n·d + n·log k) time (n·(non-zero query entries) for a sparse query), O(k + d) memory, no
 * allocation per row. Rows are scored four at a time (see `offerFourRows`) unless `include`
 * restricts the candidates, which then go one by one.
 *
 * With `kernel` (the SIMD kernel over the WebAssembly memory `embeddings` lives in) a dense query
 * is scored block by block in WebAssembly, in float32 (scores then differ from the JavaScript
 * ones by rounding, ≲ 1e-6 for unit vectors; identical rows still tie, to the lower row); a
 * sparse query keeps the JavaScript path, which reads only its non-zero columns.
 */
export function topKByDotProduct(
  embeddings: Float32Array,
  dimensions: number,
  query: Float32Array | number[],
  k: number,
  include?: (row: number) => boolean,
  kernel?: DenseDotKernel,
): TopKResult {
  if (!Number.isInteger(dimensions) || dimensions <= 0 || embeddings.length % dimensions !== 0) {
    throw new RangeError(`an array of length ${embeddings.length} is not a matrix of ${dimensions}-wide rows`);
  }
  if (query.length !== dimensions) {
    throw new RangeError(`query has ${query.length} dimensions, rows have ${dimensions}`);
  }
  const rowCount = embeddings.length / dimensions;
  const heap = new TopKHeap(Math.min(rowCount, Math.max(0, Math.floor(k) || 0)));
  if (heap.capacity === 0) return heap.drain();
  const { columns, values } = queryTerms(query, dimensions);
  if (kernel !== undefined && columns.length === dimensions && kernel.covers(embeddings, dimensions)) {
    kernel.setQuery(query);
    for (let first = 0; first < rowCount; first += SCORE_BLOCK_ROWS) {
      const count = Math.min(SCORE_BLOCK_ROWS, rowCount - first);
      const scores = kernel.scoreBlock(first, count);
      for (let offset = 0; offset < count; offset++) {
        if (include === undefined || include(first + offset)) heap.offer(first + offset, scores[offset]!);
      }
    }
    return heap.drain();
  }
  let row = 0;
  if (include === undefined) {
    // The remainder (rowCount % 4 rows) goes through the row-by-row loop below.
    for (; row + 4 <= rowCount; row += 4) offerFourRows(heap, embeddings, row * dimensions, dimensions, row, columns, values);
  }
  for (let base = row * dimensions; row < rowCount; row++, base += dimensions) {
    if (include === undefined || include(row)) heap.offer(row, dotProduct(embeddings, base, columns, values));
  }
  return heap.drain();
}

/**
 * The query as (column, value) pairs. A hashed query of a few words has a few dozen non-zero
 * columns out of 1024: reading only those is an order of magnitude faster, and exact (the skipped
 * terms are zero). A dense query keeps every column, zeros included, so its sums are the plain
 * column-by-column ones; strided reads cost more per value than a sequential scan, hence the margin.
 * Float64 values: the products are the same (a float32 widens exactly) without a widening per read.
 */
function queryTerms(query: Float32Array | number[], dimensions: number): { columns: Int32Array; values: Float64Array } {
  let nonZero = 0;
  for (let column = 0; column < dimensions; column++) if (query[column] !== 0) nonZero++;
  const sparse = nonZero * 4 < dimensions;
  const columns = new Int32Array(sparse ? nonZero : dimensions);
  const values = new Float64Array(columns.length);
  for (let column = 0, entry = 0; column < dimensions; column++) {
    if (sparse && query[column] === 0) continue;
    columns[entry] = column;
    values[entry++] = query[column]!;
  }
  return { columns, values };
}

/** The dot product of the query terms with the row starting at `base`, summed in column order. */
function dotProduct(embeddings: Float32Array, base: number, columns: Int32Array, values: Float64Array): number {
  let sum = 0;
  for (let entry = 0; entry < columns.length; entry++) sum += embeddings[base + columns[entry]!]! * values[entry]!;
  return sum;
}

/**
 * Scores four consecutive rows in one pass over the query terms and offers them in row order. One
 * row's sum is a chain of dependent additions, so the CPU waits on each; four rows make four
 * independent chains and read each query term once per four rows. Each row is still summed term by
 * term in column order, exactly as `dotProduct` does, so scores and ties are bit-identical.
 */
function offerFourRows(heap: TopKHeap, embeddings: Float32Array, base: number, dimensions: number, row: number, columns: Int32Array, values: Float64Array): void {
  const base1 = base + dimensions;
  const base2 = base1 + dimensions;
  const base3 = base2 + dimensions;
  let sum0 = 0;
  let sum1 = 0;
  let sum2 = 0;
  let sum3 = 0;
  for (let entry = 0; entry < columns.length; entry++) {
    const column = columns[entry]!;
    const value = values[entry]!;
    sum0 += embeddings[base + column]! * value;
    sum1 += embeddings[base1 + column]! * value;
    sum2 += embeddings[base2 + column]! * value;
    sum3 += embeddings[base3 + column]! * value;
  }
  heap.offer(row, sum0);
  heap.offer(row + 1, sum1);
  heap.offer(row + 2, sum2);
  heap.offer(row + 3, sum3);
}

/**
 * A min-heap of the best `capacity` (row, score) pairs seen so far; the root is the worst kept.
 * Parallel typed arrays instead of objects, so offering a candidate allocates nothing.
 */
class TopKHeap {
  readonly capacity: number;
  #size = 0;
  readonly #rows: Int32Array;
  // Float64: scores are compared exactly as computed, so the order matches an exact sort.
  readonly #scores: Float64Array;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.#rows = new Int32Array(capacity);
    this.#scores = new Float64Array(capacity);
  }

  offer(row: number, score: number): void {
    if (this.#size < this.capacity) {
      this.#rows[this.#size] = row;
      this.#scores[this.#size] = score;
      this.#siftUp(this.#size++);
    } else if (score > this.#scores[0]!) {
      // Rows arrive in increasing order, so an equal score never displaces the root: ties keep the lower row.
      this.#rows[0] = row;
      this.#scores[0] = score;
      this.#siftDown(0);
    }
  }

  /** Empties the heap into best-first arrays. */
  drain(): TopKResult {
    const count = this.#size;
    const indices = new Int32Array(count);
    const scores = new Float32Array(count);
    for (let position = count - 1; position >= 0; position--) {
      indices[position] = this.#rows[0]!;
      scores[position] = this.#scores[0]!;
      this.#size--;
      this.#rows[0] = this.#rows[this.#size]!;
      this.#scores[0] = this.#scores[this.#size]!;
      this.#siftDown(0);
    }
    return { indices, scores };
  }

  /** Whether slot `a` ranks below slot `b`: a lower score, or an equal score on a higher row. */
  #isWorse(a: number, b: number): boolean {
    const scoreA = this.#scores[a]!;
    const scoreB = this.#scores[b]!;
    return scoreA < scoreB || (scoreA === scoreB && this.#rows[a]! > this.#rows[b]!);
  }

  #siftUp(start: number): void {
    let child = start;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (!this.#isWorse(child, parent)) return;
      this.#swap(child, parent);
      child = parent;
    }
  }

  #siftDown(start: number): void {
    let parent = start;
    for (;;) {
      const left = 2 * parent + 1;
      if (left >= this.#size) return;
      const right = left + 1;
      const worstChild = right < this.#size && this.#isWorse(right, left) ? right : left;
      if (!this.#isWorse(worstChild, parent)) return;
      this.#swap(parent, worstChild);
      parent = worstChild;
    }
  }

  #swap(a: number, b: number): void {
    const row = this.#rows[a]!;
    this.#rows[a] = this.#rows[b]!;
    this.#rows[b] = row;
    const score = this.#scores[a]!;
    this.#scores[a] = this.#scores[b]!;
    this.#scores[b] = score;
  }
}

type MetadataPredicate = (metadata: Record<string, unknown>) => boolean;

/** Compiles LlamaIndex metadata filters once per query into a predicate that allocates nothing per row. */
function compileMetadataFilters(filters: MetadataFilters): MetadataPredicate | undefined {
  if (filters.filters.length === 0) return undefined;
  const predicates = filters.filters.map(compileMetadataFilter);
  const condition = filters.condition ?? FilterCondition.AND;
  if (condition !== FilterCondition.AND && condition !== FilterCondition.OR) {
    throw new InvalidRequestError(`unsupported metadata filter condition '${String(condition)}'; supported: and, or`);
  }
  // AND stops at the first failing filter, OR at the first passing one.
  const stopWhen = condition === FilterCondition.OR;
  return (metadata) => {
    for (const predicate of predicates) if (predicate(metadata) === stopWhen) return stopWhen;
    return !stopWhen;
  };
}

function compileMetadataFilter(filter: MetadataFilter): MetadataPredicate {
  const { key, value, operator } = filter;
  if (operator === FilterOperator.EQ) {
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new InvalidRequestError(`metadata filter '${key} ==' needs a string or number value`);
    }
    return (metadata) => metadata[key] === value;
  }
  if (operator === FilterOperator.IN) {
    if (!Array.isArray(value)) throw new InvalidRequestError(`metadata filter '${key} in' needs an array value`);
    const allowed = new Set<unknown>(value);
    return (metadata) => allowed.has(metadata[key]);
  }
  throw new InvalidRequestError(
    `unsupported metadata filter operator '${operator}' on '${key}'; supported: ${SUPPORTED_FILTER_OPERATORS.join(', ')}`,
    { details: { key, operator, supported: SUPPORTED_FILTER_OPERATORS } },
  );
}

function assertChunkTable(table: ChunkTable): void {
  const rows = table.ids.length;
  if (!Number.isInteger(table.dimensions) || table.dimensions <= 0) {
    throw new RangeError(`chunk table dimensions must be a positive integer, got ${table.dimensions}`);
  }
  if (table.texts.length !== rows || table.metadata.length !== rows || (table.documentIds && table.documentIds.length > rows)) {
    throw new RangeError('chunk table columns (ids, texts, metadata, documentIds) differ in length');
  }
  if (table.embeddings.length !== rows * table.dimensions) {
    throw new RangeError(`chunk table embeddings hold ${table.embeddings.length} floats, expected ${rows} × ${table.dimensions}`);
  }
}
