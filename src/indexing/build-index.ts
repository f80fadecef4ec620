import { SentenceSplitter } from '@llamaindex/core/node-parser';
import { SourceError } from '../errors.ts';
import { createDocumentSource, type SkippedFile, type SourceDocument, type SourceEnvironment } from '../sources/document-source.ts';
import { resolveEmbeddingModel } from '../models/embedding-models.ts';
import type { ProviderSettings } from '../models/provider-settings.ts';
import type { TenantConfig } from '../tenants/tenant-config.ts';
import { buildBm25, type Bm25Data } from './bm25-index.ts';
import type { ChunkTable } from './contiguous-vector-store.ts';
import { allocateEmbeddings } from './simd-dot-kernel.ts';

/**
 * One index build: documents from the tenant's source → SentenceSplitter chunks → embeddings
 * written into one contiguous Float32Array (a view of a shared WebAssembly memory where SIMD is
 * available). Pure with respect to the process (no globals, no LlamaIndex Settings), so it runs
 * the same in a worker thread and in tests.
 */

export interface BuildRequest {
  readonly tenantId: string;
  readonly config: TenantConfig;
  readonly sourceEnvironment: SourceEnvironment;
  /** Remote model endpoints; holds the API key, so a BuildRequest is never logged. Default: OpenAI/local Ollama. */
  readonly providers?: ProviderSettings;
}

export interface BuiltIndexData {
  readonly table: ChunkTable;
  /** BM25 statistics over the same chunks (rows match `table`): every index supports every retrieval mode. */
  readonly bm25: Bm25Data;
  readonly documents: number;
  readonly skippedFiles: readonly SkippedFile[];
  readonly embeddingModel: string;
}

export interface ChunkedDocuments {
  readonly ids: string[];
  readonly texts: string[];
  readonly metadata: Record<string, unknown>[];
}

/**
 * Splits documents into chunks with stable ids (`<source>#<n>`), so a rebuild of the same content
 * yields the same ids. The text is split on its own: chunks are embedded without metadata, so
 * LlamaIndex's metadata-aware splitting would only shrink chunks (and reject small chunk sizes).
 */
export function chunkDocuments(documents: readonly SourceDocument[], chunkSize: number, chunkOverlap: number): ChunkedDocuments {
  const splitter = new SentenceSplitter({ chunkSize, chunkOverlap });
  const chunks: ChunkedDocuments = { ids: [], texts: [], metadata: [] };
  for (const document of documents) {
    let position = 0;
    for (const section of sectionsOf(document.text)) {
      for (const text of splitter.splitText(section)) {
        if (text.trim().length === 0) continue;
        chunks.ids.push(`${document.id}#${position}`);
        chunks.texts.push(text);
        chunks.metadata.push({ ...document.metadata, chunk: position });
        position += 1;
      }
    }
  }
  return chunks;
}

/**
 * Sections handed to SentenceSplitter at once: large enough that section ends (where chunks do not
 * overlap) are rare (8 KB cost a few points of chunk hit@5 on the Paul Graham essay in `npm run
 * eval`, 32 KB about matched the unsectioned chunker), small enough to bound its cost.
 */
export const SECTION_CHARS = 32_768;
/** A stretch with no space or punctuation at all (unpunctuated CJK) is cut into pieces this long. */
export const UNBROKEN_RUN_CHARS = 300;
const SENTENCE_END = /[.!?。！？；;]\s|[。！？；]|\n/g;

/**
 * Cuts a document into sections of at most `maxChars`, at blank lines where it can, else at a
 * sentence end, else (a run with none, like unpunctuated CJK) after `runChars`. SentenceSplitter
 * costs grow faster than linearly with the text it gets (its sentence tokenizer over the whole
 * text, then a character-by-character fallback): 170 KB of markdown took 25 s, 3.5k unpunctuated
 * CJK characters 12 s (now 1.3 s). Bounded sections make chunking linear in the document's length.
 * Chunks never span two sections, so only at section ends is there no overlap.
 */
