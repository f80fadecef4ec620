import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorBody, TenantParams } from '../schemas/common.ts';
import { DEFAULT_TOP_K, QueryBody, QueryResponse } from '../schemas/query.ts';

export const queryRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/query/:tenant',
    {
      schema: {
        params: TenantParams,
        body: QueryBody,
        response: { 200: QueryResponse, '4xx': ErrorBody, 503: ErrorBody },
      },
    },
    async (request) => {
      const startedAt = performance.now();
      const { tenant } = request.params;
      const stopTimer = app.ragswap.metrics.queryDuration.startTimer({ tenant });
      try {
        const answer = await app.ragswap.tenantIndexes.query(tenant, request.body.query, request.body.top_k ?? DEFAULT_TOP_K);
        stopTimer({ status: '200' });
        return {
          tenant_id: answer.tenantId,
          version: answer.version,
          response: answer.response,
          sources: answer.sources.map((source) => ({
            ...source,
            metadata: { source: String(source.metadata.source ?? source.id), ...source.metadata },
          })),
          took_ms: Math.round((performance.now() - startedAt) * 100) / 100,
        };
      } catch (error) {
        stopTimer({ status: String((error as { statusCode?: number }).statusCode ?? 500) });
        throw error;
      }
    },
  );
};
