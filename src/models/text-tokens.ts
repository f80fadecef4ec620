/**
 * Language-agnostic lexical tokenisation shared by the hash embedding (retrieval) and the
 * extractive synthesizer (answer selection). Both must see the same tokens, otherwise a sentence
 * could be retrieved for a word that answer selection then fails to find.
 *
 * Scripts written with spaces yield word tokens; Chinese, Japanese and Korean runs yield character
 * unigrams plus overlapping bigrams, the usual dictionary-free substitute for word segmentation
 * (most Chinese words are two characters long, so bigrams carry the meaning and unigrams keep
 * recall for single-character words and queries).
 */

/** Scripts tokenised by characters. U+30FC (katakana-hiragana prolonged sound mark) is Script=Common but part of kana words. */
const CJK_CHARACTER_CLASS = String.raw`\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u30FC`;

/**
 * A letter of a spaced script, a digit or a combining mark. `[^\P{L}…]` is "letters minus CJK"
 * written without the `v` flag (set subtraction), which TypeScript rejects for an ES2023 target.
 */
const WORD_CHARACTER = String.raw`(?:[^\P{L}${CJK_CHARACTER_CLASS}]|[\p{N}\p{M}])`;

/** Apostrophes and hyphens only count inside a word (`don't`, `covid-19`), never at its edges. */
const WORD_JOINER = String.raw`['’\-\u2010]`;

const TOKEN_PATTERN = new RegExp(
  String.raw`(?<cjk>[${CJK_CHARACTER_CLASS}]+)|(?<word>${WORD_CHARACTER}+(?:${WORD_JOINER}${WORD_CHARACTER}+)*)`,
  'gu',
);
const HYPHEN_PATTERN = /[-\u2010]/;
const SINGLE_CJK_CHARACTER_PATTERN = new RegExp(String.raw`^[${CJK_CHARACTER_CLASS}]$`, 'u');

/**
 * Function words that would otherwise dominate lexical similarity between a question and a
 * passage. Deliberately small: negations and quantities stay, because they change what a sentence
 * says.
 */
const ENGLISH_STOP_WORDS: ReadonlySet<string> = new Set([
  'a', 'about', 'am', 'an', 'and', 'are', 'as', 'at', 'be', 'been', 'being', 'but', 'by', 'can',
  'could', 'did', 'do', 'does', 'for', 'from', 'had', 'has', 'have', 'he', 'her', 'here', 'his',
  'how', 'i', 'if', 'in', 'into', 'is', 'it', 'its', 'me', 'my', 'of', 'on', 'or', 'our', 'she',
  'should', 'so', 'than', 'that', 'the', 'their', 'them', 'then', 'there', 'these', 'they', 'this',
  'those', 'to', 'us', 'was', 'we', 'were', 'what', 'when', 'where', 'which', 'who', 'whom', 'why',
  'will', 'with', 'would', 'you', 'your',
]);

/**
 * How much a CJK unigram counts relative to every other token. Single characters are ambiguous
 * (学 appears in 学习, 大学, 学生…); bigrams carry most of the meaning.
 */
export const CJK_UNIGRAM_WEIGHT = 0.5;

/** NFKC + lower-case, then word tokens (stop words dropped) and CJK unigrams + bigrams, in text order. */
export function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const normalised = text.normalize('NFKC').toLowerCase();
  for (const match of normalised.matchAll(TOKEN_PATTERN)) {
    const { cjk, word } = match.groups!;
    if (cjk !== undefined) pushCjkTokens(cjk, tokens);
    else if (word !== undefined) pushWordTokens(word, tokens);
  }
  return tokens;
}

/** True for a token that is a single Chinese/Japanese/Korean character (a CJK unigram). */
export function isCjkUnigram(token: string): boolean {
  return token.length <= 2 && SINGLE_CJK_CHARACTER_PATTERN.test(token);
}

/** The weight of one occurrence of `token` in lexical scoring. */
export function tokenWeight(token: string): number {
  return isCjkUnigram(token) ? CJK_UNIGRAM_WEIGHT : 1;
}

function pushCjkTokens(run: string, tokens: string[]): void {
  // Array.from splits by code point, so characters outside the BMP (CJK Extension B+) stay whole.
  const characters = Array.from(run);
  for (const character of characters) tokens.push(character);
  for (let index = 1; index < characters.length; index++) {
    tokens.push(characters[index - 1]! + characters[index]!);
  }
}

