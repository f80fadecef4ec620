import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { UnauthorizedError } from '../../errors.ts';
import { AuditLog } from './audit.ts';
import { auditRoutes } from './audit-routes.ts';
import type { PeerSpec, Resolver } from './peers.ts';
import { rolloutRoutes } from './rollout-routes.ts';
import { tenantConfigRoutes } from './tenant-config-routes.ts';
import { TenantConfigStore } from './tenant-config-store.ts';

/**
 * The admin API, registered with prefix `/admin/api`. Encapsulated (no fastify-plugin): its bearer
 * check is an `onRequest` hook of this instance only, so it guards every admin route and nothing
 * else. JWT scopes replace the shared token later; the hook is the one place that changes.
 */
export interface AdminPluginOptions {
  /**
   * Who may use the admin API: the shared ADMIN_TOKEN (`adminTokenGuard`) in AUTH_MODE=none, a JWT
   * with the `admin` scope in AUTH_MODE=jwt (src/http/auth/request-guards.ts).
   */
  readonly authenticate: (request: FastifyRequest) => Promise<void>;
  readonly auditPrefix: string;
  readonly peers: readonly PeerSpec[];
  readonly selfPort: () => number;
  readonly peerTimeoutMs?: number;
  readonly resolver?: Resolver;
  /** The rollout view shows peers the caller's bearer token (AUTH_MODE=jwt); see rollout-routes.ts. */
  readonly forwardAuthorizationToPeers: boolean;
  readonly now?: () => Date;
}

/** Hashing first gives both sides the same length, so the comparison leaks neither content nor length. */
const digest = (text: string) => createHash('sha256').update(text).digest();

export function bearerMatches(authorization: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer +(\S+)\s*$/i.exec(authorization ?? '');
  return !!match && timingSafeEqual(digest(match[1]!), expected);
}

/** The onRequest check for the shared ADMIN_TOKEN. */
export function adminTokenGuard(token: string): (request: FastifyRequest) => Promise<void> {
  const expected = digest(token);
  return async (request) => {
    if (!bearerMatches(request.headers.authorization, expected)) {
      throw new UnauthorizedError(request.headers.authorization ? 'the bearer token is not valid' : 'Authorization: Bearer <ADMIN_TOKEN> is required');
    }
  };
}

export const adminPlugin: FastifyPluginAsyncTypebox<AdminPluginOptions> = async (app, options) => {
  app.addHook('onRequest', options.authenticate);

  const { kvClient, configPrefix } = app.ragswap;
  const audit = new AuditLog({ kv: kvClient, prefix: options.auditPrefix, ...(options.now ? { now: options.now } : {}) });
  const store = new TenantConfigStore({ kv: kvClient, prefix: configPrefix, audit, logger: app.log, ...(options.now ? { now: options.now } : {}) });
  await app.register(tenantConfigRoutes, { store });
  await app.register(auditRoutes, { audit });
  await app.register(rolloutRoutes, {
    peers: options.peers,
    selfPort: options.selfPort,
    forwardAuthorization: options.forwardAuthorizationToPeers,
    ...(options.peerTimeoutMs ? { peerTimeoutMs: options.peerTimeoutMs } : {}),
    ...(options.resolver ? { resolver: options.resolver } : {}),
  });
};
