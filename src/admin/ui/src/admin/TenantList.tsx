import { useCallback, useEffect, useRef, useState } from 'react';
import { filterTenants, NO_FILTER, stateSummary, type TenantFilter } from '../shared/tenant-filter.ts';
import { ApiError, errorText, type AdminApi, type AdminTenant, type Rollout, type RolloutCell } from './api.ts';

/** ≤ 2 s, so an operator watches building → ready without reloading. */
export const REFRESH_MS = 1_500;

function usePolling(api: AdminApi, onUnauthorized: () => void) {
  const [data, setData] = useState<{ tenants: AdminTenant[]; rollout: Rollout | null } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const refresh = useCallback(async () => {
    try {
      // The rollout may fail on its own (peers down is shown inside it, but be defensive).
      const [tenants, rollout] = await Promise.all([api.tenants(), api.rollout().catch(() => null)]);
      setData({ tenants: tenants.tenants, rollout });
      setError(null);
    } catch (caught) {
      if (caught instanceof ApiError && caught.status === 401) onUnauthorized();
      setError(errorText(caught));
    }
  }, [api, onUnauthorized]);
  useEffect(() => {
    void refresh();
    const timer = setInterval(() => void refresh(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [refresh]);
  return { data, error, refresh };
}

const configOf = (tenant: AdminTenant) => (tenant.config && typeof tenant.config === 'object' ? (tenant.config as Record<string, unknown>) : null);

function DeleteDialog({ tenant, onCancel, onConfirm }: { tenant: AdminTenant; onCancel: () => void; onConfirm: () => void }) {
  const [typed, setTyped] = useState('');
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => ref.current?.showModal(), []);
  return (
    <dialog ref={ref} aria-labelledby="delete-title" onCancel={onCancel}>
      <form
        method="dialog"
        onSubmit={(event) => {
          event.preventDefault();
          if (typed === tenant.tenant_id) onConfirm();
        }}
      >
        <h2 id="delete-title">Delete tenant {tenant.tenant_id}?</h2>
        <p>Every pod unloads its index and queries get 404. This cannot be undone from here.</p>
        <label>
          <span>
            Type <code>{tenant.tenant_id}</code> to confirm
          </span>
          <input name="confirm" autoFocus value={typed} onChange={(e) => setTyped(e.target.value)} />
        </label>
        <div className="actions">
          <button type="button" onClick={onCancel}>Cancel</button>
          <button type="submit" className="danger" disabled={typed !== tenant.tenant_id}>Delete</button>
        </div>
      </form>
    </dialog>
  );
}

function Issues({ tenant }: { tenant: AdminTenant }) {
  const status = tenant.status;
  const items = [
    ...(status?.last_error ? [`${status.last_error.code}: ${status.last_error.message}`] : []),
    ...(status?.warnings ?? []),
    ...(tenant.valid ? [] : tenant.issues.map((issue) => `${issue.path || '(config)'}: ${issue.message}`)),
  ];
  const skipped = status?.skipped_sample ?? [];
  if (items.length === 0 && skipped.length === 0) return <span className="muted">none</span>;
  return (
    <>
      {items.length > 0 && (
        <ul className="issues">
          {items.map((item) => (
            <li key={item}>{item}</li>
          ))}
        </ul>
      )}
      {skipped.length > 0 && (
        <details className="skipped">
          <summary>{status?.skipped_files ?? skipped.length} files skipped</summary>
          <ul>
            {skipped.map((file) => (
              <li key={file.key}>
                <code>{file.key}</code>: {file.reason.replace('_', ' ')}
                {file.detail ? ` (${file.detail})` : ''}
              </li>
            ))}
          </ul>
        </details>
      )}
    </>
  );
}

export function TenantList({ api, onFlash, onUnauthorized }: { api: AdminApi; onFlash: (message: string) => void; onUnauthorized: () => void }) {
  const { data, error, refresh } = usePolling(api, onUnauthorized);
  const [deleting, setDeleting] = useState<AdminTenant | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [filter, setFilter] = useState<TenantFilter>(NO_FILTER);

  const act = async (tenantId: string, action: () => Promise<string>) => {
    setBusy(tenantId);
    try {
      onFlash(await action());
    } catch (caught) {
      onFlash(caught instanceof ApiError && caught.status === 409 ? `${tenantId} was changed by someone else meanwhile; the list is refreshed, try again.` : errorText(caught));
    } finally {
      setBusy(null);
      await refresh();
    }
  };

  if (!data) return <p role="status">{error ?? 'Loading…'}</p>;
  // One lookup per tenant, not a scan of the rollout per row: lists run to hundreds of tenants.
  const cellsByTenant = new Map<string, readonly RolloutCell[]>((data.rollout?.tenants ?? []).map((row) => [row.tenant_id, row.pods]));
  const shown = filterTenants(data.tenants, filter);
  return (
    <section aria-labelledby="tenants-title">
      <div className="section-head">
        <h1 id="tenants-title">Tenants</h1>
        <a className="button" href="#/new">Create tenant</a>
      </div>
      {error && <p className="error" role="alert">Refresh failed: {error}</p>}
      {data.rollout && (
        <p className="pods">
          Pods:{' '}
          {data.rollout.pods.map((pod) => (
            <span key={pod.pod} className={`pod ${pod.reachable ? 'up' : 'down'}`} title={pod.error ?? ''}>
              {pod.pod} {pod.reachable ? '' : `(unreachable: ${pod.error})`}
            </span>
          ))}
        </p>
      )}
      {data.tenants.length > 0 && (
        <div className="list-filter">
          <p aria-live="polite">
            {data.tenants.length} tenants: {stateSummary(data.tenants)}
            {shown.length !== data.tenants.length && ` — showing ${shown.length}`}
          </p>
          <label>
            <span>Filter by id</span>
            <input type="search" value={filter.text} onChange={(event) => setFilter({ ...filter, text: event.target.value })} />
          </label>
          <label className="checkbox">
            <input type="checkbox" checked={filter.needsAttentionOnly} onChange={(event) => setFilter({ ...filter, needsAttentionOnly: event.target.checked })} />
            <span>Only tenants that need attention</span>
          </label>
        </div>
      )}
      {data.tenants.length === 0 ? (
        <p>No tenants yet.</p>
      ) : shown.length === 0 ? (
        <p>No tenant matches the filter.</p>
      ) : (
        <table className="tenants">
          <thead>
            <tr>
              <th scope="col">Tenant</th>
              <th scope="col">State</th>
              <th scope="col">Desired</th>
              <th scope="col">Serving per pod</th>
              <th scope="col">Docs</th>
              <th scope="col">Chunks</th>
              <th scope="col">Last build</th>
              <th scope="col">Errors and warnings</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((tenant) => {
              const status = tenant.status;
              const config = configOf(tenant);
              const active = config?.status !== 'inactive';
              const cells = cellsByTenant.get(tenant.tenant_id) ?? [];
              return (
                <tr key={tenant.tenant_id} data-tenant={tenant.tenant_id}>
                  <th scope="row">
                    <a href={`#/edit/${encodeURIComponent(tenant.tenant_id)}`}>{tenant.tenant_id}</a>
                  </th>
                  <td>
                    <span className={`state state-${status?.state ?? 'pending'}`} data-testid="state">
                      {status?.state ?? 'pending'}
                    </span>
                  </td>
                  <td>{typeof config?.version === 'string' ? config.version : '–'}</td>
                  <td>
                    <ul className="cells">
                      {cells.map((cell) => (
                        <li key={cell.pod} title={cell.pod}>
                          <span className="pod-name">{cell.pod}</span>{' '}
                          {cell.reachable ? `${cell.serving_version ?? '–'} (${cell.state ?? 'unknown'})` : 'unreachable'}
                        </li>
                      ))}
                    </ul>
                  </td>
                  <td className="num">{status?.documents ?? '–'}</td>
                  <td className="num">{status?.chunks ?? '–'}</td>
                  <td>
                    {status?.loaded_at ? <time dateTime={status.loaded_at}>{new Date(status.loaded_at).toLocaleString()}</time> : '–'}
                    {status?.last_build_ms != null && <div className="muted">{Math.round(status.last_build_ms)} ms</div>}
                  </td>
                  <td>
                    <Issues tenant={tenant} />
                  </td>
                  <td className="row-actions">
                    <a className="button" href={`#/edit/${encodeURIComponent(tenant.tenant_id)}`}>Edit</a>
                    <button
                      type="button"
                      disabled={busy === tenant.tenant_id || !tenant.valid}
                      onClick={() =>
                        void act(tenant.tenant_id, async () => {
                          const result = await api.reindex(tenant.tenant_id);
                          return `Reindex of ${tenant.tenant_id}: ${result.old_version} → ${result.version}`;
                        })
                      }
                    >
                      Reindex
                    </button>
                    <button
                      type="button"
                      disabled={busy === tenant.tenant_id || !config}
                      onClick={() =>
                        void act(tenant.tenant_id, async () => {
                          await api.save(tenant.tenant_id, { ...config, status: active ? 'inactive' : 'active' }, tenant.modify_index);
                          return `${tenant.tenant_id} is now ${active ? 'inactive' : 'active'}`;
                        })
                      }
                    >
                      {active ? 'Deactivate' : 'Activate'}
                    </button>
                    <button type="button" className="danger" onClick={() => setDeleting(tenant)}>
                      Delete
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {deleting && (
        <DeleteDialog
          tenant={deleting}
          onCancel={() => setDeleting(null)}
          onConfirm={() => {
            const target = deleting;
            setDeleting(null);
            void act(target.tenant_id, async () => {
              await api.remove(target.tenant_id, target.modify_index);
              return `Deleted ${target.tenant_id}`;
            });
          }}
        />
      )}
    </section>
  );
}
