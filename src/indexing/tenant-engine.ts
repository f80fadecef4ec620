import type { BaseEmbedding } from '@llamaindex/core/embeddings';
import { MetadataMode } from '@llamaindex/core/schema';
import type { VectorStoreIndex } from 'llamaindex';
import { ExtractiveSynthesizer } from '../models/extractive-synthesizer.ts';
import { ContiguousVectorStore, createVectorStoreIndex, type ChunkTable } from './contiguous-vector-store.ts';

export interface AnswerSource {
  readonly id: string;
  readonly score: number;
  readonly text: string;
  readonly metadata: Record<string, unknown>;
}

export interface EngineAnswer {
  readonly response: string;
  readonly sources: readonly AnswerSource[];
}

/**
 * One tenant's immutable, queryable index: a LlamaIndex VectorStoreIndex over a contiguous vector
 * store plus the answer synthesizer. Built off the request path, swapped in whole; a query holds its
 * own reference, so a swap never disturbs a query already running on the old engine.
 */
export class TenantEngine {
  readonly #index: VectorStoreIndex;
  readonly #synthesizer: ExtractiveSynthesizer;
  readonly chunks: number;

  private constructor(index: VectorStoreIndex, chunks: number) {
    this.#index = index;
    this.#synthesizer = new ExtractiveSynthesizer();
    this.chunks = chunks;
  }

  /** The embedding model is passed explicitly: a global Settings.embedModel would be shared by every tenant. */
  static async create(table: ChunkTable, embedModel: BaseEmbedding): Promise<TenantEngine> {
    const store = ContiguousVectorStore.fromChunkTable(table, embedModel);
    const index = await createVectorStoreIndex(store);
    return new TenantEngine(index, table.ids.length);
  }

  async query(query: string, topK: number): Promise<EngineAnswer> {
    const engine = this.#index.asQueryEngine({
      retriever: this.#index.asRetriever({ similarityTopK: topK }),
      responseSynthesizer: this.#synthesizer,
    });
    const result = await engine.query({ query });
    return {
      response: result.toString(),
      sources: (result.sourceNodes ?? []).map(({ node, score }) => ({
        id: node.id_,
        score: score ?? 0,
        text: node.getContent(MetadataMode.NONE),
        metadata: { ...node.metadata },
      })),
    };
  }
}
