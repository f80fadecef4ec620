/** Pure helpers over rendered Flux objects: identities, references, dependency order. */
import type { KubeObject } from './yaml-docs.ts';

export interface ObjectRef {
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

export const nameOf = (o: KubeObject): string => String(o.metadata?.name ?? '');
export const namespaceOf = (o: KubeObject): string | undefined =>
  o.metadata?.namespace === undefined ? undefined : String(o.metadata.namespace);

/** Kind/namespace/name: what identifies an object in a cluster (API group aside). */
export function objectId(o: KubeObject): string {
  return `${String(o.kind)}/${namespaceOf(o) ?? ''}/${nameOf(o)}`;
}

/** The object a Flux reference points at; a reference without namespace means `fromNamespace`. */
export function resolveRef(objects: readonly KubeObject[], ref: ObjectRef, fromNamespace: string | undefined): KubeObject | undefined {
  const namespace = ref.namespace ?? fromNamespace;
  return objects.find((o) => o.kind === ref.kind && nameOf(o) === ref.name && namespaceOf(o) === namespace);
}

export function ofKind(objects: readonly KubeObject[], kind: string): KubeObject[] {
  return objects.filter((o) => o.kind === kind);
}

export function specOf<T>(o: KubeObject): T {
  return (o.spec ?? {}) as T;
}

/** A dependency cycle among Kustomizations (as names in order), or undefined when there is none. */
export function findDependencyCycle(kustomizations: readonly KubeObject[]): string[] | undefined {
  const deps = new Map(
    kustomizations.map((k) => [
      nameOf(k),
      (specOf<{ dependsOn?: { name: string }[] }>(k).dependsOn ?? []).map((d) => d.name),
    ]),
  );
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, trail: string[]): string[] | undefined => {
    if (state.get(name) === 'visiting') return [...trail.slice(trail.indexOf(name)), name];
    if (state.get(name) === 'done') return undefined;
    state.set(name, 'visiting');
    for (const next of deps.get(name) ?? []) {
      const cycle = visit(next, [...trail, name]);
      if (cycle) return cycle;
    }
    state.set(name, 'done');
    return undefined;
  };
  for (const name of deps.keys()) {
    const cycle = visit(name, []);
    if (cycle) return cycle;
  }
  return undefined;
}

/** Object ids that appear in more than one of the given renders (keyed by a label). */
export function overlappingObjects(renders: ReadonlyMap<string, readonly KubeObject[]>): string[] {
  const owners = new Map<string, string[]>();
  for (const [label, objects] of renders) {
    for (const o of objects) owners.set(objectId(o), [...(owners.get(objectId(o)) ?? []), label]);
  }
  return [...owners].filter(([, labels]) => labels.length > 1).map(([id, labels]) => `${id} in ${labels.join(' and ')}`);
}
