/**
 * The error catalogue: every error ragswap raises on purpose is a subclass of RagswapError with a
 * stable `code` (the `error` field of an HTTP error body) and the HTTP status it maps to. The HTTP
 * layer maps errors in one place (src/http/error-handler.ts) by reading these two fields.
 *
 * `permanent` tells the index manager whether retrying can help: a missing bucket or an invalid
 * config stays broken until someone changes it, a network blip does not.
 */
export abstract class RagswapError extends Error {
  abstract readonly code: string;
  abstract readonly statusCode: number;
  readonly permanent: boolean = true;
  /** Extra fields merged into the HTTP error body (e.g. validation details). */
  readonly details?: Record<string, unknown>;
  /** Response headers that belong to this error (Retry-After, WWW-Authenticate). */
  get headers(): Record<string, string> {
    return {};
  }

  constructor(message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    if (options?.details) this.details = options.details;
  }
}

// --- request errors -------------------------------------------------------------------------

export class InvalidRequestError extends RagswapError {
  readonly code = 'invalid_request';
  readonly statusCode = 400;
}

export class PayloadTooLargeError extends RagswapError {
  readonly code = 'payload_too_large';
  readonly statusCode = 413;
}

export class RouteNotFoundError extends RagswapError {
  readonly code = 'not_found';
  readonly statusCode = 404;
}

/**
 * A request that arrived while the app is closing (on a kept-alive or pipelined connection; new
 * connections are refused by then). The connection is closed after the answer so the client's next
 * attempt goes to another pod.
 */
export class ShuttingDownError extends RagswapError {
  readonly code = 'shutting_down';
  readonly statusCode = 503;
  constructor() {
    super('the server is shutting down; retry the request');
  }
  override get headers(): Record<string, string> {
    return { connection: 'close', 'retry-after': '1' };
  }
}

// --- tenant errors ----------------------------------------------------------------------------

export class TenantNotFoundError extends RagswapError {
  readonly code = 'tenant_not_found';
  readonly statusCode = 404;
  constructor(tenantId: string) {
    super(`tenant '${tenantId}' does not exist`);
  }
}

export class TenantInactiveError extends RagswapError {
  readonly code = 'tenant_inactive';
  readonly statusCode = 403;
  constructor(tenantId: string) {
    super(`tenant '${tenantId}' is inactive`);
  }
}

export class IndexNotReadyError extends RagswapError {
  readonly code = 'index_not_ready';
  readonly statusCode = 503;
  readonly retryAfterSeconds: number;
  constructor(tenantId: string, reason: string, retryAfterSeconds = 2) {
    super(`tenant '${tenantId}' has no serving index yet: ${reason}`);
    this.retryAfterSeconds = retryAfterSeconds;
  }
  override get headers(): Record<string, string> {
    return { 'retry-after': String(this.retryAfterSeconds) };
  }
}

/** A tenant config that fails validation; `issues` name each offending field. */
export class ConfigValidationError extends RagswapError {
  readonly code = 'invalid_config';
  readonly statusCode = 400;
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    super(issues.map((issue) => `${issue.path || '(root)'}: ${issue.message}`).join('; '), {
      details: { issues },
    });
    this.issues = issues;
  }
}

export interface ConfigIssue {
  /** JSON-pointer-like dotted path of the field, e.g. `data_source.bucket`. */
  readonly path: string;
  readonly message: string;
}

// --- build errors (src/sources, src/indexing, src/models) -----------------------------------

/** Base for errors that fail an index build; `permanent` decides retry vs. give up. */
export class BuildError extends RagswapError {
  readonly code: string = 'build_failed';
  readonly statusCode: number = 502;
  override readonly permanent: boolean;
  constructor(message: string, options: { permanent: boolean; cause?: unknown; code?: string }) {
    super(message, { cause: options.cause });
    this.permanent = options.permanent;
    if (options.code) this.code = options.code;
  }
}

