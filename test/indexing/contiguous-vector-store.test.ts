import { describe, expect, it } from 'vitest';
import { Settings } from '@llamaindex/core/global';
import { MetadataMode, NodeRelationship, TextNode, type BaseNode } from '@llamaindex/core/schema';
import { VectorStoreQueryMode, type MetadataFilters, type VectorStoreQuery } from '@llamaindex/core/vector-store';
import { VectorStoreIndex, storageContextFromDefaults } from 'llamaindex';
import { InvalidRequestError } from '../../src/errors.ts';
import {
  ContiguousVectorStore,
  createVectorStoreIndex,
  topKByDotProduct,
  type ChunkTable,
} from '../../src/indexing/contiguous-vector-store.ts';
import { HashEmbedding, embedText, embedTextInto } from '../../src/models/hash-embedding.ts';
import { exactTopK, randomGenerator } from '../helpers/vectors.ts';

function expectSameAsExactSort(embeddings: Float32Array, dimensions: number, query: Float32Array | number[], k: number): void {
  const expected = exactTopK(embeddings, dimensions, query, k);
  const actual = topKByDotProduct(embeddings, dimensions, query, k);
  expect(Array.from(actual.indices)).toEqual(expected.map((entry) => entry.row));
  expect(Array.from(actual.scores)).toEqual(expected.map((entry) => Math.fround(entry.score)));
}

const embedModel = new HashEmbedding();
const DIMENSIONS = embedModel.dimensions;

const CHUNKS = [
  { id: 'password', text: 'To reset your password, open account settings and choose Reset password.', metadata: { file: 'account.md', lang: 'en', page: 1 } },
  { id: 'invoices', text: 'Invoices are emailed on the first day of each month.', metadata: { file: 'billing.md', lang: 'en', page: 2 } },
  { id: 'ml', text: '机器学习是人工智能的一个分支，让计算机从数据中学习。', metadata: { file: 'ml.md', lang: 'zh', page: 1 } },
  { id: 'weather', text: '今天天气很好，我们去公园散步吧。', metadata: { file: 'daily.md', lang: 'zh', page: 3 } },
  { id: 'hours', text: 'The office is open from 9 to 5 on weekdays.', metadata: { file: 'office.md', lang: 'en', page: 1 } },
];

function chunkTable(): ChunkTable {
  const embeddings = new Float32Array(CHUNKS.length * DIMENSIONS);
  CHUNKS.forEach((chunk, row) => embedTextInto(chunk.text, embeddings, row * DIMENSIONS, DIMENSIONS));
  return {
    dimensions: DIMENSIONS,
    ids: CHUNKS.map((chunk) => chunk.id),
    texts: CHUNKS.map((chunk) => chunk.text),
    metadata: CHUNKS.map((chunk) => ({ ...chunk.metadata })),
    embeddings,
    documentIds: CHUNKS.map((chunk) => chunk.metadata.file),
  };
}

function storeQuery(text: string, similarityTopK: number, extra: Partial<VectorStoreQuery> = {}): VectorStoreQuery {
  return { queryEmbedding: Array.from(embedText(text)), similarityTopK, mode: VectorStoreQueryMode.DEFAULT, ...extra };
}

async function embeddedNode(id: string, text: string, documentId: string, metadata: Record<string, unknown> = {}): Promise<BaseNode> {
  return new TextNode({
    id_: id,
    text,
    metadata,
    embedding: await embedModel.getTextEmbedding(text),
    relationships: { [NodeRelationship.SOURCE]: { nodeId: documentId, metadata: {} } },
  });
}

