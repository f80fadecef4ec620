import type { EmbeddingModel } from '../embedding-models.ts';
import type { ProviderSettings } from '../provider-settings.ts';
import { postJson } from './provider-http.ts';
import { remoteEmbeddingModel } from './remote-embedding.ts';

export const OPENAI_PROVIDER = 'OpenAI-compatible endpoint';

interface OpenAiEmbeddingResponse {
  data?: { index: number; embedding: number[] }[];
}

/**
 * `POST {OPENAI_BASE_URL}/embeddings` — OpenAI itself and every server that copies its API (vLLM,
 * LM Studio, llama.cpp server, Ollama's /v1). `encoding_format: "float"` because some servers
 * default to base64.
 */
export function openAiEmbeddingModel(name: string, model: string, settings: ProviderSettings): EmbeddingModel {
  return remoteEmbeddingModel(
    name,
    async (texts, signal) => {
      const response = await postJson<OpenAiEmbeddingResponse>({
        provider: OPENAI_PROVIDER,
        url: `${settings.openaiBaseUrl}/embeddings`,
        model,
        body: { model, input: texts, encoding_format: 'float' },
        apiKey: settings.openaiApiKey,
        settings,
        signal,
      });
      // The API promises `index` per item, not order; sort rather than trust it.
      return [...(response.data ?? [])].sort((a, b) => a.index - b.index).map((item) => item.embedding);
    },
    settings,
  );
}
