import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { TenantNotFoundError } from '../../errors.ts';
import type { WatchStatus } from '../../kv/prefix-watcher.ts';
import { ErrorBody, TenantParams } from '../schemas/common.ts';
import { TenantListResponse, TenantStatusResponse } from '../schemas/status.ts';

export function kvStatusBody(status: WatchStatus) {
  return {
    last_index: status.lastIndex,
    connected: status.connected,
    last_error: status.lastError,
    last_contact_at: status.lastContactAt,
  };
}

export const tenantRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/tenants', { schema: { response: { 200: TenantListResponse } } }, async () => ({
    tenants: app.ragswap.tenantIndexes.statuses(),
    kv: kvStatusBody(app.ragswap.kvStatus()),
  }));

  app.get(
    '/tenants/:tenant',
    { schema: { params: TenantParams, response: { 200: TenantStatusResponse, '4xx': ErrorBody } } },
    async (request) => {
      const status = app.ragswap.tenantIndexes.status(request.params.tenant);
      if (!status) throw new TenantNotFoundError(request.params.tenant);
      return { ...status, kv: kvStatusBody(app.ragswap.kvStatus()) };
    },
  );
};
