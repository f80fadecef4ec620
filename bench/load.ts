import { Agent, request } from 'undici';

/** Latency summary of one load phase, in milliseconds. */
export interface LatencySummary {
  readonly requests: number;
  readonly failed: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[index]!;
}

export function summarize(latencies: number[], failed: number): LatencySummary {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { requests: latencies.length + failed, failed, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted.at(-1) ?? Number.NaN };
}

/**
 * A closed-loop load generator on loopback: `clients` concurrent loops, each sending the next
 * request when the previous answered, for `durationMs`. Bounded in count and time.
 */
export async function runLoad(options: {
  url: string;
  body: () => string;
  clients: number;
  durationMs: number;
  maxRequests?: number;
}): Promise<LatencySummary> {
  const dispatcher = new Agent({ connections: options.clients, keepAliveTimeout: 10_000 });
  const latencies: number[] = [];
  let failed = 0;
  const deadline = performance.now() + options.durationMs;
  const maxRequests = options.maxRequests ?? 1_000_000;
  const client = async () => {
    while (performance.now() < deadline && latencies.length + failed < maxRequests) {
      const startedAt = performance.now();
      try {
        const response = await request(options.url, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json' }, body: options.body() });
        await response.body.text();
        if (response.statusCode === 200) latencies.push(performance.now() - startedAt);
        else failed += 1;
      } catch {
        failed += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: options.clients }, client));
  await dispatcher.close();
  return summarize(latencies, failed);
}
