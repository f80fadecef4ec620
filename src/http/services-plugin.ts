import fastifyPlugin from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { TenantIndexManager } from '../indexing/tenant-index-manager.ts';
import type { KvClient } from '../kv/consul-kv-client.ts';
import type { WatchStatus } from '../kv/prefix-watcher.ts';
import type { RagswapMetrics } from '../metrics.ts';
import type { TenantConfig } from '../tenants/tenant-config.ts';

/** What the routes need from the running service; built by src/service.ts, decorated once. */
export interface RagswapServices {
  readonly tenantIndexes: TenantIndexManager;
  readonly metrics: RagswapMetrics;
  readonly kvStatus: () => WatchStatus;
  readonly readiness: () => { ready: boolean; waitingFor: string[] };
  /** The admin API writes tenant configs with check-and-set through the same client the watcher reads with. */
  readonly kvClient: KvClient;
  readonly configPrefix: string;
  /** The last valid config the watcher holds for a tenant (the search page reads its theme from memory, not KV). */
  readonly tenantConfig: (tenantId: string) => TenantConfig | undefined;
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
