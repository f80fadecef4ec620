import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ConfigValidationError, TenantNotFoundError } from '../../errors.ts';
import { validateTenantConfig } from '../../tenants/tenant-config.ts';
import { ErrorBody, TenantParams } from '../schemas/common.ts';
import { AdminTenantListResponse, DeleteResponse, ReindexResponse, StoredConfigSchema, ValidateResponse, WriteResponse } from '../schemas/admin.ts';
import { auditUser, etagOf, parseIfMatch } from './if-match.ts';
import type { TenantConfigStore } from './tenant-config-store.ts';

/**
 * A config with a 200 KB logo data URL does not fit the app-wide 64 KiB body limit; Consul's own
 * value limit is 512 KiB and the audit record holds the old and the new config, hence 256 KiB.
 */
export const MAX_CONFIG_BODY_BYTES = 256 * 1024;

const errors = { '4xx': ErrorBody, 503: ErrorBody };

export const tenantConfigRoutes: FastifyPluginAsyncTypebox<{ store: TenantConfigStore }> = async (app, { store }) => {
  app.get('/tenants', { schema: { response: { 200: AdminTenantListResponse, ...errors } } }, async () => {
    const { index, configs } = await store.list();
    return {
      kv_index: index,
      tenants: configs.map((config) => ({ ...config, status: app.ragswap.tenantIndexes.status(config.tenant_id) ?? null })),
    };
  });

  app.get(
    '/tenants/:tenant/config',
    { schema: { params: TenantParams, response: { 200: StoredConfigSchema, ...errors } } },
    async (request, reply) => {
      const stored = await store.get(request.params.tenant);
      if (!stored) throw new TenantNotFoundError(request.params.tenant);
      void reply.header('etag', etagOf(stored.modify_index));
      return stored;
    },
  );

  app.put(
    '/tenants/:tenant/config',
    { bodyLimit: MAX_CONFIG_BODY_BYTES, schema: { params: TenantParams, response: { 200: WriteResponse, 201: WriteResponse, ...errors } } },
    async (request, reply) => {
      const expected = parseIfMatch(request.headers['if-match']);
      const result = await store.put(request.params.tenant, request.body, expected, auditUser(request));
      if (result.modify_index !== null) void reply.header('etag', etagOf(result.modify_index));
      return reply.code(expected === 0 ? 201 : 200).send(result);
    },
  );

  app.delete(
    '/tenants/:tenant/config',
    { schema: { params: TenantParams, response: { 200: DeleteResponse, ...errors } } },
    async (request) => {
      await store.delete(request.params.tenant, parseIfMatch(request.headers['if-match']), auditUser(request));
      return { tenant_id: request.params.tenant, deleted: true as const };
    },
  );

  app.post(
    '/tenants/:tenant/reindex',
    { schema: { params: TenantParams, response: { 200: ReindexResponse, ...errors } } },
    async (request) => store.reindex(request.params.tenant, auditUser(request)),
  );

  // The UI validates before it shows the diff, with the same rules a save (and the watcher) applies.
  app.post('/validate', { bodyLimit: MAX_CONFIG_BODY_BYTES, schema: { response: { 200: ValidateResponse, ...errors } } }, async (request) => {
    try {
      validateTenantConfig(request.body);
      return { valid: true, issues: [] };
    } catch (error) {
      if (!(error instanceof ConfigValidationError)) throw error;
      return { valid: false, issues: [...error.issues] };
    }
  });
};
