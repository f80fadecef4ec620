/**
 * `npm run eval`: retrieval quality of every dataset under ../shared/eval/ (see its README) through
 * the real path — fs source → worker-thread build (chunks, embeddings, BM25) → TenantEngine — for
 * each embedding model × retrieval mode. Prints a table and writes eval-results.json.
 *
 * Environment: EVAL_DIR (default ../shared/eval), EVAL_MAX_QUESTIONS (default 300 per question
 * file, sampled deterministically), EVAL_MODELS (default hash,use-lite; use-lite runs on English
 * sets only), EVAL_DATASETS (comma-separated folder names, default all), EVAL_BUILD_CONCURRENCY
 * (default 2 worker threads), EVAL_OUTPUT (default eval-results.json).
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { WorkerIndexBuilder } from '../src/indexing/index-builder.ts';
import type { BuiltIndexData } from '../src/indexing/build-index.ts';
import { createTenantEngine } from '../src/indexing/tenant-index-manager.ts';
import type { RetrievalMode, TenantEngine } from '../src/indexing/tenant-engine.ts';
import {
  aggregate,
  documentOfSource,
  isCjkDataset,
  median,
  normaliseForMatch,
  questionFilter,
  sampleQuestions,
  scoreQuestion,
  type AggregateScore,
  type EvalQuestion,
} from '../src/eval/retrieval-metrics.ts';
import { DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE, validateTenantConfig } from '../src/tenants/tenant-config.ts';

const EVAL_DIR = path.resolve(process.env.EVAL_DIR ?? '../shared/eval');
const MAX_QUESTIONS = Number(process.env.EVAL_MAX_QUESTIONS ?? 300);
const MODELS = (process.env.EVAL_MODELS ?? 'hash,use-lite').split(',').filter(Boolean);
const ONLY = process.env.EVAL_DATASETS?.split(',').filter(Boolean);
const BUILD_CONCURRENCY = Number(process.env.EVAL_BUILD_CONCURRENCY ?? 2);
const OUTPUT = process.env.EVAL_OUTPUT ?? 'eval-results.json';
const MODES: readonly RetrievalMode[] = ['dense', 'bm25', 'hybrid'];
const ENGLISH_ONLY_MODELS = new Set(['use-lite']);

interface QuestionSet {
  readonly name: string;
  readonly folder: string;
  readonly file: string;
  readonly total: number;
  readonly filtered: { readonly count: number; readonly reason: string } | undefined;
  readonly questions: EvalQuestion[];
  readonly documents: number;
}

interface ResultRow extends AggregateScore {
  readonly dataset: string;
  readonly model: string;
  readonly mode: RetrievalMode;
  readonly chunks: number;
  readonly buildSeconds: number;
  readonly queryP50Ms: number;
}

async function readJsonl(file: string): Promise<EvalQuestion[]> {
  const text = await readFile(file, 'utf8');
  return text.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as EvalQuestion);
}

async function questionSets(): Promise<QuestionSet[]> {
  const folders = (await readdir(EVAL_DIR, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
  const sets: QuestionSet[] = [];
  for (const folder of folders) {
    if (ONLY && !ONLY.includes(folder)) continue;
    const files = (await readdir(path.join(EVAL_DIR, folder))).filter((file) => /^questions.*\.jsonl$/.test(file) && !file.includes('unresolved')).sort();
    const documents = (await readdir(path.join(EVAL_DIR, folder, 'docs'))).length;
    for (const file of files) {
      const all = await readJsonl(path.join(EVAL_DIR, folder, file));
      const filter = questionFilter(folder);
      const kept = filter ? all.filter((question) => !filter.drop(question)) : all;
      sets.push({
        name: file === 'questions.jsonl' ? folder : `${folder}/${file.replace(/^questions_?|\.jsonl$/g, '')}`,
        folder,
        file,
        total: all.length,
        filtered: filter ? { count: all.length - kept.length, reason: filter.reason } : undefined,
        questions: sampleQuestions(kept, MAX_QUESTIONS),
        documents,
      });
    }
  }
  return sets;
}

/** Builds run in worker threads (two at once by default), exactly as the service runs them. */
async function buildAll(folders: readonly { folder: string; model: string }[]): Promise<Map<string, { built: BuiltIndexData; seconds: number }>> {
  const builder = new WorkerIndexBuilder();
  const results = new Map<string, { built: BuiltIndexData; seconds: number }>();
  const pending = [...folders];
  const run = async () => {
    for (let next = pending.shift(); next; next = pending.shift()) {
      const config = validateTenantConfig({
        version: 'eval',
        data_source: { type: 'fs', path: path.join(EVAL_DIR, next.folder, 'docs') },
        embedding_model: next.model,
      });
      const startedAt = performance.now();
      const built = await builder.build({ tenantId: `eval-${next.folder}`, config, sourceEnvironment: {} }, new AbortController().signal);
      const seconds = (performance.now() - startedAt) / 1000;
      process.stderr.write(`built ${next.folder} × ${next.model}: ${built.table.ids.length} chunks in ${seconds.toFixed(1)} s\n`);
      results.set(`${next.folder}\u0000${next.model}`, { built, seconds });
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, BUILD_CONCURRENCY) }, run));
  } finally {
    await builder.close();
  }
  return results;
}

