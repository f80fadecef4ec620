import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BuildAbortedError, BuildError, UnknownModelError } from '../../src/errors.ts';
import { buildIndexData, chunkDocuments, sectionsOf, type BuildRequest } from '../../src/indexing/build-index.ts';
import { inProcessIndexBuilder, WorkerIndexBuilder } from '../../src/indexing/index-builder.ts';
import { validateTenantConfig } from '../../src/tenants/tenant-config.ts';

const request = (overrides: Record<string, unknown> = {}): BuildRequest => ({
  tenantId: 'acme',
  config: validateTenantConfig({ version: 'v1', data_source: { type: 'fs', path: 'examples/acme-handbook' }, index_params: { chunk_size: 64, chunk_overlap: 8 }, ...overrides }),
  sourceEnvironment: {},
});

describe('chunkDocuments', () => {
  it('splits into chunks with stable ids and the document metadata', () => {
    const text = Array.from({ length: 40 }, (_, index) => `Sentence number ${index} talks about rockets and gardens.`).join(' ');
    const document = { id: 's3://b/k.txt', text, metadata: { source: 's3://b/k.txt', key: 'k.txt', etag: 'abc', size: text.length } };
    const first = chunkDocuments([document], 64, 8);
    const second = chunkDocuments([document], 64, 8);
    expect(first.ids.length).toBeGreaterThan(3);
    expect(first.ids).toEqual(second.ids);
    expect(first.ids[0]).toBe('s3://b/k.txt#0');
    expect(first.metadata[1]).toEqual({ source: 's3://b/k.txt', key: 'k.txt', etag: 'abc', size: text.length, chunk: 1 });
    expect(first.texts.join(' ')).toContain('Sentence number 39');
  });
});

describe('sectionsOf', () => {
  const paragraph = (index: number) => `Paragraph ${index} says something about leave policies. It has two sentences.\n\n`;

  it('keeps every character, in order, and every section within the limit', () => {
    const texts = [
      Array.from({ length: 300 }, (_, index) => paragraph(index)).join(''),
      'one very long paragraph. '.repeat(2_000),
      '我们的公司政策规定员工每年有二十五天带薪假期'.repeat(200),
      'mixed\n\n' + 'x'.repeat(5_000) + ' tail. ' + '\n\n\n' + 'end',
      '',
    ];
    for (const text of texts) {
      const sections = sectionsOf(text, 2_000, 300);
      expect(sections.join('')).toBe(text);
      expect(sections.every((section) => section.length <= 2_000 && section.length > 0)).toBe(true);
    }
  });

  it('cuts at blank lines when it can, so a section holds whole paragraphs', () => {
    const text = Array.from({ length: 100 }, (_, index) => paragraph(index)).join('');
    const sections = sectionsOf(text, 1_000, 300);
    expect(sections.length).toBeGreaterThan(5);
    expect(sections.every((section) => section.endsWith('\n\n'))).toBe(true);
  });

  it('cuts a long paragraph at sentence ends, and an unbroken run (unpunctuated CJK) into short sections', () => {
    const sentences = sectionsOf('A sentence that ends here. '.repeat(200), 1_000, 300);
    expect(sentences.slice(0, -1).every((section) => section.endsWith('. '))).toBe(true);
    const run = '我们的公司政策规定员工每年有二十五天带薪假期'.repeat(100);
    const pieces = sectionsOf(`Intro. ${run} Outro.`, 8_192, 300);
    expect(pieces.filter((section) => /^[^ .]+$/u.test(section)).every((section) => section.length <= 300)).toBe(true);
    expect(pieces.join('')).toBe(`Intro. ${run} Outro.`);
  });

  it('numbers chunks on across sections, so ids stay unique and stable', () => {
    const text = Array.from({ length: 200 }, (_, index) => paragraph(index)).join('');
    const { ids } = chunkDocuments([{ id: 'file://big.md', text, metadata: { source: 'file://big.md', key: 'big.md', size: text.length } }], 64, 8);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.at(-1)).toBe(`file://big.md#${ids.length - 1}`);
  });
});

