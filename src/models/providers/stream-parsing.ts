/**
 * Wire formats of streamed completions: OpenAI-compatible servers send Server-Sent Events
 * (`data: {json}` lines, `data: [DONE]` at the end), Ollama sends NDJSON (one JSON object per
 * line). Network chunks split lines anywhere, so both are parsed from a line stream.
 */

/** Re-chunks text into lines (without their `\n` / `\r\n`); a last line without a newline is yielded too. */
export async function* lines(chunks: AsyncIterable<string>): AsyncGenerator<string> {
  let buffered = '';
  for await (const chunk of chunks) {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      yield buffered.slice(0, newline).replace(/\r$/, '');
      buffered = buffered.slice(newline + 1);
    }
  }
  if (buffered.length > 0) yield buffered.replace(/\r$/, '');
}

/**
 * The `data` payload of each SSE event (multi-line data joined with `\n`, as the SSE spec says);
 * comments (`:`) and other fields are skipped. Ends at `[DONE]`.
 */
export async function* sseData(chunks: AsyncIterable<string>): AsyncGenerator<string> {
  let data: string[] = [];
  for await (const line of lines(chunks)) {
    if (line === '') {
      if (data.length > 0) {
        const payload = data.join('\n');
        data = [];
        if (payload === '[DONE]') return;
        yield payload;
      }
      continue;
    }
    if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  if (data.length > 0 && data.join('\n') !== '[DONE]') yield data.join('\n');
}

/** One parsed object per non-blank line. */
export async function* ndjson<T>(chunks: AsyncIterable<string>): AsyncGenerator<T> {
  for await (const line of lines(chunks)) {
    if (line.trim() !== '') yield JSON.parse(line) as T;
  }
}
