import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from '../logger.ts';
import { adminPlugin, adminTokenGuard, type AdminPluginOptions } from './admin/admin-plugin.ts';
import type { AuthSettings } from './auth/auth-settings.ts';
import { RequestGuards } from './auth/request-guards.ts';
import { clientErrorHandler, registerErrorHandling, sendError } from './error-handler.ts';
import { healthRoutes } from './routes/health.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { queryRoutes } from './routes/query.ts';
import { tenantRoutes } from './routes/tenants.ts';
import { tenantThemeRoutes } from './routes/tenant-theme.ts';
import { uiRoutes } from './routes/ui.ts';
import { servicesPlugin, type RagswapServices } from './services-plugin.ts';
import { registerShutdownGate } from './shutdown-gate.ts';

export const MAX_BODY_BYTES = 64 * 1024;
/** Node's default is 16 KiB as well; stated here so the limit is ours, documented and tested. */
export const MAX_HEADER_BYTES = 16 * 1024;

export interface AppOptions {
  readonly services: RagswapServices;
  readonly logger: Logger;
  /** Bounded drain on close: queries in flight get this long to finish. */
  readonly requestTimeoutMs?: number;
  /** Authentication and tenant resolution (AUTH_MODE, TENANT_RESOLUTION, …). */
  readonly auth: AuthSettings;
  /**
   * The admin API (`/admin/api`) and UI (`/admin/`); absent when `ADMIN_ENABLED=false`. `token` is the
   * shared ADMIN_TOKEN, used only in AUTH_MODE=none (JWT `admin` scopes replace it in jwt mode).
   */
  readonly admin?: Omit<AdminPluginOptions, 'authenticate' | 'forwardAuthorizationToPeers'> & { readonly token: string | undefined };
}

/** The Fastify app in three stages: external plugins, app services, routes. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    // pino's Logger and Fastify's FastifyBaseLogger differ only in generic details.
    loggerInstance: options.logger as unknown as FastifyBaseLogger,
    bodyLimit: MAX_BODY_BYTES,
    http: { maxHeaderSize: MAX_HEADER_BYTES },
    clientErrorHandler,
    // Without it the router answers bad percent-encoding in its own body shape, not ours.
    frameworkErrors: sendError,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    // Fastify's default closes idle keep-alive sockets on close(), so a drain is not held up by them.
    forceCloseConnections: 'idle',
    // Requests arriving while closing get our `shutting_down` error instead (src/http/shutdown-gate.ts).
    return503OnClosing: false,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    // One log line per query at hundreds of QPS is noise; errors are still logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
  }).withTypeProvider<TypeBoxTypeProvider>();

  registerErrorHandling(app);
  registerShutdownGate(app);
  // README promises 415 for anything but JSON; Fastify's built-in text/plain parser would hand a
  // JSON-looking text body to the schema (a confusing 400) instead. No parser left → 415.
  app.removeContentTypeParser('text/plain');
  await app.register(servicesPlugin, options.services);
  await app.register(healthRoutes);
  await app.register(metricsRoutes);
  const guards = new RequestGuards(options.auth, (tenantId) => options.services.tenantConfig(tenantId) ?? {});
  // Each guarded group is its own encapsulated context: its hooks apply to its routes only.
  await app.register(async (status) => {
    status.addHook('onRequest', guards.scope('admin'));
    await status.register(tenantRoutes);
  });
  await app.register(async (queries) => {
    queries.addHook('onRequest', guards.query);
    queries.addHook('preHandler', guards.limits);
    await queries.register(queryRoutes);
  });
  await app.register(tenantThemeRoutes);
  await app.register(uiRoutes, { admin: !!options.admin });
  if (options.admin) {
    const { token, ...admin } = options.admin;
    const authenticate = guards.authEnabled || !token ? guards.scope('admin') : adminTokenGuard(token);
    await app.register(adminPlugin, { prefix: '/admin/api', ...admin, authenticate, forwardAuthorizationToPeers: guards.authEnabled });
  }
  return app;
}
