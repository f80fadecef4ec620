import { describe, expect, it } from 'vitest';
import { VectorStoreQueryMode } from '@llamaindex/core/vector-store';
import { TextNode } from '@llamaindex/core/schema';
import { ContiguousVectorStore, topKByDotProduct, type ChunkTable } from '../../src/indexing/contiguous-vector-store.ts';
import { WorkerIndexBuilder } from '../../src/indexing/index-builder.ts';
import { DenseDotKernel, SCORE_BLOCK_ROWS, allocateEmbeddings, kernelModuleBytes, simdAvailable, type WasmMemory } from '../../src/indexing/simd-dot-kernel.ts';
import { HashEmbedding } from '../../src/models/hash-embedding.ts';
import { validateTenantConfig } from '../../src/tenants/tenant-config.ts';
import { exactTopK, randomGenerator } from '../helpers/vectors.ts';

/** The WebAssembly JS API (the project's `lib` has no WebAssembly types). */
const WebAssemblyApi = (
  globalThis as unknown as {
    WebAssembly: {
      validate(bytes: Uint8Array<ArrayBuffer>): boolean;
      Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
    };
  }
).WebAssembly;

/** A rows × dimensions matrix of random values in a WebAssembly memory, and its kernel. */
function wasmMatrix(rows: number, dimensions: number, random: () => number) {
  const { embeddings, memory } = allocateEmbeddings(rows, dimensions);
  for (let index = 0; index < embeddings.length; index++) embeddings[index] = random() * 2 - 1;
  return { embeddings, memory, kernel: DenseDotKernel.over(memory, embeddings, dimensions) };
}

const TAIL_DIMENSIONS = [1, 2, 3, 4, 5, 7, 8, 16, 17, 31, 383, 384, 385, 1024];

describe('the WebAssembly SIMD kernel', () => {
  it('is available on the supported Node versions (≥ 22), and its module validates', () => {
    expect(WebAssemblyApi.validate(kernelModuleBytes())).toBe(true);
    expect(simdAvailable()).toBe(true);
  });

  it('scores every row as the float64 JavaScript dot product does, within 1e-5, for every dimension tail and row count', () => {
    const random = randomGenerator(1);
    for (const dimensions of TAIL_DIMENSIONS) {
      for (const rows of [1, 2, 3, 4, 5, 9, 37]) {
        const { embeddings, kernel } = wasmMatrix(rows, dimensions, random);
        expect(kernel).toBeDefined();
        const query = Float32Array.from({ length: dimensions }, () => random() * 2 - 1);
        kernel!.setQuery(query);
        const scores = kernel!.scoreBlock(0, rows);
        const expected = exactTopK(embeddings, dimensions, query, rows).sort((a, b) => a.row - b.row);
        for (let row = 0; row < rows; row++) {
          // Relative to the sum's magnitude: values in [-1, 1] give sums of up to √d-ish size.
          expect(Math.abs(scores[row]! - expected[row]!.score)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.sqrt(dimensions)));
        }
      }
    }
  });

  it('scores blocks that start past row 0', () => {
    const random = randomGenerator(2);
    const { embeddings, kernel } = wasmMatrix(23, 5, random);
    const query = Float32Array.from({ length: 5 }, () => random() - 0.5);
    kernel!.setQuery(query);
    const all = Array.from(kernel!.scoreBlock(0, 23));
    expect(Array.from(kernel!.scoreBlock(6, 11).subarray(0, 11))).toEqual(all.slice(6, 17));
    expect(embeddings.length).toBe(23 * 5);
  });
});

