import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AnswerSource, Synthesis } from '../../indexing/tenant-engine.ts';
import { UNKNOWN_TENANT_LABEL } from '../../metrics.ts';
import { mapError } from '../error-handler.ts';
import { ErrorBody, TenantParams } from '../schemas/common.ts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { QueryBody, QueryResponse } from '../schemas/query.ts';

/**
 * `POST /query/:tenant`, and `POST /query` with the tenant from `X-Tenant-ID` or the subdomain.
 * The tenant comes resolved and authorized from the query guard (src/http/auth/request-guards.ts),
 * never from the handler's own reading of the request.
 */
export const queryRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const response = { 200: QueryResponse, '4xx': ErrorBody, '5xx': ErrorBody };
  app.post('/query/:tenant', { schema: { params: TenantParams, body: QueryBody, response } }, (request, reply) => answerQuery(request, request.body, reply));
  app.post('/query', { schema: { body: QueryBody, response } }, (request, reply) => answerQuery(request, request.body, reply));

  async function answerQuery(request: FastifyRequest, body: QueryBody, reply: FastifyReply) {
    const startedAt = performance.now();
    const tookMs = () => Math.round((performance.now() - startedAt) * 100) / 100;
    const tenant = request.tenantId;
    if (!tenant) throw new Error('query route reached without a resolved tenant');
    const { query, top_k: topK, stream = false, mode = 'answer' } = body;
    const synthesis: Synthesis = mode === 'retrieve' ? 'none' : stream ? 'stream' : 'answer';
    const stopTimer = ({ status }: { status: string }) => {
      // Known when the query ends (a 404 names no tenant): made-up ids share one series.
      const label = app.ragswap.tenantIndexes.knows(tenant) ? tenant : UNKNOWN_TENANT_LABEL;
      app.ragswap.metrics.observeQuery(label, status, (performance.now() - startedAt) / 1000);
    };
    // A client that hangs up should stop the language model too.
    const disconnected = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) disconnected.abort(new Error('client disconnected'));
    });
    // Whatever failed after the client left (the aborted model call first of all) is not a server
    // failure: nobody is left to answer, and an alert on 502s must not fire for impatient clients.
    const clientGone = () => disconnected.signal.aborted;
    const recordClientClosed = () => {
      stopTimer({ status: CLIENT_CLOSED_REQUEST });
      request.log.info({ tenant, took_ms: tookMs() }, 'client closed the request before the answer was sent');
    };
    let answer;
    try {
      answer = await app.ragswap.tenantIndexes.query(tenant, query, topK, { synthesis, signal: disconnected.signal });
    } catch (error) {
      if (clientGone()) {
        recordClientClosed();
        return reply.hijack();
      }
      // Errors before the first byte (unknown tenant, not ready, LLM down) keep the JSON error shape.
      stopTimer({ status: String((error as { statusCode?: number }).statusCode ?? 500) });
      throw error;
    }
    if (clientGone()) {
      recordClientClosed();
      return reply.hijack();
    }
    const head = { tenant_id: answer.tenantId, version: answer.version };
    const sources = answer.sources.map(withSourceMetadata);
    if (!stream) {
      stopTimer({ status: '200' });
      return { ...head, response: answer.response, sources, took_ms: tookMs() };
    }
    const tokens = answer.tokens;
    async function* events(): AsyncGenerator<string> {
      let status = '200';
      try {
        yield sseEvent('sources', { ...head, sources });
        if (tokens) for await (const text of tokens) yield sseEvent('delta', { text });
        yield sseEvent('done', { took_ms: tookMs() });
      } catch (error) {
        // The client left: nobody to send an `error` event to; `finally` records it.
        if (clientGone()) return;
        // Headers are gone: a failure mid-answer becomes an `error` event with the usual body.
        const mapped = mapError(error);
        status = String(mapped.statusCode);
        if (mapped.statusCode >= 500) request.log.error({ err: error }, 'streamed query failed');
        yield sseEvent('error', mapped.body);
      } finally {
        // Also reached when the destroyed stream ends this generator at a `yield`.
        if (clientGone()) recordClientClosed();
        else stopTimer({ status });
      }
    }
    return reply
      .type('text/event-stream; charset=utf-8')
      .header('cache-control', 'no-cache')
      // Reverse proxies (nginx) would otherwise buffer the stream into one late response.
      .header('x-accel-buffering', 'no')
      // A stream bypasses the 200 schema's serializer (the type provider does not know that).
      .send(Readable.from(events()) as never);
  }
};

/** nginx's "client closed request": the client hung up before the whole answer was sent. */
export const CLIENT_CLOSED_REQUEST = '499';

function withSourceMetadata(source: AnswerSource) {
  return { ...source, metadata: { source: String(source.metadata.source ?? source.id), ...source.metadata } };
}

/** One Server-Sent Event; JSON never contains a raw newline, so one `data:` line suffices. */
export function sseEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
