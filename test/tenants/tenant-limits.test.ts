import { describe, expect, it } from 'vitest';
import { RateLimitedError } from '../../src/errors.ts';
import { TenantLimiter } from '../../src/tenants/tenant-limits.ts';

function clock() {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('TenantLimiter', () => {
  it('admits a burst, then limits to qps with a Retry-After', () => {
    const time = clock();
    const limiter = new TenantLimiter({ now: time.now });
    const limits = { rate_limit: { qps: 2, burst: 3 } };
    for (let query = 0; query < 3; query += 1) limiter.acquire('a', limits)();
    const error = (() => {
      try {
        limiter.acquire('a', limits);
      } catch (caught) {
        return caught as RateLimitedError;
      }
    })();
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error?.headers['retry-after']).toBe('1');
    time.advance(500);
    expect(() => limiter.acquire('a', limits)()).not.toThrow();
  });

  it('keeps tenants independent', () => {
    const limiter = new TenantLimiter({ now: clock().now });
    const limits = { rate_limit: { qps: 1, burst: 1 } };
    limiter.acquire('a', limits)();
    expect(() => limiter.acquire('a', limits)).toThrow(RateLimitedError);
    expect(() => limiter.acquire('b', limits)()).not.toThrow();
  });

  it('caps concurrent queries and frees a slot on release (once)', () => {
    const limiter = new TenantLimiter({ now: clock().now });
    const limits = { max_concurrent_queries: 2 };
    const first = limiter.acquire('a', limits);
    const second = limiter.acquire('a', limits);
    expect(() => limiter.acquire('a', limits)).toThrow(/already has 2 queries running/);
    first();
    first();
    const third = limiter.acquire('a', limits);
    expect(() => limiter.acquire('a', limits)).toThrow(RateLimitedError);
    second();
    third();
  });

  it('applies a changed limit at once and no limit means unlimited', () => {
    const limiter = new TenantLimiter({ now: clock().now });
    limiter.acquire('a', { rate_limit: { qps: 1, burst: 1 } })();
    expect(() => limiter.acquire('a', { rate_limit: { qps: 1, burst: 1 } })).toThrow(RateLimitedError);
    expect(() => limiter.acquire('a', { rate_limit: { qps: 100, burst: 50 } })()).not.toThrow();
    for (let query = 0; query < 1000; query += 1) limiter.acquire('a', {})();
  });

  it('keeps no state for ids without limits, so requests naming random tenants cannot grow it', () => {
    const limiter = new TenantLimiter({ now: clock().now });
    for (let index = 0; index < 1_000; index += 1) limiter.acquire(`ghost-${index}`, {})();
    expect(limiter.trackedTenants).toBe(0);
    const release = limiter.acquire('limited', { max_concurrent_queries: 1 });
    expect(limiter.trackedTenants).toBe(1);
    expect(() => limiter.acquire('limited', { max_concurrent_queries: 1 })).toThrow(RateLimitedError);
    // The limit is removed while a query runs: its state stays until that query ends.
    limiter.acquire('limited', {})();
    expect(limiter.trackedTenants).toBe(1);
    release();
    limiter.acquire('limited', {})();
    expect(limiter.trackedTenants).toBe(0);
  });
});
