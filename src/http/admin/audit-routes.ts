import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorBody } from '../schemas/common.ts';
import { AuditPageResponse, AuditQuery } from '../schemas/admin.ts';
import type { AuditLog } from './audit.ts';

export const DEFAULT_AUDIT_PAGE = 20;

export const auditRoutes: FastifyPluginAsyncTypebox<{ audit: AuditLog }> = async (app, { audit }) => {
  app.get(
    '/audit',
    { schema: { querystring: AuditQuery, response: { 200: AuditPageResponse, '4xx': ErrorBody, 503: ErrorBody } } },
    async (request) => audit.page(request.query.limit ? Number(request.query.limit) : DEFAULT_AUDIT_PAGE, request.query.before),
  );
};