describe('topKByDotProduct', () => {
  it('returns the same rows, order and scores as an exact full sort on random data', () => {
    const random = randomGenerator(42);
    for (const [rows, dimensions] of [[1, 1], [7, 3], [100, 16], [1000, 64], [257, 1024]] as const) {
      const embeddings = Float32Array.from({ length: rows * dimensions }, () => random() * 2 - 1);
      const query = Float32Array.from({ length: dimensions }, () => random() * 2 - 1);
      for (const k of [0, 1, 2, 5, 10, rows - 1, rows, rows + 1, rows * 3]) expectSameAsExactSort(embeddings, dimensions, query, k);
    }
  });

  it('breaks ties by the lower row', () => {
    const random = randomGenerator(7);
    // Values from {-1, 0, 1}: many rows share a score.
    const dimensions = 4;
    const embeddings = Float32Array.from({ length: 500 * dimensions }, () => Math.floor(random() * 3) - 1);
    const query = [1, 1, 0, -1];
    for (const k of [1, 3, 17, 100, 499, 600]) expectSameAsExactSort(embeddings, dimensions, query, k);
    const constant = new Float32Array(10 * dimensions).fill(0.5);
    expect(Array.from(topKByDotProduct(constant, dimensions, query, 4).indices)).toEqual([0, 1, 2, 3]);
  });

  it('gives the exact result through the sparse path for queries with few non-zero entries', () => {
    const random = randomGenerator(3);
    const dimensions = 256;
    const embeddings = Float32Array.from({ length: 2000 * dimensions }, () => random() - 0.5);
    const query = new Float32Array(dimensions);
    for (const column of [3, 77, 78, 200, 255]) query[column] = random() - 0.5;
    for (const k of [1, 10, 2000]) expectSameAsExactSort(embeddings, dimensions, query, k);
    expectSameAsExactSort(embeddings, dimensions, new Float32Array(dimensions), 5);
  });

  it('gives the exact result for double-precision, dense and sparse queries, with and without `include`, at every row count around the 4-row blocks', () => {
    const random = randomGenerator(11);
    const dimensions = 48;
    const even = (row: number) => row % 2 === 0;
    for (let rows = 1; rows <= 13; rows++) {
      const embeddings = Float32Array.from({ length: rows * dimensions }, () => random() - 0.5);
      const dense = Array.from({ length: dimensions }, () => random() - 0.5);
      const sparse = Array.from({ length: dimensions }, (_, column) => (column % 20 === 3 ? random() - 0.5 : 0));
      for (const query of [dense, sparse]) {
        for (const k of [1, 3, rows]) expectSameAsExactSort(embeddings, dimensions, query, k);
        const expected = exactTopK(embeddings, dimensions, query, rows).filter((entry) => even(entry.row)).slice(0, 3);
        expect(Array.from(topKByDotProduct(embeddings, dimensions, query, 3, even).indices)).toEqual(expected.map((entry) => entry.row));
      }
    }
  });

  it('handles an empty matrix and odd k', () => {
    const empty = topKByDotProduct(new Float32Array(0), 8, new Float32Array(8), 3);
    expect(empty.indices).toHaveLength(0);
    const matrix = Float32Array.from([1, 0, 0, 1, 1, 1]);
    expect(Array.from(topKByDotProduct(matrix, 2, [1, 0], Number.POSITIVE_INFINITY).indices)).toEqual([0, 2, 1]);
    expect(Array.from(topKByDotProduct(matrix, 2, [1, 0], 2.7).indices)).toEqual([0, 2]);
    expect(topKByDotProduct(matrix, 2, [1, 0], -1).indices).toHaveLength(0);
    expect(topKByDotProduct(matrix, 2, [1, 0], Number.NaN).indices).toHaveLength(0);
  });

  it('scans only the rows `include` accepts', () => {
    const matrix = Float32Array.from([3, 0, 2, 0, 1, 0]);
    expect(Array.from(topKByDotProduct(matrix, 2, [1, 0], 2, (row) => row !== 0).indices)).toEqual([1, 2]);
  });

  it('rejects mismatched shapes', () => {
    expect(() => topKByDotProduct(new Float32Array(10), 3, [1, 2, 3], 1)).toThrow(RangeError);
    expect(() => topKByDotProduct(new Float32Array(9), 3, [1, 2], 1)).toThrow(RangeError);
    expect(() => topKByDotProduct(new Float32Array(9), 0, [], 1)).toThrow(RangeError);
  });
});

