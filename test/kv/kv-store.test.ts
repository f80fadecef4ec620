import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  applyOp,
  casAllowsDelete,
  casAllowsSet,
  compareKeys,
  decodeSnapshot,
  emptyState,
  encodeSnapshot,
  INITIAL_INDEX,
  keyIndex,
  KvStore,
  listKeys,
  prefixIndex,
  type KvEntry,
  type KvState,
} from '../../src/kv/kv-store.ts';

function entry(key: string, modifyIndex: number): KvEntry {
  return { key, value: Buffer.from(key), flags: 0n, createIndex: modifyIndex, modifyIndex };
}

/** Runs ops in order, failing the test when one is unexpectedly rejected. */
function run(...ops: Parameters<typeof applyOp>[1][]): KvState {
  let state = emptyState();
  for (const op of ops) {
    const outcome = applyOp(state, op);
    expect(outcome.ok).toBe(true);
    state = outcome.state;
  }
  return state;
}

const set = (key: string, value = key) => ({ type: 'set', write: { key, value } }) as const;

describe('applyOp', () => {
  it('starts at index 1 so that the first write (index 2) wakes a query blocked on the clamped index 1', () => {
    expect(emptyState().index).toBe(INITIAL_INDEX);
    expect(run(set('a')).entries.get('a')?.modifyIndex).toBe(2);
  });

  it('keeps CreateIndex across updates and moves ModifyIndex and the global index', () => {
    const state = run(set('a', '1'), set('b'), set('a', '2'));
    expect(state.entries.get('a')).toMatchObject({ createIndex: 2, modifyIndex: 4 });
    expect(state.entries.get('a')?.value.toString()).toBe('2');
    expect(state.index).toBe(4);
  });

  it('treats an identical write as a no-op, as Consul does: same state object, no index change', () => {
    const before = run(set('a', 'v'));
    const outcome = applyOp(before, { type: 'set', write: { key: 'a', value: Buffer.from('v'), flags: 0 } });
    expect(outcome).toEqual({ state: before, ok: true });
    // A flags change is a change.
    expect(applyOp(before, { type: 'set', write: { key: 'a', value: 'v', flags: 7 } }).state.index).toBe(before.index + 1);
  });

  it('copies the value, so later mutation of the caller buffer cannot change the store', () => {
    const bytes = Buffer.from('abc');
    const state = applyOp(emptyState(), { type: 'set', write: { key: 'k', value: bytes } }).state;
    bytes[0] = 0x7a;
    expect(state.entries.get('k')?.value.toString()).toBe('abc');
  });

  it('never mutates the input state', () => {
    const before = run(set('a'), set('b'));
    const snapshot = encodeSnapshot(before);
    applyOp(before, set('c'));
    applyOp(before, { type: 'delete', key: 'a' });
    applyOp(before, { type: 'deleteTree', prefix: '' });
    expect(encodeSnapshot(before)).toBe(snapshot);
  });

  it('leaves a tombstone at the delete index and drops it when the key comes back', () => {
    const deleted = run(set('app/a'), set('app/b'), { type: 'delete', key: 'app/b' });
    expect(deleted.entries.has('app/b')).toBe(false);
    expect(deleted.tombstones.get('app/b')).toBe(4);
    const recreated = run(set('app/a'), set('app/b'), { type: 'delete', key: 'app/b' }, set('app/b'));
    expect(recreated.tombstones.has('app/b')).toBe(false);
    expect(recreated.entries.get('app/b')).toMatchObject({ createIndex: 5, modifyIndex: 5 });
  });

  it('deleting a missing key or an empty prefix changes nothing and still succeeds', () => {
    const before = run(set('a'));
    expect(applyOp(before, { type: 'delete', key: 'zzz' })).toEqual({ state: before, ok: true });
    expect(applyOp(before, { type: 'deleteTree', prefix: 'zzz/' })).toEqual({ state: before, ok: true });
  });

  it('deletes a tree at one index with a tombstone for every removed key', () => {
    const state = run(set('app/x/1'), set('app/x/2'), set('app/y'), set('other'), { type: 'deleteTree', prefix: 'app/' });
    expect([...state.entries.keys()]).toEqual(['other']);
    expect(Object.fromEntries(state.tombstones)).toEqual({ 'app/x/1': 6, 'app/x/2': 6, 'app/y': 6 });
  });

  it('writes a batch at a single index', () => {
    const state = run({ type: 'setMany', writes: [{ key: 'a', value: '1' }, { key: 'b', value: '2', flags: 3 }] });
    expect(state.index).toBe(2);
    expect(state.entries.get('b')).toMatchObject({ modifyIndex: 2, flags: 3n });
  });
});

