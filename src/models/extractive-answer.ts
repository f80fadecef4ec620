import { joinSentences, splitSentences, tokenize, tokenWeight } from './text-tokens.ts';

/**
 * The offline default answer: the retrieved sentences that best match the question, verbatim.
 * Nothing is generated, so nothing can be invented; the price is that the answer is only as
 * fluent as the source text.
 */

export const NO_ANSWER_TEXT = 'No answer found in the knowledge base for this question.';

export interface ExtractiveOptions {
  /** Most sentences in an answer (default 3). */
  maxSentences?: number;
  /** Character budget of an answer (default 600). The best sentence is always kept whole, even when longer. */
  maxCharacters?: number;
  /**
   * A sentence joins the answer only if it scores at least this fraction of the best one (default
   * 0.25), so a strong match is not padded with sentences that share one common word.
   */
  minimumRelativeScore?: number;
}

export interface ExtractedSentence {
  text: string;
  /** Index of the passage (retrieval rank) the sentence comes from. */
  passage: number;
  score: number;
}

export interface ExtractedAnswer {
  answer: string;
  /** The sentences of `answer`, in answer order (best first). */
  sentences: ExtractedSentence[];
}

const DEFAULT_MAX_SENTENCES = 3;
const DEFAULT_MAX_CHARACTERS = 600;
const DEFAULT_MINIMUM_RELATIVE_SCORE = 0.25;

interface CandidateSentence {
  text: string;
  passage: number;
  position: number;
  matchedTokens: string[];
  score: number;
}

/**
 * Picks the sentences of `passages` (best-ranked passage first) that best cover the query tokens.
 * A sentence scores the sum, over the distinct query tokens it contains, of the token's weight
 * times an IDF over all candidate sentences: a query word found in every retrieved sentence tells
 * them apart less than one found in a single sentence.
 */
export function extractAnswer(query: string, passages: readonly string[], options: ExtractiveOptions = {}): ExtractedAnswer {
  const queryTokens = new Set(tokenize(query));
  const candidates = matchingSentences(queryTokens, passages);
  scoreByInverseSentenceFrequency(candidates);
  const chosen = candidates.length === 0 ? [] : chooseSentences(candidates, options);
  if (chosen.length === 0) return { answer: NO_ANSWER_TEXT, sentences: [] };
  return {
    answer: joinSentences(chosen.map((candidate) => candidate.text)),
    sentences: chosen.map(({ text, passage, score }) => ({ text, passage, score })),
  };
}

/**
 * Every sentence sharing at least one token with the query. A sentence repeated across passages
 * (chunk overlap repeats sentences at chunk edges) counts once, where it ranks best.
 */
function matchingSentences(queryTokens: ReadonlySet<string>, passages: readonly string[]): CandidateSentence[] {
  const candidates: CandidateSentence[] = [];
  if (queryTokens.size === 0) return candidates;
  const seen = new Set<string>();
  passages.forEach((passage, passageIndex) => {
    splitSentences(passage).forEach((text, position) => {
      const key = text.replace(/\s+/g, ' ');
      if (seen.has(key)) return;
      seen.add(key);
      const matchedTokens = [...new Set(tokenize(text))].filter((token) => queryTokens.has(token));
      if (matchedTokens.length > 0) candidates.push({ text, passage: passageIndex, position, matchedTokens, score: 0 });
    });
  });
  return candidates;
}

function scoreByInverseSentenceFrequency(candidates: CandidateSentence[]): void {
  const sentenceFrequency = new Map<string, number>();
  for (const { matchedTokens } of candidates) {
    for (const token of matchedTokens) sentenceFrequency.set(token, (sentenceFrequency.get(token) ?? 0) + 1);
  }
  for (const candidate of candidates) {
    candidate.score = 0;
    for (const token of candidate.matchedTokens) {
      candidate.score += tokenWeight(token) * Math.log(1 + candidates.length / sentenceFrequency.get(token)!);
    }
  }
}

/** Best score first; ties go to the better-ranked passage, then to the earlier sentence. */
function compareCandidates(a: CandidateSentence, b: CandidateSentence): number {
  return b.score - a.score || a.passage - b.passage || a.position - b.position;
}

function chooseSentences(candidates: CandidateSentence[], options: ExtractiveOptions): CandidateSentence[] {
  const maxSentences = options.maxSentences ?? DEFAULT_MAX_SENTENCES;
  const maxCharacters = options.maxCharacters ?? DEFAULT_MAX_CHARACTERS;
  const ranked = [...candidates].sort(compareCandidates);
  const minimumScore = ranked[0]!.score * (options.minimumRelativeScore ?? DEFAULT_MINIMUM_RELATIVE_SCORE);
  const chosen: CandidateSentence[] = [];
  let characters = 0;
  for (const candidate of ranked) {
    if (chosen.length >= maxSentences || candidate.score < minimumScore) break;
    // Skip (rather than stop at) a sentence that does not fit: a shorter, lower one may still.
    if (chosen.length > 0 && characters + 1 + candidate.text.length > maxCharacters) continue;
    chosen.push(candidate);
    characters += (chosen.length > 1 ? 1 : 0) + candidate.text.length;
  }
  return chosen;
}
