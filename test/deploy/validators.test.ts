import { beforeAll, describe, expect, it } from 'vitest';
import { loadKindRegistry, type KindRegistry } from './helpers/kinds.ts';
import { validateObject } from './helpers/validate-object.ts';
import { findDependencyCycle, overlappingObjects } from './helpers/flux-graph.ts';
import { coalesceValues } from './helpers/helm-values.ts';
import { isCovered, leafPaths, valuesReferences } from './helpers/values-paths.ts';
import type { KubeObject } from './helpers/yaml-docs.ts';

const helmRelease = (): KubeObject => ({
  apiVersion: 'helm.toolkit.fluxcd.io/v2',
  kind: 'HelmRelease',
  metadata: { name: 'demo', namespace: 'demo', labels: { 'any/label': 'x' } },
  spec: {
    interval: '5m',
    chart: { spec: { chart: './charts/x', sourceRef: { kind: 'GitRepository', name: 'flux-system' } } },
    values: { free: { form: ['values', 1] } },
  },
});

describe('validateObject', () => {
  let registry: KindRegistry;
  beforeAll(() => {
    registry = loadKindRegistry();
  });

  it('accepts a valid HelmRelease, free-form values and labels included', () => {
    expect(validateObject(helmRelease(), registry)).toEqual([]);
  });

  it('reports a misspelt Flux field, however deep', () => {
    const hr = helmRelease();
    const chartSpec = (hr.spec as { chart: { spec: Record<string, unknown> } }).chart.spec;
    chartSpec.sourceRf = chartSpec.sourceRef;
    (hr.spec as Record<string, unknown>).intervall = '1m';
    expect(validateObject(hr, registry)).toEqual([
      'HelmRelease demo/demo: unknown field spec.chart.spec.sourceRf',
      'HelmRelease demo/demo: unknown field spec.intervall',
    ]);
  });

  it('reports schema violations from the model', () => {
    const hr = helmRelease();
    (hr.spec as Record<string, unknown>).interval = 5;
    expect(validateObject(hr, registry).join('\n')).toMatch(/interval must be string/);
  });

  it('reports misspelt fields inside core objects (containers in a Deployment)', () => {
    const deployment: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: {
        selector: { matchLabels: { a: 'b' } },
        template: {
          metadata: { labels: { a: 'b' } },
          spec: { containers: [{ name: 'c', image: 'i', securityContext: { readOnlyRootFileSystem: true } }] },
        },
      },
    };
    expect(validateObject(deployment, registry)).toEqual([
      'Deployment d: unknown field spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem',
    ]);
  });

  it('fails a kind that has no validator', () => {
    const cm: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } };
    expect(validateObject(cm, registry)).toEqual([
      'ConfigMap c: no validator for v1/ConfigMap; add the kind to test/deploy/helpers/kinds.ts',
    ]);
  });

  it('fails a Flux kind at an API version it does not know', () => {
    const old = { ...helmRelease(), apiVersion: 'helm.toolkit.fluxcd.io/v2beta1' };
    expect(validateObject(old, registry)[0]).toMatch(/no validator for helm.toolkit.fluxcd.io\/v2beta1\/HelmRelease/);
  });

  it('says when a kind can only be field-checked', () => {
    const sm: KubeObject = { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 's' }, spec: { endpoint: [] } };
    expect(validateObject(sm, registry)).toEqual([
      'ServiceMonitor s: monitoring.coreos.com/v1/ServiceMonitor has no schema model installed, only a field allow-list',
      'ServiceMonitor s: unknown field spec.endpoint',
    ]);
  });
});

describe('flux graph helpers', () => {
  const k = (name: string, deps: string[]): KubeObject => ({
    kind: 'Kustomization',
    metadata: { name, namespace: 'flux-system' },
    spec: { dependsOn: deps.map((d) => ({ name: d })) },
  });

  it('finds dependency cycles', () => {
    expect(findDependencyCycle([k('a', []), k('b', ['a'])])).toBeUndefined();
    expect(findDependencyCycle([k('a', ['c']), k('b', ['a']), k('c', ['b'])])).toEqual(['a', 'c', 'b', 'a']);
  });

  it('finds objects applied by two Kustomizations', () => {
    const ns: KubeObject = { kind: 'Namespace', metadata: { name: 'x' } };
    expect(overlappingObjects(new Map([['one', [ns]], ['two', [ns]]]))).toEqual(['Namespace//x in one and two']);
    expect(overlappingObjects(new Map([['one', [ns]], ['two', []]]))).toEqual([]);
  });
});

describe('values helpers', () => {
  it('merge like Helm: maps deep, lists replaced, null deletes', () => {
    const merged = coalesceValues({ a: { b: 1, c: 2 }, l: [1, 2], d: 'x' }, { a: { c: 3 }, l: [9], d: null });
    expect(merged).toEqual({ a: { b: 1, c: 3 }, l: [9] });
  });

  it('extract .Values references, $.Values included', () => {
    expect(valuesReferences('{{ .Values.a.b }} {{ $.Values.c }} {{ .Values.a.b | quote }}')).toEqual(['a.b', 'c']);
  });

  it('list leaves and judge coverage by ancestors', () => {
    expect(leafPaths({ a: { b: 1, c: {} }, d: [] })).toEqual(['a.b', 'a.c', 'd']);
    expect(isCovered('a.b.c', ['a.b'])).toBe(true);
    expect(isCovered('a.bc', ['a.b'])).toBe(false);
  });
});
