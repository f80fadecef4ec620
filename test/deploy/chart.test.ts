import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CHART_DIR, CLUSTERS_DIR } from './helpers/paths.ts';
import { findKustomizationDirs, renderKustomization, assertKubectlAvailable } from './helpers/kustomize.ts';
import { PLACEHOLDER_PATTERN, lintHelpers, lintTemplate } from './helpers/template-lint.ts';
import { hasValuesPath, isCovered, leafPaths, mapPaths, valuesReferences, withExtraKey, type Values } from './helpers/values-paths.ts';
import { coalesceValues } from './helpers/helm-values.ts';
import { compileValuesSchema, constrains, formatErrors, schemaNodeAt, type JsonSchema } from './helpers/values-schema.ts';
import { loadKindRegistry, type KindRegistry } from './helpers/kinds.ts';
import { validateObject } from './helpers/validate-object.ts';
import { describeObject, type KubeObject } from './helpers/yaml-docs.ts';

const read = (file: string): string => readFileSync(path.join(CHART_DIR, file), 'utf8');
const values = parseYaml(read('values.yaml')) as Values;
const schema = JSON.parse(read('values.schema.json')) as JsonSchema;
const templateDir = path.join(CHART_DIR, 'templates');
const templateFiles = readdirSync(templateDir).sort();
const templates = new Map(templateFiles.map((f) => [f, readFileSync(path.join(templateDir, f), 'utf8')]));
const yamlTemplates = templateFiles.filter((f) => f.endsWith('.yaml'));
const allReferences = [...new Set([...templates.values()].flatMap(valuesReferences))];

describe('Chart.yaml', () => {
  const chart = parseYaml(read('Chart.yaml')) as Record<string, unknown>;

  it('has the fields Helm requires, with valid values', () => {
    expect(chart.apiVersion).toBe('v2');
    expect(chart.name).toBe(path.basename(CHART_DIR));
    expect(chart.version).toMatch(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/);
    expect(typeof chart.appVersion, 'appVersion must be a (quoted) string').toBe('string');
    expect(chart.type).toBe('application');
    expect(typeof chart.description).toBe('string');
  });
});

describe('values.yaml and values.schema.json', () => {
  const validate = compileValuesSchema(schema);

  it('declares draft-07', () => {
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
  });

  it('values.yaml validates against the schema (ajv strict mode)', () => {
    const ok = validate(values);
    expect(formatErrors(validate.errors)).toEqual([]);
    expect(ok).toBe(true);
  });

  it('describes every leaf of values.yaml', () => {
    const undescribed = leafPaths(values).filter((p) => {
      const node = schemaNodeAt(schema, p);
      return node === undefined || (!constrains(node) && Object.keys(node).length > 0);
    });
    expect(undescribed).toEqual([]);
  });

  it('rejects unknown keys in every map of values.yaml except the pass-through Kubernetes objects', () => {
    const accepted = mapPaths(values).filter((p) => validate(withExtraKey(values, p, 'notAValue', 'x')));
    // Maps whose keys are free by design: label/annotation maps and Kubernetes objects the chart
    // passes through verbatim. Anything else accepting an unknown key is a schema gap.
    expect(accepted.sort()).toEqual(
      [
        'autoscaling.behavior',
        'autoscaling.behavior.scaleDown',
        'networkPolicy.consulPodLabels',
        'networkPolicy.dns.podLabels',
        'podSecurityContext',
        'podSecurityContext.seccompProfile',
        'resources',
        'resources.limits',
        'resources.requests',
        'securityContext',
        'securityContext.capabilities',
        'securityContext.seccompProfile',
      ].sort(),
    );
  });

  it('rejects wrong types and out-of-range values', () => {
    const bad: [string, Values][] = [
      ['replicaCount as string', { ...values, replicaCount: '2' }],
      ['auth.mode outside the enum', coalesceValues(values, { auth: { mode: 'basic' } })],
      // The service refuses AUTH_MODE=none off loopback, and the chart binds 0.0.0.0: it could never start.
      ['auth.mode none', coalesceValues(values, { auth: { mode: 'none' } })],
      ['annotation value that YAML 1.1 reads as a boolean', coalesceValues(values, { podAnnotations: { x: true } })],
      ['dataVolume.sizeLimit not a quantity', coalesceValues(values, { dataVolume: { sizeLimit: 'big' } })],
      ['config.port out of range', coalesceValues(values, { config: { port: 70000 } })],
      ['rollingUpdate.maxSurge as "1"', coalesceValues(values, { rollingUpdate: { maxSurge: 'one' } })],
    ];
    for (const [label, candidate] of bad) expect(validate(candidate), label).toBe(false);
  });
});

