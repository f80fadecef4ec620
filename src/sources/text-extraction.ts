import { convert as htmlToText, type HtmlToTextOptions } from 'html-to-text';
import { extractText as extractPdfText, getDocumentProxy } from 'unpdf';
import type { LoadResult, SkippedFile, SourceDocument } from './document-source.ts';

/**
 * Turns the bytes of one file into plain text. Pure with respect to I/O: the S3 and fs sources do
 * the reading and share everything from here on, so a file extracts the same way wherever it lives.
 */

export type ExtractionResult = { text: string; title?: string } | { skipped: SkippedFile['reason']; detail?: string };

type Format = 'text' | 'html' | 'json' | 'csv' | 'pdf';

// The extension decides first: object stores often label everything application/octet-stream.
const FORMAT_BY_EXTENSION: Readonly<Record<string, Format>> = {
  txt: 'text',
  text: 'text',
  md: 'text',
  markdown: 'text',
  html: 'html',
  htm: 'html',
  json: 'json',
  csv: 'csv',
  pdf: 'pdf',
};

const FORMAT_BY_CONTENT_TYPE: Readonly<Record<string, Format>> = {
  'text/plain': 'text',
  'text/markdown': 'text',
  'text/x-markdown': 'text',
  'text/html': 'html',
  'application/xhtml+xml': 'html',
  'application/json': 'json',
  'text/csv': 'csv',
  'application/pdf': 'pdf',
};

interface Extracted {
  text: string;
  title?: string | undefined;
}

const EXTRACTORS: Readonly<Record<Format, (bytes: Uint8Array) => Extracted | Promise<Extracted>>> = {
  text: (bytes) => ({ text: decodeUtf8(bytes) }),
  html: (bytes) => htmlDocumentToText(decodeUtf8(bytes)),
  json: (bytes) => ({ text: flattenJson(JSON.parse(decodeUtf8(bytes))).join('\n') }),
  csv: (bytes) => ({ text: csvRowsToText(parseCsv(decodeUtf8(bytes))).join('\n') }),
  pdf: pdfToText,
};

export async function extractText(key: string, bytes: Uint8Array, contentType?: string): Promise<ExtractionResult> {
  const format = detectFormat(key, contentType);
  if (!format) return { skipped: 'unsupported_type', detail: describeType(key, contentType) };
  if (bytes.byteLength === 0) return { skipped: 'empty' };
  let extracted: Extracted;
  try {
    extracted = await EXTRACTORS[format](bytes);
  } catch (error) {
    return { skipped: 'extraction_failed', detail: `${format}: ${errorMessage(error)}` };
  }
  const text = normalizeText(extracted.text);
  if (text === '') return { skipped: 'empty' };
  const title = extracted.title?.trim();
  return title ? { text, title } : { text };
}

export function detectFormat(key: string, contentType?: string): Format | undefined {
  const extension = fileExtension(key);
  const byExtension = extension === undefined ? undefined : FORMAT_BY_EXTENSION[extension];
  return byExtension ?? (contentType ? FORMAT_BY_CONTENT_TYPE[mediaType(contentType)] : undefined);
}

function fileExtension(key: string): string | undefined {
  const name = key.slice(key.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  // A leading dot (".env") names a file, it is not an extension.
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : undefined;
}

/** `text/html; charset=utf-8` → `text/html`. */
function mediaType(contentType: string): string {
  return (contentType.split(';', 1)[0] ?? '').trim().toLowerCase();
}

function describeType(key: string, contentType?: string): string {
  const extension = fileExtension(key);
  const parts = [extension ? `extension .${extension}` : 'no extension', ...(contentType ? [`content type ${contentType}`] : [])];
  return parts.join(', ');
}

// The default decoders drop a leading BOM and replace invalid sequences instead of throwing.
const utf8Decoder = new TextDecoder('utf-8');
const utf16leDecoder = new TextDecoder('utf-16le');
const utf16beDecoder = new TextDecoder('utf-16be');

/**
 * UTF-8, or UTF-16 when a byte order mark says so (Windows tools write it). A NUL character in the
 * result means binary content under a text name: indexing it would only add noise to retrieval.
 */
function decodeUtf8(bytes: Uint8Array): string {
  const decoder = bytes[0] === 0xff && bytes[1] === 0xfe ? utf16leDecoder : bytes[0] === 0xfe && bytes[1] === 0xff ? utf16beDecoder : utf8Decoder;
  const text = decoder.decode(bytes);
  if (text.includes('\u0000')) throw new Error('binary content (NUL bytes) in a text file');
  return text;
}

// Non-breaking spaces (`&nbsp;`, PDFs) would otherwise glue words together for tokenizers.
function normalizeText(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(/\u00a0/g, ' ').trim();
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// --- HTML -------------------------------------------------------------------------------------

const HTML_OPTIONS: HtmlToTextOptions = {
  wordwrap: false,
  selectors: [
    // Link targets and images are noise for retrieval; the link text stays.
    { selector: 'a', options: { ignoreHref: true } },
    { selector: 'img', format: 'skip' },
    { selector: 'script', format: 'skip' },
    { selector: 'style', format: 'skip' },
    { selector: 'noscript', format: 'skip' },
    // html-to-text upper-cases headings by default; keep the author's spelling.
    ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((selector) => ({ selector, options: { uppercase: false } })),
    { selector: 'table', options: { uppercaseHeaderCells: false } },
  ],
};

function htmlDocumentToText(html: string): Extracted {
  return { text: htmlToText(html, HTML_OPTIONS), title: htmlTitle(html) };
}

function htmlTitle(html: string): string | undefined {
  const inner = /<title\b[^>]*>([\s\S]*?)<\/title\s*>/i.exec(html)?.[1];
  // Converting the inner markup decodes entities (`&amp;`) and collapses whitespace.
  return inner === undefined ? undefined : htmlToText(inner, { wordwrap: false }) || undefined;
}

// --- JSON -------------------------------------------------------------------------------------

/** `{"a":{"b":[1,"x"]}}` → `a.b[0]: 1`, `a.b[1]: x`: each leaf with its path, so values are searchable in context. */
export function flattenJson(value: unknown, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((item, index) => flattenJson(item, `${path}[${index}]`));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([name, item]) => flattenJson(item, path ? `${path}.${name}` : name));
  }
  const isLeaf = typeof value === 'number' || typeof value === 'boolean' || (typeof value === 'string' && value.trim() !== '');
  if (!isLeaf) return [];
  return [path ? `${path}: ${String(value)}` : String(value)];
}

