import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** Root of the repository (this file is test/deploy/helpers/paths.ts). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const CHART_DIR = path.join(REPO_ROOT, 'charts', 'ragswap');
export const CLUSTERS_DIR = path.join(REPO_ROOT, 'clusters');

/** Repository-relative path with forward slashes, for messages and Flux `spec.path` comparisons. */
export function repoRelative(absolute: string): string {
  return path.relative(REPO_ROOT, absolute).split(path.sep).join('/');
}