describe('CAS', () => {
  const existing = entry('k', 7);

  it('cas=0 only creates', () => {
    expect(casAllowsSet(undefined, 0)).toBe(true);
    expect(casAllowsSet(existing, 0n)).toBe(false);
  });

  it('cas=N only updates the entry whose ModifyIndex is N', () => {
    expect(casAllowsSet(existing, 7)).toBe(true);
    expect(casAllowsSet(existing, 6)).toBe(false);
    expect(casAllowsSet(undefined, 7)).toBe(false);
    expect(casAllowsSet(existing, 2n ** 64n - 1n)).toBe(false);
  });

  it('a CAS delete of a missing key succeeds (Consul: nothing left to delete); a stale one fails', () => {
    expect(casAllowsDelete(undefined, 5)).toBe(true);
    expect(casAllowsDelete(existing, 7)).toBe(true);
    expect(casAllowsDelete(existing, 6)).toBe(false);
    expect(casAllowsDelete(existing, 0)).toBe(false);
  });

  it('a failed CAS returns the untouched state', () => {
    const before = run(set('k'));
    expect(applyOp(before, { type: 'set', write: { key: 'k', value: 'x' }, cas: 0 })).toEqual({ state: before, ok: false });
    expect(applyOp(before, { type: 'delete', key: 'k', cas: 99 })).toEqual({ state: before, ok: false });
  });
});

describe('read indexes', () => {
  it('a key read reports the entry ModifyIndex, or the global index when the key is missing', () => {
    const state = run(set('a'), set('b'));
    expect(keyIndex(state, 'a')).toBe(2);
    expect(keyIndex(state, 'missing')).toBe(3);
  });

  it('a prefix read reports the newest entry or tombstone under it', () => {
    const state = run(set('app/a'), set('app/b'), set('zzz'), { type: 'delete', key: 'app/b' }, set('zzz', 'again'));
    // app/b's tombstone (5) is newer than app/a (2) but older than the global index (6).
    expect(prefixIndex(state, 'app/')).toBe(5);
    expect(prefixIndex(state, 'ap')).toBe(5);
  });

  it('a prefix with nothing under it, and the empty prefix, report the global index', () => {
    const state = run(set('a'), set('b'));
    expect(prefixIndex(state, 'nothing/')).toBe(3);
    expect(prefixIndex(state, '')).toBe(3);
  });

  it('deleting a subtree moves the index of a longer prefix forward too', () => {
    const state = run(set('app/x/1'), set('unrelated'), { type: 'deleteTree', prefix: 'app/' }, set('unrelated', 'later'));
    expect(prefixIndex(state, 'app/x/')).toBe(4);
  });
});

