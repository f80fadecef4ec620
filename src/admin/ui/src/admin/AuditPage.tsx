import { useEffect, useState } from 'react';
import { configDiff } from '../shared/diff.ts';
import { ApiError, errorText, type AdminApi, type AuditRecord } from './api.ts';
import { Diff } from './Diff.tsx';

/** Newest first, 20 per page; `cursors` remembers how we got here so "Newer" can go back. */
export function AuditPage({ api, onUnauthorized }: { api: AdminApi; onUnauthorized: () => void }) {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [page, setPage] = useState<{ records: AuditRecord[]; next: string | null } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const cursor = cursors.at(-1);

  useEffect(() => {
    api
      .audit(cursor)
      .then((result) => {
        setPage(result);
        setError(null);
      })
      .catch((caught: unknown) => {
        if (caught instanceof ApiError && caught.status === 401) onUnauthorized();
        setError(errorText(caught));
      });
  }, [api, cursor, onUnauthorized]);

  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {page && page.records.length === 0 && <p>No changes recorded yet.</p>}
      {page && page.records.length > 0 && (
        <table className="audit">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">Action</th>
              <th scope="col">Tenant</th>
              <th scope="col">Version</th>
              <th scope="col">Change</th>
            </tr>
          </thead>
          <tbody>
            {page.records.map((record) => (
              <tr key={record.id} data-action={record.action}>
                <td>
                  <time dateTime={record.at}>{new Date(record.at).toLocaleString()}</time>
                </td>
                <td>{record.who}</td>
                <td>
                  <span className={`action action-${record.action}`}>{record.action}</span>
                </td>
                <td>{record.tenant_id}</td>
                <td>
                  {record.old_version ?? '–'} → {record.new_version ?? '–'}
                </td>
                <td>
                  <details>
                    <summary>config diff</summary>
                    <Diff lines={configDiff(record.old_config, record.new_config)} label={`changes in ${record.id}`} />
                  </details>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav className="pager" aria-label="audit pages">
        <button type="button" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          ← Newer
        </button>
        <button type="button" disabled={!page?.next} onClick={() => page?.next && setCursors([...cursors, page.next])}>
          Older →
        </button>
      </nav>
    </section>
  );
}
