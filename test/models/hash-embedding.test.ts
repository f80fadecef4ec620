import { describe, expect, it } from 'vitest';
import { SimilarityType } from '@llamaindex/core/embeddings';
import { TextNode } from '@llamaindex/core/schema';
import {
  HASH_EMBEDDING_DIMENSIONS,
  HashEmbedding,
  embedText,
  embedTextInto,
  hashToken,
  normaliseInPlace,
} from '../../src/models/hash-embedding.ts';
import { tokenWeight, tokenize } from '../../src/models/text-tokens.ts';

function dotProduct(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let index = 0; index < a.length; index++) sum += a[index]! * b[index]!;
  return sum;
}

function norm(vector: ArrayLike<number>): number {
  return Math.sqrt(dotProduct(vector, vector));
}

/** An independent, allocation-happy restatement of the spec, to check the optimised build path against. */
function referenceEmbedding(text: string, dimensions: number): Float64Array {
  const counts = new Map<string, number>();
  for (const token of tokenize(text)) counts.set(token, (counts.get(token) ?? 0) + 1);
  const vector = new Float64Array(dimensions);
  for (const [token, count] of counts) {
    const hash = hashToken(token);
    const sign = hash >= 2 ** 31 ? -1 : 1;
    vector[hash % dimensions]! += sign * (1 + Math.log(count)) * tokenWeight(token);
  }
  const length = norm(vector);
  return length === 0 ? vector : vector.map((value) => value / length);
}

function rankPassages(query: string, passages: string[]): number[] {
  const queryVector = embedText(query);
  const scores = passages.map((passage) => dotProduct(queryVector, embedText(passage)));
  return scores.map((_, index) => index).sort((a, b) => scores[b]! - scores[a]!);
}

describe('embedText', () => {
  it('is deterministic, including the hash function itself (indexes must agree across pods and releases)', () => {
    expect(Array.from(embedText('Reset your password'))).toEqual(Array.from(embedText('Reset your password')));
    expect(hashToken('password')).toBe(hashToken('password'));
    // Pinned: changing the hash silently invalidates every stored index built with it.
    expect([hashToken(''), hashToken('password'), hashToken('学习')]).toEqual([2872998923, 1918532091, 4241259654]);
  });

  it('returns unit-length vectors of HASH_EMBEDDING_DIMENSIONS', () => {
    const vector = embedText('The quick brown fox jumps over the lazy dog. 机器学习。');
    expect(vector).toHaveLength(HASH_EMBEDDING_DIMENSIONS);
    expect(HASH_EMBEDDING_DIMENSIONS).toBe(1024);
    expect(norm(vector)).toBeCloseTo(1, 6);
  });

  it('matches the reference: signed hashing, 1 + log tf, CJK unigrams weighted below bigrams', () => {
    for (const text of ['cat cat cat cat dog', '机器学习 机器 学习学习', 'Mixed 中文 text with repeated repeated words']) {
      const actual = embedText(text, 64);
      const expected = referenceEmbedding(text, 64);
      actual.forEach((value, index) => expect(value).toBeCloseTo(expected[index]!, 6));
    }
  });

  it('dampens repetition sublinearly', () => {
    const repeated = embedText('cat cat cat cat dog');
    const catShare = Math.abs(dotProduct(repeated, embedText('cat')));
    const dogShare = Math.abs(dotProduct(repeated, embedText('dog')));
    expect(hashToken('cat') % 1024).not.toBe(hashToken('dog') % 1024);
    expect(catShare / dogShare).toBeCloseTo(1 + Math.log(4), 5);
  });

  it('gives an all-zero vector, and similarity 0 (not NaN), for text without tokens', () => {
    for (const text of ['', '   ', '?!…', 'the of and']) {
      const vector = embedText(text);
      expect(vector.every((value) => value === 0)).toBe(true);
      expect(dotProduct(vector, embedText('anything at all'))).toBe(0);
    }
  });

  it('scores related English text above unrelated text', () => {
    const passages = [
      'The cafeteria on the second floor serves lunch from noon.',
      'To reset your password, open account settings and choose "Reset password".',
      'Quarterly revenue grew by eight percent.',
    ];
    expect(rankPassages('How do I reset my password?', passages)[0]).toBe(1);
    expect(dotProduct(embedText('password reset'), embedText(passages[1]!))).toBeGreaterThan(0.3);
    expect(dotProduct(embedText('password reset'), embedText(passages[0]!))).toBeCloseTo(0, 1);
  });

  it('retrieves the Chinese passage that contains the words of a Chinese query among distractors', () => {
    const passages = [
      '今天天气很好，我们去公园散步吧。',
      '这家餐厅的火锅非常好吃，价格也便宜。',
      '机器学习是人工智能的一个分支，它让计算机从数据中学习规律。',
      'Machine learning is a branch of artificial intelligence.',
      '学生们在大学图书馆里学习到很晚。',
    ];
    expect(rankPassages('什么是机器学习？', passages)[0]).toBe(2);
    expect(rankPassages('火锅好吃吗', passages)[0]).toBe(1);
    expect(rankPassages('機器學習', ['機器學習是人工智慧的分支。', '今天天氣很好。'])[0]).toBe(0);
    expect(rankPassages('machine learning', passages)[0]).toBe(3);
  });
});

