import type { ChatMessage, ChatModel } from '../chat-models.ts';
import type { ProviderSettings } from '../provider-settings.ts';
import { OPENAI_PROVIDER } from './openai-embedding.ts';
import { postJson, postStreaming, type ProviderRequest } from './provider-http.ts';
import { sseData } from './stream-parsing.ts';

interface CompletionResponse {
  choices?: { message?: { content?: string | null } }[];
}

interface CompletionChunk {
  choices?: { delta?: { content?: string | null } }[];
}

/** `POST {OPENAI_BASE_URL}/chat/completions`; streaming is SSE with `choices[0].delta.content`. */
export function openAiChatModel(name: string, model: string, settings: ProviderSettings): ChatModel {
  const request = (messages: readonly ChatMessage[], stream: boolean, signal: AbortSignal | undefined): ProviderRequest => ({
    provider: OPENAI_PROVIDER,
    url: `${settings.openaiBaseUrl}/chat/completions`,
    model,
    // temperature 0: answers should follow the passages, not vary between identical questions.
    body: { model, messages, temperature: 0, stream },
    apiKey: settings.openaiApiKey,
    settings,
    signal,
  });
  return {
    name,
    async complete(messages, signal) {
      const response = await postJson<CompletionResponse>(request(messages, false, signal));
      return response.choices?.[0]?.message?.content ?? '';
    },
    async *stream(messages, signal) {
      for await (const data of sseData(postStreaming(request(messages, true, signal)))) {
        const content = (JSON.parse(data) as CompletionChunk).choices?.[0]?.delta?.content;
        if (content) yield content;
      }
    },
  };
}
