import { describe, expect, it } from 'vitest';
import { NO_ANSWER_TEXT, extractAnswer } from '../../src/models/extractive-answer.ts';

describe('extractAnswer', () => {
  it('answers with the best-matching sentence, verbatim', () => {
    const result = extractAnswer('How do I reset my password?', [
      'Welcome to the help centre. To reset your password, open Settings → Security and click "Reset".',
      'Invoices are emailed monthly.',
    ]);
    expect(result.answer).toBe('To reset your password, open Settings → Security and click "Reset".');
    expect(result.sentences).toEqual([{ text: result.answer, passage: 0, score: expect.any(Number) }]);
  });

  it('orders by score and keeps at most three sentences', () => {
    const passages = [
      'Backups run nightly. Old backups are deleted after thirty days.',
      'Restore a backup from the console. Restore deleted projects from backups within thirty days. Restore backups anytime.',
    ];
    const result = extractAnswer('restore deleted backups', passages);
    expect(result.sentences.map((sentence) => sentence.text)).toEqual([
      'Restore deleted projects from backups within thirty days.',
      'Old backups are deleted after thirty days.',
      'Restore backups anytime.',
    ]);
    const scores = result.sentences.map((sentence) => sentence.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    expect(extractAnswer('restore deleted backups', passages, { maxSentences: 1 }).sentences).toHaveLength(1);
  });

  it('breaks score ties by passage rank, then by position in the passage', () => {
    const result = extractAnswer('alpha', ['Beta. Alpha two.', 'Alpha one.', 'Alpha three. Alpha four.'], {
      maxSentences: 4,
      maxCharacters: 1000,
    });
    expect(result.sentences.map(({ text, passage }) => [text, passage])).toEqual([
      ['Alpha two.', 0],
      ['Alpha one.', 1],
      ['Alpha three.', 2],
      ['Alpha four.', 2],
    ]);
  });

  it('weights rare query words above words found in every sentence (IDF)', () => {
    const result = extractAnswer('kubernetes cluster upgrade', [
      'The cluster has three nodes. The cluster runs in Frankfurt.',
      'Plan a cluster upgrade for the weekend.',
      'The cluster is monitored.',
    ], { maxSentences: 1 });
    expect(result.answer).toBe('Plan a cluster upgrade for the weekend.');
  });

  it('respects the character budget but always keeps the best sentence whole', () => {
    const long = `The password policy requires ${'very '.repeat(150)}long passwords.`;
    const result = extractAnswer('password policy', [long, 'A password policy exists.'], { maxCharacters: 100 });
    expect(result.sentences.map((sentence) => sentence.text)).toEqual([long]);
    const short = extractAnswer('password policy', ['Password policy one.', 'Password policy two.'], { maxCharacters: 25 });
    expect(short.answer).toBe('Password policy one.');
  });

  it('does not pad a strong match with sentences sharing one weak word', () => {
    const result = extractAnswer('configure single sign-on with okta', [
      'To configure single sign-on with Okta, add the SAML app in the Okta admin console.',
      'Configure your profile picture.',
    ], { minimumRelativeScore: 0.5 });
    expect(result.sentences).toHaveLength(1);
  });

  it('counts a sentence repeated by chunk overlap once', () => {
    const result = extractAnswer('refund policy', [
      'Our refund policy lasts 30 days. Contact support.',
      'Contact support. Our refund policy lasts 30 days.',
    ]);
    expect(result.answer).toBe('Our refund policy lasts 30 days.');
  });

  it('answers Chinese questions from Chinese passages, joining sentences without spaces', () => {
    const result = extractAnswer('什么是机器学习？', [
      '今天天气很好。',
      '机器学习是人工智能的一个分支。深度学习是机器学习的一种方法。我们喜欢喝茶。',
    ]);
    // The second sentence ranks first: it also holds the query bigram 是机 ("…是机器学习").
    expect(result.answer).toBe('深度学习是机器学习的一种方法。机器学习是人工智能的一个分支。');
    expect(result.sentences.every((sentence) => sentence.passage === 1)).toBe(true);
  });

  it('handles mixed English and Chinese', () => {
    const result = extractAnswer('LlamaIndex 是什么', ['LlamaIndex 是一个数据框架。', 'Python is a language.']);
    expect(result.answer).toBe('LlamaIndex 是一个数据框架。');
  });

  it('says so when nothing overlaps, nothing was retrieved, or the query has no words', () => {
    const noAnswer = { answer: NO_ANSWER_TEXT, sentences: [] };
    expect(extractAnswer('quantum chromodynamics', ['Invoices are emailed monthly.'])).toEqual(noAnswer);
    expect(extractAnswer('anything', [])).toEqual(noAnswer);
    expect(extractAnswer('what is the', ['What is the plan?'])).toEqual(noAnswer);
    expect(extractAnswer('invoices', ['', '   \n '])).toEqual(noAnswer);
    expect(NO_ANSWER_TEXT).toBe('No answer found in the knowledge base for this question.');
  });
});
