import { describe, expect, it } from 'vitest';
import { lines, ndjson, sseData } from '../../src/models/providers/stream-parsing.ts';

async function* chunks(...parts: string[]): AsyncGenerator<string> {
  yield* parts;
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('stream parsing', () => {
  it('re-chunks lines split anywhere, CRLF included, and keeps a last line without newline', async () => {
    expect(await collect(lines(chunks('ab', 'c\r', '\nd', 'e\n\nf')))).toEqual(['abc', 'de', '', 'f']);
  });

  it('yields SSE data payloads, skipping comments and other fields, joining multi-line data, stopping at [DONE]', async () => {
    const stream = chunks(': ping\n\nevent: message\nid: 1\nda', 'ta: {"a":1}\n\ndata: line one\ndata: line two\n\n', 'data: [DONE]\n\ndata: {"after":true}\n\n');
    expect(await collect(sseData(stream))).toEqual(['{"a":1}', 'line one\nline two']);
  });

  it('parses NDJSON objects across chunk boundaries, ignoring blank lines', async () => {
    expect(await collect(ndjson(chunks('{"a":', '1}\n\n{"b":2}')))).toEqual([{ a: 1 }, { b: 2 }]);
  });
});