describe('ContiguousVectorStore.fromChunkTable', () => {
  it('wraps the table without copying it', () => {
    const table = chunkTable();
    const store = ContiguousVectorStore.fromChunkTable(table, embedModel);
    expect(store.size).toBe(CHUNKS.length);
    expect(store.dimensions).toBe(DIMENSIONS);
    expect(store.storesText).toBe(true);
    expect(store.embedModel).toBe(embedModel);
    const client = store.client();
    expect(client.embeddings.buffer).toBe(table.embeddings.buffer);
    expect(client.embeddings.byteOffset).toBe(table.embeddings.byteOffset);
    expect(client.ids).toBe(table.ids);
    expect(client.texts).toBe(table.texts);
    expect(client.metadata).toBe(table.metadata);
  });

  it('rejects tables whose columns disagree', () => {
    const table = chunkTable();
    expect(() => ContiguousVectorStore.fromChunkTable({ ...table, texts: table.texts.slice(1) }, embedModel)).toThrow(RangeError);
    expect(() => ContiguousVectorStore.fromChunkTable({ ...table, embeddings: table.embeddings.subarray(1) }, embedModel)).toThrow(RangeError);
    expect(() => ContiguousVectorStore.fromChunkTable({ ...table, dimensions: 0 }, embedModel)).toThrow(RangeError);
  });
});

describe('ContiguousVectorStore through LlamaIndex', () => {
  it('retrieves the right chunk texts, metadata and scores with asRetriever', async () => {
    const index = await createVectorStoreIndex(ContiguousVectorStore.fromChunkTable(chunkTable(), embedModel));
    const query = 'How do I reset my password?';
    const results = await index.asRetriever({ similarityTopK: 3 }).retrieve({ query });
    expect(results).toHaveLength(3);
    expect(results[0]!.node.id_).toBe('password');
    expect(results[0]!.node.getContent(MetadataMode.NONE)).toBe(CHUNKS[0]!.text);
    expect(results[0]!.node.metadata).toEqual(CHUNKS[0]!.metadata);
    const expectedScore = embedText(query).reduce((sum, value, column) => sum + value * embedText(CHUNKS[0]!.text)[column]!, 0);
    expect(results[0]!.score).toBeCloseTo(expectedScore, 5);
    const scores = results.map((result) => result.score!);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
  });

  it('retrieves a Chinese chunk for a Chinese query', async () => {
    const index = await createVectorStoreIndex(ContiguousVectorStore.fromChunkTable(chunkTable(), embedModel));
    const [best] = await index.asRetriever({ similarityTopK: 1 }).retrieve({ query: '什么是机器学习？' });
    expect(best?.node.id_).toBe('ml');
    expect(best?.node.metadata).toEqual({ file: 'ml.md', lang: 'zh', page: 1 });
  });

  it("embeds queries with the store's model, not the global Settings one", async () => {
    const store = ContiguousVectorStore.fromChunkTable(chunkTable(), embedModel);
    // VectorStoreIndex reads Settings.embedModel in its constructor: unset, it throws…
    await expect(VectorStoreIndex.fromVectorStore(store)).rejects.toThrow(/Cannot find Embedding/);
    // …and set (here: to another tenant's model), it would win over the store's.
    const otherTenantModel = new HashEmbedding(16);
    const index = await Settings.withEmbedModel(otherTenantModel, () => createVectorStoreIndex(store));
    expect(index.embedModel).toBe(embedModel);
    const [best] = await index.asRetriever({ similarityTopK: 1 }).retrieve({ query: 'invoices emailed' });
    expect(best?.node.id_).toBe('invoices');
  });

  it('works on the standard LlamaIndex build path (VectorStoreIndex.init → embed → add)', async () => {
    const store = new ContiguousVectorStore({ embedModel });
    const storageContext = await storageContextFromDefaults({ vectorStores: { TEXT: store } });
    const nodes = CHUNKS.map((chunk) => new TextNode({ id_: chunk.id, text: chunk.text, metadata: chunk.metadata }));
    const index = await Settings.withEmbedModel(embedModel, () => VectorStoreIndex.init({ nodes, storageContext }));
    expect(store.size).toBe(CHUNKS.length);
    const [best] = await index.asRetriever({ similarityTopK: 1 }).retrieve({ query: 'office opening hours weekdays' });
    expect(best?.node.id_).toBe('hours');
    expect(best?.node.getContent(MetadataMode.NONE)).toBe(CHUNKS[4]!.text);
  });

  it('answers every retrieval with fresh nodes: the index caches none (so none go stale after delete + add)', async () => {
    const store = new ContiguousVectorStore({ embedModel });
    await store.add([await embeddedNode('a1', 'alpha original text', 'doc-a')]);
    const index = await createVectorStoreIndex(store);
    const retrieve = async () => (await index.asRetriever({ similarityTopK: 1 }).retrieve({ query: 'alpha' }))[0]!.node;
    const first = await retrieve();
    first.metadata.mutated = true;
    const second = await retrieve();
    expect(second).not.toBe(first);
    expect(second.metadata).toEqual({});
    expect(Object.keys(index.indexStruct.nodesDict)).toEqual([]);
    await index.deleteRefDoc('doc-a', false);
    await store.add([await embeddedNode('a1', 'alpha replaced text', 'doc-a')]);
    expect((await retrieve()).getContent(MetadataMode.NONE)).toBe('alpha replaced text');
  });

  it('passes retriever filters through to the store', async () => {
    const index = await createVectorStoreIndex(ContiguousVectorStore.fromChunkTable(chunkTable(), embedModel));
    const filters: MetadataFilters = { filters: [{ key: 'lang', operator: '==', value: 'zh' }] };
    const results = await index.asRetriever({ similarityTopK: 5, filters }).retrieve({ query: 'reset password' });
    expect(results.map((result) => result.node.id_).sort()).toEqual(['ml', 'weather']);
  });
});

