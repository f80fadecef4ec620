/**
 * The state behind the embedded Consul-KV-compatible server (src/kv/kv-server.ts).
 *
 * The semantics follow Consul's state store (agent/consul/state/kvs.go) so that clients written
 * against Consul behave the same here:
 * - one global, monotonically increasing index (Consul's `kvs`/`tombstones` table index). It only
 *   moves when the KV data actually changes: an idempotent write leaves it alone, as in Consul.
 * - each entry carries CreateIndex (kept across updates) and ModifyIndex (index of its last write).
 * - deleting a key leaves a tombstone at the delete's index, so the index of a prefix read moves
 *   forward on delete instead of sliding back to an older entry's ModifyIndex.
 *
 * The data operations are pure functions over an immutable `KvState`; `KvStore` is the thin
 * imperative shell that serialises writes, persists each new state before publishing it, and wakes
 * blocking queries.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { KvUnavailableError } from '../errors.ts';
import { silentLogger, type Logger } from '../logger.ts';

// --- state ----------------------------------------------------------------------------------------

export interface KvEntry {
  readonly key: string;
  /** Raw bytes; empty when the value is empty (Consul then reports `Value: null`). */
  readonly value: Buffer;
  /** Opaque uint64 that clients attach to an entry. */
  readonly flags: bigint;
  readonly createIndex: number;
  readonly modifyIndex: number;
}

export interface KvState {
  readonly index: number;
  readonly entries: ReadonlyMap<string, KvEntry>;
  /** Deleted key -> index of the delete. */
  readonly tombstones: ReadonlyMap<string, number>;
}

/**
 * A fresh store starts at 1, never 0: Consul's first Raft entry is internal, so 1 is the smallest
 * index a client ever sees and the first user write gets 2. Starting at 0 would let the first write
 * land on index 1, which a client blocking on the (clamped) index 1 of an empty store would miss.
 */
export const INITIAL_INDEX = 1;

export function emptyState(): KvState {
  return { index: INITIAL_INDEX, entries: new Map(), tombstones: new Map() };
}

export type KvValue = Buffer | Uint8Array | string;

export interface KvWrite {
  readonly key: string;
  readonly value: KvValue;
  readonly flags?: bigint | number;
}

export type KvOp =
  | { readonly type: 'set'; readonly write: KvWrite; readonly cas?: bigint | number }
  | { readonly type: 'delete'; readonly key: string; readonly cas?: bigint | number }
  | { readonly type: 'deleteTree'; readonly prefix: string }
  /** Several writes at one index, all or nothing (used for seeding). */
  | { readonly type: 'setMany'; readonly writes: readonly KvWrite[] };

export interface OpOutcome {
  /** The same object as the input state when nothing changed (nothing to persist, nobody to wake). */
  readonly state: KvState;
  /** What Consul answers: false only when a CAS check failed. */
  readonly ok: boolean;
}

export function applyOp(state: KvState, op: KvOp): OpOutcome {
  switch (op.type) {
    case 'set': {
      if (!casAllowsSet(state.entries.get(op.write.key), op.cas)) return { state, ok: false };
      return { state: putEntries(state, [op.write]), ok: true };
    }
    case 'delete': {
      const existing = state.entries.get(op.key);
      if (!casAllowsDelete(existing, op.cas)) return { state, ok: false };
      return { state: existing ? removeEntries(state, [op.key]) : state, ok: true };
    }
    case 'deleteTree': {
      const doomed = [...state.entries.keys()].filter((key) => key.startsWith(op.prefix));
      return { state: removeEntries(state, doomed), ok: true };
    }
    case 'setMany':
      return { state: putEntries(state, op.writes), ok: true };
  }
}

/** `cas=0` creates only; `cas=N` updates only the entry whose ModifyIndex is N. */
export function casAllowsSet(existing: KvEntry | undefined, cas: bigint | number | undefined): boolean {
  if (cas === undefined) return true;
  if (BigInt(cas) === 0n) return existing === undefined;
  return existing !== undefined && BigInt(existing.modifyIndex) === BigInt(cas);
}

/** Consul reports a CAS delete of a key that does not exist as a success (nothing left to delete). */
export function casAllowsDelete(existing: KvEntry | undefined, cas: bigint | number | undefined): boolean {
  if (cas === undefined || existing === undefined) return true;
  return BigInt(existing.modifyIndex) === BigInt(cas);
}

/**
 * Applies the writes at the next index. A write identical to the stored entry (same bytes, same
 * flags) is skipped, as Consul does, so an idempotent PUT moves no index and wakes no watcher.
 */
