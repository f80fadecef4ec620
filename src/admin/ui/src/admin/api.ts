/** The admin API as the UI uses it; every error arrives as `{"error", "message", ...}`. */
export interface Issue {
  readonly path: string;
  readonly message: string;
}

export interface TenantStatus {
  readonly tenant_id: string;
  readonly state: 'building' | 'ready' | 'failed' | 'config_error' | 'inactive';
  readonly serving_version: string | null;
  readonly desired_version: string | null;
  readonly documents: number | null;
  readonly chunks: number | null;
  readonly last_build_ms: number | null;
  readonly loaded_at: string | null;
  readonly last_error: { code: string; message: string; at?: string } | null;
  readonly warnings: string[];
  /** The first skipped files and why (older servers do not send it). */
  readonly skipped_sample?: { key: string; reason: string; detail?: string }[];
  readonly skipped_files?: number | null;
}

export interface AdminTenant {
  readonly tenant_id: string;
  readonly modify_index: number;
  readonly config: unknown;
  readonly valid: boolean;
  readonly issues: Issue[];
  readonly status: TenantStatus | null;
}

export interface RolloutCell {
  readonly pod: string;
  readonly reachable: boolean;
  readonly state: TenantStatus['state'] | null;
  readonly serving_version: string | null;
  readonly desired_version: string | null;
}

export interface Rollout {
  readonly pods: { pod: string; url: string | null; reachable: boolean; error: string | null }[];
  readonly tenants: { tenant_id: string; converged: boolean; pods: RolloutCell[] }[];
}

export interface AuditRecord {
  readonly id: string;
  readonly at: string;
  readonly who: string;
  readonly action: 'create' | 'update' | 'delete' | 'reindex';
  readonly tenant_id: string;
  readonly old_version: string | null;
  readonly new_version: string | null;
  readonly old_config: unknown;
  readonly new_config: unknown;
}

export interface Current {
  readonly config: unknown;
  readonly modify_index: number;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: { error: string; message: string; issues?: Issue[]; current?: Current | null },
  ) {
    super(body.message);
  }
}

export interface Credentials {
  readonly token: string;
  readonly user: string;
}

export function createApi(credentials: Credentials) {
  async function request<T>(method: string, path: string, options: { body?: unknown; ifMatch?: number } = {}): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${credentials.token}` };
    if (credentials.user) headers['x-admin-user'] = credentials.user;
    if (options.ifMatch !== undefined) headers['if-match'] = String(options.ifMatch);
    // No content-type without a body: Fastify rejects an empty JSON body.
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`/admin/api${path}`, {
      method,
      headers,
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    const body = (await response.json().catch(() => ({ error: 'bad_response', message: `HTTP ${response.status}` }))) as T & ApiError['body'];
    if (!response.ok) throw new ApiError(response.status, body);
    return body;
  }
  const tenantPath = (tenantId: string) => `/tenants/${encodeURIComponent(tenantId)}`;
  return {
    tenants: () => request<{ tenants: AdminTenant[]; kv_index: number }>('GET', '/tenants'),
    rollout: () => request<Rollout>('GET', '/rollout'),
    config: (tenantId: string) => request<AdminTenant>('GET', `${tenantPath(tenantId)}/config`),
    save: (tenantId: string, config: unknown, ifMatch: number) =>
      request<{ modify_index: number | null; warnings: string[] }>('PUT', `${tenantPath(tenantId)}/config`, { body: config, ifMatch }),
    remove: (tenantId: string, ifMatch: number) => request<{ deleted: true }>('DELETE', `${tenantPath(tenantId)}/config`, { ifMatch }),
    reindex: (tenantId: string) => request<{ old_version: string; version: string }>('POST', `${tenantPath(tenantId)}/reindex`),
    validate: (config: unknown) => request<{ valid: boolean; issues: Issue[] }>('POST', '/validate', { body: config }),
    audit: (before?: string) => request<{ records: AuditRecord[]; next: string | null }>('GET', `/audit?limit=20${before ? `&before=${before}` : ''}`),
  };
}

export type AdminApi = ReturnType<typeof createApi>;

export function errorText(error: unknown): string {
  return error instanceof ApiError ? `${error.body.error}: ${error.message}` : (error as Error).message;
}
