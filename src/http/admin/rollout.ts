import type { TenantStatus } from '../../tenants/tenant-state.ts';
import type { Peer } from './peers.ts';

/**
 * The rollout view: which version every pod serves for every tenant. Each pod answers for itself
 * (its `GET /tenants` status endpoint), so the view shows what pods actually do, not what KV asks
 * for. That endpoint needs the `admin` scope in AUTH_MODE=jwt, so the admin caller's own bearer
 * token is shown to the peers: pods share their auth settings, so it is valid at every pod.
 */
export type PodTenant = Pick<TenantStatus, 'tenant_id' | 'state' | 'serving_version' | 'desired_version'>;

export type PodReport =
  | { readonly pod: string; readonly url: string | null; readonly reachable: true; readonly tenants: readonly PodTenant[] }
  | { readonly pod: string; readonly url: string | null; readonly reachable: false; readonly error: string };

export interface RolloutCell {
  readonly pod: string;
  readonly reachable: boolean;
  /** null: the pod is unreachable, or it does not know the tenant (yet). */
  readonly state: TenantStatus['state'] | null;
  readonly serving_version: string | null;
  readonly desired_version: string | null;
}

export interface RolloutView {
  readonly pods: { readonly pod: string; readonly url: string | null; readonly reachable: boolean; readonly error: string | null }[];
  readonly tenants: { readonly tenant_id: string; readonly converged: boolean; readonly pods: RolloutCell[] }[];
}

/** Pure: one row per tenant any pod knows, one cell per pod in the order given. */
export function mergeRollout(reports: readonly PodReport[]): RolloutView {
  const tenantIds = [...new Set(reports.flatMap((report) => (report.reachable ? report.tenants.map((tenant) => tenant.tenant_id) : [])))].sort();
  return {
    pods: reports.map((report) => ({ pod: report.pod, url: report.url, reachable: report.reachable, error: report.reachable ? null : report.error })),
    tenants: tenantIds.map((tenantId) => {
      const cells = reports.map((report): RolloutCell => {
        const tenant = report.reachable ? report.tenants.find((candidate) => candidate.tenant_id === tenantId) : undefined;
        return {
          pod: report.pod,
          reachable: report.reachable,
          state: tenant?.state ?? null,
          serving_version: tenant?.serving_version ?? null,
          desired_version: tenant?.desired_version ?? null,
        };
      });
      // Converged: every pod answered and serves what KV asks for, and they all agree on it.
      const desired = new Set(cells.map((cell) => cell.desired_version));
      const converged =
        desired.size === 1 &&
        cells.every((cell) => cell.reachable && (cell.state === 'inactive' || (cell.state === 'ready' && cell.serving_version === cell.desired_version)));
      return { tenant_id: tenantId, converged, pods: cells };
    }),
  };
}

function toPodTenant(value: unknown): PodTenant | undefined {
  const tenant = value as Partial<PodTenant> | null;
  if (!tenant || typeof tenant.tenant_id !== 'string' || typeof tenant.state !== 'string') return undefined;
  return { tenant_id: tenant.tenant_id, state: tenant.state, serving_version: tenant.serving_version ?? null, desired_version: tenant.desired_version ?? null };
}

/**
 * Asks one pod; every failure (refused, timeout, non-200 such as a 401 for the credential, not our
 * JSON) becomes an unreachable report. `authorization` is sent as is and never appears in a report.
 */
export async function fetchPodReport(peer: Peer, timeoutMs: number, fetchImpl: typeof fetch = fetch, authorization?: string): Promise<PodReport> {
  if (peer.error) return { pod: peer.name, url: peer.url, reachable: false, error: peer.error };
  try {
    const headers = { accept: 'application/json', ...(authorization ? { authorization } : {}) };
    const response = await fetchImpl(`${peer.url}/tenants`, { signal: AbortSignal.timeout(timeoutMs), headers });
    if (!response.ok) return { pod: peer.name, url: peer.url, reachable: false, error: `GET /tenants answered ${response.status}` };
    const body = (await response.json()) as { tenants?: unknown };
    if (!Array.isArray(body.tenants)) return { pod: peer.name, url: peer.url, reachable: false, error: 'GET /tenants did not answer a tenant list' };
    return { pod: peer.name, url: peer.url, reachable: true, tenants: body.tenants.flatMap((tenant) => toPodTenant(tenant) ?? []) };
  } catch (error) {
    const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : ((error as Error).cause as Error | undefined)?.message ?? (error as Error).message;
    return { pod: peer.name, url: peer.url, reachable: false, error: reason };
  }
}
