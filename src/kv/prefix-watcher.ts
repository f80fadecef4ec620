import type { Logger } from '../logger.ts';
import { silentLogger } from '../logger.ts';
import { exponentialBackoff, sleep, type RetryPolicy } from '../retry.ts';
import type { KvEntry, KvListTransport } from './consul-kv-client.ts';
import { DEFAULT_WATCH_MIN_INTERVAL_MS, watchRateLimit, type TokenBucket } from './token-bucket.ts';

/**
 * Watches every key under a prefix with Consul blocking queries and reports whole snapshots of the
 * prefix when (and only when) Consul's index says something may have changed. Consumers diff the
 * snapshot per key by ModifyIndex, so a deletion made while we were disconnected is noticed: it is
 * simply absent from the next snapshot.
 */

export interface WatchStatus {
  /** The index the next blocking query waits on. */
  readonly lastIndex: number;
  /** False from the first failed call until Consul answers again. */
  readonly connected: boolean;
  readonly lastError: string | null;
  readonly lastContactAt: string | null;
  /** True once one snapshot has been read: readiness waits for it. */
  readonly initialLoadDone: boolean;
  readonly consecutiveFailures: number;
}

export interface PrefixWatcherOptions {
  readonly transport: KvListTransport;
  readonly prefix: string;
  /** Consul `wait` per blocking query. Consul caps it at 10 minutes. */
  readonly waitMs?: number;
  readonly retryPolicy?: RetryPolicy;
  readonly rateLimit?: TokenBucket;
  readonly logger?: Logger;
  readonly onSnapshot: (entries: readonly KvEntry[], index: number) => void;
  /** Told about every failed call; `exhausted` once the retry policy gives up (the loop keeps going). */
  readonly onError?: (error: unknown, details: { attempt: number; exhausted: boolean }) => void;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export const MAX_CONSUL_WAIT_MS = 10 * 60_000;

/** What one blocking call's returned index means, per Consul's blocking-query rules. */
export type IndexDecision =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'reset' }
  | { readonly kind: 'changed'; readonly nextIndex: number };

export function decideIndex(previousIndex: number, returnedIndex: number): IndexDecision {
  // The wait timed out (or the server woke us for nothing): same index, nothing to report.
  if (previousIndex > 0 && returnedIndex === previousIndex) return { kind: 'unchanged' };
  // The index went backwards (snapshot restore, new cluster, leader with an older log): our index
  // means nothing any more, so start over from 0 and treat the next read as a full reload.
  if (returnedIndex < previousIndex) return { kind: 'reset' };
  // An index must be at least 1: waiting on 0 would return at once forever and spin.
  return { kind: 'changed', nextIndex: Math.max(1, returnedIndex) };
}

/** A stable signature of a snapshot; equal signatures mean nothing a consumer can see changed. */
export function snapshotSignature(entries: readonly KvEntry[]): string {
  return entries.map((entry) => `${entry.key}@${entry.modifyIndex}`).join('\n');
}

export class PrefixWatcher {
  readonly #options: PrefixWatcherOptions;
  readonly #waitMs: number;
  readonly #retryPolicy: RetryPolicy;
  readonly #rateLimit: TokenBucket;
  readonly #logger: Logger;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  #abort: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #lastSignature: string | undefined;
  #status: WatchStatus = {
    lastIndex: 0,
    connected: false,
    lastError: null,
    lastContactAt: null,
    initialLoadDone: false,
    consecutiveFailures: 0,
  };
  #initialLoad = Promise.withResolvers<void>();

  constructor(options: PrefixWatcherOptions) {
    this.#options = options;
    this.#waitMs = Math.min(options.waitMs ?? 60_000, MAX_CONSUL_WAIT_MS);
    this.#retryPolicy = options.retryPolicy ?? exponentialBackoff({ baseMs: 250, maxMs: 30_000 });
    this.#rateLimit = options.rateLimit ?? watchRateLimit(DEFAULT_WATCH_MIN_INTERVAL_MS);
    this.#logger = (options.logger ?? silentLogger).child({ component: 'kv-watcher', prefix: options.prefix });
    this.#sleep = options.sleep ?? sleep;
  }

  get status(): WatchStatus {
    return this.#status;
  }

  /** Idempotent: a second start while running does nothing. */
  start(): void {
    if (this.#loop) return;
    this.#abort = new AbortController();
    this.#loop = this.#run(this.#abort.signal);
  }

  /** Idempotent; resolves once the loop has exited and no call is in flight. */
  async stop(): Promise<void> {
    this.#abort?.abort(new Error('watcher stopped'));
    await this.#loop;
    this.#loop = undefined;
    this.#abort = undefined;
  }

  /** Resolves after the first snapshot has been delivered. */
  waitForInitialLoad(): Promise<void> {
    return this.#initialLoad.promise;
  }

  async #run(signal: AbortSignal): Promise<void> {
    let attempt = 0;
    while (!signal.aborted) {
      try {
        await this.#rateLimit.take(signal);
        const read = await this.#options.transport.list(this.#options.prefix, {
          index: this.#status.lastIndex,
          waitMs: this.#waitMs,
          signal,
        });
        // Consul answered, even if with nothing new: an outage is over, so retries start afresh.
        attempt = 0;
        this.#markContact();
        this.#apply(read.value, read.index);
      } catch (error) {
        if (signal.aborted) break;
        attempt += 1;
        const decision = this.#retryPolicy(attempt);
        this.#markFailure(error, attempt, !decision.retry);
        await this.#sleep(decision.delayMs, signal).catch(() => undefined);
      }
    }
  }

  #apply(entries: readonly KvEntry[], returnedIndex: number): void {
    const decision = decideIndex(this.#status.lastIndex, returnedIndex);
    switch (decision.kind) {
      case 'unchanged':
        return;
      case 'reset':
        this.#logger.warn({ previousIndex: this.#status.lastIndex, returnedIndex }, 'Consul index went backwards; re-reading from 0');
        this.#status = { ...this.#status, lastIndex: 0 };
        this.#lastSignature = undefined;
        return;
      case 'changed': {
        this.#status = { ...this.#status, lastIndex: decision.nextIndex };
        // A new index is no guarantee of a change (writes elsewhere under the prefix, a
        // compaction): report only when some key's ModifyIndex or the key set moved.
        const signature = snapshotSignature(entries);
        if (signature === this.#lastSignature && this.#status.initialLoadDone) return;
        this.#lastSignature = signature;
        this.#options.onSnapshot(entries, decision.nextIndex);
        if (!this.#status.initialLoadDone) {
          this.#status = { ...this.#status, initialLoadDone: true };
          this.#initialLoad.resolve();
        }
      }
    }
  }

  #markContact(): void {
    if (!this.#status.connected && this.#status.consecutiveFailures > 0) {
      this.#logger.info({ failures: this.#status.consecutiveFailures }, 'Consul reachable again');
    }
    this.#status = { ...this.#status, connected: true, consecutiveFailures: 0, lastContactAt: new Date().toISOString() };
  }

  #markFailure(error: unknown, attempt: number, exhausted: boolean): void {
    const message = error instanceof Error ? error.message : String(error);
    this.#status = { ...this.#status, connected: false, lastError: message, consecutiveFailures: attempt };
    this.#logger.warn({ err: message, attempt, exhausted }, 'Consul KV watch failed');
    this.#options.onError?.(error, { attempt, exhausted });
  }
}
