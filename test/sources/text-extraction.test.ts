import { describe, expect, it } from 'vitest';
import { csvRowsToText, detectFormat, extractText, flattenJson, parseCsv, toFileOutcome } from '../../src/sources/text-extraction.ts';
import { readFixture } from './helpers/fixtures.ts';
import { buildMinimalPdf, REPORT_PDF_LINES, REPORT_PDF_TITLE } from './helpers/minimal-pdf.ts';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('detectFormat', () => {
  it('goes by extension first, case-insensitively', () => {
    expect(detectFormat('a/b/Guide.MD')).toBe('text');
    expect(detectFormat('page.htm', 'text/plain')).toBe('html');
    expect(detectFormat('notes.markdown')).toBe('text');
  });

  it('falls back to the content type when the extension is unknown or missing', () => {
    expect(detectFormat('README', 'text/markdown; charset=utf-8')).toBe('text');
    expect(detectFormat('export.data', 'text/csv')).toBe('csv');
    expect(detectFormat('folder.d/doc', 'application/pdf')).toBe('pdf');
    expect(detectFormat('.env')).toBeUndefined();
    expect(detectFormat('blob', 'application/octet-stream')).toBeUndefined();
  });
});

describe('extractText', () => {
  it('decodes text as UTF-8 without the BOM and with LF line ends', async () => {
    expect(await extractText('notes.txt', readFixture('notes.txt'))).toEqual({
      text: 'The aurora borealis handbook.\nAuroras appear near the magnetic poles.',
    });
    expect(await extractText('umlaut.txt', utf8('Grüße aus Köln'))).toEqual({ text: 'Grüße aus Köln' });
  });

  it('decodes UTF-16 text marked by a byte order mark, little- and big-endian', async () => {
    const text = 'Grüße, 你好';
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const be = Buffer.from(le.subarray(2)).swap16();
    expect(await extractText('windows.txt', new Uint8Array(le))).toEqual({ text });
    expect(await extractText('be.txt', new Uint8Array(Buffer.concat([Buffer.from([0xfe, 0xff]), be])))).toEqual({ text });
  });

  it('skips binary content under a text name instead of indexing NUL bytes', async () => {
    const binary = new Uint8Array(256).map((_, index) => index);
    expect(await extractText('dump.txt', binary)).toEqual({ skipped: 'extraction_failed', detail: 'text: binary content (NUL bytes) in a text file' });
    expect(await extractText('data.json', new Uint8Array([0x7b, 0x00, 0x7d]))).toMatchObject({ skipped: 'extraction_failed' });
  });

  it('skips empty and whitespace-only files as empty, not as errors', async () => {
    expect(await extractText('empty.txt', new Uint8Array())).toEqual({ skipped: 'empty' });
    expect(await extractText('blank.md', utf8(' \n\t\r\n'))).toEqual({ skipped: 'empty' });
    expect(await extractText('only-markup.html', utf8('<html><script>var x = 1;</script></html>'))).toEqual({ skipped: 'empty' });
    expect(await extractText('nulls.json', utf8('{"a": null, "b": [], "c": "  "}'))).toEqual({ skipped: 'empty' });
  });

  it('reports unsupported types with what was seen', async () => {
    expect(await extractText('image.png', readFixture('image.png'), 'image/png')).toEqual({
      skipped: 'unsupported_type',
      detail: 'extension .png, content type image/png',
    });
    expect(await extractText('archive', utf8('x'))).toEqual({ skipped: 'unsupported_type', detail: 'no extension' });
  });

  it('turns HTML into its visible text and takes the <title>', async () => {
    const result = await extractText('page.html', readFixture('page.html'));
    expect(result).toEqual({
      text: 'Holiday policy\n\nEmployees receive twenty-five days of paid leave. See the leave portal for requests.',
      title: 'Holiday & Leave Policy',
    });
    const untitled = await extractText('x.html', utf8('<p>Caf&eacute;&nbsp;menu <img src="a.png" alt="logo"></p><style>p{}</style>'));
    expect(untitled).toEqual({ text: 'Café menu' });
  });

  it('flattens JSON leaves into path: value lines, and fails on invalid JSON', async () => {
    expect(await extractText('catalog.json', readFixture('catalog.json'))).toEqual({
      text: 'product.name: Nimbus Router\nproduct.price: 129.5\nproduct.in_stock: true\ntags[0]: networking\ntags[1]: wifi6',
    });
    expect(await extractText('scalar.json', utf8('"just a string"'))).toEqual({ text: 'just a string' });
    const invalid = await extractText('broken.json', utf8('{"a": 1,'));
    expect(invalid).toMatchObject({ skipped: 'extraction_failed', detail: expect.stringMatching(/^json: /) });
  });

  it('renders CSV rows as header: value pairs', async () => {
    expect(await extractText('people.csv', readFixture('people.csv'))).toEqual({
      text: 'name: Ada Lovelace; role: Engineer; motto: Think, then compute\nname: Grace "Amazing" Hopper; role: Admiral; motto: Line one line two',
    });
    expect(await extractText('header-only.csv', utf8('a,b,c\n'))).toEqual({ skipped: 'empty' });
    expect(await extractText('open-quote.csv', utf8('a,b\n"never closed,1\n'))).toEqual({
      skipped: 'extraction_failed',
      detail: 'csv: unterminated quoted field',
    });
  });

  it('extracts the text and title of a real PDF without detaching the caller’s bytes', async () => {
    const bytes = readFixture('report.pdf');
    expect(await extractText('report.pdf', bytes)).toEqual({
      text: 'Quarterly report for the Zephyr project.\nRevenue grew (strongly) in the third quarter.',
      title: 'Zephyr Quarterly Report',
    });
    expect(bytes.byteLength).toBeGreaterThan(0);
    expect(await extractText('no-title.pdf', buildMinimalPdf(['Only a body line.']))).toEqual({ text: 'Only a body line.' });
  });

  it('reports a corrupt PDF as extraction_failed', async () => {
    const result = await extractText('corrupt.pdf', utf8('%PDF-1.4\nthis is not really a pdf'));
    expect(result).toMatchObject({ skipped: 'extraction_failed', detail: expect.stringMatching(/^pdf: /) });
  });

  it('keeps the committed PDF fixture reproducible from the generator', () => {
    expect(Buffer.from(buildMinimalPdf(REPORT_PDF_LINES, REPORT_PDF_TITLE)).equals(readFixture('report.pdf'))).toBe(true);
  });
});

