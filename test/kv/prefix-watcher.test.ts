import { describe, expect, it } from 'vitest';
import type { BlockingOptions, KvEntry, KvListTransport, KvRead } from '../../src/kv/consul-kv-client.ts';
import { decideIndex, PrefixWatcher, snapshotSignature } from '../../src/kv/prefix-watcher.ts';
import { TokenBucket, watchRateLimit } from '../../src/kv/token-bucket.ts';

const entry = (key: string, modifyIndex: number, value = '{}'): KvEntry => ({ key, value, createIndex: modifyIndex, modifyIndex, flags: 0 });

type Step = KvRead<KvEntry[]> | Error;

/**
 * A transport that answers from a script, one step per call, and records the `index` each call
 * waited on. After the script it blocks until the watcher is stopped, like a quiet Consul.
 */
function scriptedTransport(steps: Step[]) {
  const calls: BlockingOptions[] = [];
  let finished: () => void = () => undefined;
  const exhausted = new Promise<void>((resolve) => (finished = resolve));
  const transport: KvListTransport = {
    async list(_prefix, options = {}) {
      calls.push({ index: options.index ?? 0, waitMs: options.waitMs ?? 0 });
      const step = steps.shift();
      if (!step) {
        finished();
        return new Promise((_resolve, reject) => options.signal?.addEventListener('abort', () => reject(options.signal?.reason)));
      }
      if (step instanceof Error) throw step;
      return step;
    },
  };
  return { transport, calls, exhausted };
}

function startWatcher(steps: Step[], retryDelays: number[] = []) {
  const script = scriptedTransport(steps);
  const snapshots: { keys: string[]; index: number }[] = [];
  const errors: number[] = [];
  const attempts: number[] = [];
  const watcher = new PrefixWatcher({
    transport: script.transport,
    prefix: 'rag/tenants/',
    waitMs: 60_000,
    rateLimit: new TokenBucket({ capacity: 1000, refillPerSecond: 1000 }),
    retryPolicy: (attempt) => {
      attempts.push(attempt);
      return { retry: true, delayMs: retryDelays[attempt - 1] ?? 0 };
    },
    sleep: async () => undefined,
    onSnapshot: (entries, index) => snapshots.push({ keys: entries.map((e) => `${e.key}@${e.modifyIndex}`), index }),
    onError: (_error, { attempt }) => errors.push(attempt),
  });
  watcher.start();
  return { watcher, snapshots, errors, attempts, ...script };
}

describe('decideIndex (Consul blocking-query rules)', () => {
  it('treats the same index as a timeout with nothing to report', () => {
    expect(decideIndex(42, 42)).toEqual({ kind: 'unchanged' });
  });
  it('resets to 0 when the index goes backwards', () => {
    expect(decideIndex(42, 7)).toEqual({ kind: 'reset' });
  });
  it('never waits on an index below 1', () => {
    expect(decideIndex(0, 0)).toEqual({ kind: 'changed', nextIndex: 1 });
  });
  it('reports a higher index as a change', () => {
    expect(decideIndex(42, 43)).toEqual({ kind: 'changed', nextIndex: 43 });
    expect(decideIndex(0, 9)).toEqual({ kind: 'changed', nextIndex: 9 });
  });
});

