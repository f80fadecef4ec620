import { ModelProviderError } from '../../errors.ts';
import { exponentialBackoff, sleep } from '../../retry.ts';
import type { ProviderSettings } from '../provider-settings.ts';

/**
 * The one HTTP client of the remote model providers (OpenAI-compatible and Ollama, embeddings and
 * chat): JSON POST with a per-attempt timeout, retries with backoff on 429/5xx/network/timeout
 * (a `Retry-After` header wins over the backoff), and status codes mapped to ModelProviderError
 * so the index manager retries the failures that can heal and waits for a config change on the
 * others. Error messages name the provider, the endpoint's origin and the status — never the key.
 */

export interface ProviderRequest {
  /** For messages: "OpenAI-compatible endpoint", "Ollama". */
  readonly provider: string;
  readonly url: string;
  readonly model: string;
  readonly body: unknown;
  readonly apiKey?: string | undefined;
  readonly settings: Pick<ProviderSettings, 'requestTimeoutMs' | 'maxRetries' | 'retryBaseMs'>;
  readonly signal?: AbortSignal | undefined;
}

/** A `Retry-After` beyond this is not waited for inside one build: the manager's own backoff takes over. */
const MAX_RETRY_AFTER_MS = 60_000;
const DEFAULT_RETRY_BASE_MS = 500;
/** How much of an error body ends up in a message (status pages can be large HTML). */
const MAX_DETAIL_CHARS = 200;

/** POSTs JSON and parses the JSON answer, with the retry and error rules above. */
export async function postJson<T>(request: ProviderRequest): Promise<T> {
  const { response, release } = await send(request);
  try {
    const text = await response.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ModelProviderError(`${describe(request)} answered with invalid JSON`, { permanent: false, code: 'model_bad_response' });
    }
  } finally {
    release();
  }
}

/**
 * POSTs JSON and yields the response body's chunks as text. Retries happen only until a 2xx
 * response arrives: once tokens flow, a failure cannot be retried without repeating them. The
 * per-request timeout then applies to the silence between two chunks, not to the whole answer.
 */
export async function* postStreaming(request: ProviderRequest): AsyncGenerator<string> {
  const { response, release, idle } = await send(request);
  try {
    if (!response.body) return;
    const decoder = new TextDecoder();
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      idle();
      yield decoder.decode(chunk, { stream: true });
    }
    const rest = decoder.decode();
    if (rest) yield rest;
  } catch (error) {
    throw mapFailure(error, request);
  } finally {
    release();
  }
}

interface Sent {
  readonly response: Response;
  /** Clears the timeout and the abort listener. */
  readonly release: () => void;
  /** Restarts the timeout (streaming: one per chunk). */
  readonly idle: () => void;
}

async function send(request: ProviderRequest): Promise<Sent> {
  const backoff = exponentialBackoff({ baseMs: request.settings.retryBaseMs ?? DEFAULT_RETRY_BASE_MS, maxMs: 30_000 });
  for (let attempt = 0; ; attempt++) {
    request.signal?.throwIfAborted();
    let failure: ModelProviderError;
    let retryAfterMs: number | undefined;
    const attemptControl = attemptController(request);
    try {
      const response = await fetch(request.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream, application/x-ndjson',
          ...(request.apiKey ? { authorization: `Bearer ${request.apiKey}` } : {}),
        },
        body: JSON.stringify(request.body),
        signal: attemptControl.signal,
      });
      if (response.ok) return { response, release: attemptControl.release, idle: attemptControl.restart };
      const detail = redact(await response.text().catch(() => ''), request.apiKey);
      attemptControl.release();
      failure = statusFailure(response.status, detail, request);
      retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
    } catch (error) {
      attemptControl.release();
      // The caller gave up (tenant superseded, client disconnected): stop at once, no retry.
      if (request.signal?.aborted) throw request.signal.reason;
      failure = mapFailure(error, request);
    }
    if (failure.permanent || attempt >= request.settings.maxRetries) {
      if (attempt === 0 || failure.permanent) throw failure;
      throw new ModelProviderError(`${failure.message} (after ${attempt + 1} attempts)`, { permanent: false, code: failure.code as 'model_unavailable' });
    }
    const delayMs = retryAfterMs !== undefined && retryAfterMs <= MAX_RETRY_AFTER_MS ? retryAfterMs : backoff(attempt + 1).delayMs;
    await sleep(delayMs, request.signal);
  }
}

