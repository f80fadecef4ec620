import { describe, expect, it } from 'vitest';
import {
  CJK_UNIGRAM_WEIGHT,
  isCjkUnigram,
  joinSentences,
  splitSentences,
  tokenize,
  tokenWeight,
} from '../../src/models/text-tokens.ts';

describe('tokenize: spaced scripts', () => {
  it('lower-cases, keeps letters and digits, and drops English stop words', () => {
    expect(tokenize('How do I reset the Password for Account 42?')).toEqual(['reset', 'password', 'account', '42']);
  });

  it('keeps internal apostrophes and strips possessives', () => {
    expect(tokenize("Don't break O'Neill's code")).toEqual(["don't", 'break', "o'neill", 'code']);
    expect(tokenize('don’t')).toEqual(["don't"]);
  });

  it('emits a hyphenated compound whole and by part, without stop-word parts', () => {
    expect(tokenize('state-of-the-art real-time COVID-19')).toEqual([
      'state-of-the-art', 'state', 'art',
      'real-time', 'real', 'time',
      'covid-19', 'covid', '19',
    ]);
  });

  it('treats edge apostrophes and hyphens as separators', () => {
    expect(tokenize("'quoted' -dash- rock'n'roll")).toEqual(['quoted', 'dash', "rock'n'roll"]);
  });

  it('applies NFKC: fullwidth forms, ligatures and compatibility digits', () => {
    expect(tokenize('ＡＩ Ｒｅｓｕｍｅ ﬁle ①')).toEqual(['ai', 'resume', 'file', '1']);
  });

  it('keeps letters with diacritics and other alphabets', () => {
    expect(tokenize('Café naïve Straße Москва Αθήνα')).toEqual(['café', 'naïve', 'straße', 'москва', 'αθήνα']);
  });

  it('splits on punctuation, symbols and underscores', () => {
    expect(tokenize('snake_case, foo/bar; 3.14 e-mail@example.com')).toEqual([
      'snake', 'case', 'foo', 'bar', '3', '14', 'e-mail', 'e', 'mail', 'example', 'com',
    ]);
  });

  it('returns nothing for empty, punctuation-only or stop-word-only text', () => {
    expect(tokenize('')).toEqual([]);
    expect(tokenize(' ... !!! — ')).toEqual([]);
    expect(tokenize('What is the')).toEqual([]);
  });
});

describe('tokenize: CJK', () => {
  it('emits character unigrams then overlapping bigrams for a Chinese run', () => {
    expect(tokenize('机器学习')).toEqual(['机', '器', '学', '习', '机器', '器学', '学习']);
  });

  it('keeps Traditional and Simplified characters as they are', () => {
    expect(tokenize('機器學習')).toEqual(['機', '器', '學', '習', '機器', '器學', '學習']);
    expect(tokenize('學习')).toEqual(['學', '习', '學习']);
  });

  it('treats CJK punctuation as a run boundary', () => {
    expect(tokenize('你好，世界。')).toEqual(['你', '好', '你好', '世', '界', '世界']);
  });

  it('emits only the unigram for a single character', () => {
    expect(tokenize('书')).toEqual(['书']);
  });

  it('separates Latin words from adjacent CJK runs in mixed text', () => {
    expect(tokenize('使用Python进行AI开发')).toEqual([
      '使', '用', '使用',
      'python',
      '进', '行', '进行',
      'ai',
      '开', '发', '开发',
    ]);
  });

  it('covers Japanese kana (with the prolonged sound mark) and Korean Hangul', () => {
    expect(tokenize('タワー')).toEqual(['タ', 'ワ', 'ー', 'タワ', 'ワー']);
    expect(tokenize('東京タワー')).toContain('京タ');
    expect(tokenize('한국어')).toEqual(['한', '국', '어', '한국', '국어']);
  });

  it('keeps characters outside the Basic Multilingual Plane whole', () => {
    expect(tokenize('𠀀𠀁')).toEqual(['𠀀', '𠀁', '𠀀𠀁']);
  });

  it('normalises fullwidth digits and letters inside CJK text', () => {
    expect(tokenize('第２章ＡＰＩ')).toEqual(['第', '2', '章', 'api']);
  });
});

