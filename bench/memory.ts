import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { MemoryProbe, MemorySnapshot } from './memory-probe.ts';
import { MiB, ROOT } from './support.ts';

/** Memory: RSS per tenant and during a swap, one fresh child process per size for clean numbers. */

export interface MemoryRow extends MemoryProbe {
  /** RSS growth with one tenant loaded. */
  readonly perTenantMiB: number;
  readonly bytesPerChunk: number;
  /** Of the tenant: typed arrays (embeddings, BM25 postings) and JS heap (texts, ids, metadata, maps). */
  readonly arrayBuffersMiB: number;
  readonly heapMiB: number;
  /** RSS growth with the old and the new index both live, and after the old one is collected. */
  readonly duringSwapMiB: number;
  readonly afterSwapMiB: number;
  /** The embeddings alone (chunks × 1024 × 4 bytes), for reference. */
  readonly embeddingsMiB: number;
}

export async function memoryPerTenant(options: { sizes: readonly number[] }): Promise<MemoryRow[]> {
  const rows: MemoryRow[] = [];
  for (const chunks of options.sizes) {
    const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/memory-probe.ts', String(chunks)], {
      cwd: ROOT,
      maxBuffer: 1 << 20,
    });
    const probe = JSON.parse(stdout.trim().split('\n').at(-1)!) as MemoryProbe;
    const growth = (stage: MemorySnapshot, field: keyof MemorySnapshot) => stage[field] - probe.baseline[field];
    rows.push({
      ...probe,
      perTenantMiB: growth(probe.oneTenant, 'rss'),
      bytesPerChunk: (growth(probe.oneTenant, 'rss') * MiB) / chunks,
      arrayBuffersMiB: growth(probe.oneTenant, 'arrayBuffers'),
      heapMiB: growth(probe.oneTenant, 'heapUsed'),
      duringSwapMiB: growth(probe.duringSwap, 'rss'),
      afterSwapMiB: growth(probe.afterSwap, 'rss'),
      embeddingsMiB: (chunks * 1024 * 4) / MiB,
    });
  }
  return rows;
}
