import type { FastifyPluginAsync } from 'fastify';

export const metricsRoutes: FastifyPluginAsync = async (app) => {
  app.get('/metrics', async (_request, reply) => {
    const registry = app.ragswap.metrics.registry;
    return reply.type(registry.contentType).send(await registry.metrics());
  });
};