// --- CSV --------------------------------------------------------------------------------------

/** RFC 4180: comma-separated, `"`-quoted fields may hold commas, newlines and `""` for a quote. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let inQuotes = false;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (inQuotes) {
      if (char !== '"') field += char;
      else if (text[index + 1] === '"') field += text[++index];
      else inQuotes = false;
    } else if (char === '"' && field === '') {
      inQuotes = true;
    } else if (char === ',') {
      row.push(field);
      field = '';
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && text[index + 1] === '\n') index++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else {
      field += char;
    }
  }
  if (inQuotes) throw new Error('unterminated quoted field');
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}

/** One line per data row, `header: value; header: value`, so every value carries its column name. */
export function csvRowsToText(rows: readonly (readonly string[])[]): string[] {
  const [header = [], ...records] = rows;
  const names = header.map((name) => name.trim());
  return records
    .map((record) =>
      record
        // A quoted field may span lines; collapsing them keeps one record per line.
        .map((value, column) => ({ name: names[column] || `column ${column + 1}`, value: value.replace(/\s+/g, ' ').trim() }))
        .filter(({ value }) => value !== '')
        .map(({ name, value }) => `${name}: ${value}`)
        .join('; '),
    )
    .filter((line) => line !== '');
}

// --- PDF --------------------------------------------------------------------------------------

const PDFJS_VERBOSITY_ERRORS = 0;

async function pdfToText(bytes: Uint8Array): Promise<Extracted> {
  // pdf.js takes ownership of (detaches) the buffer it is given; a copy keeps the caller's bytes intact.
  const pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: PDFJS_VERBOSITY_ERRORS });
  try {
    const { text } = await extractPdfText(pdf, { mergePages: true });
    const { info } = await pdf.getMetadata();
    const title = (info as { Title?: unknown } | undefined)?.Title;
    return { text, title: typeof title === 'string' ? title : undefined };
  } finally {
    // Passing a proxy (rather than bytes) to extractText leaves its cleanup to us.
    await pdf.loadingTask.destroy();
  }
}

// --- shared by the sources --------------------------------------------------------------------

export const DEFAULT_MAX_OBJECT_BYTES = 50 * 1024 * 1024;

/** What a source knows about one file once it has read it. */
export interface FetchedFile {
  id: string;
  key: string;
  bytes: Uint8Array;
  size: number;
  contentType?: string | undefined;
  etag?: string | undefined;
  lastModified?: Date | undefined;
}

export type FileOutcome = { document: SourceDocument } | { skipped: SkippedFile };

export async function toFileOutcome(file: FetchedFile): Promise<FileOutcome> {
  const result = await extractText(file.key, file.bytes, file.contentType);
  if ('skipped' in result) return { skipped: skippedFile(file.key, result.skipped, result.detail) };
  return {
    document: {
      id: file.id,
      text: result.text,
      metadata: {
        source: file.id,
        key: file.key,
        size: file.size,
        ...(file.etag ? { etag: file.etag } : {}),
        ...(file.contentType ? { content_type: file.contentType } : {}),
        ...(file.lastModified ? { last_modified: file.lastModified.toISOString() } : {}),
        ...(result.title ? { title: result.title } : {}),
      },
    },
  };
}

export function skippedFile(key: string, reason: SkippedFile['reason'], detail?: string): SkippedFile {
  return detail ? { key, reason, detail } : { key, reason };
}

/** The too_large skip for a file over the limit, checked before reading so large files are never downloaded. */
export function sizeLimitOutcome(key: string, size: number, maxBytes: number): FileOutcome | undefined {
  return size > maxBytes ? { skipped: skippedFile(key, 'too_large', `${size} bytes exceeds the limit of ${maxBytes}`) } : undefined;
}

export function toLoadResult(outcomes: readonly FileOutcome[]): LoadResult {
  const result: LoadResult = { documents: [], skipped: [] };
  for (const outcome of outcomes) {
    if ('document' in outcome) result.documents.push(outcome.document);
    else result.skipped.push(outcome.skipped);
  }
  return result;
}