function putEntries(state: KvState, writes: readonly KvWrite[]): KvState {
  const index = state.index + 1;
  let entries: Map<string, KvEntry> | undefined;
  let tombstones: Map<string, number> | undefined;
  for (const write of writes) {
    const value = Buffer.from(toBytes(write.value));
    const flags = BigInt(write.flags ?? 0);
    const existing = (entries ?? state.entries).get(write.key);
    if (existing && existing.flags === flags && existing.value.equals(value)) continue;
    entries ??= new Map(state.entries);
    entries.set(write.key, {
      key: write.key,
      value,
      flags,
      createIndex: existing?.createIndex ?? index,
      modifyIndex: index,
    });
    // The live entry's ModifyIndex is newer than the tombstone, so dropping it loses nothing.
    if ((tombstones ?? state.tombstones).has(write.key)) {
      tombstones ??= new Map(state.tombstones);
      tombstones.delete(write.key);
    }
  }
  if (!entries) return state;
  return { index, entries, tombstones: tombstones ?? state.tombstones };
}

/**
 * Consul's recursive delete leaves a single tombstone at the prefix; one per deleted key gives the
 * same index to every read of that prefix or a shorter one, and keeps the index of a longer prefix
 * (a subtree of what was deleted) from sliding backwards too.
 */
function removeEntries(state: KvState, keys: readonly string[]): KvState {
  if (keys.length === 0) return state;
  const index = state.index + 1;
  const entries = new Map(state.entries);
  const tombstones = new Map(state.tombstones);
  for (const key of keys) {
    entries.delete(key);
    tombstones.set(key, index);
  }
  return { index, entries, tombstones };
}

