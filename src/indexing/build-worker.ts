import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { buildIndexData, type BuildRequest } from './build-index.ts';
import { serializeBuildError, type WorkerReply } from './worker-messages.ts';

/**
 * Worker-thread entry for one index build. Parsing, chunking and embedding are CPU-bound; here
 * they cannot stall the event loop that serves queries. On Linux, setPriority(0, …) inside a
 * worker renices only this thread, so the two cores prefer queries over builds.
 */
try {
  setPriority(0, 19);
} catch {
  // Not permitted or not supported here: the build still runs, just at normal priority.
}

const port = parentPort;
if (!port) throw new Error('build-worker must run as a worker thread');

const controller = new AbortController();
port.on('message', (message: { type: 'abort' }) => {
  if (message.type === 'abort') controller.abort(new Error('build aborted'));
});

try {
  const built = await buildIndexData(workerData as BuildRequest, controller.signal);
  const reply: WorkerReply = { type: 'built', built };
  // Transfer the embeddings' buffer: the main thread gets it without a copy.
  port.postMessage(reply, [built.table.embeddings.buffer as ArrayBuffer]);
} catch (error) {
  const reply: WorkerReply = { type: 'failed', error: serializeBuildError(error) };
  port.postMessage(reply);
} finally {
  port.close();
}
