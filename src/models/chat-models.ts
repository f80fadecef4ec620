import { parseLlmName } from './model-names.ts';
import { DEFAULT_PROVIDER_SETTINGS, type ProviderSettings } from './provider-settings.ts';
import { ollamaChatModel } from './providers/ollama-chat.ts';
import { openAiChatModel } from './providers/openai-chat.ts';

/** A chat-completion model that writes answers from retrieved passages (tenant config `llm`). */
export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

export interface ChatModel {
  readonly name: string;
  complete(messages: readonly ChatMessage[], signal?: AbortSignal): Promise<string>;
  /** Text deltas as the model produces them. */
  stream(messages: readonly ChatMessage[], signal?: AbortSignal): AsyncIterable<string>;
}

/**
 * Resolved on every query, so the cache is keyed by the settings object itself (one per service)
 * and then by name: no per-query serialisation of the settings.
 */
const resolved = new WeakMap<ProviderSettings, Map<string, ChatModel>>();

/** `undefined` for `extractive` (answers are extracted, no model); unknown names throw UnknownModelError. */
export function resolveChatModel(name: string, settings: ProviderSettings = DEFAULT_PROVIDER_SETTINGS): ChatModel | undefined {
  const spec = parseLlmName(name);
  if (spec.provider === 'extractive') return undefined;
  let models = resolved.get(settings);
  if (!models) resolved.set(settings, (models = new Map()));
  let model = models.get(name);
  if (!model) {
    model = spec.provider === 'openai' ? openAiChatModel(name, spec.model, settings) : ollamaChatModel(name, spec.model, settings);
    models.set(name, model);
  }
  return model;
}

export interface PromptPassage {
  readonly text: string;
  readonly metadata: Record<string, unknown>;
}

export const ANSWER_SYSTEM_PROMPT = [
  'You answer questions using only the numbered context passages the user provides.',
  'Cite the passages you use by their number in square brackets, like [1] or [2][3].',
  'If the passages do not contain the answer, say that the knowledge base does not answer the question. Do not use outside knowledge.',
  'Answer in the language of the question.',
].join(' ');

/**
 * The messages for a retrieval-augmented answer. Passage [n] is `sources[n - 1]` of the response,
 * so an app can turn the model's citations into links.
 */
export function buildAnswerMessages(query: string, passages: readonly PromptPassage[]): ChatMessage[] {
  const context = passages
    .map((passage, index) => `[${index + 1}] (source: ${String(passage.metadata.source ?? 'unknown')})\n${passage.text.trim()}`)
    .join('\n\n');
  return [
    { role: 'system', content: ANSWER_SYSTEM_PROMPT },
    { role: 'user', content: `Context passages:\n\n${context || '(none were found)'}\n\nQuestion: ${query}` },
  ];
}
