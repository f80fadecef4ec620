import { BaseEmbedding } from '@llamaindex/core/embeddings';
import { MetadataMode } from '@llamaindex/core/schema';
import type { VectorStoreIndex } from 'llamaindex';
import { LlmUnavailableError } from '../errors.ts';
import { buildAnswerMessages, type ChatModel } from '../models/chat-models.ts';
import { extractAnswer } from '../models/extractive-answer.ts';
import { Bm25Index, buildBm25, type Bm25Data } from './bm25-index.ts';
import { createVectorStoreIndex, ContiguousVectorStore, type ChunkTable } from './contiguous-vector-store.ts';
import { candidatePoolSize, reciprocalRankFusion } from './rank-fusion.ts';

export interface AnswerSource {
  readonly id: string;
  /** Cosine similarity (dense), BM25 score (bm25) or reciprocal-rank-fusion score (hybrid). */
  readonly score: number;
  readonly text: string;
  readonly metadata: Record<string, unknown>;
}

export type RetrievalMode = 'dense' | 'bm25' | 'hybrid';

/** `answer`: the whole response at once; `stream`: response deltas in `tokens`; `none`: sources only. */
export type Synthesis = 'answer' | 'stream' | 'none';

export interface EngineQueryOptions {
  readonly topK: number;
  readonly mode?: RetrievalMode;
  readonly synthesis?: Synthesis;
  /** The tenant's `llm`, resolved; undefined → extractive. */
  readonly chat?: ChatModel | undefined;
  readonly signal?: AbortSignal;
}

export interface EngineAnswer {
  /** null for `synthesis: 'none'` and `'stream'` (the text then arrives in `tokens`). */
  readonly response: string | null;
  readonly sources: readonly AnswerSource[];
  /** Only for `synthesis: 'stream'`. Fails with LlmUnavailableError if the model fails mid-way. */
  readonly tokens?: AsyncIterable<string>;
}

/**
 * One tenant's immutable, queryable index: a LlamaIndex VectorStoreIndex over a contiguous vector
 * store, BM25 over the same chunks, and answer synthesis (extractive or a chat model). Built off
 * the request path, swapped in whole; a query holds its own reference, so a swap never disturbs a
 * query already running on the old engine. Retrieval mode, top_k and the LLM are per query (the
 * manager reads them from the tenant's current config), so changing them needs no rebuild.
 */
export class TenantEngine {
  readonly #index: VectorStoreIndex;
  readonly #table: ChunkTable;
  readonly #bm25: Bm25Index;
  readonly chunks: number;

  private constructor(index: VectorStoreIndex, table: ChunkTable, bm25: Bm25Index) {
    this.#index = index;
    this.#table = table;
    this.#bm25 = bm25;
    this.chunks = table.ids.length;
  }

  /** The embedding model is passed explicitly: a global Settings.embedModel would be shared by every tenant. */
  static create(table: ChunkTable, bm25: Bm25Data, embedModel: BaseEmbedding): Promise<TenantEngine>;
  /** Without worker-built BM25 statistics (tools, benchmarks): they are computed here, on this thread. */
  static create(table: ChunkTable, embedModel: BaseEmbedding): Promise<TenantEngine>;
  static async create(table: ChunkTable, second: Bm25Data | BaseEmbedding, third?: BaseEmbedding): Promise<TenantEngine> {
    const [bm25, embedModel] = second instanceof BaseEmbedding ? [buildBm25(table.texts), second] : [second, third!];
    const store = ContiguousVectorStore.fromChunkTable(table, embedModel);
    const index = await createVectorStoreIndex(store);
    return new TenantEngine(index, table, new Bm25Index(bm25));
  }

  async retrieve(query: string, topK: number, mode: RetrievalMode = 'hybrid'): Promise<AnswerSource[]> {
    if (mode === 'dense') return this.#dense(query, topK);
    if (mode === 'bm25') return this.#lexical(query, topK);
    const pool = candidatePoolSize(topK);
    const [dense, lexical] = [await this.#dense(query, pool), this.#lexical(query, pool)];
    const byId = new Map<string, AnswerSource>();
    for (const source of [...dense, ...lexical]) if (!byId.has(source.id)) byId.set(source.id, source);
    const fused = reciprocalRankFusion([dense.map((source) => source.id), lexical.map((source) => source.id)]);
    return fused.slice(0, topK).map(({ item, score }) => ({ ...byId.get(item)!, score }));
  }

  /** A bare number is `{ topK }` with the defaults (hybrid retrieval, extractive answer). */
  async query(query: string, optionsOrTopK: EngineQueryOptions | number): Promise<EngineAnswer> {
    const options = typeof optionsOrTopK === 'number' ? { topK: optionsOrTopK } : optionsOrTopK;
    const sources = await this.retrieve(query, options.topK, options.mode);
    const synthesis = options.synthesis ?? 'answer';
    if (synthesis === 'none') return { response: null, sources };
    const chat = options.chat;
    if (!chat) {
      const { answer } = extractAnswer(query, sources.map((source) => source.text));
      return synthesis === 'stream' ? { response: null, sources, tokens: single(answer) } : { response: answer, sources };
    }
    const messages = buildAnswerMessages(query, sources);
    if (synthesis === 'stream') return { response: null, sources, tokens: llmFailuresMapped(chat.stream(messages, options.signal), chat.name) };
    try {
      return { response: await chat.complete(messages, options.signal), sources };
    } catch (error) {
      throw llmUnavailable(error, chat.name);
    }
  }

  async #dense(query: string, topK: number): Promise<AnswerSource[]> {
    const nodes = await this.#index.asRetriever({ similarityTopK: topK }).retrieve({ query });
    return nodes.map(({ node, score }) => ({
      id: node.id_,
      score: score ?? 0,
      text: node.getContent(MetadataMode.NONE),
      metadata: { ...node.metadata },
    }));
  }

  #lexical(query: string, topK: number): AnswerSource[] {
    return this.#bm25.search(query, topK).map(({ row, score }) => ({
      id: this.#table.ids[row]!,
      score,
      text: this.#table.texts[row]!,
      metadata: { ...this.#table.metadata[row] },
    }));
  }
}

async function* single(text: string): AsyncIterable<string> {
  yield text;
}

async function* llmFailuresMapped(tokens: AsyncIterable<string>, model: string): AsyncIterable<string> {
  try {
    yield* tokens;
  } catch (error) {
    throw llmUnavailable(error, model);
  }
}

function llmUnavailable(error: unknown, model: string): LlmUnavailableError {
  // Clients learn which model failed; the endpoint and status (never the key) stay in the cause,
  // which the error handler logs: internal host names are not the API client's business.
  return new LlmUnavailableError(`language model '${model}' is unavailable`, { cause: error });
}
