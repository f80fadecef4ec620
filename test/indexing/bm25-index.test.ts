import { describe, expect, it } from 'vitest';
import { Bm25Index, buildBm25 } from '../../src/indexing/bm25-index.ts';

const search = (texts: string[], query: string, limit = 10) => new Bm25Index(buildBm25(texts)).search(query, limit);

describe('BM25', () => {
  // N = 3, lengths 3, 2, 4 (average 3), k1 = 1.2, b = 0.75, idf = ln(1 + (N - df + 0.5) / (df + 0.5)).
  const texts = ['apple banana apple', 'banana cherry', 'cherry date elderberry fig'];

  it('lays postings out as CSR typed arrays, rows ascending per term', () => {
    const data = buildBm25(texts);
    expect(data.terms).toEqual(['apple', 'banana', 'cherry', 'date', 'elderberry', 'fig']);
    expect(Array.from(data.offsets)).toEqual([0, 1, 3, 5, 6, 7, 8]);
    expect(Array.from(data.rows)).toEqual([0, 0, 1, 1, 2, 2, 2, 2]);
    expect(Array.from(data.frequencies)).toEqual([2, 1, 1, 1, 1, 1, 1, 1]);
    expect(Array.from(data.rowLengths)).toEqual([3, 2, 4]);
  });

  it('scores a single term by hand: idf ln(8/3), tf 2 at average length → 2·2.2/3.2', () => {
    const [hit, ...rest] = search(texts, 'apple');
    expect(hit!.row).toBe(0);
    expect(hit!.score).toBeCloseTo(Math.log(1 + 2.5 / 1.5) * (4.4 / 3.2), 6); // 1.348642
    expect(rest).toEqual([]);
  });

  it('sums terms and normalises by length: "banana cherry" ranks the short row that has both first', () => {
    const idf = Math.log(1.6); // df = 2
    const hits = search(texts, 'banana cherry');
    expect(hits.map((hit) => hit.row)).toEqual([1, 0, 2]);
    expect(hits[0]!.score).toBeCloseTo(2 * idf * (2.2 / 1.9), 6); // length 2: norm 0.75
    expect(hits[1]!.score).toBeCloseTo(idf * 1, 6); // length 3: norm 1
    expect(hits[2]!.score).toBeCloseTo(idf * (2.2 / 2.5), 6); // length 4: norm 1.25
  });

  it('limits results, breaks ties by row, ignores stop words, unknown terms and repeated query words', () => {
    expect(search(['cat sat', 'cat sat', 'dog'], 'cat', 1)).toEqual([{ row: 0, score: expect.any(Number) }]);
    expect(search(texts, 'the of and')).toEqual([]);
    expect(search(texts, 'zebra')).toEqual([]);
    expect(search(texts, 'apple apple apple')).toEqual(search(texts, 'apple'));
  });

  it('leaves no state behind between queries (the accumulator is reused)', () => {
    const index = new Bm25Index(buildBm25(texts));
    const first = index.search('banana cherry', 10);
    index.search('apple fig', 10);
    expect(index.search('banana cherry', 10)).toEqual(first);
  });

  it('matches Chinese by bigrams, counting a lone character at half weight', () => {
    const cjk = ['铁观音产于福建', '龙井产于浙江'];
    expect(search(cjk, '铁观音').map((hit) => hit.row)).toEqual([0]);
    expect(search(cjk, '浙江的茶').map((hit) => hit.row)[0]).toBe(1);
    // 13 and 11 tokens (unigrams + bigrams), average 12; 福: df 1 of 2 → idf ln 2, weight 0.5.
    const [hit] = search(cjk, '福');
    expect(hit!.score).toBeCloseTo(0.5 * Math.log(2) * (2.2 / (1 + 1.2 * (0.25 + (0.75 * 13) / 12))), 6);
  });

  it('handles an empty table', () => {
    expect(search([], 'anything')).toEqual([]);
  });
});
