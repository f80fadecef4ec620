/**
 * A work queue keyed by tenant id, in the shape of controller-runtime's workqueue: a key waiting
 * to run is not added twice, at most one run per key is in flight, and a key enqueued while it
 * runs is run once more afterwards (so the last trigger always sees a fresh run).
 */
export class KeyedWorkQueue {
  readonly #work: (key: string) => Promise<void>;
  readonly #running = new Map<string, Promise<void>>();
  readonly #dirty = new Set<string>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  #stopped = false;

  constructor(work: (key: string) => Promise<void>) {
    this.#work = work;
  }

  enqueue(key: string): void {
    if (this.#stopped) return;
    this.#clearTimer(key);
    if (this.#running.has(key)) {
      this.#dirty.add(key);
      return;
    }
    const run = this.#runUntilClean(key).finally(() => this.#running.delete(key));
    this.#running.set(key, run);
  }

  /** Runs the key again after a delay, unless something enqueues it sooner (the sooner run wins). */
  enqueueAfter(key: string, delayMs: number): void {
    if (this.#stopped) return;
    this.#clearTimer(key);
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.enqueue(key);
    }, delayMs);
    timer.unref();
    this.#timers.set(key, timer);
  }

  isRunning(key: string): boolean {
    return this.#running.has(key);
  }

  hasPendingRetry(key: string): boolean {
    return this.#timers.has(key);
  }

  /** Resolves when no key is running or dirty (timers are not waited for). */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running.values()]);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const key of [...this.#timers.keys()]) this.#clearTimer(key);
    this.#dirty.clear();
    await this.idle();
  }

  async #runUntilClean(key: string): Promise<void> {
    do {
      this.#dirty.delete(key);
      // The work function owns error handling; a throw here must not kill the queue.
      await this.#work(key).catch(() => undefined);
    } while (this.#dirty.has(key) && !this.#stopped);
  }

  #clearTimer(key: string): void {
    const timer = this.#timers.get(key);
    if (timer) clearTimeout(timer);
    this.#timers.delete(key);
  }
}