describe('buildIndexData', () => {
  it('loads, chunks and embeds into one contiguous array of unit rows', async () => {
    const built = await buildIndexData(request(), new AbortController().signal);
    expect(built.documents).toBe(4);
    expect(built.embeddingModel).toBe('hash');
    const { table } = built;
    expect(table.embeddings.length).toBe(table.ids.length * table.dimensions);
    for (let row = 0; row < table.ids.length; row += 1) {
      let norm = 0;
      for (let column = 0; column < table.dimensions; column += 1) norm += table.embeddings[row * table.dimensions + column]! ** 2;
      expect(norm).toBeCloseTo(1, 4);
    }
  });

  it('fails permanently, naming what was skipped, when nothing indexable is found', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'ragswap-empty-'));
    try {
      const empty = await buildIndexData(request({ data_source: { type: 'fs', path: folder } }), new AbortController().signal).catch((caught: unknown) => caught);
      expect(empty).toMatchObject({ code: 'source_empty', permanent: true, message: `no indexable text under folder '${folder}': no files found` });
      await writeFile(path.join(folder, 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
      await writeFile(path.join(folder, 'blank.txt'), '   \n');
      const skipped = await buildIndexData(request({ data_source: { type: 'fs', path: folder } }), new AbortController().signal).catch((caught: unknown) => caught);
      expect(skipped).toMatchObject({ code: 'source_empty', message: expect.stringMatching(/all 2 files skipped, e\.g\. .*logo\.png \(unsupported_type\)/) });
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('fails an unknown embedding model permanently, before touching the source', async () => {
    const failing = request({ embedding_model: 'gpt-17-embed', data_source: { type: 'fs', path: '/does/not/exist' } });
    const error = await buildIndexData(failing, new AbortController().signal).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UnknownModelError);
    expect((error as UnknownModelError).permanent).toBe(true);
    expect((error as Error).message).toContain("unknown embedding model 'gpt-17-embed'");
  });
});

describe('WorkerIndexBuilder', () => {
  it('builds in a worker thread exactly what the in-process build produces', async () => {
    const builder = new WorkerIndexBuilder();
    try {
      const inWorker = await builder.build(request(), new AbortController().signal);
      const inProcess = await inProcessIndexBuilder.build(request(), new AbortController().signal);
      expect(inWorker.table.ids).toEqual(inProcess.table.ids);
      expect(inWorker.table.texts).toEqual(inProcess.table.texts);
      expect(inWorker.table.embeddings).toBeInstanceOf(Float32Array);
      expect(Array.from(inWorker.table.embeddings)).toEqual(Array.from(inProcess.table.embeddings));
      // A second build reuses the warm worker and still works.
      const again = await builder.build(request(), new AbortController().signal);
      expect(again.table.ids).toEqual(inProcess.table.ids);
    } finally {
      await builder.close();
    }
  });

  it('carries a permanent source error across the thread boundary', async () => {
    const builder = new WorkerIndexBuilder();
    try {
      const error = await builder.build(request({ data_source: { type: 'fs', path: 'examples/missing-folder' } }), new AbortController().signal).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(BuildError);
      expect(error).toMatchObject({ permanent: true, code: 'source_not_found' });
    } finally {
      await builder.close();
    }
  });

  it('aborts a running build at once and keeps working afterwards', async () => {
    const builder = new WorkerIndexBuilder();
    try {
      const controller = new AbortController();
      const running = builder.build(request(), controller.signal);
      setTimeout(() => controller.abort(), 5);
      await expect(running).rejects.toBeInstanceOf(BuildAbortedError);
      const after = await builder.build(request(), new AbortController().signal);
      expect(after.documents).toBe(4);
    } finally {
      await builder.close();
    }
  });

  it('refuses work once closed', async () => {
    const builder = new WorkerIndexBuilder();
    await builder.close();
    await expect(builder.build(request(), new AbortController().signal)).rejects.toThrow(/closed/);
  });
});
