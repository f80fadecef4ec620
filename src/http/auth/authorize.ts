import { ForbiddenError } from '../../errors.ts';
import type { Principal } from './jwt-verifier.ts';

/**
 * Authorization rules, pure: a query needs the `query` scope and a tenant claim equal to the
 * tenant queried; admin and status endpoints need the `admin` scope.
 */
export type Scope = 'query' | 'admin';

export function requireScope(principal: Principal, scope: Scope): void {
  if (!principal.scopes.has(scope)) throw new ForbiddenError('insufficient_scope', `token lacks the '${scope}' scope`);
}

export function authorizeTenantQuery(principal: Principal, tenantId: string): void {
  requireScope(principal, 'query');
  if (principal.tenantId === undefined) throw new ForbiddenError('tenant_mismatch', 'token carries no tenant claim');
  if (principal.tenantId !== tenantId) throw new ForbiddenError('tenant_mismatch', `token is for another tenant than '${tenantId}'`);
}