async function evaluate(set: QuestionSet, engine: TenantEngine, mode: RetrievalMode) {
  const contexts = set.questions.map((question) => (question.reference_contexts ?? []).map(normaliseForMatch).filter((context) => context.length > 0));
  const scores = [];
  const latencies: number[] = [];
  for (const [index, question] of set.questions.entries()) {
    const startedAt = performance.now();
    const sources = await engine.retrieve(question.query, 10, mode);
    latencies.push(performance.now() - startedAt);
    const retrieved = sources.map((source) => ({ doc: documentOfSource(String(source.metadata.source ?? source.id)), text: source.text }));
    scores.push(scoreQuestion(question, retrieved, contexts[index]!));
  }
  return { score: aggregate(scores), p50: median(latencies) };
}

const percent = (value: number | undefined) => (value === undefined ? '–' : `${(value * 100).toFixed(1)}`);

function table(rows: readonly ResultRow[]): string {
  const header = '| dataset | questions | model | mode | hit@1 | hit@5 | MRR@10 | chunk hit@5 | build s | query p50 ms |';
  const lines = rows.map(
    (row) =>
      `| ${row.dataset} | ${row.questions} | ${row.model} | ${row.mode} | ${percent(row.hitAt1)} | ${percent(row.hitAt5)} | ${(row.mrrAt10 * 100).toFixed(1)} | ${percent(row.chunkHitAt5)}${row.chunkHitAt5 === undefined ? '' : ` (${row.questionsWithContexts})`} | ${row.buildSeconds.toFixed(1)} | ${row.queryP50Ms.toFixed(2)} |`,
  );
  return [header, '|---|---|---|---|---|---|---|---|---|---|', ...lines].join('\n');
}

async function main(): Promise<void> {
  const sets = await questionSets();
  const modelsFor = (set: QuestionSet) => MODELS.filter((model) => !(ENGLISH_ONLY_MODELS.has(model) && isCjkDataset(set.questions)));
  const builds = new Map<string, { folder: string; model: string }>();
  for (const set of sets) for (const model of modelsFor(set)) builds.set(`${set.folder}\u0000${model}`, { folder: set.folder, model });
  process.stderr.write(`eval: ${sets.length} question sets, ${builds.size} builds, at most ${MAX_QUESTIONS} questions per set (deterministic sample)\n`);
  const built = await buildAll([...builds.values()]);

  const rows: ResultRow[] = [];
  for (const set of sets) {
    for (const model of modelsFor(set)) {
      const { built: data, seconds } = built.get(`${set.folder}\u0000${model}`)!;
      const engine = await createTenantEngine(data);
      for (const mode of MODES) {
        const { score, p50 } = await evaluate(set, engine, mode);
        rows.push({ dataset: set.name, model, mode, ...score, chunks: data.table.ids.length, buildSeconds: seconds, queryP50Ms: p50 });
      }
    }
  }

  const notes = sets.map((set) => {
    const parts = [`${set.name}: ${set.documents} docs, ${set.questions.length} of ${set.total} questions`];
    if (set.filtered) parts.push(`${set.filtered.count} filtered out (${set.filtered.reason})`);
    if (set.questions.length < set.total - (set.filtered?.count ?? 0)) parts.push(`sampled to EVAL_MAX_QUESTIONS=${MAX_QUESTIONS}`);
    if (set.documents === 1) parts.push('one document: document-level hit rate is trivially 100%, read chunk hit@5');
    if (isCjkDataset(set.questions)) parts.push('CJK: use-lite skipped (English-only)');
    return parts.join('; ');
  });
  console.log(table(rows));
  console.log(`\nchunk_size ${DEFAULT_CHUNK_SIZE}, chunk_overlap ${DEFAULT_CHUNK_OVERLAP}; hit/MRR in %; chunk hit@5 over the questions with reference contexts (count in brackets); query p50 = retrieval only (top 10), in process.`);
  for (const note of notes) console.log(`- ${note}`);
  await writeFile(
    OUTPUT,
    `${JSON.stringify({ generatedAt: new Date().toISOString(), maxQuestions: MAX_QUESTIONS, chunkSize: DEFAULT_CHUNK_SIZE, chunkOverlap: DEFAULT_CHUNK_OVERLAP, notes, results: rows }, null, 2)}\n`,
  );
  console.log(`\nwrote ${OUTPUT}`);
}

await main();
