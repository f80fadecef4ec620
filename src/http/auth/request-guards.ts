import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TenantLimitConfig } from '../../tenants/tenant-limits.ts';
import { TenantLimiter } from '../../tenants/tenant-limits.ts';
import type { AuthSettings } from './auth-settings.ts';
import { authorizeTenantQuery, requireScope, type Scope } from './authorize.ts';
import { bearerToken, JwtVerifier, type Principal } from './jwt-verifier.ts';
import { resolveTenant } from './tenant-resolution.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The tenant a query is for, once resolved and authorized (set by the query guard). */
    tenantId?: string;
    principal?: Principal;
  }
}

/**
 * The hooks that stand in front of routes: who is calling (JWT, or nobody in `none` mode on
 * loopback), which tenant a query is for, whether the caller may ask, and whether the tenant is
 * within its limits. Handlers read `request.tenantId`; they never resolve or authorize themselves.
 */
export class RequestGuards {
  readonly #settings: AuthSettings;
  readonly #verifier: JwtVerifier | undefined;
  readonly #limiter = new TenantLimiter();
  readonly #limitsFor: (tenantId: string) => TenantLimitConfig;

  constructor(settings: AuthSettings, limitsFor: (tenantId: string) => TenantLimitConfig) {
    this.#settings = settings;
    this.#limitsFor = limitsFor;
    this.#verifier =
      settings.mode === 'jwt'
        ? new JwtVerifier({
            ...(settings.jwksUrl ? { jwksUrl: settings.jwksUrl } : {}),
            ...(settings.jwtSecret ? { secret: settings.jwtSecret } : {}),
            ...(settings.issuer ? { issuer: settings.issuer } : {}),
            ...(settings.audience ? { audience: settings.audience } : {}),
            tenantClaim: settings.tenantClaim,
            clockToleranceSeconds: settings.clockToleranceSeconds,
            jwksCooldownMs: settings.jwksCooldownMs,
          })
        : undefined;
  }

  get authEnabled(): boolean {
    return this.#verifier !== undefined;
  }

  /** onRequest for query routes: resolve the tenant, then (in jwt mode) check token, scope and tenant claim. */
  readonly query = async (request: FastifyRequest): Promise<void> => {
    const { tenantId } = resolveTenant(
      {
        pathTenant: (request.params as { tenant?: string } | undefined)?.tenant,
        headerTenant: request.headers['x-tenant-id'],
        host: request.headers.host,
      },
      this.#settings.tenantResolution,
      this.#settings.tenantBaseDomain,
    );
    if (this.#verifier) {
      const principal = await this.#verifier.verify(bearerToken(request.headers.authorization));
      authorizeTenantQuery(principal, tenantId);
      request.principal = principal;
    }
    request.tenantId = tenantId;
  };

  /** onRequest for admin and status routes: in jwt mode the `admin` scope; in none mode, open (loopback only). */
  scope(scope: Scope): (request: FastifyRequest) => Promise<void> {
    return async (request) => {
      if (!this.#verifier) return;
      const principal = await this.#verifier.verify(bearerToken(request.headers.authorization));
      requireScope(principal, scope);
      request.principal = principal;
    };
  }

  /** preHandler for query routes: per-tenant rate and concurrency limits, read from the live config. */
  readonly limits = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const tenantId = request.tenantId;
    if (!tenantId) return;
    const release = this.#limiter.acquire(tenantId, this.#limitsFor(tenantId));
    // Released when the response is sent, or when the client goes away first.
    reply.raw.once('close', release);
  };
}