export function sectionsOf(text: string, maxChars = SECTION_CHARS, runChars = UNBROKEN_RUN_CHARS): string[] {
  const sections: string[] = [];
  let current = '';
  const flush = () => {
    if (current) sections.push(current);
    current = '';
  };
  const unbroken = unbrokenRun(runChars);
  for (const paragraph of text.split(/(?<=\n[ \t]*\n)/)) {
    for (const piece of piecesOf(paragraph, unbroken, maxChars, runChars)) {
      // A piece of an unbroken run is a section of its own: SentenceSplitter must never see a long one.
      if (piece.unbroken) {
        flush();
        sections.push(piece.text);
      } else if (current.length + piece.text.length <= maxChars) {
        current += piece.text;
      } else {
        flush();
        current = piece.text;
      }
    }
  }
  flush();
  return sections;
}

/** Runs of this many characters without a space or punctuation. */
const unbrokenRun = (runChars: number) => new RegExp(`[^\\s.,;:!?。，、；：！？]{${runChars + 1},}`, 'gu');

function* piecesOf(paragraph: string, unbroken: RegExp, maxChars: number, runChars: number): Generator<{ text: string; unbroken: boolean }> {
  let last = 0;
  for (const match of paragraph.matchAll(unbroken)) {
    for (const text of cutLongText(paragraph.slice(last, match.index), maxChars, runChars)) yield { text, unbroken: false };
    for (let start = 0; start < match[0].length; start += runChars) yield { text: match[0].slice(start, start + runChars), unbroken: true };
    last = match.index + match[0].length;
  }
  for (const text of cutLongText(paragraph.slice(last), maxChars, runChars)) yield { text, unbroken: false };
}

/** Pieces of at most `maxChars`, ending at a sentence end (or a space) where one exists. */
function cutLongText(text: string, maxChars: number, runChars: number): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > maxChars) {
    const window = rest.slice(0, maxChars);
    let cut = 0;
    for (const match of window.matchAll(SENTENCE_END)) cut = match.index + match[0].length;
    if (cut === 0) cut = window.lastIndexOf(' ') + 1;
    if (cut === 0) cut = Math.min(runChars, maxChars);
    pieces.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  if (rest) pieces.push(rest);
  return pieces;
}

export async function buildIndexData(request: BuildRequest, signal: AbortSignal): Promise<BuiltIndexData> {
  // Resolve the model first: an unknown name should fail before any S3 traffic.
  const model = resolveEmbeddingModel(request.config.embedding_model, request.providers);
  // Also before any S3 traffic: a remote model's width comes from a probe, which fails fast when
  // the endpoint is down or the key is wrong.
  const dimensions = await model.dimensions(signal);
  const source = createDocumentSource(request.config.data_source, request.sourceEnvironment);
  const loaded = await source.load(signal);
  signal.throwIfAborted();
  const { chunk_size: chunkSize, chunk_overlap: chunkOverlap } = request.config.index_params;
  const chunks = chunkDocuments(loaded.documents, chunkSize, chunkOverlap);
  signal.throwIfAborted();
  // An empty knowledge base is a mistake (a typo in the prefix, every file unreadable), never a
  // version to serve: failing the build keeps the tenant's current index serving and says why.
  if (chunks.ids.length === 0) throw emptySourceError(request.config.data_source, loaded.skipped);
  // Inside a shared WebAssembly memory when the runtime has SIMD: the main thread scans it there with
  // the SIMD kernel, and it reaches the main thread without a copy (see simd-dot-kernel.ts).
  const { embeddings, memory } = allocateEmbeddings(chunks.ids.length, dimensions);
  await model.embedInto(chunks.texts, embeddings, 0, signal);
  signal.throwIfAborted();
  return {
    table: { dimensions, ids: chunks.ids, texts: chunks.texts, metadata: chunks.metadata, embeddings, ...(memory ? { memory } : {}) },
    bm25: buildBm25(chunks.texts),
    documents: loaded.documents.length,
    skippedFiles: loaded.skipped,
    embeddingModel: model.name,
  };
}

function emptySourceError(dataSource: TenantConfig['data_source'], skipped: readonly SkippedFile[]): SourceError {
  const where = dataSource.type === 's3' ? `s3://${dataSource.bucket}/${dataSource.prefix ?? ''}` : `folder '${dataSource.path}'`;
  const examples = skipped.slice(0, 3).map((file) => `${file.key} (${file.reason})`);
  const detail = skipped.length === 0 ? 'no files found' : `all ${skipped.length} files skipped, e.g. ${examples.join(', ')}`;
  return new SourceError(`no indexable text under ${where}: ${detail}`, { permanent: true, code: 'source_empty' });
}
