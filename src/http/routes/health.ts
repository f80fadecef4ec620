import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ReadyResponse } from '../schemas/status.ts';

export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Liveness: the process answers. Nothing external is checked, so a Consul outage never restarts pods.
  app.get('/health', { schema: { response: { 200: Type.Object({ status: Type.Literal('ok') }) } } }, async () => ({ status: 'ok' as const }));

  app.get('/ready', { schema: { response: { 200: ReadyResponse, 503: ReadyResponse } } }, async (_request, reply) => {
    const { ready, waitingFor } = app.ragswap.readiness();
    return reply.code(ready ? 200 : 503).send({ ready, waiting_for: waitingFor });
  });
};
