import { parseAllDocuments } from 'yaml';

export type KubeObject = {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown; namespace?: unknown; [key: string]: unknown };
  [key: string]: unknown;
};

/**
 * Parses a multi-document YAML stream into plain objects. Throws on any YAML error or warning
 * (duplicate keys included), and on a document that is not a mapping. Empty documents are dropped.
 */
export function parseYamlObjects(text: string, source: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const [index, doc] of parseAllDocuments(text, { uniqueKeys: true }).entries()) {
    const problems = [...doc.errors, ...doc.warnings];
    if (problems.length > 0) {
      throw new Error(`${source}: YAML document ${index}: ${problems.map((p) => p.message).join('; ')}`);
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new Error(`${source}: YAML document ${index} is not a mapping`);
    }
    objects.push(value as KubeObject);
  }
  return objects;
}

/** "apiVersion/kind", the key the validators are registered under. */
export function typeKey(obj: KubeObject): string {
  return `${String(obj.apiVersion)}/${String(obj.kind)}`;
}

/** "Kind namespace/name" for messages. */
export function describeObject(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name;
  return `${String(obj.kind)} ${ns === undefined ? '' : `${String(ns)}/`}${String(name)}`;
}
