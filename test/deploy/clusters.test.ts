import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CHART_DIR, CLUSTERS_DIR, REPO_ROOT, repoRelative } from './helpers/paths.ts';
import { assertKubectlAvailable, findKustomizationDirs, renderKustomization } from './helpers/kustomize.ts';
import { loadKindRegistry, type KindRegistry } from './helpers/kinds.ts';
import { validateObject } from './helpers/validate-object.ts';
import { describeObject, type KubeObject } from './helpers/yaml-docs.ts';
import {
  findDependencyCycle,
  nameOf,
  namespaceOf,
  ofKind,
  overlappingObjects,
  resolveRef,
  specOf,
  type ObjectRef,
} from './helpers/flux-graph.ts';

const ENVIRONMENTS = ['production', 'staging'] as const;
/** Created by `flux bootstrap` (gotk-components.yaml), so never rendered from this repository. */
const BOOTSTRAP_NAMESPACE = 'flux-system';

interface KustomizationSpec {
  path?: string;
  prune?: boolean;
  wait?: boolean;
  interval?: string;
  dependsOn?: { name: string; namespace?: string }[];
  healthChecks?: { apiVersion?: string; kind: string; name: string; namespace?: string }[];
  sourceRef: ObjectRef;
}
interface HelmReleaseSpec {
  chart?: { spec?: { chart: string; version?: string; sourceRef: ObjectRef; reconcileStrategy?: string } };
  values?: Record<string, unknown>;
  releaseName?: string;
  install?: { remediation?: { retries?: number } };
  upgrade?: { remediation?: { retries?: number; strategy?: string } };
}

const renders = new Map<string, KubeObject[]>();
let registry: KindRegistry;

beforeAll(() => {
  assertKubectlAvailable();
  registry = loadKindRegistry();
  for (const dir of findKustomizationDirs(CLUSTERS_DIR)) renders.set(repoRelative(dir), renderKustomization(dir));
});

/** Everything Flux applies in one cluster: the union of its kustomization directories' renders. */
function clusterObjects(env: string): KubeObject[] {
  const seen = new Map<string, KubeObject>();
  for (const [dir, objects] of renders) {
    if (!dir.startsWith(`clusters/${env}`)) continue;
    for (const o of objects) seen.set(`${String(o.apiVersion)}|${describeObject(o)}`, o);
  }
  return [...seen.values()];
}

const toDir = (fluxPath: string): string => repoRelative(path.resolve(REPO_ROOT, fluxPath));

describe('clusters/ renders with kubectl kustomize', () => {
  it('finds the expected kustomization directories', () => {
    const expected = ENVIRONMENTS.flatMap((env) =>
      ['', '/apps', '/flux-system', '/infrastructure'].map((sub) => `clusters/${env}${sub}`),
    );
    expect([...renders.keys()].sort()).toEqual(expected.sort());
  });

  it('renders at least one object from every directory', () => {
    for (const [dir, objects] of renders) expect(objects.length, dir).toBeGreaterThan(0);
  });

  it('every rendered object is of a validated kind and passes its schema and field checks', () => {
    const problems = [...renders].flatMap(([dir, objects]) =>
      objects.flatMap((o) => validateObject(o, registry).map((p) => `${dir}: ${p}`)),
    );
    expect(problems).toEqual([]);
  });
});

