import { describe, expect, it } from 'vitest';
import { DEFAULT_WATCH_MIN_INTERVAL_MS, TokenBucket, watchRateLimit } from '../../src/kv/token-bucket.ts';

function fakeClock() {
  let now = 0;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
    sleeps,
  };
}

describe('TokenBucket', () => {
  it('lets a burst through at once, then paces calls at the refill rate', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ capacity: 3, refillPerSecond: 10, now: clock.now, sleep: clock.sleep });
    for (let call = 0; call < 3; call += 1) await bucket.take();
    expect(clock.sleeps).toEqual([]);
    await bucket.take();
    await bucket.take();
    expect(clock.sleeps).toEqual([100, 100]);
  });

  it('refills while idle, up to its capacity only', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ capacity: 2, refillPerSecond: 10, now: clock.now, sleep: clock.sleep });
    await bucket.take();
    await bucket.take();
    await clock.sleep(10_000);
    clock.sleeps.length = 0;
    await bucket.take();
    await bucket.take();
    expect(clock.sleeps).toEqual([]);
    await bucket.take();
    expect(clock.sleeps).toEqual([100]);
  });

  it('rejects a nonsensical configuration', () => {
    expect(() => new TokenBucket({ capacity: 0, refillPerSecond: 1 })).toThrow(RangeError);
    expect(() => new TokenBucket({ capacity: 1, refillPerSecond: 0 })).toThrow(RangeError);
  });

  it('aborts a wait when the signal aborts', async () => {
    const bucket = new TokenBucket({ capacity: 1, refillPerSecond: 0.001 });
    await bucket.take();
    const controller = new AbortController();
    const waiting = bucket.take(controller.signal);
    controller.abort(new Error('stopped'));
    await expect(waiting).rejects.toThrow('stopped');
  });

  it("the watch limit follows Consul's advice: two calls at once, then one per interval", async () => {
    const clock = fakeClock();
    const bucket = watchRateLimit(DEFAULT_WATCH_MIN_INTERVAL_MS, clock);
    for (let call = 0; call < 6; call += 1) await bucket.take();
    expect(clock.sleeps).toEqual([1000, 1000, 1000, 1000]);
  });
});
