import { useEffect, useRef, useState, type ReactNode } from 'react';
import { getPath, issuesAt, NEW_TENANT_TEMPLATE, setPath, type ConfigDraft } from '../shared/config-fields.ts';
import { configDiff, hasChanges, prettyConfig } from '../shared/diff.ts';
import { ApiError, errorText, type AdminApi, type Current, type Issue } from './api.ts';
import { Diff } from './Diff.tsx';

const TENANT_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;

type Stage = 'edit' | 'review' | 'conflict';

interface Props {
  readonly api: AdminApi;
  /** null: create a new tenant. */
  readonly tenantId: string | null;
  readonly onDone: (message: string) => void;
  readonly onUnauthorized: () => void;
}

function Field({ label, path, issues, children, hint }: { label: string; path: string; issues: readonly Issue[]; children: (id: string, invalid: boolean) => ReactNode; hint?: string }) {
  const id = `field-${path.replace(/\./g, '-')}`;
  const messages = issuesAt(issues, path);
  return (
    <div className={`field ${messages.length ? 'invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children(id, messages.length > 0)}
      {hint && <small className="muted">{hint}</small>}
      {messages.map((message) => (
        <small key={message} className="field-error" id={`${id}-error`} role="alert">
          {message}
        </small>
      ))}
    </div>
  );
}

export function TenantEditor({ api, tenantId, onDone, onUnauthorized }: Props) {
  const creating = tenantId === null;
  const [id, setId] = useState(tenantId ?? '');
  /** What the save is based on: its config and ModifyIndex (null when creating). */
  const [base, setBase] = useState<Current | null>(null);
  const [draft, setDraft] = useState<ConfigDraft>(creating ? NEW_TENANT_TEMPLATE : {});
  const [jsonText, setJsonText] = useState(prettyConfig(creating ? NEW_TENANT_TEMPLATE : {}));
  const [jsonError, setJsonError] = useState<string | null>(null);
  const [issues, setIssues] = useState<Issue[]>([]);
  const [stage, setStage] = useState<Stage>('edit');
  const [theirs, setTheirs] = useState<Current | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [loading, setLoading] = useState(!creating);

  const replaceDraft = (next: ConfigDraft) => {
    setDraft(next);
    setJsonText(prettyConfig(next));
    setJsonError(null);
  };

  // The stored config is read once per editor: a second read (an effect re-run under a busy browser)
  // would replace what the operator typed and move the If-Match base past a concurrent write.
  const loaded = useRef(false);
  useEffect(() => {
    if (creating || loaded.current) return;
    loaded.current = true;
    api
      .config(tenantId)
      .then((stored) => {
        setBase({ config: stored.config, modify_index: stored.modify_index });
        if (stored.config && typeof stored.config === 'object') replaceDraft(stored.config as ConfigDraft);
        else {
          // A hand-written value that is not JSON: show it raw so the operator can repair it.
          setJsonText(String(stored.config));
          setJsonError('the stored value is not valid JSON');
        }
        setIssues(stored.issues);
      })
      .catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 401) onUnauthorized();
        setMessage(errorText(error));
      })
      .finally(() => setLoading(false));
  }, [api, tenantId, creating, onUnauthorized]);

  const set = (path: string, value: unknown) => replaceDraft(setPath(draft, path, value));
  const text = (path: string) => {
    const value = getPath(draft, path);
    return value === undefined || value === null ? '' : String(value);
  };
  const numberOrText = (raw: string) => (raw === '' ? undefined : /^-?\d+$/.test(raw) ? Number(raw) : raw);
  const input = (path: string, props: { type?: string; placeholder?: string; number?: boolean } = {}) => (fieldId: string, invalid: boolean) => (
    <input
      id={fieldId}
      name={path}
      type={props.type ?? 'text'}
      placeholder={props.placeholder}
      aria-invalid={invalid}
      aria-describedby={invalid ? `${fieldId}-error` : undefined}
      value={text(path)}
      onChange={(event) => set(path, props.number ? numberOrText(event.target.value) : event.target.value)}
    />
  );

  const idIssues: Issue[] = creating && id !== '' && !TENANT_ID.test(id) ? [{ path: 'tenant_id', message: 'lower-case letters, digits, - and _, 1-63 characters, starting with a letter or digit' }] : [];

  async function review() {
    setMessage(null);
    if (jsonError) return;
    if (creating && !TENANT_ID.test(id)) {
      setIssues([{ path: 'tenant_id', message: 'a tenant id is required (lower-case letters, digits, - and _)' }]);
      return;
    }
    try {
      const result = await api.validate(draft);
      setIssues(result.issues);
      if (result.valid) setStage('review');
    } catch (error) {
      setMessage(errorText(error));
    }
  }

  async function save() {
    try {
      const result = await api.save(id, draft, base?.modify_index ?? 0);
      onDone(`${creating ? 'Created' : 'Saved'} ${id}${result.warnings.length ? ` (${result.warnings.join('; ')})` : ''}`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) {
        setTheirs(error.body.current ?? null);
        setStage('conflict');
      } else if (error instanceof ApiError && error.status === 400 && error.body.issues) {
        setIssues(error.body.issues);
        setStage('edit');
      } else {
        if (error instanceof ApiError && error.status === 401) onUnauthorized();
        setMessage(errorText(error));
      }
    }
  }

  if (loading) return <p role="status">Loading {tenantId}…</p>;
  const diff = configDiff(base?.config ?? null, draft);
  const otherIssues = issues.filter((issue) => !KNOWN_PATHS.includes(issue.path));

  return (
    <section aria-labelledby="editor-title">
      <h1 id="editor-title">{creating ? 'Create tenant' : `Edit ${tenantId}`}</h1>
      {message && (
        <p className="error" role="alert">
          {message}
        </p>
      )}

      {stage === 'edit' && (
        <form
          className="editor"
          onSubmit={(event) => {
            event.preventDefault();
            void review();
          }}
        >
          <fieldset>
            <legend>Common fields</legend>
            {creating && (
              <Field label="Tenant id" path="tenant_id" issues={[...issues, ...idIssues]}>
                {(fieldId, invalid) => <input id={fieldId} name="tenant_id" required aria-invalid={invalid} value={id} onChange={(e) => setId(e.target.value)} />}
              </Field>
            )}
            <Field label="Version" path="version" issues={issues} hint="bump it to rebuild">
              {input('version')}
            </Field>
            <Field label="Status" path="status" issues={issues}>
              {(fieldId) => (
                <select id={fieldId} name="status" value={text('status') || 'active'} onChange={(e) => set('status', e.target.value)}>
                  <option value="active">active</option>
                  <option value="inactive">inactive</option>
                </select>
              )}
            </Field>
            <Field label="Data source type" path="data_source.type" issues={issues}>
              {(fieldId) => (
                <select
                  id={fieldId}
                  name="data_source.type"
                  value={text('data_source.type')}
                  // Switching type starts the source over: fields of the other type would be unknown fields.
                  onChange={(e) => set('data_source', e.target.value === 's3' ? { type: 's3', bucket: '' } : { type: 'fs', path: '' })}
                >
                  <option value="fs">fs (local folder)</option>
                  <option value="s3">s3</option>
                </select>
              )}
            </Field>
            {text('data_source.type') === 's3' ? (
              <>
                <Field label="Bucket" path="data_source.bucket" issues={issues}>{input('data_source.bucket')}</Field>
                <Field label="Prefix" path="data_source.prefix" issues={issues}>{input('data_source.prefix')}</Field>
                <Field label="Region" path="data_source.region" issues={issues}>{input('data_source.region')}</Field>
                <Field label="Endpoint" path="data_source.endpoint" issues={issues}>{input('data_source.endpoint', { placeholder: 'https://…' })}</Field>
              </>
            ) : (
              <Field label="Folder" path="data_source.path" issues={issues}>{input('data_source.path', { placeholder: 'examples/acme-handbook' })}</Field>
            )}
            <Field label="Chunk size" path="index_params.chunk_size" issues={issues}>{input('index_params.chunk_size', { number: true })}</Field>
            <Field label="Chunk overlap" path="index_params.chunk_overlap" issues={issues}>{input('index_params.chunk_overlap', { number: true })}</Field>
          </fieldset>
          <fieldset>
            <legend>Search page theme</legend>
            <Field label="Primary color" path="theme.primary_color" issues={issues}>{input('theme.primary_color', { placeholder: '#1f6feb' })}</Field>
            <Field label="Secondary color" path="theme.secondary_color" issues={issues}>{input('theme.secondary_color', { placeholder: '#f6f8fa' })}</Field>
            <Field label="Font color" path="theme.font_color" issues={issues}>{input('theme.font_color', { placeholder: '#1f2328' })}</Field>
            <Field label="Logo (image file, stored as a data URL)" path="theme.logo_url" issues={issues}>
              {(fieldId) => (
                <input
                  id={fieldId}
                  type="file"
                  accept="image/png,image/jpeg,image/gif,image/svg+xml,image/webp"
                  onChange={(event) => {
                    const file = event.target.files?.[0];
                    if (!file) return;
                    const reader = new FileReader();
                    reader.onload = () => set('theme.logo_url', String(reader.result));
                    reader.readAsDataURL(file);
                  }}
                />
              )}
            </Field>
          </fieldset>
          <div className="field json">
            <label htmlFor="config-json">Config JSON (all fields)</label>
            <textarea
              id="config-json"
              name="config-json"
              spellCheck={false}
              rows={18}
              aria-invalid={!!jsonError}
              value={jsonText}
              onChange={(event) => {
                setJsonText(event.target.value);
                try {
                  const parsed: unknown = JSON.parse(event.target.value);
                  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('the config must be a JSON object');
                  setDraft(parsed as ConfigDraft);
                  setJsonError(null);
                } catch (error) {
                  setJsonError((error as Error).message);
                }
              }}
            />
            {jsonError && (
              <small className="field-error" role="alert">
                JSON: {jsonError}
              </small>
            )}
            {otherIssues.length > 0 && (
              <ul className="issues" aria-label="other validation errors">
                {otherIssues.map((issue) => (
                  <li key={`${issue.path}:${issue.message}`} className="field-error">
                    {issue.path || '(config)'}: {issue.message}
                  </li>
                ))}
              </ul>
            )}
          </div>
          <div className="actions">
            <a className="button" href="#/">Cancel</a>
            <button type="submit" disabled={!!jsonError}>Review changes</button>
          </div>
        </form>
      )}

      {stage === 'review' && (
        <div className="review">
          <h2>Changes to {id}</h2>
          {hasChanges(diff) ? <Diff lines={diff} label="changes: old config to new config" /> : <p>No changes.</p>}
          <div className="actions">
            <button type="button" onClick={() => setStage('edit')}>Back to editing</button>
            <button type="button" className="primary" onClick={() => void save()}>
              Save
            </button>
          </div>
        </div>
      )}

      {stage === 'conflict' && (
        <div className="conflict" role="alert">
          <h2>Someone else changed {id}</h2>
          {theirs ? (
            <>
              <p>
                Your save was based on modify_index {base?.modify_index ?? 0}; KV now holds modify_index {theirs.modify_index}. Nothing was overwritten.
              </p>
              <div className="side-by-side">
                <div>
                  <h3>Theirs (in KV now)</h3>
                  <pre aria-label="their config">{prettyConfig(theirs.config)}</pre>
                </div>
                <div>
                  <h3>Yours</h3>
                  <pre aria-label="your config">{prettyConfig(draft)}</pre>
                </div>
              </div>
              <h3>From theirs to yours</h3>
              <Diff lines={configDiff(theirs.config, draft)} label="changes: their config to your config" />
            </>
          ) : (
            <p>The tenant was deleted meanwhile. Saving again creates it anew.</p>
          )}
          <div className="actions">
            <button
              type="button"
              onClick={() => {
                if (theirs && typeof theirs.config === 'object' && theirs.config) replaceDraft(theirs.config as ConfigDraft);
                setBase(theirs);
                setStage('edit');
              }}
            >
              Discard mine, edit theirs
            </button>
            <button
              type="button"
              className="primary"
              onClick={() => {
                setBase(theirs);
                setStage('review');
              }}
            >
              Keep mine (review over theirs)
            </button>
          </div>
        </div>
      )}
    </section>
  );
}

const KNOWN_PATHS = [
  'tenant_id',
  'version',
  'status',
  'data_source.type',
  'data_source.bucket',
  'data_source.prefix',
  'data_source.region',
  'data_source.endpoint',
  'data_source.path',
  'index_params.chunk_size',
  'index_params.chunk_overlap',
  'theme.primary_color',
  'theme.secondary_color',
  'theme.font_color',
  'theme.logo_url',
];