describe('parseCsv', () => {
  it('handles quoted commas, doubled quotes, embedded newlines and CRLF', () => {
    expect(parseCsv('a,b\r\n"x, y","say ""hi"""\n"multi\r\nline",\n')).toEqual([
      ['a', 'b'],
      ['x, y', 'say "hi"'],
      ['multi\r\nline', ''],
    ]);
  });

  it('keeps a last row without a trailing newline and empty fields', () => {
    expect(parseCsv('a,,c')).toEqual([['a', '', 'c']]);
    expect(parseCsv('')).toEqual([]);
  });
});

describe('csvRowsToText', () => {
  it('names extra columns, drops blank values and blank rows', () => {
    expect(csvRowsToText([['id', 'name'], ['1', 'Ann', 'extra'], ['', ' '], ['2', '']])).toEqual([
      'id: 1; name: Ann; column 3: extra',
      'id: 2',
    ]);
  });
});

describe('flattenJson', () => {
  it('paths nested objects and arrays and drops nulls', () => {
    expect(flattenJson({ a: { b: [1, { c: false }] }, d: null })).toEqual(['a.b[0]: 1', 'a.b[1].c: false']);
    expect(flattenJson([['x']])).toEqual(['[0][0]: x']);
  });
});

describe('toFileOutcome', () => {
  it('wraps extracted text as a document with the file’s metadata', async () => {
    const outcome = await toFileOutcome({
      id: 's3://kb/page.html',
      key: 'page.html',
      bytes: readFixture('page.html'),
      size: 518,
      contentType: 'text/html',
      etag: 'abc',
      lastModified: new Date('2024-05-01T10:00:00Z'),
    });
    expect(outcome).toEqual({
      document: {
        id: 's3://kb/page.html',
        text: expect.stringContaining('Holiday policy'),
        metadata: {
          source: 's3://kb/page.html',
          key: 'page.html',
          size: 518,
          etag: 'abc',
          content_type: 'text/html',
          last_modified: '2024-05-01T10:00:00.000Z',
          title: 'Holiday & Leave Policy',
        },
      },
    });
  });

  it('reports a file that yields no text as skipped under its key', async () => {
    expect(await toFileOutcome({ id: 'file://empty.txt', key: 'empty.txt', bytes: new Uint8Array(), size: 0 })).toEqual({
      skipped: { key: 'empty.txt', reason: 'empty' },
    });
  });
});
