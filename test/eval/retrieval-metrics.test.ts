import { describe, expect, it } from 'vitest';
import { aggregate, documentOfSource, median, normaliseForMatch, questionFilter, sampleQuestions, scoreQuestion } from '../../src/eval/retrieval-metrics.ts';

const question = { id: 'q', query: 'q', relevant_doc: 'docs/b.txt' };
const chunk = (doc: string, text = '') => ({ doc, text });

describe('eval metrics', () => {
  it('scores hit@1, hit@5 and MRR@10 at document level', () => {
    expect(scoreQuestion(question, [chunk('docs/b.txt')], [])).toEqual({ hitAt1: 1, hitAt5: 1, reciprocalRankAt10: 1, chunkHitAt5: undefined });
    const third = scoreQuestion(question, [chunk('docs/a.txt'), chunk('docs/a.txt'), chunk('docs/b.txt')], []);
    expect(third).toMatchObject({ hitAt1: 0, hitAt5: 1, reciprocalRankAt10: 1 / 3 });
    const seventh = scoreQuestion(question, [...Array(6).fill(chunk('docs/a.txt')), chunk('docs/b.txt')], []);
    expect(seventh).toMatchObject({ hitAt5: 0, reciprocalRankAt10: 1 / 7 });
    expect(scoreQuestion(question, Array(10).fill(chunk('docs/a.txt')).concat([chunk('docs/b.txt')]), [])).toMatchObject({ reciprocalRankAt10: 0 });
  });

  it('counts a chunk hit when a top-5 chunk contains the context or lies inside a longer one', () => {
    const context = [normaliseForMatch('The answer is 42.')];
    expect(scoreQuestion(question, [chunk('docs/a.txt', 'Intro. The  answer\nis 42. More.')], context).chunkHitAt5).toBe(1);
    expect(scoreQuestion(question, [chunk('docs/a.txt', 'answer is')], context).chunkHitAt5).toBe(1);
    expect(scoreQuestion(question, [chunk('docs/a.txt', 'nothing here')], context).chunkHitAt5).toBe(0);
  });

  it('normalises markdown links, whitespace, width and case; maps fs sources to docs/ paths in NFC', () => {
    expect(normaliseForMatch('See [the Guide](https://x.y/z) ＡＢ\n c')).toBe('seetheguideabc');
    expect(documentOfSource('file://beyonce\u0301.txt')).toBe('docs/beyoncé.txt');
  });

  it('aggregates means, chunk level only over questions with contexts', () => {
    const result = aggregate([
      { hitAt1: 1, hitAt5: 1, reciprocalRankAt10: 1, chunkHitAt5: 1 },
      { hitAt1: 0, hitAt5: 1, reciprocalRankAt10: 0.5, chunkHitAt5: undefined },
    ]);
    expect(result).toEqual({ questions: 2, hitAt1: 0.5, hitAt5: 1, mrrAt10: 0.75, chunkHitAt5: 1, questionsWithContexts: 1 });
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
  });

  it('samples deterministically and independently of input order', () => {
    const questions = Array.from({ length: 50 }, (_, index) => ({ id: `q${index}` }));
    const sample = sampleQuestions(questions, 10);
    expect(sample).toHaveLength(10);
    expect(sampleQuestions([...questions].reverse(), 10)).toEqual(sample);
    expect(sampleQuestions(questions, 100)).toHaveLength(50);
  });

  it('filters the coda questions that name their file or ask about its metadata', () => {
    const filter = questionFilter('llama_braintrust_coda')!;
    expect(filter.drop({ ...question, query: 'According to "section_33.md", how do I install a Pack?' })).toBe(true);
    expect(filter.drop({ ...question, query: 'What is the file size of the document?' })).toBe(true);
    expect(filter.drop({ ...question, query: 'How do I install a Pack in Coda?' })).toBe(false);
    expect(questionFilter('llama_covidqa')).toBeUndefined();
  });
});
