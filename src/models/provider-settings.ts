/**
 * Process-level settings of the remote model providers, read once from the environment by
 * src/config.ts and passed down as plain data (a build runs in a worker thread, so they travel in
 * its request). The API key lives only here: never in KV, never in a log line or a status.
 */
export interface ProviderSettings {
  /** OPENAI_BASE_URL, without a trailing slash, e.g. `https://api.openai.com/v1` or `http://vllm:8000/v1`. */
  readonly openaiBaseUrl: string;
  /** OPENAI_API_KEY; unset for servers that need none (LM Studio, Ollama's /v1, vLLM without --api-key). */
  readonly openaiApiKey?: string | undefined;
  /** OLLAMA_HOST as a URL, e.g. `http://127.0.0.1:11434`. */
  readonly ollamaHost: string;
  /** Per HTTP request (each attempt), MODEL_REQUEST_TIMEOUT_SECONDS. */
  readonly requestTimeoutMs: number;
  /** Texts per embedding request, MODEL_BATCH_SIZE. */
  readonly batchSize: number;
  /** Embedding requests in flight per build, MODEL_CONCURRENCY. */
  readonly concurrency: number;
  /** Retries after the first attempt on 429/5xx/network/timeout, MODEL_MAX_RETRIES. */
  readonly maxRetries: number;
  /** First backoff delay; doubles per retry (a `Retry-After` header wins). Tests make it small. */
  readonly retryBaseMs?: number;
}

export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com/v1';
export const DEFAULT_OLLAMA_HOST = 'http://127.0.0.1:11434';

export const DEFAULT_PROVIDER_SETTINGS: ProviderSettings = {
  openaiBaseUrl: DEFAULT_OPENAI_BASE_URL,
  ollamaHost: DEFAULT_OLLAMA_HOST,
  requestTimeoutMs: 60_000,
  batchSize: 64,
  concurrency: 2,
  maxRetries: 4,
};

/** Ollama accepts `host:port` without a scheme (its own CLI does); fetch needs one. */
export function normaliseBaseUrl(raw: string): string {
  const withScheme = /^https?:\/\//i.test(raw) ? raw : `http://${raw}`;
  return withScheme.replace(/\/+$/, '');
}
