/**
 * The kinds this repository's manifests may contain, each with its validators:
 * - `model`: the kubernetes-models class whose `validate()` checks types, enums and required fields;
 * - `type`: the TypeScript interface the unknown-field check derives its allowed keys from
 *   (type-shapes.ts), or `shape` for a kind no installed package models.
 * A kind missing here is a test failure, never a silent pass.
 */
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { GitRepository } from '@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1/GitRepository';
import { HelmRepository } from '@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1/HelmRepository';
import { HelmRelease } from '@kubernetes-models/flux-cd/helm.toolkit.fluxcd.io/v2/HelmRelease';
import { Kustomization } from '@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1/Kustomization';
import { ANY, SCALAR, arrayOf, loadShapes, objectShape, type Shape, type TypeRef } from './type-shapes.ts';
import { REPO_ROOT } from './paths.ts';

export type ModelClass = new (data: never) => { validate(): void };

export interface KindSpec {
  readonly apiVersion: string;
  readonly kind: string;
  readonly model?: ModelClass;
  readonly type?: TypeRef;
  readonly shape?: (shapes: Map<string, Shape>) => Shape;
}

const OBJECT_META: TypeRef = {
  module: '@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta',
  name: 'IObjectMeta',
};
const LABEL_SELECTOR: TypeRef = {
  module: '@kubernetes-models/apimachinery/apis/meta/v1/LabelSelector',
  name: 'ILabelSelector',
};

const refKey = (ref: TypeRef): string => `${ref.module}#${ref.name}`;

/**
 * ServiceMonitor (monitoring.coreos.com/v1) has no model among the installed packages, so its
 * allowed fields are a hand-written allow-list of the Prometheus Operator API fields this chart
 * may use; metadata and the label selector still come from the kubernetes-models declarations.
 */
function serviceMonitorShape(shapes: Map<string, Shape>): Shape {
  const meta = shapes.get(refKey(OBJECT_META)) ?? ANY;
  const selector = shapes.get(refKey(LABEL_SELECTOR)) ?? ANY;
  const endpoint = objectShape({
    port: SCALAR,
    targetPort: SCALAR,
    path: SCALAR,
    scheme: SCALAR,
    params: ANY,
    interval: SCALAR,
    scrapeTimeout: SCALAR,
    honorLabels: SCALAR,
    honorTimestamps: SCALAR,
    followRedirects: SCALAR,
    enableHttp2: SCALAR,
    filterRunning: SCALAR,
    proxyUrl: SCALAR,
    tlsConfig: ANY,
    authorization: ANY,
    basicAuth: ANY,
    bearerTokenSecret: ANY,
    oauth2: ANY,
    relabelings: arrayOf(ANY),
    metricRelabelings: arrayOf(ANY),
  });
  return objectShape({
    apiVersion: SCALAR,
    kind: SCALAR,
    metadata: meta,
    spec: objectShape({
      selector,
      namespaceSelector: objectShape({ any: SCALAR, matchNames: arrayOf(SCALAR) }),
      endpoints: arrayOf(endpoint),
      jobLabel: SCALAR,
      targetLabels: arrayOf(SCALAR),
      podTargetLabels: arrayOf(SCALAR),
      sampleLimit: SCALAR,
      targetLimit: SCALAR,
      attachMetadata: ANY,
      scrapeProtocols: arrayOf(SCALAR),
    }),
  });
}

export const KINDS: readonly KindSpec[] = [
  { apiVersion: 'v1', kind: 'Namespace', model: Namespace, type: { module: 'kubernetes-models/v1/Namespace', name: 'INamespace' } },
  { apiVersion: 'v1', kind: 'Service', model: Service, type: { module: 'kubernetes-models/v1/Service', name: 'IService' } },
  { apiVersion: 'v1', kind: 'ServiceAccount', model: ServiceAccount, type: { module: 'kubernetes-models/v1/ServiceAccount', name: 'IServiceAccount' } },
  { apiVersion: 'v1', kind: 'Secret', model: Secret, type: { module: 'kubernetes-models/v1/Secret', name: 'ISecret' } },
  { apiVersion: 'apps/v1', kind: 'Deployment', model: Deployment, type: { module: 'kubernetes-models/apps/v1/Deployment', name: 'IDeployment' } },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', model: PodDisruptionBudget, type: { module: 'kubernetes-models/policy/v1/PodDisruptionBudget', name: 'IPodDisruptionBudget' } },
  { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', model: HorizontalPodAutoscaler, type: { module: 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler', name: 'IHorizontalPodAutoscaler' } },
  { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', model: Ingress, type: { module: 'kubernetes-models/networking.k8s.io/v1/Ingress', name: 'IIngress' } },
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', model: NetworkPolicy, type: { module: 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy', name: 'INetworkPolicy' } },
  { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', model: GitRepository, type: { module: '@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1/GitRepository', name: 'IGitRepository' } },
  { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'HelmRepository', model: HelmRepository, type: { module: '@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1/HelmRepository', name: 'IHelmRepository' } },
  { apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease', model: HelmRelease, type: { module: '@kubernetes-models/flux-cd/helm.toolkit.fluxcd.io/v2/HelmRelease', name: 'IHelmRelease' } },
  { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', model: Kustomization, type: { module: '@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1/Kustomization', name: 'IKustomization' } },
  { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', shape: serviceMonitorShape },
];

export interface KindRegistry {
  readonly get: (typeKey: string) => { readonly spec: KindSpec; readonly shape: Shape } | undefined;
}

/** Loads the declarations once (about a second) and returns a lookup by "apiVersion/kind". */
export function loadKindRegistry(kinds: readonly KindSpec[] = KINDS): KindRegistry {
  const refs = [OBJECT_META, LABEL_SELECTOR, ...kinds.flatMap((k) => (k.type ? [k.type] : []))];
  const shapes = loadShapes(refs, REPO_ROOT);
  const entries = new Map<string, { readonly spec: KindSpec; readonly shape: Shape }>(
    kinds.map((spec) => {
      const shape = spec.type ? shapes.get(refKey(spec.type)) : spec.shape?.(shapes);
      if (!shape) throw new Error(`kinds: no shape for ${spec.apiVersion}/${spec.kind}`);
      return [`${spec.apiVersion}/${spec.kind}`, { spec, shape }];
    }),
  );
  return { get: (key) => entries.get(key) };
}
