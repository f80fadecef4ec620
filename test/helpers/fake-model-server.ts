import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { embedText } from '../../src/models/hash-embedding.ts';

/**
 * A loopback server speaking the OpenAI (`/v1/embeddings`, `/v1/chat/completions`) and Ollama
 * (`/api/embed`, `/api/chat`) wire formats. Embeddings are the hash embedding of the text (16-d,
 * deliberately not unit length), so retrieval through it finds the right chunk; chat answers
 * echo the last user message's first line. Tests script failures with `failNext`.
 */
export interface RecordedRequest {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: any;
  readonly at: number;
}

export type Scripted = (response: ServerResponse) => void;

export interface FakeModelServer {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** The next requests (in order) are answered by these instead of the normal handler. */
  failNext(...responses: Scripted[]): void;
  /** Like failNext, but only for requests to `path` (others pass through). */
  failNextOn(path: string, ...responses: Scripted[]): void;
  /** Answer text streamed in this many pieces (default 3). */
  chatAnswer: string;
  close(): Promise<void>;
}

export const FAKE_DIMENSIONS = 16;

export function status(code: number, headers: Record<string, string> = {}, body = '{"error":{"message":"scripted"}}'): Scripted {
  return (response) => {
    response.writeHead(code, { 'content-type': 'application/json', ...headers });
    response.end(body);
  };
}

/** Never answers (until the server closes): for timeouts. */
export const hang: Scripted = () => undefined;

function fakeVector(text: string): number[] {
  // ×3: providers must normalise what they receive.
  return Array.from(embedText(text, FAKE_DIMENSIONS), (value) => value * 3);
}

export async function startFakeModelServer(): Promise<FakeModelServer> {
  const requests: RecordedRequest[] = [];
  const scripted: { path?: string; respond: Scripted }[] = [];
  const hanging = new Set<ServerResponse>();
  const state = { chatAnswer: 'The answer is in the handbook [1].' };
  const server = createServer((request, response) => {
    let raw = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (raw += chunk));
    request.on('end', () => {
      const body = raw ? JSON.parse(raw) : undefined;
      requests.push({ path: request.url ?? '', headers: request.headers, body, at: performance.now() });
      const position = scripted.findIndex((entry) => entry.path === undefined || entry.path === request.url);
      const script = position >= 0 ? scripted.splice(position, 1)[0]!.respond : undefined;
      if (script) {
        if (script === hang) hanging.add(response);
        return script(response);
      }
      handle(request.url ?? '', body, response, state.chatAnswer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failNext: (...responses) => scripted.push(...responses.map((respond) => ({ respond }))),
    failNextOn: (path, ...responses) => scripted.push(...responses.map((respond) => ({ path, respond }))),
    get chatAnswer() {
      return state.chatAnswer;
    },
    set chatAnswer(value: string) {
      state.chatAnswer = value;
    },
    async close() {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function json(response: ServerResponse, value: unknown): void {
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(JSON.stringify(value));
}

function pieces(text: string, count = 3): string[] {
  const size = Math.ceil(text.length / count);
  return Array.from({ length: count }, (_, index) => text.slice(index * size, (index + 1) * size)).filter(Boolean);
}

function handle(path: string, body: any, response: ServerResponse, answer: string): void {
  if (path === '/v1/embeddings') {
    if (body.model === 'missing-model') return status(404, {}, '{"error":{"message":"The model `missing-model` does not exist","code":"model_not_found"}}')(response);
    if (body.model === 'forbidden-model') return status(401, {}, '{"error":{"message":"Incorrect API key provided","code":"invalid_api_key"}}')(response);
    // Reversed on purpose: clients must order by `index`, not by position.
    const data = (body.input as string[]).map((text, index) => ({ object: 'embedding', index, embedding: fakeVector(text) })).reverse();
    return json(response, { object: 'list', data, model: body.model, usage: { prompt_tokens: 1, total_tokens: 1 } });
  }
  if (path === '/api/embed') {
    if (body.model === 'missing-model') return status(404, {}, '{"error":"model \\"missing-model\\" not found, try pulling it first"}')(response);
    return json(response, { model: body.model, embeddings: (body.input as string[]).map(fakeVector) });
  }
  if (path === '/v1/chat/completions') {
    if (!body.stream) return json(response, { id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: answer }, finish_reason: 'stop' }] });
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write(': keep-alive comment\n\n');
    for (const piece of pieces(answer)) response.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: piece } }] })}\n\n`);
    response.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
    response.end('data: [DONE]\n\n');
    return;
  }
  if (path === '/api/chat') {
    if (!body.stream) return json(response, { model: body.model, message: { role: 'assistant', content: answer }, done: true });
    response.writeHead(200, { 'content-type': 'application/x-ndjson' });
    for (const piece of pieces(answer)) response.write(`${JSON.stringify({ model: body.model, message: { role: 'assistant', content: piece }, done: false })}\n`);
    response.end(`${JSON.stringify({ model: body.model, message: { role: 'assistant', content: '' }, done: true })}\n`);
    return;
  }
  status(404, {}, '{"error":"no such route"}')(response);
}
