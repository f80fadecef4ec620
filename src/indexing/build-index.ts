import { SentenceSplitter } from '@llamaindex/core/node-parser';
import { createDocumentSource, type SkippedFile, type SourceDocument, type SourceEnvironment } from '../sources/document-source.ts';
import { resolveEmbeddingModel } from '../models/embedding-models.ts';
import type { TenantConfig } from '../tenants/tenant-config.ts';
import type { ChunkTable } from './contiguous-vector-store.ts';

/**
 * One index build: documents from the tenant's source → SentenceSplitter chunks → embeddings
 * written into one contiguous Float32Array. Pure with respect to the process (no globals, no
 * LlamaIndex Settings), so it runs the same in a worker thread and in tests.
 */

export interface BuildRequest {
  readonly tenantId: string;
  readonly config: TenantConfig;
  readonly sourceEnvironment: SourceEnvironment;
}

export interface BuiltIndexData {
  readonly table: ChunkTable;
  readonly documents: number;
  readonly skippedFiles: readonly SkippedFile[];
  readonly embeddingModel: string;
}

export interface ChunkedDocuments {
  readonly ids: string[];
  readonly texts: string[];
  readonly metadata: Record<string, unknown>[];
}

/**
 * Splits documents into chunks with stable ids (`<source>#<n>`), so a rebuild of the same content
 * yields the same ids. The text is split on its own: chunks are embedded without metadata, so
 * LlamaIndex's metadata-aware splitting would only shrink chunks (and reject small chunk sizes).
 */
export function chunkDocuments(documents: readonly SourceDocument[], chunkSize: number, chunkOverlap: number): ChunkedDocuments {
  const splitter = new SentenceSplitter({ chunkSize, chunkOverlap });
  const chunks: ChunkedDocuments = { ids: [], texts: [], metadata: [] };
  for (const document of documents) {
    splitter.splitText(document.text).forEach((text, position) => {
      if (text.trim().length === 0) return;
      chunks.ids.push(`${document.id}#${position}`);
      chunks.texts.push(text);
      chunks.metadata.push({ ...document.metadata, chunk: position });
    });
  }
  return chunks;
}

export async function buildIndexData(request: BuildRequest, signal: AbortSignal): Promise<BuiltIndexData> {
  // Resolve the model first: an unknown name should fail before any S3 traffic.
  const model = resolveEmbeddingModel(request.config.embedding_model);
  const source = createDocumentSource(request.config.data_source, request.sourceEnvironment);
  const loaded = await source.load(signal);
  signal.throwIfAborted();
  const { chunk_size: chunkSize, chunk_overlap: chunkOverlap } = request.config.index_params;
  const chunks = chunkDocuments(loaded.documents, chunkSize, chunkOverlap);
  signal.throwIfAborted();
  const embeddings = new Float32Array(chunks.ids.length * model.dimensions);
  await model.embedInto(chunks.texts, embeddings, 0, signal);
  return {
    table: { dimensions: model.dimensions, ids: chunks.ids, texts: chunks.texts, metadata: chunks.metadata, embeddings },
    documents: loaded.documents.length,
    skippedFiles: loaded.skipped,
    embeddingModel: model.name,
  };
}
