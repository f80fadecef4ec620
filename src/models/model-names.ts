import { UnknownModelError } from '../errors.ts';

/**
 * Tenant-facing model names → which provider serves them. Pure, so the accepted spellings are
 * tested in one place and the registries only dispatch.
 */

export type EmbeddingModelSpec =
  | { readonly provider: 'hash' }
  | { readonly provider: 'use-lite' }
  | { readonly provider: 'openai'; readonly model: string }
  | { readonly provider: 'ollama'; readonly model: string };

export type LlmSpec =
  | { readonly provider: 'extractive' }
  | { readonly provider: 'openai'; readonly model: string }
  | { readonly provider: 'ollama'; readonly model: string };

/** `openai:<model>` / `ollama:<model>`: the model part may contain `:` (`ollama:nomic-embed-text:latest`) and `/` (`openai:BAAI/bge-m3`), never whitespace. */
const PREFIXED = /^(openai|ollama):(\S{1,200})$/;
/** OpenAI's own embedding model names, accepted without the prefix (`text-embedding-3-small`, `text-embedding-ada-002`, …). */
const BARE_OPENAI_EMBEDDING = /^text-embedding-[a-z0-9][a-z0-9.-]*$/;

/** A tenant's `llm` as the config schema accepts it (so a typo is a config error, not a failed query). */
export const LLM_NAME_PATTERN = '^(extractive|(openai|ollama):\\S{1,200})$';

export function parseEmbeddingModelName(name: string): EmbeddingModelSpec {
  if (name === 'hash' || name === 'use-lite') return { provider: name };
  if (BARE_OPENAI_EMBEDDING.test(name)) return { provider: 'openai', model: name };
  const prefixed = PREFIXED.exec(name);
  if (prefixed) return { provider: prefixed[1] as 'openai' | 'ollama', model: prefixed[2]! };
  throw new UnknownModelError('embedding', name);
}

export function parseLlmName(name: string): LlmSpec {
  if (name === 'extractive') return { provider: 'extractive' };
  const prefixed = PREFIXED.exec(name);
  if (prefixed) return { provider: prefixed[1] as 'openai' | 'ollama', model: prefixed[2]! };
  throw new UnknownModelError('llm', name);
}
