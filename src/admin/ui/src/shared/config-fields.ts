/**
 * The form's view of a config: the common fields as dotted paths into the JSON document, read
 * and written without touching any other field (the JSON editor holds the rest). Pure.
 */
export type ConfigDraft = Record<string, unknown>;

export function getPath(config: ConfigDraft, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), config);
}

/** Sets (or, with undefined / '', removes) a field; empty parent objects are dropped again. */
export function setPath(config: ConfigDraft, path: string, value: unknown): ConfigDraft {
  const [head, ...rest] = path.split('.');
  const copy: ConfigDraft = { ...config };
  if (rest.length === 0) {
    if (value === undefined || value === '') delete copy[head!];
    else copy[head!] = value;
    return copy;
  }
  const child = copy[head!];
  const next = setPath(child && typeof child === 'object' && !Array.isArray(child) ? (child as ConfigDraft) : {}, rest.join('.'), value);
  if (Object.keys(next).length === 0) delete copy[head!];
  else copy[head!] = next;
  return copy;
}

/** Issues for a field: its own, and those of anything below it. */
export function issuesAt(issues: readonly { path: string; message: string }[], path: string): string[] {
  return issues.filter((issue) => issue.path === path).map((issue) => issue.message);
}

export const NEW_TENANT_TEMPLATE: ConfigDraft = {
  version: 'v1',
  data_source: { type: 'fs', path: '' },
  index_params: { chunk_size: 512, chunk_overlap: 50 },
  status: 'active',
};
