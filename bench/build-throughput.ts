import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildIndexData, chunkDocuments } from '../src/indexing/build-index.ts';
import { ConsulKvClient } from '../src/kv/consul-kv-client.ts';
import { EmbeddedKvServer } from '../src/kv/kv-server.ts';
import { createDocumentSource, type SourceEnvironment } from '../src/sources/document-source.ts';
import { tenantConfigKey } from '../src/tenants/desired-tenants.ts';
import { parseTenantConfig } from '../src/tenants/tenant-config.ts';
import { S3RVER_CREDENTIALS, assertLegacyOpenSslProvider, createBucketWith, startS3Server } from '../test/helpers/s3-server.ts';
import { median, procMemoryMiB, randomGenerator, startServiceProcess, syntheticDocument, waitUntil } from './support.ts';

/**
 * Build throughput: `documents` small documents in s3rver, a tenant config pointing at them, and
 * the time from the KV PUT until the service (its own process, worker-thread builds, default `hash`
 * embedder) serves the new version. Repeated `builds` times (each a version bump); peak RSS is the
 * service process's VmHWM.
 */

export interface BuildRun {
  /** KV PUT sent → status shows the version serving (polled every 10 ms). */
  readonly putToServingMs: number;
  /** The manager's own build duration (worker build + engine creation + swap). */
  readonly buildMs: number;
}

export interface BuildThroughputResult {
  readonly documents: number;
  readonly chunks: number;
  readonly runs: readonly BuildRun[];
  readonly medianPutToServingMs: number;
  readonly documentsPerSecond: number;
  readonly chunksPerSecond: number;
  readonly rssBeforeBuildsMiB: number;
  readonly peakRssMiB: number;
  readonly phases: BuildPhases;
}

/** Where a build's time goes, measured in this process against the same s3rver (median of `runs`). */
export interface BuildPhases {
  /** ListObjectsV2 + GETs + text extraction. */
  readonly loadMs: number;
  /** SentenceSplitter over every document. */
  readonly chunkMs: number;
  /** The whole `buildIndexData` (load, chunk, embed, BM25), without a worker thread. */
  readonly buildIndexDataMs: number;
}

async function timed<T>(samples: number[], work: () => T | Promise<T>): Promise<T> {
  const startedAt = performance.now();
  const result = await work();
  samples.push(performance.now() - startedAt);
  return result;
}

async function measurePhases(configText: string, environment: SourceEnvironment, runs: number): Promise<BuildPhases> {
  const config = parseTenantConfig(configText);
  const signal = new AbortController().signal;
  const load: number[] = [];
  const chunk: number[] = [];
  const whole: number[] = [];
  for (let run = 0; run < runs; run++) {
    const { documents } = await timed(load, () => createDocumentSource(config.data_source, environment).load(signal));
    await timed(chunk, () => chunkDocuments(documents, config.index_params.chunk_size, config.index_params.chunk_overlap));
    await timed(whole, () => buildIndexData({ tenantId: 'bench', config, sourceEnvironment: environment }, signal));
  }
  return { loadMs: median(load), chunkMs: median(chunk), buildIndexDataMs: median(whole) };
}

export async function buildThroughput(options: { documents: number; builds: number }): Promise<BuildThroughputResult> {
  assertLegacyOpenSslProvider();
  const workDir = await mkdtemp(path.join(tmpdir(), 'ragswap-bench-build-'));
  const s3 = await startS3Server();
  const kv = await EmbeddedKvServer.start({ port: 0 });
  const kvClient = new ConsulKvClient({ address: kv.address });
  const random = randomGenerator(3);
  const objects = Array.from({ length: options.documents }, (_, document) => ({ key: `kb/doc-${document}.txt`, body: syntheticDocument(random, document, 8) }));
  await createBucketWith(s3.client(), 'bench-kb', objects);
  const key = tenantConfigKey('rag/tenants/', 'bench');
  const config = (version: string) => JSON.stringify({ version, data_source: { type: 's3', bucket: 'bench-kb', prefix: 'kb/' }, index_params: { chunk_size: 128, chunk_overlap: 16 } });
  const service = await startServiceProcess({
    CONSUL_HTTP_ADDR: kv.address,
    RAGSWAP_DATA_DIR: workDir,
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
  });
  try {
    await waitUntil(async () => (await fetch(`${service.url}/ready`)).ok, 60_000);
    const pid = service.child.pid!;
    const rssBeforeBuildsMiB = await procMemoryMiB(pid, 'VmRSS');
    const runs: BuildRun[] = [];
    for (let build = 1; build <= options.builds; build++) {
      const version = `v${build}`;
      const sentAt = performance.now();
      await kvClient.put(key, config(version));
      await waitUntil(async () => (await service.status('bench')).serving_version === version, 300_000, 10);
      const putToServingMs = performance.now() - sentAt;
      const status = await service.status('bench');
      if (status.last_error) throw new Error(`build failed: ${status.last_error}`);
      runs.push({ putToServingMs, buildMs: status.last_build_ms ?? Number.NaN });
    }
    const peakRssMiB = await procMemoryMiB(pid, 'VmHWM');
    const status = await service.status('bench');
    const seconds = median(runs.map((run) => run.putToServingMs)) / 1000;
    return {
      documents: status.documents ?? 0,
      chunks: status.chunks ?? 0,
      runs,
      medianPutToServingMs: seconds * 1000,
      documentsPerSecond: (status.documents ?? 0) / seconds,
      chunksPerSecond: (status.chunks ?? 0) / seconds,
      rssBeforeBuildsMiB,
      peakRssMiB,
      phases: await measurePhases(config('phases'), s3.environment(), 2),
    };
  } finally {
    await service.stop();
    await kv.stop();
    await s3.close();
    await rm(workDir, { recursive: true, force: true });
  }
}
