/**
 * The tenant list's filter: with hundreds of tenants an operator looks for one id, or for the few
 * that need attention. Pure, so the page and the tests share it.
 */
export type TenantState = 'building' | 'ready' | 'failed' | 'config_error' | 'inactive';

/** What the filter reads of a tenant (the admin API's tenant entry). */
export interface FilterableTenant {
  readonly tenant_id: string;
  readonly valid: boolean;
  readonly status: {
    readonly state: TenantState;
    readonly last_error: unknown;
    readonly warnings: readonly string[];
  } | null;
}

export interface TenantFilter {
  /** Matched against the tenant id, case-insensitively; empty matches every tenant. */
  readonly text: string;
  readonly needsAttentionOnly: boolean;
}

export const NO_FILTER: TenantFilter = { text: '', needsAttentionOnly: false };

/** A tenant an operator should look at: an invalid config, a failed build, an error or a warning. */
export function needsAttention(tenant: FilterableTenant): boolean {
  const status = tenant.status;
  return !tenant.valid || status?.state === 'failed' || status?.state === 'config_error' || !!status?.last_error || (status?.warnings.length ?? 0) > 0;
}

/** The tenants the filter keeps, sorted by id (KV's key order puts `shop-eu/config` before `shop/config`). */
export function filterTenants<T extends FilterableTenant>(tenants: readonly T[], filter: TenantFilter): T[] {
  const text = filter.text.trim().toLowerCase();
  return tenants
    .filter((tenant) => tenant.tenant_id.includes(text) && (!filter.needsAttentionOnly || needsAttention(tenant)))
    .sort((a, b) => (a.tenant_id < b.tenant_id ? -1 : a.tenant_id > b.tenant_id ? 1 : 0));
}

/** "3 ready, 1 building, 1 failed": counts by state, in a fixed order, zeros left out. */
export function stateSummary(tenants: readonly FilterableTenant[]): string {
  const order: (TenantState | 'pending')[] = ['ready', 'building', 'failed', 'config_error', 'inactive', 'pending'];
  const counts = new Map<string, number>();
  for (const tenant of tenants) {
    const state = tenant.status?.state ?? 'pending';
    counts.set(state, (counts.get(state) ?? 0) + 1);
  }
  return order.flatMap((state) => (counts.get(state) ? [`${counts.get(state)} ${state.replace('_', ' ')}`] : [])).join(', ');
}