describe('ContiguousVectorStore.query', () => {
  const store = ContiguousVectorStore.fromChunkTable(chunkTable(), embedModel);

  it('normalises the query vector, so scores are cosine similarities', async () => {
    const plain = await store.query(storeQuery('reset password', 2));
    const scaled = await store.query({ ...storeQuery('reset password', 2), queryEmbedding: Array.from(embedText('reset password'), (value) => value * 37) });
    expect(scaled.ids).toEqual(plain.ids);
    scaled.similarities.forEach((score, rank) => expect(score).toBeCloseTo(plain.similarities[rank]!, 6));
    expect(plain.similarities[0]).toBeLessThanOrEqual(1.000001);
  });

  it('returns ids, similarities and TextNodes for the top k, and at most the store size', async () => {
    const result = await store.query(storeQuery('invoices', 10));
    expect(result.ids).toHaveLength(CHUNKS.length);
    expect(result.ids[0]).toBe('invoices');
    expect(result.nodes?.map((node) => node.id_)).toEqual(result.ids);
    expect(result.nodes?.[0]).toBeInstanceOf(TextNode);
    expect((await store.query(storeQuery('invoices', 0))).ids).toEqual([]);
  });

  it('hands out copies of the metadata', async () => {
    const result = await store.query(storeQuery('invoices', 1));
    result.nodes![0]!.metadata.file = 'mutated';
    expect((await store.query(storeQuery('invoices', 1))).nodes![0]!.metadata.file).toBe('billing.md');
  });

  it('filters on metadata with == and in, combined with and / or', async () => {
    const idsFor = async (filters: MetadataFilters) => (await store.query(storeQuery('the', 10, { filters }))).ids.sort();
    expect(await idsFor({ filters: [{ key: 'lang', operator: '==', value: 'en' }] })).toEqual(['hours', 'invoices', 'password']);
    expect(await idsFor({ filters: [{ key: 'page', operator: '==', value: 1 }] })).toEqual(['hours', 'ml', 'password']);
    expect(await idsFor({ filters: [{ key: 'file', operator: 'in', value: ['ml.md', 'billing.md', 'none.md'] }] })).toEqual(['invoices', 'ml']);
    expect(
      await idsFor({
        filters: [
          { key: 'lang', operator: '==', value: 'en' },
          { key: 'page', operator: 'in', value: [1] },
        ],
      }),
    ).toEqual(['hours', 'password']);
    expect(
      await idsFor({
        condition: 'or',
        filters: [
          { key: 'lang', operator: '==', value: 'zh' },
          { key: 'page', operator: '==', value: 2 },
        ],
      }),
    ).toEqual(['invoices', 'ml', 'weather']);
    expect(await idsFor({ filters: [] })).toHaveLength(CHUNKS.length);
    expect(await idsFor({ filters: [{ key: 'missing', operator: '==', value: 'x' }] })).toEqual([]);
  });

  it('restricts to docIds (chunk ids) when given', async () => {
    const result = await store.query(storeQuery('password invoices', 10, { docIds: ['invoices', 'weather'] }));
    expect(result.ids).toEqual(['invoices', 'weather']);
  });

  it('rejects unsupported filter operators and conditions with a clear request error', async () => {
    const unsupported = store.query(storeQuery('x', 3, { filters: { filters: [{ key: 'page', operator: '>', value: 1 }] } }));
    await expect(unsupported).rejects.toThrow(InvalidRequestError);
    await expect(unsupported).rejects.toThrow("unsupported metadata filter operator '>' on 'page'; supported: ==, in");
    await expect(store.query(storeQuery('x', 3, { filters: { filters: [{ key: 'page', operator: 'in', value: 1 }] } }))).rejects.toThrow(InvalidRequestError);
    await expect(
      store.query(storeQuery('x', 3, { filters: { condition: 'xor' as 'and', filters: [{ key: 'page', operator: '==', value: 1 }] } })),
    ).rejects.toThrow(/condition 'xor'/);
  });

  it('rejects other query modes, a missing embedding and a wrong dimension', async () => {
    await expect(store.query({ ...storeQuery('x', 1), mode: VectorStoreQueryMode.MMR })).rejects.toThrow(/default query mode/);
    await expect(store.query({ similarityTopK: 1, mode: VectorStoreQueryMode.DEFAULT })).rejects.toThrow(/queryEmbedding/);
    await expect(store.query({ ...storeQuery('x', 1), queryEmbedding: [1, 2, 3] })).rejects.toThrow(/3 dimensions/);
  });

  it('answers an empty store with nothing', async () => {
    const empty = new ContiguousVectorStore({ embedModel });
    expect(await empty.query(storeQuery('x', 3))).toEqual({ nodes: [], similarities: [], ids: [] });
  });
});