function toBytes(value: KvValue): Uint8Array {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

// --- reads ----------------------------------------------------------------------------------------

/** Index of a single-key read: the entry's ModifyIndex, or the global index when it is missing. */
export function keyIndex(state: KvState, key: string): number {
  return state.entries.get(key)?.modifyIndex ?? state.index;
}

/**
 * Index of a prefix read (`?recurse`, `?keys`): the newest ModifyIndex or tombstone under the
 * prefix, falling back to the global index when there is none (and for the empty prefix).
 */
export function prefixIndex(state: KvState, prefix: string): number {
  if (prefix === '') return state.index;
  let max = 0;
  for (const entry of state.entries.values()) {
    if (entry.modifyIndex > max && entry.key.startsWith(prefix)) max = entry.modifyIndex;
  }
  for (const [key, index] of state.tombstones) {
    if (index > max && key.startsWith(prefix)) max = index;
  }
  return max === 0 ? state.index : max;
}

export function listEntries(state: KvState, prefix: string): KvEntry[] {
  const found: KvEntry[] = [];
  for (const entry of state.entries.values()) if (entry.key.startsWith(prefix)) found.push(entry);
  return found.sort((a, b) => compareKeys(a.key, b.key));
}

/**
 * Key names under the prefix. With a separator, everything after the first separator that follows
 * the prefix is folded into one name ending in the separator (a "directory"), listed once.
 */
export function listKeys(state: KvState, prefix: string, separator = ''): string[] {
  const names = new Set<string>();
  for (const { key } of listEntries(state, prefix)) {
    const at = separator === '' ? -1 : key.indexOf(separator, prefix.length);
    names.add(at === -1 ? key : key.slice(0, at + separator.length));
  }
  return [...names];
}

/**
 * Orders keys as Consul does: by their UTF-8 bytes, i.e. by code point. Plain `<` on JS strings
 * compares UTF-16 code units, which puts characters above U+FFFF (surrogate pairs) before
 * U+E000..U+FFFF; shifting those two ranges restores code point order.
 */
export function compareKeys(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

// --- snapshot format ------------------------------------------------------------------------------

const SNAPSHOT_FORMAT = 'ragswap-kv';
const SNAPSHOT_VERSION = 1;

export function encodeSnapshot(state: KvState): string {
  return JSON.stringify({
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    index: state.index,
    entries: [...state.entries.values()].map((entry) => ({
      key: entry.key,
      value: entry.value.toString('base64'),
      // A string, because flags are uint64 and JSON numbers are not.
      flags: entry.flags.toString(),
      createIndex: entry.createIndex,
      modifyIndex: entry.modifyIndex,
    })),
    tombstones: [...state.tombstones].map(([key, index]) => ({ key, index })),
  });
}

/** Parses a snapshot; throws on anything malformed rather than starting from a silently empty store. */
export function decodeSnapshot(text: string): KvState {
  const data: unknown = JSON.parse(text);
  if (!isRecord(data) || data.format !== SNAPSHOT_FORMAT) throw new Error('not a ragswap KV snapshot');
  if (data.version !== SNAPSHOT_VERSION) throw new Error(`unsupported KV snapshot version ${String(data.version)}`);
  if (!Array.isArray(data.entries) || !Array.isArray(data.tombstones)) throw new Error('KV snapshot lacks entries or tombstones');

  const entries = new Map<string, KvEntry>();
  let maxIndex = requireIndex(data.index, 'index');
  for (const raw of data.entries as unknown[]) {
    if (!isRecord(raw) || typeof raw.key !== 'string' || typeof raw.value !== 'string' || typeof raw.flags !== 'string' || !/^\d+$/.test(raw.flags)) {
      throw new Error('malformed entry in KV snapshot');
    }
    const entry: KvEntry = {
      key: raw.key,
      value: Buffer.from(raw.value, 'base64'),
      flags: BigInt(raw.flags),
      createIndex: requireIndex(raw.createIndex, `createIndex of ${raw.key}`),
      modifyIndex: requireIndex(raw.modifyIndex, `modifyIndex of ${raw.key}`),
    };
    entries.set(entry.key, entry);
    maxIndex = Math.max(maxIndex, entry.modifyIndex);
  }
  const tombstones = new Map<string, number>();
  for (const raw of data.tombstones as unknown[]) {
    if (!isRecord(raw) || typeof raw.key !== 'string') throw new Error('malformed tombstone in KV snapshot');
    const index = requireIndex(raw.index, `tombstone of ${raw.key}`);
    tombstones.set(raw.key, index);
    maxIndex = Math.max(maxIndex, index);
  }
  // The global index must never trail what it summarises, or a restart could hand out old indexes.
  return { index: Math.max(maxIndex, INITIAL_INDEX), entries, tombstones };
}

function requireIndex(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new Error(`invalid ${what} in KV snapshot`);
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// --- persistence ----------------------------------------------------------------------------------

const SNAPSHOT_FILE = 'kv-state.json';
const TEMP_SUFFIX = '.tmp';

/** One JSON file, replaced atomically: write a temp file, fsync it, rename it over, fsync the directory. */
class SnapshotFile {
  readonly #directory: string;
  readonly #file: string;

  constructor(directory: string) {
    this.#directory = directory;
    this.#file = path.join(directory, SNAPSHOT_FILE);
  }

  /** The persisted state, or undefined when nothing was ever persisted here. */
  async load(): Promise<KvState | undefined> {
    await mkdir(this.#directory, { recursive: true, mode: 0o700 });
    await this.#removeStaleTempFiles();
    let text: string;
    try {
      text = await readFile(this.#file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      return decodeSnapshot(text);
    } catch (error) {
      throw new Error(`cannot read KV snapshot ${this.#file}: ${(error as Error).message}`, { cause: error });
    }
  }

  async save(state: KvState): Promise<void> {
    const temp = `${this.#file}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`;
    try {
      // 0o600: tenant configs in the KV may carry credentials.
      const handle = await open(temp, 'w', 0o600);
      try {
        await handle.writeFile(encodeSnapshot(state));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.#file);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    await this.#syncDirectory();
  }

  /** Makes the rename itself durable; platforms that cannot fsync a directory skip it. */
  async #syncDirectory(): Promise<void> {
    let handle;
    try {
      handle = await open(this.#directory, 'r');
      await handle.sync();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF') throw error;
    } finally {
      await handle?.close();
    }
  }

  /** A crash between write and rename leaves a temp file; the snapshot itself is still intact. */
  async #removeStaleTempFiles(): Promise<void> {
    const names = await readdir(this.#directory);
    const stale = names.filter((name) => name.startsWith(`${SNAPSHOT_FILE}.`) && name.endsWith(TEMP_SUFFIX));
    await Promise.all(stale.map((name) => rm(path.join(this.#directory, name), { force: true })));
  }
}

// --- the store ------------------------------------------------------------------------------------

export interface KvStoreOptions {
  /** Directory holding the snapshot; in-memory only when absent. */
  readonly directory?: string;
  readonly logger?: Logger;
}

export interface WaitOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface KvGetResult {
  readonly index: number;
  readonly entry: KvEntry | undefined;
}

export interface KvListResult {
  readonly index: number;
  readonly entries: KvEntry[];
}

export interface KvKeysResult {
  readonly index: number;
  readonly keys: string[];
}

export class KvStore {
  #state: KvState;
  /** True until the store has state of its own: nothing was on disk and nothing was written since. */
  #pristine: boolean;
  #closed = false;
  /** Tail of the write queue: writes run one at a time, so each CAS sees the previous write. */
  #queue: Promise<unknown> = Promise.resolve();
  readonly #file: SnapshotFile | undefined;
  readonly #logger: Logger;
  /** Blocking queries: each entry re-checks its condition after a commit and settles itself. */
  readonly #waiters = new Map<() => void, () => void>();

  private constructor(state: KvState | undefined, file: SnapshotFile | undefined, logger: Logger) {
    this.#state = state ?? emptyState();
    this.#pristine = state === undefined;
    this.#file = file;
    this.#logger = logger;
  }

  static async open(options: KvStoreOptions = {}): Promise<KvStore> {
    const logger = options.logger ?? silentLogger;
    const file = options.directory === undefined ? undefined : new SnapshotFile(options.directory);
    const state = await file?.load();
    logger.info(
      { directory: options.directory ?? null, index: state?.index ?? INITIAL_INDEX, entries: state?.entries.size ?? 0 },
      state ? 'kv store restored' : 'kv store created',
    );
    return new KvStore(state, file, logger);
  }

  /** The global index (Consul's KV table index). */
  get index(): number {
    return this.#state.index;
  }

  /** The current state, immutable; handy for tests and snapshots. */
  get state(): KvState {
    return this.#state;
  }

  /** Waits in progress (Consul's `queries_blocking` gauge). */
  get waiting(): number {
    return this.#waiters.size;
  }

  get(key: string): KvGetResult {
    return { index: keyIndex(this.#state, key), entry: this.#state.entries.get(key) };
  }

  list(prefix: string): KvListResult {
    return { index: prefixIndex(this.#state, prefix), entries: listEntries(this.#state, prefix) };
  }

  keys(prefix: string, separator?: string): KvKeysResult {
    return { index: prefixIndex(this.#state, prefix), keys: listKeys(this.#state, prefix, separator) };
  }

  keyIndex(key: string): number {
    return keyIndex(this.#state, key);
  }

  prefixIndex(prefix: string): number {
    return prefixIndex(this.#state, prefix);
  }

  set(key: string, value: KvValue, options: { flags?: bigint | number; cas?: bigint | number } = {}): Promise<boolean> {
    return this.#commit({ type: 'set', write: { key, value, flags: options.flags ?? 0 }, cas: options.cas });
  }

  delete(key: string, options: { cas?: bigint | number } = {}): Promise<boolean> {
    return this.#commit({ type: 'delete', key, cas: options.cas });
  }

  deleteTree(prefix: string): Promise<boolean> {
    return this.#commit({ type: 'deleteTree', prefix });
  }

  /**
   * Writes the entries (at one index) only if this store has never held state: no snapshot existed
   * when it was opened and nothing was written since. Resolves whether it seeded. Deleting every
   * key later does not make a store pristine again, so an operator's deletions survive restarts.
   */
  seedIfEmpty(writes: readonly KvWrite[]): Promise<boolean> {
    return this.#enqueue(async () => {
      if (!this.#pristine || writes.length === 0) return false;
      await this.#apply({ type: 'setMany', writes });
      this.#logger.info({ entries: writes.length, index: this.#state.index }, 'kv store seeded');
      return true;
    });
  }

  /**
   * Resolves true once `indexOf()` (re-evaluated after every commit) exceeds `afterIndex`, or false
   * when the timeout passes, the signal aborts or the store closes first. This is the wait half of a
   * Consul blocking query; the caller answers with whatever the data is then.
   */
  waitForIndex(indexOf: () => number, afterIndex: number, options: WaitOptions): Promise<boolean> {
    if (indexOf() > afterIndex) return Promise.resolve(true);
    if (this.#closed || options.signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const settle = (advanced: boolean): void => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        this.#waiters.delete(check);
        resolve(advanced);
      };
      const check = (): void => {
        if (indexOf() > afterIndex) settle(true);
      };
      const onAbort = (): void => settle(false);
      const timer = setTimeout(onAbort, options.timeoutMs);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.set(check, onAbort);
    });
  }

  /** Finishes queued writes, then refuses new ones and releases every blocking query. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue;
    for (const release of [...this.#waiters.values()]) release();
  }

  #commit(op: KvOp): Promise<boolean> {
    return this.#enqueue(() => this.#apply(op));
  }

  /** Persists the new state before publishing it, so nothing a client was told succeeded can be lost. */
  async #apply(op: KvOp): Promise<boolean> {
    const { state, ok } = applyOp(this.#state, op);
    if (state === this.#state) return ok;
    await this.#file?.save(state);
    this.#state = state;
    this.#pristine = false;
    for (const check of [...this.#waiters.keys()]) check();
    return ok;
  }

  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new KvUnavailableError('kv store is closed'));
    const run = this.#queue.then(task);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
