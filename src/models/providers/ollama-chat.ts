import type { ChatMessage, ChatModel } from '../chat-models.ts';
import type { ProviderSettings } from '../provider-settings.ts';
import { OLLAMA_PROVIDER } from './ollama-embedding.ts';
import { postJson, postStreaming, type ProviderRequest } from './provider-http.ts';
import { ndjson } from './stream-parsing.ts';

interface OllamaChatResponse {
  message?: { content?: string };
  done?: boolean;
  error?: string;
}

/** `POST {OLLAMA_HOST}/api/chat`; streaming is NDJSON, one `{message: {content}, done}` per line. */
export function ollamaChatModel(name: string, model: string, settings: ProviderSettings): ChatModel {
  const request = (messages: readonly ChatMessage[], stream: boolean, signal: AbortSignal | undefined): ProviderRequest => ({
    provider: OLLAMA_PROVIDER,
    url: `${settings.ollamaHost}/api/chat`,
    model,
    body: { model, messages, stream, options: { temperature: 0 } },
    settings,
    signal,
  });
  return {
    name,
    async complete(messages, signal) {
      const response = await postJson<OllamaChatResponse>(request(messages, false, signal));
      return response.message?.content ?? '';
    },
    async *stream(messages, signal) {
      for await (const line of ndjson<OllamaChatResponse>(postStreaming(request(messages, true, signal)))) {
        // Ollama reports a failure after the 200 (e.g. the model crashed) as a line with `error`.
        if (line.error) throw new Error(`Ollama stream failed: ${line.error}`);
        if (line.message?.content) yield line.message.content;
        if (line.done) return;
      }
    },
  };
}
