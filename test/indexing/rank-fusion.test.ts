import { describe, expect, it } from 'vitest';
import { candidatePoolSize, reciprocalRankFusion } from '../../src/indexing/rank-fusion.ts';

describe('reciprocalRankFusion', () => {
  it('sums 1/(60 + rank) over the lists', () => {
    const fused = reciprocalRankFusion([
      ['a', 'b', 'c'],
      ['c', 'a', 'd'],
    ]);
    expect(fused.map((entry) => entry.item)).toEqual(['a', 'c', 'b', 'd']);
    expect(fused[0]!.score).toBeCloseTo(1 / 61 + 1 / 62, 12);
    expect(fused[1]!.score).toBeCloseTo(1 / 63 + 1 / 61, 12);
    expect(fused[3]!.score).toBeCloseTo(1 / 63, 12);
  });

  it('breaks ties by first appearance and honours k', () => {
    expect(reciprocalRankFusion([['x'], ['y']]).map((entry) => entry.item)).toEqual(['x', 'y']);
    expect(reciprocalRankFusion([['x']], 0)[0]!.score).toBe(1);
    expect(reciprocalRankFusion([[], []])).toEqual([]);
  });

  it('fetches max(top_k × 4, 20) candidates per list', () => {
    expect(candidatePoolSize(1)).toBe(20);
    expect(candidatePoolSize(10)).toBe(40);
  });
});
