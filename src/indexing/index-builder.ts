import { Worker } from 'node:worker_threads';
import { BuildAbortedError, BuildError } from '../errors.ts';
import { workerEntry } from '../worker-entry.ts';
import { buildIndexData, type BuildRequest, type BuiltIndexData } from './build-index.ts';
import { deserializeBuildError, type WorkerReply, type WorkerRequest } from './worker-messages.ts';

/** Turns a build request into index data. The manager does not care where the work runs. */
export interface IndexBuilder {
  build(request: BuildRequest, signal: AbortSignal): Promise<BuiltIndexData>;
  /** Releases threads; builds still running are abandoned. */
  close?(): Promise<void>;
}

/** Runs the build on the calling thread: for tests and tools, never for the service. */
export const inProcessIndexBuilder: IndexBuilder = {
  build: (request, signal) => buildIndexData(request, signal),
};

interface PooledWorker {
  readonly worker: Worker;
  busy: boolean;
}

/**
 * A small pool of warm build workers (the manager's p-queue already caps how many builds run, so
 * the pool never grows past BUILD_CONCURRENCY for long). Aborting a build terminates its worker:
 * a superseded build stops using CPU at once, and a fresh worker takes its place on demand.
 */
export class WorkerIndexBuilder implements IndexBuilder {
  readonly #workers = new Set<PooledWorker>();
  #nextId = 1;
  #closed = false;

  /** Starts one worker ahead of the first build, so module loading is off the propagation path. */
  warm(): void {
    if (this.#workers.size === 0 && !this.#closed) this.#spawn();
  }

  build(request: BuildRequest, signal: AbortSignal): Promise<BuiltIndexData> {
    signal.throwIfAborted();
    if (this.#closed) return Promise.reject(new BuildError('index builder is closed', { permanent: false }));
    const pooled = [...this.#workers].find((candidate) => !candidate.busy) ?? this.#spawn();
    pooled.busy = true;
    const id = this.#nextId++;
    const { worker } = pooled;
    return new Promise<BuiltIndexData>((resolve, reject) => {
      const cleanup = () => {
        signal.removeEventListener('abort', onAbort);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      const discard = () => {
        this.#workers.delete(pooled);
        void worker.terminate();
      };
      const onAbort = () => {
        cleanup();
        discard();
        reject(new BuildAbortedError());
      };
      const onMessage = (reply: WorkerReply) => {
        if (reply.id !== id) return;
        cleanup();
        pooled.busy = false;
        if (reply.type === 'built') resolve(reply.built);
        else reject(deserializeBuildError(reply.error));
      };
      const onError = (error: Error) => {
        cleanup();
        discard();
        reject(new BuildError(`build worker crashed: ${error.message}`, { permanent: false, cause: error }));
      };
      const onExit = (code: number) => {
        cleanup();
        this.#workers.delete(pooled);
        reject(new BuildError(`build worker exited with code ${code} before replying`, { permanent: false }));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      worker.on('message', onMessage);
      worker.once('error', onError);
      worker.once('exit', onExit);
      const message: WorkerRequest = { id, request };
      worker.postMessage(message);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const workers = [...this.#workers];
    this.#workers.clear();
    await Promise.all(workers.map(({ worker }) => worker.terminate()));
  }

  #spawn(): PooledWorker {
    const { url, execArgv } = workerEntry('./build-worker', import.meta.url);
    const pooled: PooledWorker = { worker: new Worker(url, { execArgv }), busy: false };
    // An idle pool must not keep a process alive that has nothing else to do.
    pooled.worker.unref();
    pooled.worker.once('exit', () => this.#workers.delete(pooled));
    this.#workers.add(pooled);
    return pooled;
  }
}
