import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ModelProviderError } from '../../src/errors.ts';
import { resolveChatModel } from '../../src/models/chat-models.ts';
import { resolveEmbeddingModel } from '../../src/models/embedding-models.ts';
import type { ProviderSettings } from '../../src/models/provider-settings.ts';
import { parseRetryAfter } from '../../src/models/providers/provider-http.ts';
import { FAKE_DIMENSIONS, hang, startFakeModelServer, status, type FakeModelServer } from '../helpers/fake-model-server.ts';
import { freePort } from '../helpers/ports.ts';

/** Providers against a loopback server speaking the OpenAI and Ollama wire formats. */

const API_KEY = 'sk-test-secret-key-1234567890';
let server: FakeModelServer;

function settings(overrides: Partial<ProviderSettings> = {}): ProviderSettings {
  return {
    openaiBaseUrl: `${server.url}/v1`,
    openaiApiKey: API_KEY,
    ollamaHost: server.url,
    requestTimeoutMs: 2_000,
    batchSize: 4,
    concurrency: 2,
    maxRetries: 3,
    retryBaseMs: 10,
    ...overrides,
  };
}

async function rejection(promise: Promise<unknown>): Promise<ModelProviderError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ModelProviderError);
  // Whatever went wrong, the key never appears in what ends up in status and logs.
  expect((error as Error).message).not.toContain(API_KEY);
  return error as ModelProviderError;
}


function norms(out: Float32Array, dimensions: number): number[] {
  return Array.from({ length: out.length / dimensions }, (_, row) => Math.hypot(...out.subarray(row * dimensions, (row + 1) * dimensions)));
}

beforeAll(async () => {
  server = await startFakeModelServer();
});
afterEach(() => {
  server.requests.length = 0;
});
afterAll(async () => {
  await server.close();
});

const texts = Array.from({ length: 10 }, (_, index) => `chunk number ${index} about topic ${index % 3}`);

describe('OpenAI-compatible embeddings', () => {
  it('probes the width, then sends batches of MODEL_BATCH_SIZE with the model, the texts and a bearer key; rows land in order, normalised', async () => {
    const model = resolveEmbeddingModel('openai:fake-embed', settings());
    const dimensions = await model.dimensions();
    expect(dimensions).toBe(FAKE_DIMENSIONS);
    const out = new Float32Array((texts.length + 1) * dimensions);
    await model.embedInto(texts, out, 1, new AbortController().signal);

    const [probe, ...batches] = server.requests;
    expect(probe!.path).toBe('/v1/embeddings');
    expect(batches.map((request) => request.body.input.length)).toEqual([4, 4, 2]);
    expect(batches.flatMap((request) => request.body.input)).toEqual(texts);
    for (const request of server.requests) {
      expect(request.body).toMatchObject({ model: 'fake-embed', encoding_format: 'float' });
      expect(request.headers.authorization).toBe(`Bearer ${API_KEY}`);
    }
    // Row 0 untouched (firstRow = 1); the server returns data reversed and 3× too long.
    expect(Array.from(out.subarray(0, dimensions)).every((value) => value === 0)).toBe(true);
    norms(out, dimensions).slice(1).forEach((norm) => expect(norm).toBeCloseTo(1, 5));
    const own = new Float32Array(dimensions);
    await model.embedInto([texts[7]!], own, 0, new AbortController().signal);
    expect(Array.from(out.subarray(8 * dimensions, 9 * dimensions))).toEqual(Array.from(own));
  });

  it('accepts bare OpenAI model names and sends no Authorization header without a key', async () => {
    const model = resolveEmbeddingModel('text-embedding-3-small', settings({ openaiApiKey: undefined }));
    await model.dimensions();
    expect(server.requests[0]!.body.model).toBe('text-embedding-3-small');
    expect(server.requests[0]!.headers.authorization).toBeUndefined();
  });

  it('keeps at most MODEL_CONCURRENCY requests in flight', async () => {
    const model = resolveEmbeddingModel('openai:fake-embed', settings({ batchSize: 1, concurrency: 2, retryBaseMs: 11 }));
    await model.dimensions();
    server.requests.length = 0;
    let inFlight = 0;
    let peak = 0;
    const original = globalThis.fetch;
    globalThis.fetch = async (...args) => {
      peak = Math.max(peak, ++inFlight);
      try {
        return await original(...args);
      } finally {
        inFlight--;
      }
    };
    try {
      await model.embedInto(texts, new Float32Array(texts.length * FAKE_DIMENSIONS), 0, new AbortController().signal);
    } finally {
      globalThis.fetch = original;
    }
    expect(server.requests).toHaveLength(texts.length);
    expect(peak).toBe(2);
  });

  it('retries a 429 after the Retry-After it names, then succeeds', async () => {
    server.failNext(status(429, { 'retry-after': '0.3' }));
    const model = resolveEmbeddingModel('openai:fake-embed', settings({ retryBaseMs: 12 }));
    await model.dimensions();
    const [limited, retried] = server.requests;
    expect(server.requests).toHaveLength(2);
    expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(280);
  });

  it('backs off and retries on 5xx, and after MODEL_MAX_RETRIES gives up as transient model_unavailable', async () => {
    server.failNext(status(503), status(502));
    await resolveEmbeddingModel('openai:fake-embed', settings({ retryBaseMs: 13 })).dimensions();
    expect(server.requests).toHaveLength(3);

    server.requests.length = 0;
    server.failNext(status(500), status(500), status(500));
    const error = await rejection(resolveEmbeddingModel('openai:fake-embed', settings({ retryBaseMs: 14, maxRetries: 2 })).dimensions());
    expect(server.requests).toHaveLength(3);
    expect(error).toMatchObject({ code: 'model_unavailable', permanent: false });
    expect(error.message).toContain('HTTP 500');
    expect(error.message).toContain('after 3 attempts');
  });

  it('maps 401 to a permanent model_auth_failed without retrying or echoing the key', async () => {
    server.failNext(status(401, {}, JSON.stringify({ error: { message: `Incorrect API key provided: ${API_KEY}` } })));
    const error = await rejection(resolveEmbeddingModel('openai:fake-embed', settings({ retryBaseMs: 15 })).dimensions());
    expect(error).toMatchObject({ code: 'model_auth_failed', permanent: true });
    expect(server.requests).toHaveLength(1);
  });

  it('maps an unknown model (404) to a permanent model_not_found naming the model', async () => {
    const error = await rejection(resolveEmbeddingModel('openai:missing-model', settings()).dimensions());
    expect(error).toMatchObject({ code: 'model_not_found', permanent: true });
    expect(error.message).toContain("model 'missing-model' not found");
  });

  it('treats a timeout as transient and retries it', async () => {
    server.failNext(hang, hang);
    const error = await rejection(resolveEmbeddingModel('openai:fake-embed', settings({ requestTimeoutMs: 100, maxRetries: 1, retryBaseMs: 16 })).dimensions());
    expect(error).toMatchObject({ code: 'model_unavailable', permanent: false });
    expect(error.message).toContain('timed out after 100 ms');
    expect(server.requests).toHaveLength(2);
  });

  it('reports an unreachable endpoint as transient model_unavailable', async () => {
    const error = await rejection(resolveEmbeddingModel('openai:fake-embed', settings({ openaiBaseUrl: `http://127.0.0.1:${await freePort()}/v1`, maxRetries: 0 })).dimensions());
    expect(error).toMatchObject({ code: 'model_unavailable', permanent: false });
    expect(error.message).toMatch(/unreachable \(ECONNREFUSED\)/);
  });

  it('gives the query path a LlamaIndex embedding with unit-length vectors', async () => {
    const vector = await resolveEmbeddingModel('openai:fake-embed', settings()).llamaEmbedding().getTextEmbedding('vacation days');
    expect(vector).toHaveLength(FAKE_DIMENSIONS);
    expect(Math.hypot(...vector)).toBeCloseTo(1, 5);
  });
});

