/** Seeded randomness and a reference top-k, shared by the vector-store tests and the benchmarks. */

/** mulberry32: a seeded generator, so a failing random case reproduces and every contender sees the same data. Values in [0, 1). */
export function randomGenerator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = Math.imul(state ^ (state >>> 15), 1 | state);
    value ^= value + Math.imul(value ^ (value >>> 7), 61 | value);
    return ((value ^ (value >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** The obvious implementation: float64 dot product of every row, sorted best first, ties to the lower row. */
export function exactTopK(embeddings: Float32Array, dimensions: number, query: ArrayLike<number>, k: number) {
  const rows = embeddings.length / dimensions;
  const scored = Array.from({ length: rows }, (_, row) => {
    let score = 0;
    for (let column = 0; column < dimensions; column++) score += embeddings[row * dimensions + column]! * query[column]!;
    return { row, score };
  });
  scored.sort((a, b) => b.score - a.score || a.row - b.row);
  return scored.slice(0, Math.max(0, k));
}
