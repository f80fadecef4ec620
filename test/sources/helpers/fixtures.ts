import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { LoadResult, SourceDocument } from '../../../src/sources/document-source.ts';

export const FIXTURES_DIR = fileURLToPath(new URL('../../fixtures/documents/', import.meta.url));

export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.txt': 'text/plain',
  '.md': 'text/markdown',
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json',
  '.csv': 'text/csv',
  '.pdf': 'application/pdf',
  '.png': 'image/png',
  '.bin': 'application/octet-stream',
};

/** Every fixture file as `{ key, body }`, keys relative to the fixture folder with `/`, sorted. */
export function fixtureFiles(): { key: string; body: Uint8Array; contentType: string | undefined }[] {
  const files: string[] = readdirSync(FIXTURES_DIR, { recursive: true, encoding: 'utf8' });
  return files
    .filter((file) => statSync(path.join(FIXTURES_DIR, file)).isFile())
    .map((file) => file.split(path.sep).join('/'))
    .sort()
    .map((key) => ({ key, body: readFileSync(path.join(FIXTURES_DIR, key)), contentType: CONTENT_TYPES[path.extname(key)] }));
}

export function readFixture(key: string): Buffer {
  return readFileSync(path.join(FIXTURES_DIR, key));
}

/**
 * What both sources must produce from the fixture folder: the same text for the same file,
 * whether it came from S3 or disk. `keyPrefix` is the S3 prefix ('' for fs).
 */
export function expectFixtureDocuments(result: LoadResult, keyPrefix = ''): void {
  const byKey = new Map(result.documents.map((document) => [document.metadata.key.slice(keyPrefix.length), document]));
  expect([...byKey.keys()]).toEqual(['catalog.json', 'guide.md', 'nested/faq.md', 'notes.txt', 'page.html', 'people.csv', 'report.pdf']);
  const text = (key: string): string => (byKey.get(key) as SourceDocument).text;

  expect(text('notes.txt')).toBe('The aurora borealis handbook.\nAuroras appear near the magnetic poles.');
  expect(text('guide.md')).toContain('New hires get a **welcome kit** on day one.');
  expect(text('nested/faq.md')).toBe('Frequently asked: the cafeteria opens at eight.');

  const html = text('page.html');
  expect(html).toContain('Holiday policy');
  expect(html).toContain('Employees receive twenty-five days of paid leave. See the leave portal for requests.');
  for (const leaked of ['analytics-secret-token', 'inline-script-marker', 'font-family', 'https://intranet', '<p>']) {
    expect(html).not.toContain(leaked);
  }
  expect(byKey.get('page.html')?.metadata.title).toBe('Holiday & Leave Policy');

  expect(text('catalog.json').split('\n')).toEqual([
    'product.name: Nimbus Router',
    'product.price: 129.5',
    'product.in_stock: true',
    'tags[0]: networking',
    'tags[1]: wifi6',
  ]);
  expect(text('people.csv').split('\n')).toEqual([
    'name: Ada Lovelace; role: Engineer; motto: Think, then compute',
    'name: Grace "Amazing" Hopper; role: Admiral; motto: Line one line two',
  ]);
  expect(text('report.pdf')).toBe('Quarterly report for the Zephyr project.\nRevenue grew (strongly) in the third quarter.');
  expect(byKey.get('report.pdf')?.metadata.title).toBe('Zephyr Quarterly Report');

  expect(result.skipped.map((file) => ({ ...file, key: file.key.slice(keyPrefix.length) }))).toEqual([
    { key: 'blob.bin', reason: 'unsupported_type', detail: expect.stringContaining('.bin') },
    { key: 'empty.txt', reason: 'empty' },
    { key: 'image.png', reason: 'unsupported_type', detail: expect.stringContaining('.png') },
  ]);
}
