import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { bm25Transferables } from './bm25-index.ts';
import { buildIndexData } from './build-index.ts';
import { serializeBuildError, type WorkerReply, type WorkerRequest } from './worker-messages.ts';

/**
 * Worker-thread entry: runs index builds, one at a time, for as long as the pool keeps it. Parsing,
 * chunking and embedding are CPU-bound; here they cannot stall the event loop serving queries. The
 * worker stays warm between builds so a KV change does not wait for modules to load again.
 * On Linux, setPriority(0, …) inside a worker renices only this thread, so the two cores prefer
 * queries over builds.
 */
try {
  setPriority(0, 19);
} catch {
  // Not permitted or not supported here: builds still run, just at normal priority.
}

const port = parentPort;
if (!port) throw new Error('build-worker must run as a worker thread');

port.on('message', async (message: WorkerRequest) => {
  // Aborting terminates the whole worker, so a build needs no signal of its own here.
  const signal = new AbortController().signal;
  try {
    const built = await buildIndexData(message.request, signal);
    const reply: WorkerReply = { type: 'built', id: message.id, built };
    // Transfer the BM25 postings' buffers, and the embeddings' unless they live in a shared
    // WebAssembly memory (shared memory crosses threads without a copy, and cannot be transferred):
    // the main thread gets them all without a copy.
    const embeddingsBuffer = built.table.embeddings.buffer;
    const transfer = embeddingsBuffer instanceof ArrayBuffer ? [embeddingsBuffer] : [];
    port.postMessage(reply, [...transfer, ...bm25Transferables(built.bm25)]);
  } catch (error) {
    const reply: WorkerReply = { type: 'failed', id: message.id, error: serializeBuildError(error) };
    port.postMessage(reply);
  }
});
