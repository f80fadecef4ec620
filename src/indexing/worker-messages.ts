import { BuildError, isRagswapError } from '../errors.ts';
import type { BuildRequest, BuiltIndexData } from './build-index.ts';

/** Errors cross the thread boundary as plain data; their class is rebuilt on the main thread. */
export interface SerializedBuildError {
  readonly name: string;
  readonly message: string;
  readonly code: string;
  readonly permanent: boolean;
}

export interface WorkerRequest {
  readonly id: number;
  readonly request: BuildRequest;
}

export type WorkerReply =
  | { readonly type: 'built'; readonly id: number; readonly built: BuiltIndexData }
  | { readonly type: 'failed'; readonly id: number; readonly error: SerializedBuildError };

export function serializeBuildError(error: unknown): SerializedBuildError {
  if (isRagswapError(error)) {
    return { name: error.name, message: error.message, code: error.code, permanent: error.permanent };
  }
  const message = error instanceof Error ? error.message : String(error);
  // An unexpected exception is a bug or an environment problem; retrying may help, so transient.
  return { name: error instanceof Error ? error.name : 'Error', message, code: 'build_failed', permanent: false };
}

export function deserializeBuildError(error: SerializedBuildError): BuildError {
  return new BuildError(error.message, { permanent: error.permanent, code: error.code });
}
