import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { build } from 'vite';

/**
 * Vitest global setup: the browser tests drive the built UI as `npm start` serves it, so it must
 * match the sources. Building takes about a second; it only runs when a source file is newer than
 * the last build (or there is none), so most runs skip it.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const UI_SOURCE = path.join(ROOT, 'src/admin/ui');
const BUILT = path.join(ROOT, 'dist/admin-ui/index.html');

function newestMtime(dir: string): number {
  return Math.max(
    0,
    ...readdirSync(dir, { withFileTypes: true }).map((entry) => {
      const full = path.join(dir, entry.name);
      return entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs;
    }),
  );
}

export function uiBuildIsStale(): boolean {
  return !existsSync(BUILT) || newestMtime(UI_SOURCE) > statSync(BUILT).mtimeMs;
}

export default async function setup(): Promise<void> {
  if (uiBuildIsStale()) await build({ configFile: path.join(UI_SOURCE, 'vite.config.ts'), logLevel: 'warn' });
}