describe('token weights', () => {
  it('recognises single CJK characters only', () => {
    expect(isCjkUnigram('学')).toBe(true);
    expect(isCjkUnigram('𠀀')).toBe(true);
    expect(isCjkUnigram('学习')).toBe(false);
    expect(isCjkUnigram('a')).toBe(false);
    expect(isCjkUnigram('1')).toBe(false);
  });

  it('weights CJK unigrams below bigrams and words', () => {
    expect(tokenWeight('学')).toBe(CJK_UNIGRAM_WEIGHT);
    expect(tokenWeight('学习')).toBe(1);
    expect(tokenWeight('learning')).toBe(1);
    expect(CJK_UNIGRAM_WEIGHT).toBeLessThan(1);
  });
});

describe('splitSentences', () => {
  it('splits on . ! ? followed by whitespace, keeping the terminator', () => {
    expect(splitSentences('First one. Second one! Third one? Fourth')).toEqual([
      'First one.', 'Second one!', 'Third one?', 'Fourth',
    ]);
  });

  it('does not split inside numbers, versions or dotted names', () => {
    expect(splitSentences('Pi is 3.14 and Node is v22.12.0. See example.com/a.b now.')).toEqual([
      'Pi is 3.14 and Node is v22.12.0.', 'See example.com/a.b now.',
    ]);
  });

  it('keeps runs of terminators and closing quotes with their sentence', () => {
    expect(splitSentences('Really?! He said "stop." (It worked.) Done…  Next')).toEqual([
      'Really?!', 'He said "stop."', '(It worked.)', 'Done…', 'Next',
    ]);
  });

  it('splits Chinese text on 。！？； without needing spaces', () => {
    expect(splitSentences('机器学习是人工智能的分支。它很有用！为什么？因为数据；最后')).toEqual([
      '机器学习是人工智能的分支。', '它很有用！', '为什么？', '因为数据；', '最后',
    ]);
  });

  it('keeps Japanese closing brackets with the sentence', () => {
    expect(splitSentences('彼は「はい。」と言った。次へ')).toEqual(['彼は「はい。」', 'と言った。', '次へ']);
  });

  it('splits on every line break, including CRLF', () => {
    expect(splitSentences('Heading\r\n- item one\n- item two\n\nParagraph text')).toEqual([
      'Heading', '- item one', '- item two', 'Paragraph text',
    ]);
  });

  it('handles mixed English and Chinese', () => {
    expect(splitSentences('RAG combines retrieval and generation. 检索增强生成很常见。It works.')).toEqual([
      'RAG combines retrieval and generation.', '检索增强生成很常见。', 'It works.',
    ]);
  });

  it('never returns empty or punctuation-only sentences', () => {
    expect(splitSentences('')).toEqual([]);
    expect(splitSentences('   \n\n  ')).toEqual([]);
    expect(splitSentences('... — !!! 。。')).toEqual([]);
    expect(splitSentences('Hi.\n\n\n. . .\nBye.')).toEqual(['Hi.', 'Bye.']);
  });

  it('trims but otherwise keeps sentences verbatim', () => {
    expect(splitSentences('  Mixed   CASE  text.  ')).toEqual(['Mixed   CASE  text.']);
  });
});

describe('joinSentences', () => {
  it('joins with a space, but none between Chinese or Japanese sentences', () => {
    expect(joinSentences(['It works.', 'Really.'])).toBe('It works. Really.');
    expect(joinSentences(['机器学习很好。', '它很有用。'])).toBe('机器学习很好。它很有用。');
    expect(joinSentences(['机器学习很好。', 'It is useful.', '真的。'])).toBe('机器学习很好。 It is useful. 真的。');
    expect(joinSentences(['한국어 문장입니다.', '두 번째.'])).toBe('한국어 문장입니다. 두 번째.');
    expect(joinSentences([])).toBe('');
  });

  it('round-trips what splitSentences produced from unspaced Chinese', () => {
    const text = '第一句。第二句！第三句？';
    expect(joinSentences(splitSentences(text))).toBe(text);
  });
});
