import { Worker } from 'node:worker_threads';
import { BuildAbortedError, BuildError } from '../errors.ts';
import { buildIndexData, type BuildRequest, type BuiltIndexData } from './build-index.ts';
import { deserializeBuildError, type WorkerReply } from './worker-messages.ts';

/** Turns a build request into index data. The manager does not care where the work runs. */
export interface IndexBuilder {
  build(request: BuildRequest, signal: AbortSignal): Promise<BuiltIndexData>;
}

/** Runs the build on the calling thread: for tests and tools, never for the service. */
export const inProcessIndexBuilder: IndexBuilder = {
  build: (request, signal) => buildIndexData(request, signal),
};

/**
 * Under tsx (npm start, tests) the worker entry is TypeScript and needs the same loader; once
 * compiled (dist/, the container image) it is plain JavaScript.
 */
function workerEntry(): { url: URL; execArgv: string[] } {
  const compiled = import.meta.url.endsWith('.js');
  const url = new URL(compiled ? './build-worker.js' : './build-worker.ts', import.meta.url);
  return { url, execArgv: compiled ? [] : ['--import', import.meta.resolve('tsx')] };
}

/**
 * One worker thread per build. Aborting terminates the thread, so a superseded build stops using
 * CPU at once instead of at its next cooperative check.
 */
export class WorkerIndexBuilder implements IndexBuilder {
  build(request: BuildRequest, signal: AbortSignal): Promise<BuiltIndexData> {
    signal.throwIfAborted();
    const { url, execArgv } = workerEntry();
    const worker = new Worker(url, { workerData: request, execArgv });
    return new Promise<BuiltIndexData>((resolve, reject) => {
      let settled = false;
      const settle = (action: () => void) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        action();
      };
      const onAbort = () => {
        settle(() => reject(new BuildAbortedError()));
        void worker.terminate();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      worker.once('message', (reply: WorkerReply) => {
        settle(() => (reply.type === 'built' ? resolve(reply.built) : reject(deserializeBuildError(reply.error))));
      });
      worker.once('error', (error) => settle(() => reject(new BuildError(`build worker crashed: ${error.message}`, { permanent: false, cause: error }))));
      worker.once('exit', (code) => settle(() => reject(new BuildError(`build worker exited with code ${code} before replying`, { permanent: false }))));
    });
  }
}