describe('Ollama embeddings', () => {
  it('posts batched input to /api/embed with truncate, and maps a missing model to model_not_found', async () => {
    const model = resolveEmbeddingModel('ollama:nomic-embed-text:latest', settings());
    const out = new Float32Array(texts.length * (await model.dimensions()));
    await model.embedInto(texts, out, 0, new AbortController().signal);
    expect(server.requests.map((request) => request.path)).toEqual(['/api/embed', '/api/embed', '/api/embed', '/api/embed']);
    expect(server.requests[1]!.body).toEqual({ model: 'nomic-embed-text:latest', input: texts.slice(0, 4), truncate: true });
    expect(server.requests[1]!.headers.authorization).toBeUndefined();
    norms(out, FAKE_DIMENSIONS).forEach((norm) => expect(norm).toBeCloseTo(1, 5));
    expect(await rejection(resolveEmbeddingModel('ollama:missing-model', settings()).dimensions())).toMatchObject({ code: 'model_not_found', permanent: true });
  });
});

describe('chat models', () => {
  const messages = [{ role: 'user' as const, content: 'What is the answer?' }];

  it('OpenAI-compatible: completes, and parses an SSE stream (comments, [DONE]) into deltas', async () => {
    const chat = resolveChatModel('openai:fake-chat', settings())!;
    expect(await chat.complete(messages)).toBe(server.chatAnswer);
    expect(server.requests[0]!.body).toEqual({ model: 'fake-chat', messages, temperature: 0, stream: false });
    expect(server.requests[0]!.headers.authorization).toBe(`Bearer ${API_KEY}`);
    const deltas: string[] = [];
    for await (const delta of chat.stream(messages)) deltas.push(delta);
    expect(deltas.length).toBe(3);
    expect(deltas.join('')).toBe(server.chatAnswer);
    expect(server.requests[1]!.body.stream).toBe(true);
  });

  it('Ollama: completes, and parses an NDJSON stream into deltas', async () => {
    const chat = resolveChatModel('ollama:llama3.1', settings())!;
    expect(await chat.complete(messages)).toBe(server.chatAnswer);
    expect(server.requests[0]).toMatchObject({ path: '/api/chat', body: { model: 'llama3.1', messages, stream: false, options: { temperature: 0 } } });
    const deltas: string[] = [];
    for await (const delta of chat.stream(messages)) deltas.push(delta);
    expect(deltas.join('')).toBe(server.chatAnswer);
    expect(deltas.length).toBe(3);
  });

  it('retries a stream that is refused with 429 before its first byte', async () => {
    server.failNext(status(429, { 'retry-after': '0' }));
    const deltas: string[] = [];
    for await (const delta of resolveChatModel('openai:fake-chat', settings({ retryBaseMs: 17 }))!.stream(messages)) deltas.push(delta);
    expect(deltas.join('')).toBe(server.chatAnswer);
    expect(server.requests).toHaveLength(2);
  });

  it('is undefined for extractive', () => {
    expect(resolveChatModel('extractive', settings())).toBeUndefined();
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, and ignores garbage', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter('0.5')).toBe(500);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:05 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(5000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});
