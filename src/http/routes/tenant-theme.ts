import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { TenantNotFoundError } from '../../errors.ts';
import { ErrorBody, TenantParams } from '../schemas/common.ts';
import { ThemeResponse } from '../schemas/admin.ts';

/**
 * Public: what the tenant search page needs to theme itself, and nothing else (never the data
 * source or index settings). Read from the watcher's memory, so a theme saved in KV shows on the
 * next page load on every pod, and an anonymous page load never costs a Consul request.
 */
export const tenantThemeRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/t/:tenant/theme.json',
    { schema: { params: TenantParams, response: { 200: ThemeResponse, '4xx': ErrorBody } } },
    async (request, reply) => {
      const config = app.ragswap.tenantConfig(request.params.tenant);
      if (!config) throw new TenantNotFoundError(request.params.tenant);
      void reply.header('cache-control', 'no-cache');
      return { tenant_id: request.params.tenant, theme: config.theme ?? {} };
    },
  );
};