describe('listing', () => {
  it('orders keys by UTF-8 bytes like Consul, not by UTF-16 code units', () => {
    const keys = ['b', 'a/b', 'a', '\u{1F600}', '\uFFFD', 'a/a'];
    expect([...keys].sort(compareKeys)).toEqual(['a', 'a/a', 'a/b', 'b', '\uFFFD', '\u{1F600}']);
    expect([...keys].sort(compareKeys)).toEqual([...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
  });

  it('folds keys after the first separator past the prefix, listing each folder once', () => {
    const state = run(set('app/a'), set('app/dir/x'), set('app/dir/y'), set('app/dir2/z'), set('apple'));
    expect(listKeys(state, 'app/', '/')).toEqual(['app/a', 'app/dir/', 'app/dir2/']);
    expect(listKeys(state, 'app', '/')).toEqual(['app/', 'apple']);
    expect(listKeys(state, 'app/')).toEqual(['app/a', 'app/dir/x', 'app/dir/y', 'app/dir2/z']);
  });
});

describe('snapshot format', () => {
  it('round-trips entries (binary values, uint64 flags), tombstones and the index', () => {
    const state = run(
      { type: 'set', write: { key: 'bin', value: Buffer.from([0, 255, 10, 13]), flags: 2n ** 64n - 1n } },
      set('gone'),
      { type: 'delete', key: 'gone' },
      { type: 'set', write: { key: 'empty', value: '' } },
    );
    const decoded = decodeSnapshot(encodeSnapshot(state));
    expect(decoded).toEqual(state);
  });

  it('rejects malformed snapshots instead of starting empty', () => {
    expect(() => decodeSnapshot('{')).toThrow();
    expect(() => decodeSnapshot('{"format":"other"}')).toThrow(/not a ragswap KV snapshot/);
    expect(() => decodeSnapshot('{"format":"ragswap-kv","version":99,"entries":[],"tombstones":[]}')).toThrow(/version/);
    expect(() =>
      decodeSnapshot('{"format":"ragswap-kv","version":1,"index":3,"entries":[{"key":"a","value":"","flags":"-1","createIndex":1,"modifyIndex":1}],"tombstones":[]}'),
    ).toThrow(/malformed entry/);
  });

  it('never lets the global index trail the entries it summarises', () => {
    const text = '{"format":"ragswap-kv","version":1,"index":0,"entries":[{"key":"a","value":"","flags":"0","createIndex":9,"modifyIndex":9}],"tombstones":[{"key":"b","index":12}]}';
    expect(decodeSnapshot(text).index).toBe(12);
  });
});

describe('KvStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ragswap-kv-store-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads and writes through the pure state', async () => {
    const store = await KvStore.open();
    expect(await store.set('a/1', 'one', { flags: 5 })).toBe(true);
    expect(await store.set('a/1', 'nope', { cas: 0 })).toBe(false);
    expect(store.get('a/1')).toMatchObject({ index: 2, entry: { key: 'a/1', flags: 5n } });
    expect(store.list('a/')).toMatchObject({ index: 2, entries: [{ key: 'a/1' }] });
    expect(store.keys('')).toEqual({ index: 2, keys: ['a/1'] });
    expect(await store.delete('a/1', { cas: 1 })).toBe(false);
    expect(await store.delete('a/1', { cas: 2 })).toBe(true);
    expect(store.prefixIndex('a/')).toBe(3);
    await store.close();
  });

  it('serialises concurrent CAS writes: exactly one of many racing creates wins', async () => {
    const store = await KvStore.open({ directory: dir });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.set('lock', String(i), { cas: 0 })));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(store.index).toBe(2);
    await store.close();
  });

  it('persists every acknowledged write and restores it, tombstones and index included', async () => {
    const first = await KvStore.open({ directory: dir });
    await first.set('t/a', Buffer.from([1, 2, 3]), { flags: 2n ** 63n });
    await first.set('t/b', 'b');
    await first.delete('t/b');
    const { index } = first;
    await first.close();

    const second = await KvStore.open({ directory: dir });
    expect(second.index).toBe(index);
    expect(second.state).toEqual(first.state);
    expect(second.prefixIndex('t/')).toBe(index);
    // New writes continue from the restored index, never reuse one.
    await second.set('t/c', 'c');
    expect(second.get('t/c').entry?.modifyIndex).toBe(index + 1);
    await second.close();
  });

  it('writes atomically: one snapshot file, owner-only, and no temp files left behind', async () => {
    const store = await KvStore.open({ directory: dir });
    await Promise.all([store.set('a', '1'), store.set('b', '2'), store.set('c', '3')]);
    await store.close();
    expect(await readdir(dir)).toEqual(['kv-state.json']);
    expect((await stat(path.join(dir, 'kv-state.json'))).mode & 0o777).toBe(0o600);
    expect(decodeSnapshot(await readFile(path.join(dir, 'kv-state.json'), 'utf8')).entries.size).toBe(3);
  });

  it('ignores a temp file left by a crash between write and rename', async () => {
    const store = await KvStore.open({ directory: dir });
    await store.set('a', 'kept');
    await store.close();
    await writeFile(path.join(dir, 'kv-state.json.deadbeef.tmp'), 'half-written garbage');
    const reopened = await KvStore.open({ directory: dir });
    expect(reopened.get('a').entry?.value.toString()).toBe('kept');
    expect(await readdir(dir)).toEqual(['kv-state.json']);
    await reopened.close();
  });

  it('refuses to open a corrupt snapshot rather than losing the data in it', async () => {
    await writeFile(path.join(dir, 'kv-state.json'), '{"format":"ragswap-kv"');
    await expect(KvStore.open({ directory: dir })).rejects.toThrow(/cannot read KV snapshot/);
  });

  it('publishes nothing when persisting fails', async () => {
    const store = await KvStore.open({ directory: dir });
    await store.set('a', '1');
    await rm(dir, { recursive: true, force: true }); // the next save cannot create its temp file
    await expect(store.set('a', '2')).rejects.toThrow();
    expect(store.get('a').entry?.value.toString()).toBe('1');
    expect(store.index).toBe(2);
    await store.close();
  });

  it('seeds only on the very first start', async () => {
    const seed = [{ key: 'tenants/demo', value: '{}' }];
    const first = await KvStore.open({ directory: dir });
    expect(await first.seedIfEmpty(seed)).toBe(true);
    expect(await first.seedIfEmpty(seed)).toBe(false);
    await first.delete('tenants/demo');
    await first.close();

    // Emptied by an operator is not "first start": the deletion must survive the restart.
    const second = await KvStore.open({ directory: dir });
    expect(await second.seedIfEmpty(seed)).toBe(false);
    expect(second.get('tenants/demo').entry).toBeUndefined();
    await second.close();

    const inMemory = await KvStore.open();
    await inMemory.set('x', '1');
    expect(await inMemory.seedIfEmpty(seed)).toBe(false);
    await inMemory.close();
  });

  describe('waitForIndex', () => {
    it('resolves at once when the index is already past', async () => {
      const store = await KvStore.open();
      await store.set('a', '1');
      await expect(store.waitForIndex(() => store.keyIndex('a'), 1, { timeoutMs: 10_000 })).resolves.toBe(true);
      await store.close();
    });

    it('wakes when a commit moves the watched index, not on unrelated writes', async () => {
      const store = await KvStore.open();
      await store.set('app/a', '1');
      let woke = false;
      const waiting = store.waitForIndex(() => store.prefixIndex('app/'), store.prefixIndex('app/'), { timeoutMs: 10_000 }).then((advanced) => {
        woke = true;
        return advanced;
      });
      await store.set('other', 'x');
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(woke).toBe(false);
      await store.delete('app/a');
      await expect(waiting).resolves.toBe(true);
      await store.close();
    });

    it('gives up on timeout, abort and close', async () => {
      const store = await KvStore.open();
      const started = Date.now();
      await expect(store.waitForIndex(() => store.index, store.index, { timeoutMs: 50 })).resolves.toBe(false);
      expect(Date.now() - started).toBeGreaterThanOrEqual(45);

      const controller = new AbortController();
      const aborted = store.waitForIndex(() => store.index, store.index, { timeoutMs: 60_000, signal: controller.signal });
      controller.abort();
      await expect(aborted).resolves.toBe(false);

      const closing = store.waitForIndex(() => store.index, store.index, { timeoutMs: 60_000 });
      await store.close();
      await expect(closing).resolves.toBe(false);
      await expect(store.set('a', '1')).rejects.toThrow(/closed/);
    });
  });
});
