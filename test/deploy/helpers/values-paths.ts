/** Dotted value paths: what templates reference and what values.yaml defines. */

export type Values = Record<string, unknown>;

const isMap = (v: unknown): v is Values => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Every distinct `.Values.a.b` path (as "a.b") referenced in a template, `$.Values` included. */
export function valuesReferences(template: string): string[] {
  const found = new Set<string>();
  for (const match of template.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
    found.add((match[1] ?? '').slice(1));
  }
  return [...found].sort();
}

/** True when `path` names a key present in `values` (whatever its value, null included). */
export function hasValuesPath(values: Values, path: string): boolean {
  let node: unknown = values;
  for (const segment of path.split('.')) {
    if (!isMap(node) || !Object.hasOwn(node, segment)) return false;
    node = node[segment];
  }
  return true;
}

/** Paths of the leaves of `values`: scalars, lists, and empty maps. */
export function leafPaths(values: Values, prefix = ''): string[] {
  return Object.entries(values).flatMap(([key, value]) => {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    return isMap(value) && Object.keys(value).length > 0 ? leafPaths(value, path) : [path];
  });
}

/** Paths of every non-empty map in `values` (the root is ""). */
export function mapPaths(values: Values, prefix = ''): string[] {
  return [
    prefix,
    ...Object.entries(values).flatMap(([key, value]) =>
      isMap(value) && Object.keys(value).length > 0 ? mapPaths(value, prefix === '' ? key : `${prefix}.${key}`) : [],
    ),
  ];
}

/** True when `path` or one of its ancestors is among `references` (`toYaml .Values.x` uses all of x). */
export function isCovered(path: string, references: Iterable<string>): boolean {
  for (const ref of references) {
    if (path === ref || path.startsWith(`${ref}.`)) return true;
  }
  return false;
}

/** Returns a deep copy of `values` with `key` added to the map at `path` ("" is the root). */
export function withExtraKey(values: Values, path: string, key: string, value: unknown): Values {
  const copy = structuredClone(values);
  let node: unknown = copy;
  for (const segment of path === '' ? [] : path.split('.')) node = (node as Values)[segment];
  if (!isMap(node)) throw new Error(`withExtraKey: ${path} is not a map`);
  node[key] = value;
  return copy;
}
