import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort } from '../test/helpers/ports.ts';
import { randomGenerator } from '../test/helpers/vectors.ts';

/** Helpers shared by the benchmarks: a deterministic corpus, the service as a child process, polling. */

export { freePort, randomGenerator };

export const ROOT = path.resolve(import.meta.dirname, '..');

export const WORDS = ('alpha beta gamma delta epsilon orbit rocket garden river mountain harbor signal engine ' +
  'market ledger invoice vacation policy server cluster network kernel memory thread worker queue ' +
  'tenant index vector chunk embedding answer source bucket object region replica shard').split(' ');

/** `count` words drawn from `WORDS` (or a larger `vocabulary`). */
export function randomWords(random: () => number, count: number, vocabulary: readonly string[] = WORDS): string {
  return Array.from({ length: count }, () => vocabulary[Math.floor(random() * vocabulary.length)]).join(' ');
}

/** A synthetic document: `sentences` sentences of 12 words, each naming the document. */
export function syntheticDocument(random: () => number, document: number, sentences: number): string {
  return Array.from({ length: sentences }, () => `Document ${document} notes that ${randomWords(random, 12)}.`).join(' ');
}

export async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms`);
}

export interface TenantStatusView {
  state: string;
  serving_version: string | null;
  documents: number | null;
  chunks: number | null;
  last_build_ms: number | null;
  last_error: string | null;
}

/** The service (`src/main.ts`) in its own process, as in production. */
export interface ServiceProcess {
  readonly url: string;
  readonly child: ChildProcess;
  status(tenantId: string): Promise<TenantStatusView>;
  /** Resolves once `tenantId` serves `version`. */
  waitForServing(tenantId: string, version: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startServiceProcess(env: Record<string, string>): Promise<ServiceProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const status = async (tenantId: string) => (await fetch(`${url}/tenants/${tenantId}`)).json() as Promise<TenantStatusView>;
  return {
    url,
    child,
    status,
    waitForServing: (tenantId, version, timeoutMs = 120_000) =>
      waitUntil(async () => (await status(tenantId)).serving_version === version, timeoutMs),
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

/** A memory field of `/proc/<pid>/status` (`VmRSS` now, `VmHWM` peak so far) in MiB; NaN where /proc is unavailable. */
export async function procMemoryMiB(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export const MiB = 2 ** 20;
