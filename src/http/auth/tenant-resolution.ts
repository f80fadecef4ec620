import { InvalidRequestError } from '../../errors.ts';
import { isValidTenantId } from '../../tenants/tenant-config.ts';

/**
 * Where a request names its tenant: the path (`/query/:tenant`), the `X-Tenant-ID` header, or the
 * subdomain (`<tenant>.<TENANT_BASE_DOMAIN>`). The first source in the configured order that names
 * one wins; whatever wins is validated against the tenant-id pattern (and, by the caller, against
 * the token's tenant claim).
 */
export type TenantSource = 'path' | 'header' | 'subdomain';

export interface TenantResolutionInput {
  readonly pathTenant: string | undefined;
  readonly headerTenant: string | string[] | undefined;
  readonly host: string | undefined;
}

export interface ResolvedTenant {
  readonly tenantId: string;
  readonly source: TenantSource;
}

export function parseResolutionOrder(text: string): TenantSource[] {
  const order = text.split(',').map((part) => part.trim()).filter(Boolean);
  const unknown = order.filter((part) => !['path', 'header', 'subdomain'].includes(part));
  if (order.length === 0 || unknown.length > 0) throw new Error(`TENANT_RESOLUTION must list path, header and/or subdomain, got '${text}'`);
  return [...new Set(order)] as TenantSource[];
}

/** `acme.rag.example.com` with base `rag.example.com` → `acme`; hosts outside the base name no tenant. */
export function subdomainTenant(host: string | undefined, baseDomain: string | undefined): string | undefined {
  if (!host || !baseDomain) return undefined;
  const hostname = host.toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '');
  const suffix = `.${baseDomain.toLowerCase().replace(/^\./, '')}`;
  if (!hostname.endsWith(suffix)) return undefined;
  const label = hostname.slice(0, -suffix.length);
  return label.length > 0 && !label.includes('.') ? label : undefined;
}

function candidate(source: TenantSource, input: TenantResolutionInput, baseDomain: string | undefined): string | undefined {
  switch (source) {
    case 'path':
      return input.pathTenant;
    case 'header':
      return Array.isArray(input.headerTenant) ? input.headerTenant[0] : input.headerTenant;
    case 'subdomain':
      return subdomainTenant(input.host, baseDomain);
  }
}

export function resolveTenant(input: TenantResolutionInput, order: readonly TenantSource[], baseDomain?: string): ResolvedTenant {
  for (const source of order) {
    const tenantId = candidate(source, input, baseDomain);
    if (tenantId === undefined || tenantId === '') continue;
    if (!isValidTenantId(tenantId)) throw new InvalidRequestError(`tenant id from ${source} does not match ^[a-z0-9][a-z0-9_-]{0,62}$`);
    return { tenantId, source };
  }
  throw new InvalidRequestError(`no tenant in the request (looked at: ${order.join(', ')})`);
}
