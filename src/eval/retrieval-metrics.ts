import { hashToken } from '../models/hash-embedding.ts';

/**
 * Pure parts of `npm run eval` (scripts/eval.ts): question sampling and filtering, the
 * normalisation of sources and contexts, and the metrics of ../shared/eval/README.md.
 */

export interface EvalQuestion {
  readonly id: string;
  readonly query: string;
  /** Relative to the dataset folder, e.g. `docs/x.txt`. */
  readonly relevant_doc: string;
  readonly reference_contexts?: readonly string[];
}

/** What one query retrieved, best first: each chunk's document (as `docs/…`) and text. */
export interface RetrievedChunk {
  readonly doc: string;
  readonly text: string;
}

/**
 * Up to `max` questions, the same ones on every run and machine: ordered by a hash of the id (not
 * file order, which clusters questions of one document), then truncated.
 */
export function sampleQuestions<T extends { id: string }>(questions: readonly T[], max: number): T[] {
  if (questions.length <= max) return [...questions];
  return [...questions].sort((a, b) => hashToken(a.id) - hashToken(b.id) || (a.id < b.id ? -1 : 1)).slice(0, max);
}

/**
 * llama_braintrust_coda: about a third of the generated questions name their file ("section_12.md")
 * or ask about file size or dates (an artefact of the generator seeing file metadata). No user
 * asks that, and a lexical retriever gets them for free; they are dropped.
 */
const NAMES_ITS_FILE = /section_\d+|\.md\b|file size|\bfile\b|\bsize\b|created|modified|\bdate/i;

export function questionFilter(dataset: string): { readonly reason: string; readonly drop: (question: EvalQuestion) => boolean } | undefined {
  if (dataset !== 'llama_braintrust_coda') return undefined;
  return { reason: 'names its file or asks about file size/dates', drop: (question) => NAMES_ITS_FILE.test(question.query) };
}

/** `file://x.txt` (the fs source's id, relative to the docs folder) → `docs/x.txt`, NFC like the questions. */
export function documentOfSource(source: string): string {
  return `docs/${source.replace(/^file:\/\//, '')}`.normalize('NFC');
}

/**
 * For containment tests: NFKC, markdown links reduced to their text (the coda contexts were taken
 * from a copy without link URLs), whitespace removed altogether (the tonic essays lost their
 * paragraph breaks, and CJK text has no spaces to normalise), lower-case.
 */
export function normaliseForMatch(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\s+/g, '')
    .toLowerCase();
}

export interface QuestionScore {
  readonly hitAt1: number;
  readonly hitAt5: number;
  readonly reciprocalRankAt10: number;
  /** undefined when the question has no reference contexts. */
  readonly chunkHitAt5: number | undefined;
}

/**
 * Document level: a retrieved chunk is a hit when its document is `relevant_doc`. Chunk level: a
 * top-5 chunk contains a reference context — or, for a context longer than a chunk, lies inside it
 * (a 512-token chunk cannot contain a 700-word passage it is part of).
 */
export function scoreQuestion(question: EvalQuestion, retrieved: readonly RetrievedChunk[], normalisedContexts: readonly string[]): QuestionScore {
  const relevant = question.relevant_doc.normalize('NFC');
  const rank = retrieved.slice(0, 10).findIndex((chunk) => chunk.doc === relevant);
  const chunkHitAt5 =
    normalisedContexts.length === 0
      ? undefined
      : retrieved.slice(0, 5).some((chunk) => {
            const text = normaliseForMatch(chunk.text);
            return normalisedContexts.some((context) => context.length > 0 && (text.includes(context) || (text.length > 0 && context.includes(text))));
          })
        ? 1
        : 0;
  return {
    hitAt1: rank === 0 ? 1 : 0,
    hitAt5: rank >= 0 && rank < 5 ? 1 : 0,
    reciprocalRankAt10: rank >= 0 ? 1 / (rank + 1) : 0,
    chunkHitAt5,
  };
}

export interface AggregateScore {
  readonly questions: number;
  readonly hitAt1: number;
  readonly hitAt5: number;
  readonly mrrAt10: number;
  /** Over the questions that have reference contexts; undefined when none do. */
  readonly chunkHitAt5: number | undefined;
  readonly questionsWithContexts: number;
}

export function aggregate(scores: readonly QuestionScore[]): AggregateScore {
  const mean = (values: readonly number[]) => (values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length);
  const withContexts = scores.flatMap((score) => (score.chunkHitAt5 === undefined ? [] : [score.chunkHitAt5]));
  return {
    questions: scores.length,
    hitAt1: mean(scores.map((score) => score.hitAt1)),
    hitAt5: mean(scores.map((score) => score.hitAt5)),
    mrrAt10: mean(scores.map((score) => score.reciprocalRankAt10)),
    chunkHitAt5: withContexts.length === 0 ? undefined : mean(withContexts),
    questionsWithContexts: withContexts.length,
  };
}

/** Median of a sample (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** True when most questions are written in a CJK script (use-lite is English-only, so it skips them). */
export function isCjkDataset(questions: readonly { query: string }[]): boolean {
  const cjk = questions.filter((question) => /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u.test(question.query)).length;
  return cjk * 2 > questions.length;
}
