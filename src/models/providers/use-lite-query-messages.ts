import type { SerializedBuildError } from '../../indexing/worker-messages.ts';

/** The use-lite query worker's protocol: one batch of query texts in, their rows (or an error) out. */
export interface QueryEmbedRequest {
  /** One id per text, so each caller gets its own row back. */
  readonly ids: readonly number[];
  readonly texts: readonly string[];
}

export type QueryEmbedReply =
  /** `rows` holds ids.length rows of USE_LITE_DIMENSIONS, in the request's order (its buffer is transferred). */
  | { readonly type: 'embedded'; readonly ids: readonly number[]; readonly rows: Float32Array }
  | { readonly type: 'failed'; readonly ids: readonly number[]; readonly error: SerializedBuildError };
