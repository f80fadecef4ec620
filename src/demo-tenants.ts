import { tenantConfigKey } from './tenants/desired-tenants.ts';

/**
 * Tenants seeded into the embedded KV server on its first start, so `npm start` serves something
 * without any setup. Their documents ship in examples/ and are read with the fs source; the paths
 * are relative so the seeded KV stays valid wherever the checkout lives.
 */
export const DEMO_TENANTS = [
  {
    tenantId: 'acme',
    config: {
      version: 'v1',
      data_source: { type: 'fs', path: 'examples/acme-handbook' },
      index_params: { chunk_size: 256, chunk_overlap: 32 },
      embedding_model: 'hash',
      status: 'active',
    },
  },
  {
    tenantId: 'tea-zh',
    config: {
      version: 'v1',
      data_source: { type: 'fs', path: 'examples/tea-guide-zh' },
      index_params: { chunk_size: 256, chunk_overlap: 32 },
      embedding_model: 'hash',
      status: 'active',
    },
  },
] as const;

export function demoTenantWrites(prefix: string): { key: string; value: string }[] {
  return DEMO_TENANTS.map(({ tenantId, config }) => ({
    key: tenantConfigKey(prefix, tenantId),
    value: `${JSON.stringify(config, null, 2)}\n`,
  }));
}
