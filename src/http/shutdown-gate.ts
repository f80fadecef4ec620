import type { FastifyInstance } from 'fastify';
import { ShuttingDownError } from '../errors.ts';

/**
 * Once `app.close()` starts, requests already in flight run to the end, but one that still arrives
 * on an open connection is answered 503 `shutting_down` through the error handler. It stands in
 * for Fastify's `return503OnClosing`, whose body is not our error shape. Registered on the root
 * before any route, so it guards every route and the 404 handler.
 */
export function registerShutdownGate(app: FastifyInstance): void {
  let closing = false;
  // preClose runs right after Fastify stops routing as usual and before the listener closes.
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async () => {
    if (closing) throw new ShuttingDownError();
  });
}