export class SourceError extends BuildError {
  constructor(
    message: string,
    options: { permanent: boolean; cause?: unknown; code?: 'source_not_found' | 'source_access_denied' | 'source_unavailable' | 'source_invalid' | 'source_empty' },
  ) {
    super(message, { ...options, code: options.code ?? (options.permanent ? 'source_invalid' : 'source_unavailable') });
  }
}

export class UnknownModelError extends BuildError {
  constructor(kind: 'embedding' | 'llm', name: string) {
    super(`unknown ${kind} model '${name}'`, { permanent: true, code: 'unknown_model' });
  }
}

/**
 * A remote model provider (OpenAI-compatible, Ollama) failed. Codes: `model_auth_failed` (401/403),
 * `model_not_found` (404, unknown model) — permanent; `model_unavailable` (network, timeout, 429,
 * 5xx) — transient; `model_bad_response` (a reply that is not what the wire format promises) —
 * transient. Messages name the endpoint and status, never the API key.
 */
export class ModelProviderError extends BuildError {
  constructor(
    message: string,
    options: { permanent: boolean; cause?: unknown; code: 'model_auth_failed' | 'model_not_found' | 'model_unavailable' | 'model_bad_response' },
  ) {
    super(message, options);
  }
}

/** Answer synthesis by a language model failed at query time (after its retries). */
export class LlmUnavailableError extends RagswapError {
  readonly code = 'llm_unavailable';
  readonly statusCode = 502;
}

export class BuildAbortedError extends BuildError {
  constructor(reason = 'build aborted') {
    super(reason, { permanent: true, code: 'build_aborted' });
  }
}

// --- authentication, authorization and limits -----------------------------------------------

export class UnauthorizedError extends RagswapError {
  readonly code = 'unauthorized';
  readonly statusCode = 401;
  override get headers(): Record<string, string> {
    // RFC 6750: tell the client which scheme to use; the reason stays in the body, not the header.
    return { 'www-authenticate': 'Bearer realm="ragswap"' };
  }
}

export class ForbiddenError extends RagswapError {
  readonly code: 'tenant_mismatch' | 'insufficient_scope' | 'forbidden';
  readonly statusCode = 403;
  constructor(code: 'tenant_mismatch' | 'insufficient_scope' | 'forbidden', message: string) {
    super(message);
    this.code = code;
  }
}

export class RateLimitedError extends RagswapError {
  readonly code = 'rate_limited';
  readonly statusCode = 429;
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds));
  }
  override get headers(): Record<string, string> {
    return { 'retry-after': String(this.retryAfterSeconds) };
  }
}

// --- admin API (check-and-set writes) ----------------------------------------------------------

/** A write without `If-Match`: the admin API never writes blind over someone else's change. */
export class PreconditionRequiredError extends RagswapError {
  readonly code = 'precondition_required';
  readonly statusCode = 428;
}

/** A lost check-and-set; `current` is what KV holds now (null: nothing), so a client can show theirs vs. yours. */
export class ConflictError extends RagswapError {
  readonly code = 'conflict';
  readonly statusCode = 409;
  constructor(message: string, current: { readonly config: unknown; readonly modify_index: number } | null) {
    super(message, { details: { current } });
  }
}

/** `/admin/` or `/t/:tenant` requested on a checkout where `npm run build` has not built the UI yet. */
export class UiNotBuiltError extends RagswapError {
  readonly code = 'ui_not_built';
  readonly statusCode = 503;
  constructor() {
    super('the web UI is not built: run `npm run build` (npm start does this when it is missing)');
  }
}

// --- KV errors --------------------------------------------------------------------------------

export class KvUnavailableError extends RagswapError {
  readonly code = 'kv_unavailable';
  readonly statusCode = 503;
  override readonly permanent = false;
}

export function isRagswapError(error: unknown): error is RagswapError {
  return error instanceof RagswapError;
}
