import { RateLimitedError } from '../errors.ts';
import { TokenBucket } from '../kv/token-bucket.ts';

/**
 * Per-tenant query limits, enforced per pod: a token bucket for `rate_limit` ({qps, burst}) and a
 * counter for `max_concurrent_queries`. Limits come from the tenant's current config on every query,
 * so a change in KV applies at once, without a rebuild.
 */
export interface TenantLimitConfig {
  readonly rate_limit?: { readonly qps: number; readonly burst: number } | undefined;
  readonly max_concurrent_queries?: number | undefined;
}

interface TenantLimitState {
  bucket: TokenBucket | undefined;
  bucketKey: string | undefined;
  inFlight: number;
}

const NO_RELEASE = (): void => undefined;

export class TenantLimiter {
  readonly #tenants = new Map<string, TenantLimitState>();
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** Admits one query or throws RateLimitedError; call the returned function when the query ends. */
  acquire(tenantId: string, limits: TenantLimitConfig): () => void {
    // Nothing to enforce, nothing to remember: ids that name no tenant (any request can send one)
    // and tenants without limits never grow the map. Queries admitted under an earlier limit still
    // release against the state they took.
    if (!limits.rate_limit && limits.max_concurrent_queries === undefined) {
      if (this.#tenants.get(tenantId)?.inFlight === 0) this.#tenants.delete(tenantId);
      return NO_RELEASE;
    }
    const state = this.#state(tenantId);
    const max = limits.max_concurrent_queries;
    if (max !== undefined && state.inFlight >= max) {
      throw new RateLimitedError(`tenant '${tenantId}' already has ${max} queries running`, 1);
    }
    const bucket = this.#bucket(state, limits.rate_limit);
    const waitMs = bucket?.tryTake() ?? 0;
    if (waitMs > 0) throw new RateLimitedError(`tenant '${tenantId}' is over its rate limit of ${limits.rate_limit?.qps} queries/s`, waitMs / 1000);
    state.inFlight += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      state.inFlight -= 1;
    };
  }

  /** How many tenants have limiter state (for tests: it must stay bounded by the limited tenants). */
  get trackedTenants(): number {
    return this.#tenants.size;
  }

  #state(tenantId: string): TenantLimitState {
    let state = this.#tenants.get(tenantId);
    if (!state) {
      state = { bucket: undefined, bucketKey: undefined, inFlight: 0 };
      this.#tenants.set(tenantId, state);
    }
    return state;
  }

  /** A new bucket only when the limit itself changed, so tokens are not refilled by unrelated edits. */
  #bucket(state: TenantLimitState, rateLimit: TenantLimitConfig['rate_limit']): TokenBucket | undefined {
    if (!rateLimit) {
      state.bucket = undefined;
      state.bucketKey = undefined;
      return undefined;
    }
    const key = `${rateLimit.qps}/${rateLimit.burst}`;
    if (state.bucketKey !== key) {
      state.bucket = new TokenBucket({ capacity: rateLimit.burst, refillPerSecond: rateLimit.qps, now: this.#now });
      state.bucketKey = key;
    }
    return state.bucket;
  }
}
