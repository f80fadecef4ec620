import type { BaseEmbedding } from '@llamaindex/core/embeddings';
import { HASH_EMBEDDING_DIMENSIONS, HashEmbedding, embedTextInto } from './hash-embedding.ts';
import { parseEmbeddingModelName } from './model-names.ts';
import { DEFAULT_PROVIDER_SETTINGS, type ProviderSettings } from './provider-settings.ts';
import { ollamaEmbeddingModel } from './providers/ollama-embedding.ts';
import { openAiEmbeddingModel } from './providers/openai-embedding.ts';
import { useLiteEmbeddingModel } from './providers/use-lite-embedding.ts';

/**
 * An embedding model as the index build and the query path need it: the build writes vectors for
 * many texts straight into one contiguous array (in a worker thread), the query path embeds one
 * query through LlamaIndex's BaseEmbedding interface on the main thread (use-lite hands the forward
 * pass to its query worker thread).
 */
export interface EmbeddingModel {
  readonly name: string;
  /**
   * The row width. Async because a remote model's width is only known from its first answer
   * (local models resolve at once); the build calls it before allocating the matrix.
   */
  dimensions(signal?: AbortSignal): Promise<number>;
  /** Writes one L2-normalised row per text into `out`, starting at row `firstRow`. */
  embedInto(texts: readonly string[], out: Float32Array, firstRow: number, signal: AbortSignal): Promise<void>;
  /** The LlamaIndex view of this model, given explicitly to each tenant's vector store. */
  llamaEmbedding(): BaseEmbedding;
  /** Loads what the query path needs (weights), so that no query pays for it. */
  warm?(): Promise<void>;
}

function hashEmbeddingModel(): EmbeddingModel {
  const dimensions = HASH_EMBEDDING_DIMENSIONS;
  let shared: HashEmbedding | undefined;
  return {
    name: 'hash',
    dimensions: async () => dimensions,
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

function createEmbeddingModel(name: string, settings: ProviderSettings): EmbeddingModel {
  const spec = parseEmbeddingModelName(name);
  switch (spec.provider) {
    case 'hash':
      return hashEmbeddingModel();
    case 'use-lite':
      return useLiteEmbeddingModel();
    case 'openai':
      return openAiEmbeddingModel(name, spec.model, settings);
    case 'ollama':
      return ollamaEmbeddingModel(name, spec.model, settings);
  }
}

const resolved = new Map<string, EmbeddingModel>();

/**
 * Resolves a tenant's `embedding_model` (one instance per name and provider settings per thread,
 * shared by tenants); unknown names are a permanent build error (UnknownModelError).
 */
export function resolveEmbeddingModel(name: string, settings: ProviderSettings = DEFAULT_PROVIDER_SETTINGS): EmbeddingModel {
  // Settings are part of the key: tests (and tools) run services against different endpoints side by side.
  const key = JSON.stringify([name, settings]);
  const cached = resolved.get(key);
  if (cached) return cached;
  const model = createEmbeddingModel(name, settings);
  resolved.set(key, model);
  return model;
}

export function knownEmbeddingModels(): string[] {
  return ['hash', 'use-lite', 'openai:<model>', 'text-embedding-*', 'ollama:<model>'];
}
