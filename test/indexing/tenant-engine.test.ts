import { BaseEmbedding } from '@llamaindex/core/embeddings';
import { describe, expect, it } from 'vitest';
import { LlmUnavailableError } from '../../src/errors.ts';
import type { ChunkTable } from '../../src/indexing/contiguous-vector-store.ts';
import { TenantEngine } from '../../src/indexing/tenant-engine.ts';
import { buildBm25 } from '../../src/indexing/bm25-index.ts';
import type { ChatMessage, ChatModel } from '../../src/models/chat-models.ts';

/**
 * A "semantic" fake: the query "time off" lands next to the holiday chunk although they share no
 * word, so dense and BM25 disagree in a known way.
 */
class LookupEmbedding extends BaseEmbedding {
  constructor() {
    super();
  }

  async getTextEmbedding(text: string): Promise<number[]> {
    return text.includes('time off') ? [0, 1, 0] : [0, 0, 1];
  }
}

const texts = ['The cafeteria serves lunch at noon.', 'Paid holiday: 25 days per year.', 'Vacation requests go to your manager. Vacation overview.'];
const table = (): ChunkTable => ({
  dimensions: 3,
  ids: ['a#0', 'b#0', 'c#0'],
  texts,
  metadata: [{ source: 'a' }, { source: 'b' }, { source: 'c' }],
  // Unit rows: A, B (the "time off" direction), and C halfway between B and A.
  embeddings: new Float32Array([1, 0, 0, 0, 1, 0, Math.SQRT1_2, Math.SQRT1_2, 0]),
});
const engine = () => TenantEngine.create(table(), buildBm25(texts), new LookupEmbedding());
const ids = (sources: readonly { id: string }[]) => sources.map((source) => source.id);

function fakeChat(options: { fail?: boolean } = {}): ChatModel & { calls: ChatMessage[][] } {
  const calls: ChatMessage[][] = [];
  return {
    name: 'openai:fake',
    calls,
    async complete(messages) {
      calls.push([...messages]);
      if (options.fail) throw new Error('HTTP 503 from http://internal-llm:8000');
      return 'Take 25 days [1].';
    },
    async *stream(messages) {
      calls.push([...messages]);
      yield 'Take ';
      if (options.fail) throw new Error('connection reset');
      yield '25 days [1].';
    },
  };
}

describe('TenantEngine retrieval modes', () => {
  it('dense ranks by the embedding, bm25 by words, hybrid fuses both with RRF', async () => {
    const tenant = await engine();
    expect(ids(await tenant.retrieve('vacation time off', 2, 'dense'))).toEqual(['b#0', 'c#0']);
    // Only C contains "vacation"; BM25 returns only rows sharing a term.
    expect(ids(await tenant.retrieve('vacation time off', 3, 'bm25'))).toEqual(['c#0']);
    const hybrid = await tenant.retrieve('vacation time off', 2, 'hybrid');
    // C: 1/62 (dense rank 2) + 1/61 (bm25 rank 1) beats B: 1/61.
    expect(ids(hybrid)).toEqual(['c#0', 'b#0']);
    expect(hybrid[0]!.score).toBeCloseTo(1 / 62 + 1 / 61, 9);
    expect(hybrid[0]).toMatchObject({ text: texts[2], metadata: { source: 'c' } });
  });

  it('defaults to hybrid and accepts a bare top_k (tools, benchmarks)', async () => {
    const tenant = await TenantEngine.create(table(), new LookupEmbedding());
    const answer = await tenant.query('vacation time off', 2);
    expect(ids(answer.sources)).toEqual(['c#0', 'b#0']);
    expect(answer.response).toContain('Vacation');
  });

  it("synthesis 'none' returns only the ranked sources", async () => {
    const answer = await (await engine()).query('vacation', { topK: 3, mode: 'bm25', synthesis: 'none', chat: fakeChat() });
    expect(answer.response).toBeNull();
    expect(ids(answer.sources)).toEqual(['c#0']);
    expect(answer.tokens).toBeUndefined();
  });

  it('extractive streaming yields the whole answer as one delta', async () => {
    const answer = await (await engine()).query('lunch', { topK: 1, mode: 'bm25', synthesis: 'stream' });
    const deltas: string[] = [];
    for await (const delta of answer.tokens!) deltas.push(delta);
    expect(deltas).toEqual(['The cafeteria serves lunch at noon.']);
  });
});

describe('TenantEngine with a chat model', () => {
  it('prompts with numbered passages in source order and returns the model answer', async () => {
    const chat = fakeChat();
    const answer = await (await engine()).query('time off', { topK: 2, mode: 'dense', chat });
    expect(answer.response).toBe('Take 25 days [1].');
    const [system, user] = chat.calls[0]!;
    expect(system!.content).toMatch(/only the numbered context passages/);
    expect(system!.content).toMatch(/\[1\]/);
    expect(user!.content).toContain(`[1] (source: b)\n${texts[1]}`);
    expect(user!.content).toContain(`[2] (source: c)\n${texts[2]}`);
    expect(user!.content).toMatch(/Question: time off$/);
  });

  it('streams deltas, and maps failures (complete and mid-stream) to llm_unavailable without the endpoint', async () => {
    const tenant = await engine();
    const streamed = await tenant.query('time off', { topK: 1, mode: 'dense', chat: fakeChat(), synthesis: 'stream' });
    const deltas: string[] = [];
    for await (const delta of streamed.tokens!) deltas.push(delta);
    expect(deltas).toEqual(['Take ', '25 days [1].']);

    const failed = tenant.query('time off', { topK: 1, chat: fakeChat({ fail: true }) });
    await expect(failed).rejects.toBeInstanceOf(LlmUnavailableError);
    await expect(failed).rejects.toMatchObject({ code: 'llm_unavailable', statusCode: 502 });
    await expect(failed).rejects.not.toThrow(/internal-llm/);

    const broken = await tenant.query('time off', { topK: 1, chat: fakeChat({ fail: true }), synthesis: 'stream' });
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const delta of broken.tokens!) seen.push(delta);
      })(),
    ).rejects.toBeInstanceOf(LlmUnavailableError);
    expect(seen).toEqual(['Take ']);
  });
});
