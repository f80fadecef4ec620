import { Worker } from 'node:worker_threads';
import { BuildError } from '../../errors.ts';
import { deserializeBuildError } from '../../indexing/worker-messages.ts';
import { workerEntry } from '../../worker-entry.ts';
import type { QueryEmbedReply, QueryEmbedRequest } from './use-lite-query-messages.ts';
import { USE_LITE_BATCH_SIZE, USE_LITE_DIMENSIONS } from './use-lite-model.ts';

/**
 * Generous: a warm query takes 20–40 ms; this also covers a cold start (thread, TF.js and weights)
 * on a busy machine. Past it the caller gets a clear error instead of waiting forever.
 */
const DEFAULT_TIMEOUT_MS = 10_000;

interface Pending {
  readonly resolve: (row: number[]) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
  /** The thread the text was posted to, once flushed: its exit fails exactly these requests. */
  worker?: Worker;
}

/**
 * The main thread's handle on the use-lite query worker: one thread, started on first use, shared
 * by every use-lite tenant, unref'd (an idle worker never keeps the process alive) and replaced
 * after a crash or when it holds a query past the timeout (a hung thread). Queries that arrive in
 * the same event-loop turn go to the worker as one batch.
 */
export class UseLiteQueryWorker {
  readonly #timeoutMs: number;
  readonly #pending = new Map<number, Pending>();
  /** Texts waiting for this turn's flush. */
  #queued: { readonly id: number; readonly text: string }[] = [];
  #worker: Worker | undefined;
  #nextId = 1;

  readonly #startThread: () => Worker;

  /** `startThread` is for tests that stand in a misbehaving thread; it defaults to the real worker. */
  constructor(options: { timeoutMs?: number; startThread?: () => Worker } = {}) {
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#startThread = options.startThread ?? startQueryWorkerThread;
  }

  /** The running thread, if any (tests terminate it to stand in for a crash). */
  get thread(): Worker | undefined {
    return this.#worker;
  }

  /** The L2-normalised embedding of one query, computed in the worker. */
  embed(text: string): Promise<number[]> {
    const id = this.#nextId++;
    return new Promise<number[]>((resolve, reject) => {
      // Ref'd on purpose: a caller awaiting its query keeps the process alive, the idle worker does not.
      const timer = setTimeout(() => {
        const pending = this.#settle(id);
        if (!pending) return;
        pending.reject(new BuildError(`use-lite query embedding timed out after ${this.#timeoutMs} ms`, { permanent: false, code: 'model_unavailable' }));
        // The thread held a posted query for the whole timeout: it is hung (or hopelessly behind),
        // and every later query would queue behind it. Replace it; its exit fails the rest it holds.
        if (pending.worker) this.#replace(pending.worker);
      }, this.#timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      // setImmediate runs after this turn's I/O callbacks: queries from requests read together batch.
      if (this.#queued.push({ id, text }) === 1) setImmediate(() => this.#flush());
    });
  }

  /** Starts the thread, loads the weights and runs the first (slowest) forward pass, so no query pays for them. */
  async warm(): Promise<void> {
    await this.embed('');
  }

  /** Stops the thread, failing the queries in flight; a later query starts a fresh one. */
  async close(): Promise<void> {
    await this.#worker?.terminate();
  }

  #flush(): void {
    // A request that timed out before its flush is no longer pending and is not sent.
    const queued = this.#queued.filter(({ id }) => this.#pending.has(id));
    this.#queued = [];
    if (queued.length === 0) return;
    const worker = (this.#worker ??= this.#spawn());
    for (let start = 0; start < queued.length; start += USE_LITE_BATCH_SIZE) {
      const batch = queued.slice(start, start + USE_LITE_BATCH_SIZE);
      for (const { id } of batch) this.#pending.get(id)!.worker = worker;
      const request: QueryEmbedRequest = { ids: batch.map(({ id }) => id), texts: batch.map(({ text }) => text) };
      worker.postMessage(request);
    }
  }

  /** Detaches a thread so the next flush spawns a fresh one, then stops it. */
  #replace(worker: Worker): void {
    if (this.#worker === worker) this.#worker = undefined;
    void worker.terminate();
  }

  #spawn(): Worker {
    const worker = this.#startThread();
    let crash: Error | undefined;
    worker.on('message', (reply: QueryEmbedReply) => this.#onReply(reply));
    // Without a listener a worker's uncaught exception would be thrown on the main thread; 'exit' follows.
    worker.on('error', (error) => (crash = error));
    worker.once('exit', (code) => {
      if (this.#worker === worker) this.#worker = undefined;
      const reason = crash ? `crashed: ${crash.message}` : `exited with code ${code}`;
      for (const [id, pending] of this.#pending) {
        if (pending.worker !== worker) continue;
        this.#settle(id);
        pending.reject(new BuildError(`use-lite query worker ${reason} before replying`, { permanent: false, code: 'model_unavailable', cause: crash }));
      }
    });
    // Last: adding a 'message' listener refs the worker's port again, which would keep the process alive.
    worker.unref();
    return worker;
  }

  #onReply(reply: QueryEmbedReply): void {
    reply.ids.forEach((id, index) => {
      // Gone when it timed out meanwhile: the late row is dropped.
      const pending = this.#settle(id);
      if (!pending) return;
      if (reply.type === 'failed') pending.reject(deserializeBuildError(reply.error));
      else pending.resolve(Array.from(reply.rows.subarray(index * USE_LITE_DIMENSIONS, (index + 1) * USE_LITE_DIMENSIONS)));
    });
  }

  /** Removes a request from the pending set (once: whichever of reply, exit and timeout comes first). */
  #settle(id: number): Pending | undefined {
    const pending = this.#pending.get(id);
    if (!pending) return undefined;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    return pending;
  }
}

function startQueryWorkerThread(): Worker {
  const { url, execArgv } = workerEntry('./use-lite-query-worker', import.meta.url);
  return new Worker(url, { execArgv });
}

/** The process's one query worker, shared by every use-lite tenant. */
export const useLiteQueryWorker = new UseLiteQueryWorker();