describe('templates', () => {
  it('reference only values that values.yaml defines', () => {
    const missing = [...templates].flatMap(([file, text]) =>
      valuesReferences(text)
        .filter((ref) => !hasValuesPath(values, ref))
        .map((ref) => `${file}: .Values.${ref}`),
    );
    expect(missing).toEqual([]);
  });

  it('use every value that values.yaml defines', () => {
    expect(leafPaths(values).filter((p) => !isCovered(p, allReferences))).toEqual([]);
  });

  it('include every kind of object the chart is meant to render', () => {
    for (const file of [
      '_helpers.tpl',
      'deployment.yaml',
      'service.yaml',
      'service-headless.yaml',
      'serviceaccount.yaml',
      'pdb.yaml',
      'hpa.yaml',
      'ingress.yaml',
      'networkpolicy.yaml',
      'servicemonitor.yaml',
      'secret.yaml',
      'NOTES.txt',
    ]) {
      expect(templateFiles).toContain(file);
    }
  });

  it.each(yamlTemplates)('%s is well-formed YAML once template actions are set aside', (file) => {
    const result = lintTemplate(templates.get(file) ?? '');
    expect(result.errors).toEqual([]);
    expect(result.documents.length).toBeGreaterThan(0);
  });

  it('_helpers.tpl holds only balanced define blocks', () => {
    expect(lintHelpers(templates.get('_helpers.tpl') ?? '')).toEqual([]);
  });

  describe('objects written by the templates', () => {
    let registry: KindRegistry;
    beforeAll(() => {
      registry = loadKindRegistry();
    });

    it.each(yamlTemplates)('%s writes only fields its kind defines', (file) => {
      const docs = lintTemplate(templates.get(file) ?? '').documents as KubeObject[];
      const problems = docs.flatMap((doc) =>
        validateObject(doc, registry, { schema: false, ignoreKey: (k) => PLACEHOLDER_PATTERN.test(k) }),
      );
      expect(problems).toEqual([]);
    });
  });

  it('deployment.yaml keeps the zero-downtime and hardening settings wired to values', () => {
    const text = templates.get('deployment.yaml') ?? '';
    for (const needle of [
      'maxUnavailable: {{ .Values.rollingUpdate.maxUnavailable }}',
      'path: {{ .Values.probes.readiness.path }}',
      'path: {{ .Values.probes.liveness.path }}',
      'startupProbe:',
      'preStop:',
      'terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}',
      'toYaml .Values.securityContext',
      'toYaml .Values.podSecurityContext',
      'checksum/secret:',
      'secretKeyRef:',
      'emptyDir:',
    ]) {
      expect(text).toContain(needle);
    }
    expect(values.rollingUpdate).toEqual({ maxUnavailable: 0, maxSurge: 1 });
    expect(values.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect((values.probes as Values).readiness).toMatchObject({ path: '/ready' });
    expect((values.probes as Values).liveness).toMatchObject({ path: '/health' });
  });

  it('deployment.yaml passes the Secret\'s HS256 key only without a JWKS URL (the service takes exactly one)', () => {
    const text = templates.get('deployment.yaml') ?? '';
    expect(text).toMatch(/\{\{- if not \.Values\.auth\.jwksUrl \}\}\s*\{\{- with \.Values\.secrets\.keys\.jwtSecret \}\}\s*- name: AUTH_JWT_SECRET/);
    expect(text.match(/name: AUTH_JWT_SECRET/g)).toHaveLength(1);
  });

  it('pdb.yaml is skipped below 2 pods, where minAvailable 1 would block every node drain', () => {
    const text = templates.get('pdb.yaml') ?? '';
    expect(text).toContain('ternary (int .Values.autoscaling.minReplicas) (int .Values.replicaCount) .Values.autoscaling.enabled');
    expect(text).toContain('{{- if and .Values.pdb.enabled (ge $pods 2) }}');
  });

  it('the default Ingress reaches the query API and the tenant search page with its assets, not /admin', () => {
    const paths = ((values.ingress as Values).hosts as { paths: { path: string }[] }[]).flatMap((host) => host.paths.map((p) => p.path));
    expect(paths).toEqual(expect.arrayContaining(['/query', '/t', '/ui']));
    expect(paths.some((p) => p.startsWith('/admin'))).toBe(false);
  });

  it('service-headless.yaml is headless and publishes not-ready pods', () => {
    const [svc] = lintTemplate(templates.get('service-headless.yaml') ?? '').documents as KubeObject[];
    expect(svc?.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
  });
});

describe('README.md', () => {
  const readme = read('README.md');
  const valuesSection = /^## Values\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1] ?? '';
  const documented = [...valuesSection.matchAll(/^\| `([A-Za-z0-9_.]+)` \|/gm)].map((m) => m[1] ?? '');

  it('documents every value in its table', () => {
    expect(leafPaths(values).filter((p) => !isCovered(p, documented))).toEqual([]);
  });

  it('documents no value that does not exist', () => {
    expect(documented.length).toBeGreaterThan(50);
    expect(documented.filter((p) => !hasValuesPath(values, p))).toEqual([]);
  });
});

describe('HelmRelease values in clusters/', () => {
  it('merged over values.yaml, validate against values.schema.json', () => {
    assertKubectlAvailable();
    const validate = compileValuesSchema(schema);
    const releases = findKustomizationDirs(CLUSTERS_DIR)
      .flatMap((dir) => renderKustomization(dir))
      .filter((o) => o.kind === 'HelmRelease')
      .filter((o) => {
        const chart = (o.spec as { chart?: { spec?: { chart?: string } } } | undefined)?.chart?.spec?.chart;
        return chart === './charts/ragswap';
      });
    expect(releases.length, 'a ragswap HelmRelease per cluster').toBeGreaterThanOrEqual(2);
    for (const release of releases) {
      const overrides = ((release.spec as { values?: Values }).values ?? {}) as Values;
      const merged = coalesceValues(values, overrides);
      validate(merged);
      expect(formatErrors(validate.errors), describeObject(release)).toEqual([]);
      // What the template passes: the JWKS URL if set, else the Secret's key. One of them must be there.
      const auth = merged.auth as { jwksUrl: string };
      const jwtSecretKey = ((merged.secrets as Values).keys as { jwtSecret: string }).jwtSecret;
      expect(auth.jwksUrl !== '' || jwtSecretKey !== '', `${describeObject(release)}: a JWT key source`).toBe(true);
    }
  });
});
