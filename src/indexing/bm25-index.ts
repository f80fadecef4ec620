import { tokenize, tokenWeight } from '../models/text-tokens.ts';

/**
 * Okapi BM25 over a tenant's chunks, built in the worker next to the embeddings and swapped with
 * them. Postings are compressed-sparse-row typed arrays, so the whole index crosses the thread
 * boundary by transferring four buffers (only the vocabulary is cloned) and a query allocates
 * nothing proportional to the tenant's size.
 *
 * Tokens are `tokenize`'s (words minus stop words; CJK unigrams + bigrams), the same the hash
 * embedding and the extractive answer use. A CJK unigram's contribution is scaled by
 * `tokenWeight` (0.5), as in the hash embedding: single characters are ambiguous, bigrams carry
 * the meaning.
 */

export interface Bm25Data {
  /** Vocabulary; a term's id is its position. */
  readonly terms: string[];
  /** Postings of term t are entries [offsets[t], offsets[t + 1]); length terms.length + 1. */
  readonly offsets: Int32Array;
  /** Chunk row of each posting, ascending within a term. */
  readonly rows: Int32Array;
  /** Occurrences of the term in that row. */
  readonly frequencies: Float32Array;
  /** Tokens per row. */
  readonly rowLengths: Float32Array;
  readonly k1: number;
  readonly b: number;
}

/** The usual defaults (Lucene, Elasticsearch). */
export const BM25_K1 = 1.2;
export const BM25_B = 0.75;

export function buildBm25(texts: readonly string[], params: { k1?: number; b?: number } = {}): Bm25Data {
  const termIds = new Map<string, number>();
  const terms: string[] = [];
  const documentFrequency: number[] = [];
  // Per row: its distinct term ids and their counts (first pass), then laid out by term (second).
  const rowTerms: Int32Array[] = [];
  const rowCounts: Float32Array[] = [];
  const rowLengths = new Float32Array(texts.length);
  const counts = new Map<number, number>();
  texts.forEach((text, row) => {
    const tokens = tokenize(text);
    rowLengths[row] = tokens.length;
    for (const token of tokens) {
      let id = termIds.get(token);
      if (id === undefined) {
        id = terms.length;
        termIds.set(token, id);
        terms.push(token);
        documentFrequency.push(0);
      }
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const ids = new Int32Array(counts.size);
    const values = new Float32Array(counts.size);
    let entry = 0;
    counts.forEach((count, id) => {
      ids[entry] = id;
      values[entry++] = count;
      documentFrequency[id]! += 1;
    });
    rowTerms.push(ids);
    rowCounts.push(values);
    counts.clear();
  });

  const offsets = new Int32Array(terms.length + 1);
  for (let id = 0; id < terms.length; id++) offsets[id + 1] = offsets[id]! + documentFrequency[id]!;
  const rows = new Int32Array(offsets[terms.length]!);
  const frequencies = new Float32Array(rows.length);
  const cursor = offsets.slice(0, terms.length);
  // Rows are visited in order, so each term's postings come out sorted by row.
  for (let row = 0; row < rowTerms.length; row++) {
    const ids = rowTerms[row]!;
    const values = rowCounts[row]!;
    for (let entry = 0; entry < ids.length; entry++) {
      const position = cursor[ids[entry]!]!++;
      rows[position] = row;
      frequencies[position] = values[entry]!;
    }
  }
  return { terms, offsets, rows, frequencies, rowLengths, k1: params.k1 ?? BM25_K1, b: params.b ?? BM25_B };
}

/** The buffers to transfer (not copy) when posting a Bm25Data to another thread. */
export function bm25Transferables(data: Bm25Data): ArrayBuffer[] {
  return [data.offsets.buffer, data.rows.buffer, data.frequencies.buffer, data.rowLengths.buffer] as ArrayBuffer[];
}

export interface Bm25Hit {
  readonly row: number;
  readonly score: number;
}

/** Query side of a Bm25Data: the term lookup and the score accumulator are made once per index. */
export class Bm25Index {
  readonly #data: Bm25Data;
  readonly #termIds: Map<string, number>;
  readonly #averageLength: number;
  /** Score per row for the query being scored; only `#touched` rows are non-zero, and reset after. */
  readonly #scores: Float64Array;
  readonly #touched: Int32Array;

  constructor(data: Bm25Data) {
    this.#data = data;
    this.#termIds = new Map(data.terms.map((term, id) => [term, id]));
    const rowCount = data.rowLengths.length;
    let totalLength = 0;
    for (let row = 0; row < rowCount; row++) totalLength += data.rowLengths[row]!;
    this.#averageLength = rowCount === 0 ? 0 : totalLength / rowCount;
    this.#scores = new Float64Array(rowCount);
    this.#touched = new Int32Array(rowCount);
  }

  get size(): number {
    return this.#data.rowLengths.length;
  }

  /** Lucene's IDF: never negative, so a term in most chunks still counts a little. */
  idf(documentFrequency: number): number {
    return Math.log(1 + (this.size - documentFrequency + 0.5) / (documentFrequency + 0.5));
  }

  /**
   * The best `limit` rows for `query`, best first (ties: lower row). Rows sharing no term with the
   * query are not returned. Synchronous, so the shared accumulator is never used by two queries.
   */
  search(query: string, limit: number): Bm25Hit[] {
    const { offsets, rows, frequencies, rowLengths, k1, b } = this.#data;
    const scores = this.#scores;
    let touchedCount = 0;
    for (const term of new Set(tokenize(query))) {
      const id = this.#termIds.get(term);
      if (id === undefined) continue;
      const start = offsets[id]!;
      const end = offsets[id + 1]!;
      const weight = tokenWeight(term) * this.idf(end - start);
      for (let posting = start; posting < end; posting++) {
        const row = rows[posting]!;
        const frequency = frequencies[posting]!;
        const lengthNorm = 1 - b + (b * rowLengths[row]!) / this.#averageLength;
        if (scores[row] === 0) this.#touched[touchedCount++] = row;
        scores[row]! += (weight * frequency * (k1 + 1)) / (frequency + k1 * lengthNorm);
      }
    }
    const best = topHits(this.#touched, touchedCount, scores, limit);
    for (let entry = 0; entry < touchedCount; entry++) scores[this.#touched[entry]!] = 0;
    return best;
  }
}

/** Keeps the best `limit` by insertion into a short sorted list: limit is small (≤ a few hundred). */
function topHits(candidates: Int32Array, count: number, scores: Float64Array, limit: number): Bm25Hit[] {
  const best: Bm25Hit[] = [];
  for (let entry = 0; entry < count; entry++) {
    const row = candidates[entry]!;
    const score = scores[row]!;
    if (best.length === limit && !isBetter(row, score, best[limit - 1]!)) continue;
    let position = best.length;
    while (position > 0 && isBetter(row, score, best[position - 1]!)) position--;
    best.splice(position, 0, { row, score });
    if (best.length > limit) best.pop();
  }
  return best;
}

function isBetter(row: number, score: number, than: Bm25Hit): boolean {
  return score > than.score || (score === than.score && row < than.row);
}
