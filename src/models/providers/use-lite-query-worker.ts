import { parentPort } from 'node:worker_threads';
import { serializeBuildError } from '../../indexing/worker-messages.ts';
import type { QueryEmbedReply, QueryEmbedRequest } from './use-lite-query-messages.ts';
import { USE_LITE_DIMENSIONS, embedUseLiteBatchInto } from './use-lite-model.ts';

/**
 * Worker-thread entry: embeds use-lite queries, so their 20–40 ms forward passes run here and not
 * on the event loop that serves every tenant's requests. Batches are embedded in arrival order
 * (the model runs one forward pass at a time anyway). Not reniced, unlike the build worker: a
 * query is on the request path.
 */
const port = parentPort;
if (!port) throw new Error('use-lite-query-worker must run as a worker thread');

port.on('message', async ({ ids, texts }: QueryEmbedRequest) => {
  try {
    const rows = new Float32Array(texts.length * USE_LITE_DIMENSIONS);
    await embedUseLiteBatchInto(texts, rows, 0);
    const reply: QueryEmbedReply = { type: 'embedded', ids, rows };
    port.postMessage(reply, [rows.buffer]);
  } catch (error) {
    const reply: QueryEmbedReply = { type: 'failed', ids, error: serializeBuildError(error) };
    port.postMessage(reply);
  }
});
