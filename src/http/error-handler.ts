import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isRagswapError } from '../errors.ts';

/**
 * The one place where errors become HTTP responses, always as `{"error": code, "message": text}`.
 * Our own errors carry their code and status; Fastify's (validation, body size, bad JSON) are mapped
 * by their codes; anything else is a 500 whose message is hidden (and logged).
 */
export interface HttpErrorBody {
  readonly error: string;
  readonly message: string;
  readonly [key: string]: unknown;
}

export interface MappedError {
  readonly statusCode: number;
  readonly body: HttpErrorBody;
  readonly headers?: Record<string, string>;
}

const FASTIFY_CODES: Record<string, { statusCode: number; error: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { statusCode: 413, error: 'payload_too_large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { statusCode: 415, error: 'unsupported_media_type' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { statusCode: 400, error: 'invalid_request' },
  FST_ERR_CTP_INVALID_JSON_BODY: { statusCode: 400, error: 'invalid_request' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { statusCode: 400, error: 'invalid_request' },
  FST_ERR_VALIDATION: { statusCode: 400, error: 'invalid_request' },
  // Raised by the router (frameworkErrors) before a route is chosen: bad percent-encoding in the
  // path, and a path parameter over the router's length limit — which for us is always a bad id.
  FST_ERR_BAD_URL: { statusCode: 400, error: 'invalid_request' },
  FST_ERR_MAX_PARAM_LENGTH: { statusCode: 400, error: 'invalid_request' },
};

export function mapError(error: unknown): MappedError {
  if (isRagswapError(error)) {
    return { statusCode: error.statusCode, body: { error: error.code, message: error.message, ...error.details }, headers: error.headers };
  }
  const fastifyError = error as Partial<FastifyError>;
  const known = fastifyError.code ? FASTIFY_CODES[fastifyError.code] : undefined;
  if (known) return { statusCode: known.statusCode, body: { error: known.error, message: fastifyError.message ?? known.error } };
  // A JSON syntax error thrown by the body parser comes without a Fastify code.
  if (error instanceof SyntaxError || fastifyError.statusCode === 400) {
    return { statusCode: 400, body: { error: 'invalid_request', message: (error as Error).message } };
  }
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return { statusCode: fastifyError.statusCode, body: { error: 'invalid_request', message: fastifyError.message ?? 'bad request' } };
  }
  return { statusCode: 500, body: { error: 'internal_error', message: 'internal server error' } };
}

/**
 * Sends any error as its mapped response. It is both the app's error handler and Fastify's
 * `frameworkErrors` option (errors the router raises before a route, and its hooks, exist).
 */
export function sendError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const mapped = mapError(error);
  if (mapped.statusCode >= 500 && mapped.statusCode !== 503) request.log.error({ err: error }, 'request failed');
  void reply.code(mapped.statusCode).headers(mapped.headers ?? {}).send(mapped.body);
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler(sendError);
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ error: 'not_found', message: `route ${request.method} ${request.url.split('?')[0]} not found` });
  });
}

/**
 * Errors Node's HTTP parser raises before Fastify sees a request (oversized headers, malformed
 * request lines, timeouts) get the same `{"error", "message"}` shape as everything else.
 */
export function clientErrorResponse(code: string | undefined): { status: number; reason: string; body: HttpErrorBody } {
  if (code === 'HPE_HEADER_OVERFLOW') return { status: 431, reason: 'Request Header Fields Too Large', body: { error: 'headers_too_large', message: 'request headers exceed the size limit' } };
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, reason: 'Request Timeout', body: { error: 'request_timeout', message: 'the request was not received in time' } };
  return { status: 400, reason: 'Bad Request', body: { error: 'invalid_request', message: 'malformed HTTP request' } };
}

export function clientErrorHandler(error: NodeJS.ErrnoException, socket: import('node:stream').Duplex): void {
  // A reset connection has nobody left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, reason, body } = clientErrorResponse(error.code);
  const text = JSON.stringify(body);
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${reason}\r\nContent-Length: ${Buffer.byteLength(text)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${text}`);
  }
  socket.destroy(error);
}
