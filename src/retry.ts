/**
 * Retry timing shared by the KV watcher and the index manager. A policy is a plain function so
 * tests inject a deterministic one and owners decide what "giving up" means.
 */
export interface RetryDecision {
  readonly retry: boolean;
  readonly delayMs: number;
}

/** Attempt number (1 for the first failure) in, retry-or-not and delay out. */
export type RetryPolicy = (attempt: number) => RetryDecision;

export interface BackoffOptions {
  readonly baseMs: number;
  readonly maxMs: number;
  /** Give up after this many attempts; Infinity keeps retrying at maxMs. */
  readonly maxAttempts?: number;
  /** Injected for deterministic tests. */
  readonly random?: () => number;
}

/**
 * Capped exponential backoff with "full jitter" over the upper half of the window, so that many
 * pods failing at once do not retry in lockstep yet never retry sooner than half the nominal delay.
 */
export function exponentialBackoff(options: BackoffOptions): RetryPolicy {
  const random = options.random ?? Math.random;
  const maxAttempts = options.maxAttempts ?? Number.POSITIVE_INFINITY;
  return (attempt) => {
    const nominal = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attempt - 1));
    return { retry: attempt <= maxAttempts, delayMs: Math.round(nominal / 2 + random() * (nominal / 2)) };
  };
}

/** A sleep that ends early, rejecting with the signal's reason, when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
