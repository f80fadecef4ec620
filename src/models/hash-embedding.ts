import { BaseEmbedding, SimilarityType } from '@llamaindex/core/embeddings';
import { tokenize, tokenWeight } from './text-tokens.ts';

/**
 * The offline default embedding: signed feature hashing of lexical tokens ("hashing trick").
 * No weights, no network, deterministic across processes and versions of Node — a tenant index
 * built on one pod answers identically on another. It measures word (and CJK bigram) overlap, not
 * meaning: synonyms do not match. Swap in a neural model for semantic recall.
 */

export const HASH_EMBEDDING_DIMENSIONS = 1024;

/**
 * Token counts of the text being embedded, reused across calls to spare a Map per chunk.
 * `embedTextInto` is synchronous, so two calls never share it (each worker thread has its own).
 */
const termFrequencies = new Map<string, number>();

/**
 * Writes the L2-normalised embedding of `text` into `out[offset .. offset + dimensions)`.
 * The build path embeds every chunk straight into one contiguous matrix, so this allocates nothing
 * beyond the token list. A text without tokens leaves an all-zero row (similarity 0, never NaN).
 */
export function embedTextInto(text: string, out: Float32Array, offset: number, dimensions: number): void {
  assertDimensions(dimensions);
  if (!Number.isInteger(offset) || offset < 0 || offset + dimensions > out.length) {
    throw new RangeError(`embedding row [${offset}, ${offset + dimensions}) is outside an array of length ${out.length}`);
  }
  out.fill(0, offset, offset + dimensions);
  for (const token of tokenize(text)) termFrequencies.set(token, (termFrequencies.get(token) ?? 0) + 1);
  termFrequencies.forEach((termFrequency, token) => {
    // Sublinear term frequency: the tenth "password" in a chunk says little more than the second.
    const weight = (1 + Math.log(termFrequency)) * tokenWeight(token);
    const hash = hashToken(token);
    // Bucket from the low bits, sign from the top bit: the signs make collisions cancel out in
    // expectation instead of always adding similarity.
    out[offset + (hash % dimensions)]! += hash & 0x8000_0000 ? -weight : weight;
  });
  termFrequencies.clear();
  normaliseInPlace(out, offset, dimensions);
}

/** The embedding of `text` as a fresh array (query path, tests). */
export function embedText(text: string, dimensions: number = HASH_EMBEDDING_DIMENSIONS): Float32Array {
  const embedding = new Float32Array(dimensions);
  embedTextInto(text, embedding, 0, dimensions);
  return embedding;
}

/** Scales `vector[offset .. offset + length)` to unit L2 norm; an all-zero slice stays zero. */
export function normaliseInPlace(vector: Float32Array, offset = 0, length = vector.length - offset): void {
  const end = offset + length;
  let sumOfSquares = 0;
  for (let index = offset; index < end; index++) sumOfSquares += vector[index]! * vector[index]!;
  if (sumOfSquares === 0) return;
  const scale = 1 / Math.sqrt(sumOfSquares);
  for (let index = offset; index < end; index++) vector[index]! *= scale;
}

/**
 * FNV-1a over UTF-16 code units (no string encoding, no allocation), then the murmur3 32-bit
 * finaliser: FNV alone mixes the high bits poorly, and the sign comes from the top bit. Unsigned.
 */
export function hashToken(token: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < token.length; index++) {
    hash ^= token.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

function assertDimensions(dimensions: number): void {
  if (!Number.isInteger(dimensions) || dimensions <= 0) {
    throw new RangeError(`embedding dimensions must be a positive integer, got ${dimensions}`);
  }
}

/**
 * `HashEmbedding` as a LlamaIndex embedding model. Documents and queries go through the same
 * function (the base class's `getQueryEmbedding` extracts the text and calls `getTextEmbedding`),
 * which lexical matching requires.
 */
export class HashEmbedding extends BaseEmbedding {
  readonly dimensions: number;

  constructor(dimensions: number = HASH_EMBEDDING_DIMENSIONS) {
    super();
    assertDimensions(dimensions);
    this.dimensions = dimensions;
    this.embedInfo = { dimensions };
    // Embedding is local and synchronous; big batches only save awaits between chunks.
    this.embedBatchSize = 512;
  }

  async getTextEmbedding(text: string): Promise<number[]> {
    return Array.from(embedText(text, this.dimensions));
  }

  // The base class defines this as an instance property, so it is overridden as one.
  override getTextEmbeddings = async (texts: string[]): Promise<number[][]> =>
    texts.map((text) => Array.from(embedText(text, this.dimensions)));

  /** The base cosine divides by the norms, which is 0/0 = NaN for a text without tokens; this gives 0. */
  override similarity(embedding1: number[], embedding2: number[], mode: SimilarityType = SimilarityType.DEFAULT): number {
    if (mode !== SimilarityType.DEFAULT) return super.similarity(embedding1, embedding2, mode);
    const dotProduct = super.similarity(embedding1, embedding2, SimilarityType.DOT_PRODUCT);
    const norms = Math.hypot(...embedding1) * Math.hypot(...embedding2);
    return norms === 0 ? 0 : dotProduct / norms;
  }
}