describe.each(ENVIRONMENTS)('Flux wiring of clusters/%s', (env) => {
  const objects = (): KubeObject[] => clusterObjects(env);
  const kustomizations = (): KubeObject[] => ofKind(objects(), 'Kustomization');
  const kustomization = (name: string): KubeObject => {
    const found = kustomizations().find((k) => nameOf(k) === name);
    if (!found) throw new Error(`no Kustomization ${name} in ${env}`);
    return found;
  };
  const release = (name: string): { object: KubeObject; spec: HelmReleaseSpec } => {
    const object = ofKind(objects(), 'HelmRelease').find((h) => nameOf(h) === name);
    if (!object) throw new Error(`no HelmRelease ${name} in ${env}`);
    return { object, spec: specOf<HelmReleaseSpec>(object) };
  };

  it('syncs ./clusters/<env> from the flux-system GitRepository', () => {
    const root = specOf<KustomizationSpec>(kustomization('flux-system'));
    expect(root.path).toBe(`./clusters/${env}`);
    expect(root.sourceRef).toMatchObject({ kind: 'GitRepository', name: 'flux-system' });
    const repo = resolveRef(objects(), root.sourceRef, BOOTSTRAP_NAMESPACE);
    expect(repo, 'GitRepository flux-system').toBeDefined();
    expect(specOf<{ ref?: { branch?: string } }>(repo ?? {}).ref?.branch).toBe(env === 'production' ? 'production' : 'main');
  });

  it('points every Kustomization at an existing directory of this cluster, through a source that exists', () => {
    for (const k of kustomizations()) {
      const spec = specOf<KustomizationSpec>(k);
      const dir = toDir(spec.path ?? '.');
      expect(dir === `clusters/${env}` || dir.startsWith(`clusters/${env}/`), `${nameOf(k)}: ${dir}`).toBe(true);
      expect(renders.has(dir), `${nameOf(k)}: ${dir} has a kustomization.yaml`).toBe(true);
      expect(resolveRef(objects(), spec.sourceRef, namespaceOf(k)), `${nameOf(k)} sourceRef`).toBeDefined();
      expect(spec.prune, `${nameOf(k)} prune`).toBe(true);
    }
  });

  it('applies infrastructure before apps, without cycles, and waits for health', () => {
    const apps = specOf<KustomizationSpec>(kustomization('apps'));
    const infrastructure = specOf<KustomizationSpec>(kustomization('infrastructure'));
    expect(apps.dependsOn?.map((d) => d.name)).toContain('infrastructure');
    for (const k of kustomizations()) {
      for (const dep of specOf<KustomizationSpec>(k).dependsOn ?? []) {
        expect(resolveRef(objects(), { kind: 'Kustomization', ...dep }, namespaceOf(k)), `${nameOf(k)} -> ${dep.name}`).toBeDefined();
      }
    }
    expect(findDependencyCycle(kustomizations())).toBeUndefined();
    expect(infrastructure.wait === true || (infrastructure.healthChecks?.length ?? 0) > 0).toBe(true);
    expect(apps.wait === true || (apps.healthChecks?.length ?? 0) > 0).toBe(true);
    for (const check of apps.healthChecks ?? []) {
      const target = resolveRef(renders.get(toDir(apps.path ?? '')) ?? [], check, undefined);
      expect(target, `apps health check ${check.kind} ${check.name}`).toBeDefined();
    }
  });

  it('applies every object through exactly one Flux Kustomization', () => {
    // Without clusters/<env>/kustomization.yaml, kustomize-controller would generate one that
    // applies infrastructure/ and apps/ a second time, outside their dependsOn ordering.
    const scopes = new Map(
      kustomizations().map((k) => {
        const dir = toDir(specOf<KustomizationSpec>(k).path ?? '');
        return [dir, renders.get(dir) ?? []] as const;
      }),
    );
    expect(scopes.size).toBe(3);
    expect(overlappingObjects(scopes)).toEqual([]);
  });

  it('creates every namespace its objects live in', () => {
    const namespaces = new Set([BOOTSTRAP_NAMESPACE, ...ofKind(objects(), 'Namespace').map(nameOf)]);
    const orphans = objects()
      .filter((o) => o.kind !== 'Namespace' && !namespaces.has(namespaceOf(o) ?? ''))
      .map(describeObject);
    expect(orphans).toEqual([]);
  });

  it('resolves every HelmRelease chart source', () => {
    for (const hr of ofKind(objects(), 'HelmRelease')) {
      const chart = specOf<HelmReleaseSpec>(hr).chart?.spec;
      expect(chart, describeObject(hr)).toBeDefined();
      if (!chart) continue;
      expect(resolveRef(objects(), chart.sourceRef, namespaceOf(hr)), `${describeObject(hr)} sourceRef`).toBeDefined();
      if (chart.sourceRef.kind === 'GitRepository') {
        expect(existsSync(path.join(REPO_ROOT, chart.chart, 'Chart.yaml')), `${chart.chart}/Chart.yaml`).toBe(true);
      } else {
        expect(chart.version, `${describeObject(hr)} pins an exact chart version`).toMatch(/^\d+\.\d+\.\d+$/);
      }
      expect(specOf<HelmReleaseSpec>(hr).upgrade?.remediation?.retries ?? 0).toBeGreaterThan(0);
    }
  });

  it('runs Consul from the HashiCorp repository: 3 servers, UI, managed ACLs', () => {
    const { object, spec } = release('consul');
    const repo = resolveRef(objects(), spec.chart?.spec?.sourceRef ?? { kind: '', name: '' }, namespaceOf(object));
    expect(specOf<{ url?: string }>(repo ?? {}).url).toBe('https://helm.releases.hashicorp.com');
    expect(spec.chart?.spec?.chart).toBe('consul');
    expect(spec.chart?.spec?.version).toMatch(/^1\.\d+\.\d+$/);
    expect(spec.values).toMatchObject({
      global: { acls: { manageSystemACLs: true } },
      server: { replicas: 3 },
      ui: { enabled: true },
    });
  });

  it('points ragswap at that Consul and at its own headless Service', () => {
    const consul = release('consul');
    const ragswap = release('ragswap');
    const chartDefaults = parseYaml(readFileSync(path.join(CHART_DIR, 'values.yaml'), 'utf8')) as {
      consul: { address: string; releaseFullname: string; namespace: string };
    };
    const values = ragswap.spec.values as { consul?: { address?: string }; config?: { peers?: string } };
    // The chart derives CONSUL_HTTP_ADDR from these defaults: they must name this Consul.
    expect(values.consul?.address ?? chartDefaults.consul.address).toBe('');
    expect(chartDefaults.consul.releaseFullname).toBe((consul.spec.values as { global: { name: string } }).global.name);
    expect(chartDefaults.consul.namespace).toBe(namespaceOf(consul.object));
    const releaseName = ragswap.spec.releaseName ?? nameOf(ragswap.object);
    expect(values.config?.peers).toBe(`${releaseName}-headless.${namespaceOf(ragswap.object)}.svc.cluster.local`);
  });

  it('deploys ragswap with JWT auth, a pinned image and an existing Secret', () => {
    const { spec } = release('ragswap');
    expect(spec.chart?.spec).toMatchObject({
      chart: './charts/ragswap',
      sourceRef: { kind: 'GitRepository', name: 'flux-system', namespace: 'flux-system' },
    });
    expect(spec.values).toMatchObject({ auth: { mode: 'jwt' }, secrets: { existingSecret: expect.any(String) } });
    const tag = (spec.values as { image?: { tag?: string } }).image?.tag ?? '';
    expect(tag).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('environments', () => {
  const replicas = (env: string): number => {
    const hr = ofKind(clusterObjects(env), 'HelmRelease').find((h) => nameOf(h) === 'ragswap');
    return Number((specOf<HelmReleaseSpec>(hr ?? {}).values as { replicaCount?: number }).replicaCount);
  };

  it('runs fewer ragswap replicas in staging than in production, and at least 2 everywhere', () => {
    expect(replicas('staging')).toBeGreaterThanOrEqual(2);
    expect(replicas('staging')).toBeLessThan(replicas('production'));
  });

  it('lists gotk-components.yaml in flux-system/kustomization.yaml exactly when bootstrap has generated it', () => {
    for (const env of ENVIRONMENTS) {
      const kustomization = readFileSync(path.join(CLUSTERS_DIR, env, 'flux-system', 'kustomization.yaml'), 'utf8');
      const exists = existsSync(path.join(CLUSTERS_DIR, env, 'flux-system', 'gotk-components.yaml'));
      // Listed only once bootstrap has generated it (kubectl kustomize would fail otherwise anyway).
      expect(/^\s*-\s*gotk-components\.yaml/m.test(kustomization)).toBe(exists);
    }
  });
});
