import { describe, expect, it } from 'vitest';
import { UnknownModelError } from '../../src/errors.ts';
import { parseEmbeddingModelName, parseLlmName } from '../../src/models/model-names.ts';

describe('parseEmbeddingModelName', () => {
  it.each([
    ['hash', { provider: 'hash' }],
    ['use-lite', { provider: 'use-lite' }],
    ['openai:text-embedding-3-large', { provider: 'openai', model: 'text-embedding-3-large' }],
    ['openai:BAAI/bge-m3', { provider: 'openai', model: 'BAAI/bge-m3' }],
    ['text-embedding-3-small', { provider: 'openai', model: 'text-embedding-3-small' }],
    ['text-embedding-ada-002', { provider: 'openai', model: 'text-embedding-ada-002' }],
    ['ollama:nomic-embed-text', { provider: 'ollama', model: 'nomic-embed-text' }],
    ['ollama:mxbai-embed-large:latest', { provider: 'ollama', model: 'mxbai-embed-large:latest' }],
  ])('%s', (name, spec) => {
    expect(parseEmbeddingModelName(name)).toEqual(spec);
  });

  it.each(['bert', 'openai:', 'ollama:', 'openai:two words', 'gpt-4o', 'Hash', 'cohere:embed-v3'])('rejects %j as a permanent unknown_model', (name) => {
    let error: unknown;
    try {
      parseEmbeddingModelName(name);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UnknownModelError);
    expect(error).toMatchObject({ code: 'unknown_model', permanent: true });
  });
});

describe('parseLlmName', () => {
  it('knows extractive, openai:<m> and ollama:<m>, and nothing bare', () => {
    expect(parseLlmName('extractive')).toEqual({ provider: 'extractive' });
    expect(parseLlmName('openai:gpt-4o-mini')).toEqual({ provider: 'openai', model: 'gpt-4o-mini' });
    expect(parseLlmName('ollama:llama3.1:8b')).toEqual({ provider: 'ollama', model: 'llama3.1:8b' });
    expect(() => parseLlmName('gpt-4o-mini')).toThrow(UnknownModelError);
  });
});
