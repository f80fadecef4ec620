import type { EmbeddingModel } from '../embedding-models.ts';
import type { ProviderSettings } from '../provider-settings.ts';
import { postJson } from './provider-http.ts';
import { remoteEmbeddingModel } from './remote-embedding.ts';

export const OLLAMA_PROVIDER = 'Ollama';

interface OllamaEmbedResponse {
  embeddings?: number[][];
}

/** `POST {OLLAMA_HOST}/api/embed` (Ollama ≥ 0.3: batched `input`, one vector per text). */
export function ollamaEmbeddingModel(name: string, model: string, settings: ProviderSettings): EmbeddingModel {
  return remoteEmbeddingModel(
    name,
    async (texts, signal) => {
      const response = await postJson<OllamaEmbedResponse>({
        provider: OLLAMA_PROVIDER,
        url: `${settings.ollamaHost}/api/embed`,
        model,
        // truncate: a chunk longer than the model's context is cut rather than failing the build.
        body: { model, input: texts, truncate: true },
        settings,
        signal,
      });
      return response.embeddings ?? [];
    },
    settings,
  );
}