describe('topKByDotProduct with the SIMD kernel', () => {
  const k = 10;

  it('returns the rows of the exact sort, with scores within 1e-5, for random unit-scale data at every dimension tail', () => {
    const random = randomGenerator(3);
    for (const dimensions of TAIL_DIMENSIONS) {
      for (const rows of [0, 1, k - 1, k, k + 1, 4 * k + 3, 301]) {
        const { embeddings, kernel } = wasmMatrix(rows, dimensions, random);
        if (rows > 0) expect(kernel).toBeDefined();
        const query = Float32Array.from({ length: dimensions }, () => random() * 2 - 1);
        const expected = exactTopK(embeddings, dimensions, query, k);
        const actual = topKByDotProduct(embeddings, dimensions, query, k, undefined, kernel);
        expect(Array.from(actual.indices)).toEqual(expected.map((entry) => entry.row));
        actual.scores.forEach((score, rank) => expect(Math.abs(score - expected[rank]!.score)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.sqrt(dimensions))));
      }
    }
  });

  it('crosses score blocks', () => {
    const random = randomGenerator(4);
    const rows = 2 * SCORE_BLOCK_ROWS + 7;
    const { embeddings, kernel } = wasmMatrix(rows, 6, random);
    const query = Float32Array.from({ length: 6 }, () => random() * 2 - 1);
    for (const count of [1, 25]) {
      const actual = topKByDotProduct(embeddings, 6, query, count, undefined, kernel);
      expect(Array.from(actual.indices)).toEqual(exactTopK(embeddings, 6, query, count).map((entry) => entry.row));
    }
    const include = (row: number) => row % 3 === 1;
    const expected = exactTopK(embeddings, 6, query, rows).filter((entry) => include(entry.row)).slice(0, 7);
    expect(Array.from(topKByDotProduct(embeddings, 6, query, 7, include, kernel).indices)).toEqual(expected.map((entry) => entry.row));
  });

  it('breaks ties by the lower row: identical rows, wherever they sit in the groups of four, score identically', () => {
    const random = randomGenerator(5);
    for (const dimensions of [3, 5, 384, 385]) {
      const rows = 23; // 20 rows in groups of four, 3 alone
      const { embeddings, kernel } = wasmMatrix(rows, dimensions, random);
      // |entries| in [2, 3] against random rows in [-1, 1]: its own dot product beats every other row's.
      const best = Float32Array.from({ length: dimensions }, () => (random() < 0.5 ? -1 : 1) * (2 + random()));
      embeddings.set(best, 0);
      // Copies of one row in a group of four (rows 2, 5) and among the last three (rows 21, 22).
      for (const row of [2, 5, 21, 22]) embeddings.set(best, row * dimensions);
      const query = best.slice();
      const actual = topKByDotProduct(embeddings, dimensions, query, 5, undefined, kernel);
      expect(Array.from(actual.indices.subarray(0, 5))).toEqual([0, 2, 5, 21, 22]);
      expect(new Set(actual.scores).size).toBe(1);
    }
    // Small integers sum exactly in float32: many exact ties, which must match the exact sort.
    const dimensions = 4;
    const { embeddings, kernel } = wasmMatrix(500, dimensions, random);
    for (let index = 0; index < embeddings.length; index++) embeddings[index] = Math.floor(random() * 3) - 1;
    const query = [1, 1, 0.5, -1];
    for (const count of [1, 3, 17, 100, 499, 600]) {
      expect(Array.from(topKByDotProduct(embeddings, dimensions, query, count, undefined, kernel).indices)).toEqual(
        exactTopK(embeddings, dimensions, query, count).map((entry) => entry.row),
      );
    }
  });

  it('leaves sparse queries on the exact JavaScript path (bit-identical scores)', () => {
    const random = randomGenerator(6);
    const dimensions = 256;
    const { embeddings, kernel } = wasmMatrix(300, dimensions, random);
    const query = new Float32Array(dimensions);
    for (const column of [3, 77, 200]) query[column] = random() - 0.5;
    const withKernel = topKByDotProduct(embeddings, dimensions, query, 10, undefined, kernel);
    const withoutKernel = topKByDotProduct(embeddings, dimensions, query, 10);
    expect(Array.from(withKernel.indices)).toEqual(Array.from(withoutKernel.indices));
    expect(Array.from(withKernel.scores)).toEqual(Array.from(withoutKernel.scores));
  });

  it('is not used for a matrix it does not cover', () => {
    const random = randomGenerator(7);
    const { embeddings, memory, kernel } = wasmMatrix(12, 8, random);
    const plain = embeddings.slice();
    expect(kernel!.covers(embeddings, 8)).toBe(true);
    expect(kernel!.covers(embeddings.subarray(0, 5 * 8), 8)).toBe(true);
    expect(kernel!.covers(embeddings.subarray(8), 8)).toBe(false);
    expect(kernel!.covers(plain, 8)).toBe(false);
    expect(kernel!.covers(embeddings, 4)).toBe(false);
    // The same answers either way (the uncovered matrix goes through the JavaScript scan).
    const query = Float32Array.from({ length: 8 }, () => random() - 0.5);
    expect(Array.from(topKByDotProduct(plain, 8, query, 5, undefined, kernel).indices)).toEqual(exactTopK(plain, 8, query, 5).map((entry) => entry.row));
    expect(DenseDotKernel.over(undefined, embeddings, 8)).toBeUndefined();
    expect(DenseDotKernel.over(memory, plain, 8)).toBeUndefined();
    expect(DenseDotKernel.over(memory, embeddings.subarray(8), 8)).toBeUndefined();
    // A memory filled to the brim has no scratch room after the rows.
    const full = new WebAssemblyApi.Memory({ initial: 1, maximum: 1, shared: true });
    expect(DenseDotKernel.over(full, new Float32Array(full.buffer), 16)).toBeUndefined();
    // A non-shared memory does not match the kernel's import.
    const unshared = new WebAssemblyApi.Memory({ initial: 2 });
    expect(DenseDotKernel.over(unshared, new Float32Array(unshared.buffer, 0, 16), 16)).toBeUndefined();
  });

  it('allocates a plain Float32Array for an empty matrix', () => {
    const empty = allocateEmbeddings(0, 384);
    expect(empty.embeddings.length).toBe(0);
    expect(empty.memory).toBeUndefined();
  });
});

