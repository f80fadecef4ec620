import type { BaseEmbedding } from '@llamaindex/core/embeddings';
import { UnknownModelError } from '../errors.ts';
import { HASH_EMBEDDING_DIMENSIONS, HashEmbedding, embedTextInto } from './hash-embedding.ts';

/**
 * An embedding model as the index build and the query path need it: the build writes vectors for
 * many texts straight into one contiguous array (in a worker thread), the query path embeds one
 * query through LlamaIndex's BaseEmbedding interface on the main thread.
 */
export interface EmbeddingModel {
  readonly name: string;
  readonly dimensions: number;
  /** Writes one L2-normalised row per text into `out`, starting at row `firstRow`. */
  embedInto(texts: readonly string[], out: Float32Array, firstRow: number, signal: AbortSignal): Promise<void>;
  /** The LlamaIndex view of this model, given explicitly to each tenant's vector store. */
  llamaEmbedding(): BaseEmbedding;
}

function hashEmbeddingModel(): EmbeddingModel {
  const dimensions = HASH_EMBEDDING_DIMENSIONS;
  let shared: HashEmbedding | undefined;
  return {
    name: 'hash',
    dimensions,
    async embedInto(texts, out, firstRow, signal) {
      for (let index = 0; index < texts.length; index += 1) {
        // Cheap per text, but a build may embed 100k chunks: check for abort now and then.
        if (index % 256 === 0) signal.throwIfAborted();
        embedTextInto(texts[index] ?? '', out, (firstRow + index) * dimensions, dimensions);
      }
    },
    llamaEmbedding() {
      shared ??= new HashEmbedding();
      return shared;
    },
  };
}

const FACTORIES: Record<string, () => EmbeddingModel> = {
  hash: hashEmbeddingModel,
};

const resolved = new Map<string, EmbeddingModel>();

/** Resolves a tenant's `embedding_model`; unknown names are a permanent build error. */
export function resolveEmbeddingModel(name: string): EmbeddingModel {
  const cached = resolved.get(name);
  if (cached) return cached;
  const factory = FACTORIES[name];
  if (!factory) throw new UnknownModelError('embedding', name);
  const model = factory();
  resolved.set(name, model);
  return model;
}

export function knownEmbeddingModels(): string[] {
  return Object.keys(FACTORIES);
}
