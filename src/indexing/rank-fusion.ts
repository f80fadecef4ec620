/**
 * Reciprocal rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009): an item's score is
 * Σ 1 / (k + rank) over the rankings it appears in (rank from 1). It needs no score calibration,
 * which matters here: cosine similarities and BM25 scores live on unrelated scales.
 */
export const RRF_K = 60;

export interface FusedItem<T> {
  readonly item: T;
  readonly score: number;
}

/** Fused ranking, best first; ties go to the item seen first (earlier list, then better rank). */
export function reciprocalRankFusion<T>(rankings: readonly (readonly T[])[], k: number = RRF_K): FusedItem<T>[] {
  const scores = new Map<T, number>();
  for (const ranking of rankings) {
    ranking.forEach((item, index) => scores.set(item, (scores.get(item) ?? 0) + 1 / (k + index + 1)));
  }
  // Map iteration keeps first-insertion order and Array.prototype.sort is stable: that is the tie-break.
  return [...scores].map(([item, score]) => ({ item, score })).sort((a, b) => b.score - a.score);
}

/** Each list is fetched deeper than top_k, so fusion can promote an item ranked low in one list. */
export function candidatePoolSize(topK: number): number {
  return Math.max(topK * 4, 20);
}