describe('ContiguousVectorStore over a WebAssembly memory', () => {
  const dimensions = 37;
  const embedModel = new HashEmbedding(dimensions);

  function tables(rows: number, seed: number): { wasm: ChunkTable; plain: ChunkTable } {
    const random = randomGenerator(seed);
    const { embeddings, memory } = allocateEmbeddings(rows, dimensions);
    for (let row = 0; row < rows; row++) {
      let norm = 0;
      for (let column = 0; column < dimensions; column++) norm += (embeddings[row * dimensions + column] = random() - 0.5) ** 2;
      for (let column = 0; column < dimensions; column++) embeddings[row * dimensions + column]! /= Math.sqrt(norm);
    }
    const ids = Array.from({ length: rows }, (_, row) => `doc-${row % 5}#${row}`);
    const columns = () => ({ ids: [...ids], texts: ids.map((id) => `text of ${id}`), metadata: ids.map((id) => ({ doc: id.split('#')[0] })), documentIds: ids.map((id) => id.split('#')[0]) });
    return {
      wasm: { dimensions, ...columns(), embeddings, ...(memory ? { memory } : {}) },
      plain: { dimensions, ...columns(), embeddings: embeddings.slice() },
    };
  }

  const denseQuery = (seed: number) => {
    const random = randomGenerator(seed);
    return Array.from({ length: dimensions }, () => random() - 0.5);
  };

  async function expectSameAnswers(simd: ContiguousVectorStore, js: ContiguousVectorStore, query: number[], topK: number) {
    const request = { queryEmbedding: query, similarityTopK: topK, mode: VectorStoreQueryMode.DEFAULT };
    const [fast, slow] = [await simd.query(request), await js.query(request)];
    expect(fast.ids).toEqual(slow.ids);
    fast.similarities.forEach((similarity, rank) => expect(Math.abs(similarity - slow.similarities[rank]!)).toBeLessThanOrEqual(1e-5));
  }

  it('uses the SIMD kernel for a table in a WebAssembly memory, and answers as the JavaScript scan does', async () => {
    const { wasm, plain } = tables(203, 8);
    const simd = ContiguousVectorStore.fromChunkTable(wasm, embedModel);
    const js = ContiguousVectorStore.fromChunkTable(plain, embedModel);
    expect(simd.usesSimd).toBe(true);
    expect(js.usesSimd).toBe(false);
    for (const seed of [1, 2, 3]) for (const topK of [1, 10, 203, 500]) await expectSameAnswers(simd, js, denseQuery(seed), topK);
    // Filters go through the kernel's scores too.
    const filtered = { queryEmbedding: denseQuery(4), similarityTopK: 7, mode: VectorStoreQueryMode.DEFAULT, docIds: wasm.ids.filter((_, row) => row % 4 === 1) };
    expect((await simd.query(filtered)).ids).toEqual((await js.query(filtered)).ids);
  });

  it('keeps using the kernel after delete, and leaves it when add outgrows the memory', async () => {
    const { wasm, plain } = tables(50, 9);
    const simd = ContiguousVectorStore.fromChunkTable(wasm, embedModel);
    const js = ContiguousVectorStore.fromChunkTable(plain, embedModel);
    await simd.delete('doc-2');
    await js.delete('doc-2');
    expect(simd.size).toBe(40);
    expect(simd.usesSimd).toBe(true);
    await expectSameAnswers(simd, js, denseQuery(5), 10);
    // Refills the deleted rows in place (still inside the memory), then grows past it.
    const node = (row: number) => new TextNode({ id_: `new#${row}`, text: `new ${row}`, embedding: denseQuery(100 + row) });
    await simd.add(Array.from({ length: 10 }, (_, row) => node(row)));
    await js.add(Array.from({ length: 10 }, (_, row) => node(row)));
    expect(simd.usesSimd).toBe(true);
    await expectSameAnswers(simd, js, denseQuery(6), 10);
    await simd.add([node(10)]);
    await js.add([node(10)]);
    expect(simd.usesSimd).toBe(false);
    await expectSameAnswers(simd, js, denseQuery(7), 10);
  });

  it('builds its table in a shared memory in a real worker, and answers dense queries there as the JavaScript scan does', async () => {
    const builder = new WorkerIndexBuilder();
    try {
      const built = await builder.build(
        {
          tenantId: 'acme',
          config: validateTenantConfig({ version: 'v1', data_source: { type: 'fs', path: 'examples/acme-handbook' }, index_params: { chunk_size: 64, chunk_overlap: 8 } }),
          sourceEnvironment: {},
        },
        new AbortController().signal,
      );
      const { table } = built;
      expect(table.memory).toBeInstanceOf(WebAssemblyApi.Memory);
      expect(table.embeddings.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(table.embeddings.buffer).toBe(table.memory!.buffer);
      const simd = ContiguousVectorStore.fromChunkTable(table, new HashEmbedding(table.dimensions));
      const js = ContiguousVectorStore.fromChunkTable({ ...table, embeddings: table.embeddings.slice(), memory: undefined }, new HashEmbedding(table.dimensions));
      expect(simd.usesSimd).toBe(true);
      expect(js.usesSimd).toBe(false);
      const random = randomGenerator(10);
      for (let probe = 0; probe < 5; probe++) {
        const query = Array.from({ length: table.dimensions }, () => random() - 0.5);
        const request = { queryEmbedding: query, similarityTopK: 5, mode: VectorStoreQueryMode.DEFAULT };
        const [fast, slow] = [await simd.query(request), await js.query(request)];
        expect(fast.ids).toEqual(slow.ids);
        fast.similarities.forEach((similarity, rank) => expect(Math.abs(similarity - slow.similarities[rank]!)).toBeLessThanOrEqual(1e-5));
      }
      // Hashed queries of a few words stay on the sparse path: the same scores exactly.
      const sparse = { queryEmbedding: await new HashEmbedding(table.dimensions).getTextEmbedding('vacation policy'), similarityTopK: 3, mode: VectorStoreQueryMode.DEFAULT };
      const [fast, slow] = [await simd.query(sparse), await js.query(sparse)];
      expect(fast.ids).toEqual(slow.ids);
      expect(fast.similarities).toEqual(slow.similarities);
    } finally {
      await builder.close();
    }
  });
});
