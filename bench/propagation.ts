import { readSettings } from '../src/config.ts';
import { buildBm25 } from '../src/indexing/bm25-index.ts';
import type { BuildRequest, BuiltIndexData } from '../src/indexing/build-index.ts';
import type { IndexBuilder } from '../src/indexing/index-builder.ts';
import { ConsulKvClient } from '../src/kv/consul-kv-client.ts';
import { EmbeddedKvServer } from '../src/kv/kv-server.ts';
import { silentLogger } from '../src/logger.ts';
import { embedText } from '../src/models/hash-embedding.ts';
import { startService } from '../src/service.ts';
import { tenantConfigKey } from '../src/tenants/desired-tenants.ts';
import { summarize, type LatencySummary } from './load.ts';
import { waitUntil } from './support.ts';

/**
 * Propagation: KV PUT sent → blocking query returns → desired state → reconcile → `builder.build()`
 * called, over `changes` version bumps, against the embedded KV server and the in-process service.
 * The builder records when it is called and returns a one-chunk index at once, so only the
 * propagation path is timed.
 */

/** `requests` = changes measured, latencies in ms from PUT sent to build() called. */
export type PropagationResult = LatencySummary;

/** A builder that tells the waiter of each version when `build()` was entered. */
function recordingBuilder() {
  const waiters = new Map<string, (calledAt: number) => void>();
  const built = (): BuiltIndexData => ({
    table: { dimensions: 1024, ids: ['only#0'], texts: ['only chunk'], metadata: [{}], embeddings: embedText('only chunk') },
    bm25: buildBm25(['only chunk']),
    documents: 1,
    skippedFiles: [],
    embeddingModel: 'hash',
  });
  const builder: IndexBuilder = {
    async build(request: BuildRequest) {
      const calledAt = performance.now();
      waiters.get(request.config.version)?.(calledAt);
      return built();
    },
  };
  const calledFor = (version: string) => new Promise<number>((resolve) => waiters.set(version, resolve));
  return { builder, calledFor };
}

/**
 * `gapMs` between a build being called and the next PUT. The service runs with its default watch
 * limit (a burst of 2 blocking queries, then one a second), which paces back-to-back changes to
 * about a second each, by design.
 */
export async function propagation(options: { changes: number; gapMs: number }): Promise<PropagationResult> {
  const kv = await EmbeddedKvServer.start({ port: 0 });
  const kvClient = new ConsulKvClient({ address: kv.address });
  const { builder, calledFor } = recordingBuilder();
  const service = await startService({
    settings: { ...readSettings({}), host: '127.0.0.1', port: 0, consulAddress: kv.address },
    logger: silentLogger,
    builder,
  });
  const key = tenantConfigKey('rag/tenants/', 'bench');
  const config = (version: string) => JSON.stringify({ version, data_source: { type: 'fs', path: '.' } });
  const latencies: number[] = [];
  try {
    // Warm-up change, not measured: the first reconcile creates the tenant's slot.
    for (let change = -1; change < options.changes; change++) {
      const version = `v${change + 1}`;
      const called = calledFor(version);
      const sentAt = performance.now();
      await kvClient.put(key, config(version));
      const calledAt = await called;
      if (change >= 0) latencies.push(calledAt - sentAt);
      await waitUntil(async () => service.manager.status('bench')?.serving_version === version, 10_000, 1);
      await new Promise((resolve) => setTimeout(resolve, options.gapMs));
    }
  } finally {
    await service.close();
    await kv.stop();
  }
  return summarize(latencies, 0);
}