describe('ContiguousVectorStore.add and delete', () => {
  it('adds nodes (normalising their embeddings) and then finds them', async () => {
    const store = new ContiguousVectorStore({ embedModel });
    expect(await store.add([])).toEqual([]);
    const node = await embeddedNode('a', 'Kubernetes cluster upgrade guide', 'doc-a', { file: 'k8s.md' });
    node.embedding = node.getEmbedding().map((value) => value * 5);
    expect(await store.add([node, await embeddedNode('b', 'Holiday calendar', 'doc-b')])).toEqual(['a', 'b']);
    const result = await store.query(storeQuery('cluster upgrade', 1));
    expect(result.ids).toEqual(['a']);
    expect(result.nodes?.[0]?.metadata).toEqual({ file: 'k8s.md' });
    expect(result.similarities[0]).toBeLessThanOrEqual(1.000001);
  });

  it('grows past its capacity, including from a wrapped table (which it then copies once)', async () => {
    const table = chunkTable();
    const store = ContiguousVectorStore.fromChunkTable(table, embedModel);
    for (let batch = 0; batch < 10; batch++) {
      await store.add(await Promise.all([0, 1, 2, 3, 4].map((item) => embeddedNode(`n${batch}-${item}`, `topic${batch} item${item}`, `d${batch}`))));
    }
    expect(store.size).toBe(CHUNKS.length + 50);
    expect((await store.query(storeQuery('topic7 item3', 1))).ids).toEqual(['n7-3']);
    expect((await store.query(storeQuery('reset password', 1))).ids).toEqual(['password']);
    expect(store.client().embeddings).toHaveLength(store.size * DIMENSIONS);
  });

  it('rejects embeddings of the wrong width', async () => {
    const store = new ContiguousVectorStore({ embedModel });
    await expect(store.add([new TextNode({ id_: 'x', text: 'x', embedding: [1, 0] })])).rejects.toThrow(/2-dimensional/);
    await expect(store.add([new TextNode({ id_: 'y', text: 'no embedding' })])).rejects.toThrow(/Embedding not set/);
  });

  it('takes its width from the first node when the model does not advertise one', async () => {
    const store = new ContiguousVectorStore({ embedModel: new HashEmbedding(8), dimensions: undefined });
    expect(store.dimensions).toBe(8);
    const untyped = new ContiguousVectorStore({ embedModel: Object.assign(new HashEmbedding(8), { embedInfo: undefined }) });
    expect(untyped.dimensions).toBe(0);
    await untyped.add([new TextNode({ id_: 'x', text: 'x', embedding: [0, 3, 4] })]);
    expect(untyped.dimensions).toBe(3);
    expect(Array.from(untyped.client().embeddings)).toEqual([0, 0.6000000238418579, 0.800000011920929]);
  });

  it('deletes every chunk of a document added through add, keeping the others in order', async () => {
    const store = new ContiguousVectorStore({ embedModel });
    await store.add([
      await embeddedNode('a1', 'alpha first', 'doc-a'),
      await embeddedNode('b1', 'beta first', 'doc-b'),
      await embeddedNode('a2', 'alpha second', 'doc-a'),
      await embeddedNode('c1', 'gamma first', 'doc-c'),
    ]);
    await store.delete('doc-a');
    expect(store.size).toBe(2);
    expect(store.client().ids).toEqual(['b1', 'c1']);
    expect((await store.query(storeQuery('alpha', 5))).ids).not.toContain('a1');
    expect((await store.query(storeQuery('gamma', 1))).ids).toEqual(['c1']);
    await store.delete('no-such-document');
    expect(store.size).toBe(2);
    await store.add([await embeddedNode('a3', 'alpha third', 'doc-a')]);
    expect((await store.query(storeQuery('alpha', 1))).ids).toEqual(['a3']);
  });

  it('deletes chunks of a wrapped table by its documentIds', async () => {
    const store = ContiguousVectorStore.fromChunkTable(chunkTable(), embedModel);
    await store.delete('account.md');
    expect(store.size).toBe(CHUNKS.length - 1);
    expect((await store.query(storeQuery('reset password', 5))).ids).not.toContain('password');
    expect((await store.query(storeQuery('invoices emailed', 1))).ids).toEqual(['invoices']);
    const withoutDocumentIds = ContiguousVectorStore.fromChunkTable({ ...chunkTable(), documentIds: undefined }, embedModel);
    await withoutDocumentIds.delete('account.md');
    expect(withoutDocumentIds.size).toBe(CHUNKS.length);
  });

  it('deletes through VectorStoreIndex.deleteRefDoc', async () => {
    const store = new ContiguousVectorStore({ embedModel });
    await store.add([await embeddedNode('a1', 'alpha', 'doc-a'), await embeddedNode('b1', 'beta', 'doc-b')]);
    const index = await createVectorStoreIndex(store);
    await index.deleteRefDoc('doc-a', false);
    expect(store.client().ids).toEqual(['b1']);
  });
});
