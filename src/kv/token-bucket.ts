import { sleep } from '../retry.ts';

export interface TokenBucketOptions {
  /** Tokens available at once: how many calls may go out back to back. */
  readonly capacity: number;
  /** Sustained rate once the burst is spent. */
  readonly refillPerSecond: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * Rate limit for the blocking-query loop. A burst stays instant (a change is seen in milliseconds)
 * while a Consul that answers immediately over and over (index churn, a proxy that ignores `wait`)
 * cannot turn the loop into a busy spin. Consul's docs recommend this over a fixed sleep per loop.
 */
export class TokenBucket {
  readonly #capacity: number;
  readonly #refillPerMs: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  #tokens: number;
  #updatedAt: number;

  constructor(options: TokenBucketOptions) {
    if (options.capacity < 1 || options.refillPerSecond <= 0) throw new RangeError('token bucket needs capacity >= 1 and a positive rate');
    this.#capacity = options.capacity;
    this.#refillPerMs = options.refillPerSecond / 1000;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? sleep;
    this.#tokens = options.capacity;
    this.#updatedAt = this.#now();
  }

  /** Milliseconds until a token is available (0 when one is available now). */
  delayUntilToken(): number {
    this.#refill();
    return this.#tokens >= 1 ? 0 : Math.ceil((1 - this.#tokens) / this.#refillPerMs);
  }

  /** Takes a token if one is available; otherwise returns how many ms until one will be. */
  tryTake(): number {
    const delay = this.delayUntilToken();
    if (delay === 0) this.#tokens -= 1;
    return delay;
  }

  async take(signal?: AbortSignal): Promise<void> {
    for (let delay = this.delayUntilToken(); delay > 0; delay = this.delayUntilToken()) {
      await this.#sleep(delay, signal);
    }
    this.#tokens -= 1;
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.#capacity, this.#tokens + (now - this.#updatedAt) * this.#refillPerMs);
    this.#updatedAt = now;
  }
}

/**
 * The blocking-query loop's limit, shaped as Consul's blocking-query docs advise: a burst of 2 (two
 * quick successive deliveries go out at once), then one call per `minIntervalMs` while values churn.
 * Nothing is lost while throttled: each call returns the whole prefix, so every change made in the
 * meantime arrives with the next one.
 */
export function watchRateLimit(minIntervalMs: number, clock: Pick<TokenBucketOptions, 'now' | 'sleep'> = {}): TokenBucket {
  return new TokenBucket({ capacity: 2, refillPerSecond: 1000 / minIntervalMs, ...clock });
}

/** One call a second under churn: at most a second late, and a light load on Consul from many pods. */
export const DEFAULT_WATCH_MIN_INTERVAL_MS = 1_000;