function pushWordTokens(rawWord: string, tokens: string[]): void {
  const word = stripPossessive(rawWord.replaceAll('’', "'"));
  pushUnlessStopWord(word, tokens);
  // A compound also yields its parts, so "real-time" in a question matches "real time" in a passage.
  if (HYPHEN_PATTERN.test(word)) {
    for (const part of word.split(HYPHEN_PATTERN)) pushUnlessStopWord(part, tokens);
  }
}

/** "python's" → "python": the possessive rarely matters for matching and would split the vocabulary. */
function stripPossessive(word: string): string {
  return word.length > 2 && word.endsWith("'s") ? word.slice(0, -2) : word;
}

function pushUnlessStopWord(word: string, tokens: string[]): void {
  if (!ENGLISH_STOP_WORDS.has(word)) tokens.push(word);
}

// --- sentences --------------------------------------------------------------------------------

/** Terminators of spaced scripts: a boundary only when followed by whitespace or the end ("3.14" and "e.g.x" stay whole). */
const SPACED_TERMINATORS = new Set(['.', '!', '?', '…']);
/** CJK terminators end a sentence at once: those scripts put no space after them. */
const CJK_TERMINATORS = new Set(['。', '！', '？', '；']);
/** Closing quotes and brackets that belong to the sentence they follow (`He said "stop."`). */
const CLOSING_PUNCTUATION = new Set(['"', "'", '”', '’', ')', ']', '}', '」', '』', '）', '】', '》', '〉']);
const HAS_WORD_CHARACTER = /[\p{L}\p{N}]/u;
const WHITESPACE = /\s/;

/**
 * Splits text into sentences, each trimmed and verbatim otherwise. Boundaries: `. ! ? …` followed
 * by whitespace or the end, `。！？；` anywhere, and every line break (lists, headings and table rows
 * are separate statements). Fragments without a letter or digit (e.g. a lone "—") are dropped.
 */
export function splitSentences(text: string): string[] {
  const sentences: string[] = [];
  let start = 0;
  let index = 0;
  while (index < text.length) {
    const character = text[index]!;
    if (character === '\n' || character === '\r') {
      pushSentence(text, start, index, sentences);
      start = index + 1;
      index = start;
    } else if (CJK_TERMINATORS.has(character)) {
      const end = skipClosingPunctuation(text, index + 1);
      pushSentence(text, start, end, sentences);
      start = end;
      index = end;
    } else if (SPACED_TERMINATORS.has(character)) {
      let end = index + 1;
      while (end < text.length && SPACED_TERMINATORS.has(text[end]!)) end++;
      end = skipClosingPunctuation(text, end);
      if (end === text.length || WHITESPACE.test(text[end]!)) {
        pushSentence(text, start, end, sentences);
        start = end;
      }
      index = end;
    } else {
      index++;
    }
  }
  pushSentence(text, start, text.length, sentences);
  return sentences;
}

function skipClosingPunctuation(text: string, position: number): number {
  let end = position;
  while (end < text.length && CLOSING_PUNCTUATION.has(text[end]!)) end++;
  return end;
}

function pushSentence(text: string, start: number, end: number, sentences: string[]): void {
  const sentence = text.slice(start, end).trim();
  if (HAS_WORD_CHARACTER.test(sentence)) sentences.push(sentence);
}

/**
 * Chinese and Japanese put no space between sentences; Korean and spaced scripts do. Punctuation
 * from the CJK Symbols and Punctuation and fullwidth blocks (。」！) counts as Chinese/Japanese.
 */
const UNSPACED_SCRIPT_END = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\u3000-\u303F\uFF01-\uFF60]$/u;
const UNSPACED_SCRIPT_START = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\u3000-\u303F\uFF01-\uFF60]/u;

/** The inverse of `splitSentences` for display: a space between sentences, none between Chinese/Japanese ones. */
export function joinSentences(sentences: readonly string[]): string {
  let joined = '';
  let previous: string | undefined;
  for (const sentence of sentences) {
    if (previous === undefined) joined = sentence;
    else if (UNSPACED_SCRIPT_END.test(previous) && UNSPACED_SCRIPT_START.test(sentence)) joined += sentence;
    else joined += ` ${sentence}`;
    previous = sentence;
  }
  return joined;
}