describe('embedTextInto', () => {
  it('writes only its own row and overwrites whatever was there', () => {
    const dimensions = 32;
    const matrix = new Float32Array(3 * dimensions).fill(7);
    embedTextInto('hello world', matrix, dimensions, dimensions);
    expect(matrix.subarray(0, dimensions).every((value) => value === 7)).toBe(true);
    expect(matrix.subarray(2 * dimensions).every((value) => value === 7)).toBe(true);
    expect(Array.from(matrix.subarray(dimensions, 2 * dimensions))).toEqual(Array.from(embedText('hello world', dimensions)));
    embedTextInto('', matrix, dimensions, dimensions);
    expect(matrix.subarray(dimensions, 2 * dimensions).every((value) => value === 0)).toBe(true);
  });

  it('rejects rows outside the array and invalid dimensions', () => {
    const matrix = new Float32Array(64);
    expect(() => embedTextInto('x', matrix, 40, 32)).toThrow(RangeError);
    expect(() => embedTextInto('x', matrix, -1, 32)).toThrow(RangeError);
    expect(() => embedTextInto('x', matrix, 0, 0)).toThrow(RangeError);
    expect(() => embedText('x', 1.5)).toThrow(RangeError);
  });
});

describe('normaliseInPlace', () => {
  it('scales a slice to unit length and leaves zero slices and the rest alone', () => {
    const vector = new Float32Array([3, 4, 0, 0, 9]);
    normaliseInPlace(vector, 0, 2);
    normaliseInPlace(vector, 2, 2);
    expect(Array.from(vector)).toEqual([0.6000000238418579, 0.800000011920929, 0, 0, 9]);
  });
});

describe('HashEmbedding (LlamaIndex)', () => {
  const model = new HashEmbedding();

  it('advertises its dimensions', () => {
    expect(model.embedInfo?.dimensions).toBe(HASH_EMBEDDING_DIMENSIONS);
    expect(model.dimensions).toBe(HASH_EMBEDDING_DIMENSIONS);
    expect(new HashEmbedding(256).embedInfo?.dimensions).toBe(256);
  });

  it('embeds documents, batches and queries with the same function', async () => {
    const expected = Array.from(embedText('reset password'));
    expect(await model.getTextEmbedding('reset password')).toEqual(expected);
    expect(await model.getTextEmbeddings(['reset password', 'x'])).toEqual([expected, Array.from(embedText('x'))]);
    expect(await model.getTextEmbeddingsBatch(['reset password'])).toEqual([expected]);
    expect(await model.getQueryEmbedding({ type: 'text', text: 'reset password' })).toEqual(expected);
  });

  it('embeds nodes as a LlamaIndex transform component', async () => {
    const node = new TextNode({ text: 'reset password' });
    await model([node]);
    expect(node.getEmbedding()).toEqual(Array.from(embedText('reset password')));
  });

  it('reports cosine similarity 0 rather than NaN for an empty text', async () => {
    const empty = await model.getTextEmbedding('');
    const full = await model.getTextEmbedding('reset password');
    expect(model.similarity(empty, full)).toBe(0);
    expect(model.similarity(full, full)).toBeCloseTo(1, 6);
    expect(model.similarity(full, full, SimilarityType.DOT_PRODUCT)).toBeCloseTo(1, 6);
  });
});
