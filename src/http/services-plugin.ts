import fastifyPlugin from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { TenantIndexManager } from '../indexing/tenant-index-manager.ts';
import type { WatchStatus } from '../kv/prefix-watcher.ts';
import type { RagswapMetrics } from '../metrics.ts';

/** What the routes need from the running service; built by src/service.ts, decorated once. */
export interface RagswapServices {
  readonly tenantIndexes: TenantIndexManager;
  readonly metrics: RagswapMetrics;
  readonly kvStatus: () => WatchStatus;
  readonly readiness: () => { ready: boolean; waitingFor: string[] };
}

declare module 'fastify' {
  interface FastifyInstance {
    ragswap: RagswapServices;
  }
}

/** Shared on purpose (fastify-plugin breaks encapsulation) so every route plugin sees the services. */
export const servicesPlugin = fastifyPlugin(
  async (app: FastifyInstance, services: RagswapServices) => {
    app.decorate('ragswap', services);
  },
  { name: 'ragswap-services', fastify: '5.x' },
);