describe('PrefixWatcher', () => {
  it('reports the first read, then blocks on its index and skips an unchanged index', async () => {
    const run = startWatcher([
      { value: [entry('rag/tenants/a/config', 5)], index: 5 },
      { value: [entry('rag/tenants/a/config', 5)], index: 5 }, // wait timed out
      { value: [entry('rag/tenants/a/config', 8)], index: 8 },
    ]);
    await run.exhausted;
    await run.watcher.stop();
    expect(run.calls.map((call) => call.index)).toEqual([0, 5, 5, 8]);
    expect(run.snapshots).toEqual([
      { keys: ['rag/tenants/a/config@5'], index: 5 },
      { keys: ['rag/tenants/a/config@8'], index: 8 },
    ]);
    expect(run.watcher.status.initialLoadDone).toBe(true);
    expect(run.watcher.status.lastIndex).toBe(8);
  });

  it('resets to 0 and re-reads when Consul returns a lower index', async () => {
    const run = startWatcher([
      { value: [entry('rag/tenants/a/config', 50)], index: 50 },
      { value: [entry('rag/tenants/a/config', 3)], index: 3 }, // restored snapshot: index went backwards
      { value: [entry('rag/tenants/a/config', 3)], index: 3 },
    ]);
    await run.exhausted;
    await run.watcher.stop();
    expect(run.calls.map((call) => call.index)).toEqual([0, 50, 0, 3]);
    expect(run.snapshots.map((snapshot) => snapshot.index)).toEqual([50, 3]);
  });

  it('clamps an index of 0 to 1 so the next call blocks', async () => {
    const run = startWatcher([{ value: [], index: 0 }]);
    await run.exhausted;
    await run.watcher.stop();
    expect(run.calls.map((call) => call.index)).toEqual([0, 1]);
    expect(run.snapshots).toEqual([{ keys: [], index: 1 }]);
  });

  it('does not report a new index whose entries did not change', async () => {
    const run = startWatcher([
      { value: [entry('rag/tenants/a/config', 5)], index: 5 },
      { value: [entry('rag/tenants/a/config', 5)], index: 9 }, // a write elsewhere under the prefix, then undone
    ]);
    await run.exhausted;
    await run.watcher.stop();
    expect(run.snapshots).toHaveLength(1);
    expect(run.watcher.status.lastIndex).toBe(9);
  });

  it('backs off on errors, keeps the loop alive and resets the attempt count once Consul answers', async () => {
    const run = startWatcher([
      new Error('ECONNREFUSED'),
      new Error('ECONNREFUSED'),
      { value: [entry('rag/tenants/a/config', 5)], index: 5 },
      new Error('socket hang up'),
      { value: [entry('rag/tenants/a/config', 6)], index: 6 },
    ]);
    await run.exhausted;
    await run.watcher.stop();
    expect(run.attempts).toEqual([1, 2, 1]);
    expect(run.errors).toEqual([1, 2, 1]);
    expect(run.snapshots.map((snapshot) => snapshot.index)).toEqual([5, 6]);
    expect(run.watcher.status.connected).toBe(true);
    expect(run.watcher.status.consecutiveFailures).toBe(0);
  });

  it('shows the outage in its status while Consul is down', async () => {
    let release: () => void = () => undefined;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const watcher = new PrefixWatcher({
      transport: { list: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:8500')) },
      prefix: 'rag/tenants/',
      retryPolicy: () => ({ retry: true, delayMs: 0 }),
      sleep: async () => {
        release();
        await new Promise((resolve) => setTimeout(resolve, 5));
      },
      onSnapshot: () => undefined,
    });
    watcher.start();
    await blocked;
    expect(watcher.status.connected).toBe(false);
    expect(watcher.status.lastError).toContain('ECONNREFUSED');
    expect(watcher.status.initialLoadDone).toBe(false);
    await watcher.stop();
  });

  it('stops promptly while a blocking call is in flight, and start/stop are idempotent', async () => {
    const run = startWatcher([{ value: [], index: 3 }]);
    run.watcher.start();
    await run.exhausted;
    await run.watcher.stop();
    await run.watcher.stop();
    expect(run.calls).toHaveLength(2);
  });

  it('degrades to one call per interval while the index churns, and loses no change', async () => {
    let index = 0;
    let now = 0;
    const sleeps: number[] = [];
    const snapshots: number[] = [];
    let stopAfter: () => void = () => undefined;
    const sixCalls = new Promise<void>((resolve) => (stopAfter = resolve));
    const watcher = new PrefixWatcher({
      // A Consul (or a proxy ignoring `wait`) that answers at once with a new index every time.
      transport: {
        list: async () => {
          index += 1;
          if (index === 6) stopAfter();
          return { value: [entry('rag/tenants/a/config', index)], index };
        },
      },
      prefix: 'rag/tenants/',
      rateLimit: watchRateLimit(1_000, {
        now: () => now,
        sleep: async (ms) => {
          sleeps.push(ms);
          now += ms;
        },
      }),
      onSnapshot: (_entries, snapshotIndex) => snapshots.push(snapshotIndex),
    });
    watcher.start();
    await sixCalls;
    await watcher.stop();
    // Two calls back to back (the burst), then one per simulated second.
    expect(sleeps.slice(0, 4)).toEqual([1000, 1000, 1000, 1000]);
    expect(snapshots.slice(0, 6)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('passes the configured wait to every blocking call', async () => {
    const run = startWatcher([{ value: [], index: 3 }]);
    await run.exhausted;
    await run.watcher.stop();
    expect(run.calls.every((call) => call.waitMs === 60_000)).toBe(true);
  });
});

describe('snapshotSignature', () => {
  it('changes with a key set or a ModifyIndex, not with values alone', () => {
    const base = snapshotSignature([entry('a', 1), entry('b', 2)]);
    expect(snapshotSignature([entry('a', 1), entry('b', 3)])).not.toBe(base);
    expect(snapshotSignature([entry('a', 1)])).not.toBe(base);
    expect(snapshotSignature([entry('a', 1, 'x'), entry('b', 2, 'y')])).toBe(base);
  });
});
