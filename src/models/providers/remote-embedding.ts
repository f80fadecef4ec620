import { BaseEmbedding } from '@llamaindex/core/embeddings';
import PQueue from 'p-queue';
import { ModelProviderError } from '../../errors.ts';
import type { EmbeddingModel } from '../embedding-models.ts';
import { normaliseInPlace } from '../hash-embedding.ts';
import type { ProviderSettings } from '../provider-settings.ts';

/**
 * An embedding model served over HTTP. A provider supplies only `embedBatch` (one request, its
 * wire format); batching, the concurrency limit, row validation, normalisation and the LlamaIndex
 * view are shared here. Retries and error mapping live in provider-http.ts.
 */
export type EmbedBatch = (texts: readonly string[], signal: AbortSignal | undefined) => Promise<number[][]>;

const DIMENSION_PROBE = 'dimension probe';

export function remoteEmbeddingModel(name: string, embedBatch: EmbedBatch, settings: ProviderSettings): EmbeddingModel {
  let known: number | undefined;
  let llama: RemoteLlamaEmbedding | undefined;

  const checkedBatch = async (texts: readonly string[], signal: AbortSignal | undefined): Promise<number[][]> => {
    const rows = await embedBatch(texts, signal);
    if (rows.length !== texts.length) {
      throw new ModelProviderError(`embedding model '${name}' returned ${rows.length} vectors for ${texts.length} texts`, { permanent: false, code: 'model_bad_response' });
    }
    for (const row of rows) {
      if (!Array.isArray(row) || row.length === 0 || (known !== undefined && row.length !== known)) {
        throw new ModelProviderError(`embedding model '${name}' returned a ${Array.isArray(row) ? row.length : 0}-dimensional vector; expected ${known ?? 'a non-empty one'}`, {
          permanent: false,
          code: 'model_bad_response',
        });
      }
    }
    return rows;
  };

  return {
    name,
    async dimensions(signal) {
      // The width of a remote model is only known from an answer. One tiny request per thread and
      // model also fails fast, before any S3 traffic, when the endpoint is down or the key wrong.
      known ??= (await checkedBatch([DIMENSION_PROBE], signal))[0]!.length;
      return known;
    },
    async embedInto(texts, out, firstRow, signal) {
      const dimensions = await this.dimensions(signal);
      const queue = new PQueue({ concurrency: settings.concurrency });
      const batches: Promise<void>[] = [];
      for (let start = 0; start < texts.length; start += settings.batchSize) {
        const batch = texts.slice(start, start + settings.batchSize);
        batches.push(
          queue.add(async () => {
            const rows = await checkedBatch(batch, signal);
            rows.forEach((row, index) => {
              const offset = (firstRow + start + index) * dimensions;
              out.set(row, offset);
              // Most APIs return unit vectors, but not all (Ollama models, some vLLM poolers).
              normaliseInPlace(out, offset, dimensions);
            });
          }, { signal }),
        );
      }
      try {
        await Promise.all(batches);
      } finally {
        // One failed batch fails the build: do not start the rest.
        queue.clear();
      }
    },
    llamaEmbedding() {
      llama ??= new RemoteLlamaEmbedding(checkedBatch);
      return llama;
    },
  };
}

/** The query path: one text per call, normalised like the stored rows. */
class RemoteLlamaEmbedding extends BaseEmbedding {
  readonly #embedBatch: EmbedBatch;

  constructor(embedBatch: EmbedBatch) {
    super();
    this.#embedBatch = embedBatch;
  }

  async getTextEmbedding(text: string): Promise<number[]> {
    const [row] = await this.#embedBatch([text], undefined);
    const vector = Float32Array.from(row!);
    normaliseInPlace(vector);
    return Array.from(vector);
  }
}