/** One attempt's signal: the caller's signal plus a restartable timeout. */
function attemptController(request: ProviderRequest) {
  const controller = new AbortController();
  const timeoutMs = request.settings.requestTimeoutMs;
  let timer: NodeJS.Timeout | undefined;
  const restart = () => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new ProviderTimeout(timeoutMs)), timeoutMs);
  };
  const onAbort = () => controller.abort(request.signal?.reason);
  request.signal?.addEventListener('abort', onAbort, { once: true });
  restart();
  return {
    signal: controller.signal,
    restart,
    release: () => {
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onAbort);
    },
  };
}

class ProviderTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms`);
  }
}

/** 401/403/404/400 will not heal by retrying; everything else (429, 5xx, 408…) may. */
export function statusFailure(status: number, detail: string, request: Pick<ProviderRequest, 'provider' | 'url' | 'model'>): ModelProviderError {
  const suffix = detail ? `: ${detail}` : '';
  if (status === 401 || status === 403) {
    return new ModelProviderError(`${describe(request)} rejected the credentials (HTTP ${status}); check OPENAI_API_KEY`, {
      permanent: true,
      code: 'model_auth_failed',
    });
  }
  if (status === 404) {
    return new ModelProviderError(`model '${request.model}' not found at ${describe(request)} (HTTP 404${suffix})`, { permanent: true, code: 'model_not_found' });
  }
  if (status === 400 || status === 413 || status === 422) {
    return new ModelProviderError(`${describe(request)} rejected the request for model '${request.model}' (HTTP ${status}${suffix})`, {
      permanent: true,
      code: 'model_bad_response',
    });
  }
  return new ModelProviderError(`${describe(request)} is unavailable (HTTP ${status}${suffix})`, { permanent: false, code: 'model_unavailable' });
}

function mapFailure(error: unknown, request: ProviderRequest): ModelProviderError {
  if (error instanceof ModelProviderError) return error;
  const reason = error instanceof Error && error.name === 'AbortError' && error.cause instanceof ProviderTimeout ? error.cause : error;
  if (reason instanceof ProviderTimeout) {
    return new ModelProviderError(`${describe(request)} timed out after ${reason.timeoutMs} ms`, { permanent: false, code: 'model_unavailable', cause: reason });
  }
  // fetch wraps connection errors: "fetch failed" with the system error (ECONNREFUSED…) as cause.
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const what = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
  return new ModelProviderError(`${describe(request)} is unreachable (${what})`, { permanent: false, code: 'model_unavailable', cause: error });
}

/** The endpoint without path or query: enough to find it, nothing that could carry a secret. */
function describe(request: Pick<ProviderRequest, 'provider' | 'url'>): string {
  let origin = request.url;
  try {
    origin = new URL(request.url).origin;
  } catch {
    // An unparsable URL fails in fetch; the message still names the provider.
  }
  return `${request.provider} at ${origin}`;
}

/** Seconds or an HTTP date, as RFC 9110 allows; undefined when absent or unparsable. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Error bodies go into status and logs: cut them short and take out the key should a server echo it. */
function redact(detail: string, apiKey: string | undefined): string {
  const flat = detail.replace(/\s+/g, ' ').trim();
  const safe = apiKey ? flat.replaceAll(apiKey, '***') : flat;
  return safe.length > MAX_DETAIL_CHARS ? `${safe.slice(0, MAX_DETAIL_CHARS)}…` : safe;
}
