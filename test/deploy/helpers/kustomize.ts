import { spawnSync } from 'node:child_process';
import { readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { parseYamlObjects, type KubeObject } from './yaml-docs.ts';

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

/** Every directory under `root` (root included) that holds a kustomization file, sorted. */
export function findKustomizationDirs(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    if (KUSTOMIZATION_FILES.some((f) => existsSync(path.join(dir, f)))) found.push(dir);
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(path.join(dir, entry.name));
    }
  };
  walk(root);
  return found.sort();
}

/**
 * Fails with an actionable message when kubectl is missing: the cluster manifests must never be
 * "validated" by a run that could not render them.
 */
export function assertKubectlAvailable(): void {
  const probe = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      'kubectl is required to render clusters/ (`kubectl kustomize`) but could not be run: ' +
        `${probe.error?.message ?? probe.stderr}. Install kubectl >= 1.27 and put it on PATH.`,
    );
  }
}

/** `kubectl kustomize <dir>` (offline), parsed into objects. Throws with kubectl's stderr on failure. */
export function renderKustomization(dir: string): KubeObject[] {
  const result = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`kubectl kustomize ${dir} failed (exit ${result.status}): ${result.stderr.trim()}`);
  }
  return parseYamlObjects(result.stdout, `kubectl kustomize ${dir}`);
}
