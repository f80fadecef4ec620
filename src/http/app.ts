import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from '../logger.ts';
import { registerErrorHandling } from './error-handler.ts';
import { healthRoutes } from './routes/health.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { queryRoutes } from './routes/query.ts';
import { tenantRoutes } from './routes/tenants.ts';
import { servicesPlugin, type RagswapServices } from './services-plugin.ts';

export const MAX_BODY_BYTES = 64 * 1024;

export interface AppOptions {
  readonly services: RagswapServices;
  readonly logger: Logger;
  /** Bounded drain on close: queries in flight get this long to finish. */
  readonly requestTimeoutMs?: number;
}

/** The Fastify app in three stages: external plugins, app services, routes. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    // pino's Logger and Fastify's FastifyBaseLogger differ only in generic details.
    loggerInstance: options.logger as unknown as FastifyBaseLogger,
    bodyLimit: MAX_BODY_BYTES,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    // Fastify's default closes idle keep-alive sockets on close(), so a drain is not held up by them.
    forceCloseConnections: 'idle',
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    // One log line per query at hundreds of QPS is noise; errors are still logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
  }).withTypeProvider<TypeBoxTypeProvider>();

  registerErrorHandling(app);
  await app.register(servicesPlugin, options.services);
  await app.register(healthRoutes);
  await app.register(metricsRoutes);
  await app.register(tenantRoutes);
  await app.register(queryRoutes);
  return app;
}
