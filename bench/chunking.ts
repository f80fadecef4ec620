import { SentenceSplitter } from '@llamaindex/core/node-parser';
import { chunkDocuments } from '../src/indexing/build-index.ts';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, randomGenerator, randomWords } from './support.ts';

/**
 * Chunking one large document: ragswap's sectioned chunking (`chunkDocuments`) against handing the
 * whole text to LlamaIndex's SentenceSplitter, as the build did before, at the same chunk size and
 * overlap. Both run in this process, one after the other, on the same texts.
 */

export interface ChunkingRow {
  readonly document: string;
  readonly kilobytes: number;
  readonly sectionedMs: number;
  readonly wholeMs: number;
  readonly sectionedChunks: number;
  readonly wholeChunks: number;
}

/** Markdown-like text: headings and paragraphs separated by blank lines. */
function markdown(kilobytes: number): string {
  const random = randomGenerator(7);
  const parts: string[] = [];
  for (let size = 0, section = 0; size < kilobytes * 1024; section += 1) {
    const part = `## Section ${section}\n\n${randomWords(random, 40)}. ${randomWords(random, 30)}.\n\n- ${randomWords(random, 8)}\n- ${randomWords(random, 8)}\n\n`;
    parts.push(part);
    size += part.length;
  }
  return parts.join('');
}

function time<T>(run: () => T): { result: T; ms: number } {
  const started = performance.now();
  const result = run();
  return { result, ms: performance.now() - started };
}

export function chunkingSpeed(options: { markdownKilobytes: readonly number[]; cjkCharacters: number; chunkSize: number; chunkOverlap: number }): ChunkingRow[] {
  const { chunkSize, chunkOverlap } = options;
  const essay = path.join(ROOT, '..', 'shared', 'eval', 'llama_paul_graham_essay', 'docs', 'source.txt');
  const documents = [
    ...options.markdownKilobytes.map((kilobytes) => ({ name: `markdown ${kilobytes} KB`, text: markdown(kilobytes) })),
    // Real prose, when the eval data sits beside the repository (../shared/eval).
    ...(existsSync(essay) ? [{ name: 'Paul Graham essay (eval set)', text: readFileSync(essay, 'utf8') }] : []),
    { name: `unpunctuated CJK ${options.cjkCharacters} chars`, text: '我们的公司政策规定员工每年有二十五天带薪假期并且可以申请额外的无薪假期'.repeat(200).slice(0, options.cjkCharacters) },
  ];
  // Warm both paths (tokenizer tables, JIT) on a small text first.
  chunkDocuments([{ id: 'warm', text: markdown(4), metadata: { source: 'warm', key: 'warm', size: 0 } }], chunkSize, chunkOverlap);
  return documents.map(({ name, text }) => {
    const sectioned = time(() => chunkDocuments([{ id: 'd', text, metadata: { source: 'd', key: 'd', size: text.length } }], chunkSize, chunkOverlap));
    const whole = time(() => new SentenceSplitter({ chunkSize, chunkOverlap }).splitText(text));
    return {
      document: name,
      kilobytes: Math.round(Buffer.byteLength(text) / 1024),
      sectionedMs: sectioned.ms,
      wholeMs: whole.ms,
      sectionedChunks: sectioned.result.ids.length,
      wholeChunks: whole.result.length,
    };
  });
}
