import { describe, expect, it, vi } from 'vitest';
import { BuildError, IndexNotReadyError, SourceError, TenantInactiveError, TenantNotFoundError } from '../../src/errors.ts';
import { buildBm25 } from '../../src/indexing/bm25-index.ts';
import type { BuildRequest, BuiltIndexData } from '../../src/indexing/build-index.ts';
import type { IndexBuilder } from '../../src/indexing/index-builder.ts';
import { TenantIndexManager } from '../../src/indexing/tenant-index-manager.ts';
import type { KvEntry } from '../../src/kv/consul-kv-client.ts';
import { RagswapMetrics } from '../../src/metrics.ts';
import { DesiredTenants, tenantConfigKey } from '../../src/tenants/desired-tenants.ts';

const PREFIX = 'rag/tenants/';

interface PendingBuild {
  readonly request: BuildRequest;
  readonly signal: AbortSignal;
  resolve(): void;
  reject(error: unknown): void;
}

/** A builder whose builds finish only when the test says so; it ignores abort unless told to honour it. */
function controllableBuilder() {
  const builds: PendingBuild[] = [];
  const waiters: (() => void)[] = [];
  const builder: IndexBuilder = {
    build(request, signal) {
      return new Promise<BuiltIndexData>((resolve, reject) => {
        builds.push({
          request,
          signal,
          resolve: () =>
            resolve({
              table: { dimensions: 1, ids: [request.config.version], texts: [request.config.version], metadata: [{}], embeddings: new Float32Array(1) },
              bm25: buildBm25([request.config.version]),
              documents: 1,
              skippedFiles: [],
              embeddingModel: 'hash',
            }),
          reject,
        });
        waiters.splice(0).forEach((wake) => wake());
      });
    },
  };
  // Builds may start synchronously inside notify(), so "next" counts builds handed out, not started.
  let handedOut = 0;
  const nextBuild = async (count = handedOut + 1): Promise<PendingBuild> => {
    while (builds.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
    handedOut = Math.max(handedOut, count);
    return builds[count - 1]!;
  };
  return { builder, builds, nextBuild };
}

function harness(options: { buildConcurrency?: number; retryDelayMs?: number; queryGate?: Promise<void>; buildTimeoutMs?: number } = {}) {
  const desired = new DesiredTenants(PREFIX);
  const entries = new Map<string, KvEntry>();
  let index = 10;
  const { builder, builds, nextBuild } = controllableBuilder();
  /** The attempt number of every retry the manager asked its policy for. */
  const retryAttempts: number[] = [];
  const metrics = new RagswapMetrics({ collectDefaults: false });
  const manager = new TenantIndexManager({
    desired,
    builder,
    sourceEnvironment: {},
    metrics,
    buildConcurrency: options.buildConcurrency ?? 1,
    ...(options.buildTimeoutMs ? { buildTimeoutMs: options.buildTimeoutMs } : {}),
    retryPolicy: (attempt) => {
      retryAttempts.push(attempt);
      return { retry: true, delayMs: (options.retryDelayMs ?? 10) * attempt };
    },
    // The engine answers with the version it was built from, so a test sees which index served.
    createEngine: async (built) => ({
      query: async () => {
        await options.queryGate;
        return { response: built.table.texts[0]!, sources: [] };
      },
    }),
  });
  const write = (tenant: string, config: Record<string, unknown> | string) => {
    index += 1;
    const value = typeof config === 'string' ? config : JSON.stringify(config);
    // As in Consul: CreateIndex is set when the key is created and kept by later writes.
    const createIndex = entries.get(tenant)?.createIndex ?? index;
    entries.set(tenant, { key: tenantConfigKey(PREFIX, tenant), value, createIndex, modifyIndex: index, flags: 0 });
    manager.notify(desired.applySnapshot([...entries.values()]));
  };
  /** Deletes the key and writes it again, both seen in one snapshot (as after an outage or a throttled watch). */
  const recreate = (tenant: string, config: Record<string, unknown>) => {
    entries.delete(tenant);
    write(tenant, config);
  };
  const remove = (tenant: string) => {
    entries.delete(tenant);
    manager.notify(desired.applySnapshot([...entries.values()]));
  };
  const config = (version: string, extra: Record<string, unknown> = {}) => ({
    version,
    data_source: { type: 'fs', path: '/kb' },
    ...extra,
  });
  const answer = async (tenant: string) => (await manager.query(tenant, 'q', 1)).response;
  /** Writes a version, lets its build finish and waits until it serves. */
  const serve = async (tenant: string, version: string) => {
    write(tenant, config(version));
    (await nextBuild()).resolve();
    await manager.idle();
  };
  return { manager, metrics, desired, builds, nextBuild, write, remove, recreate, config, answer, serve, retryAttempts };
}

describe('TenantIndexManager status of skipped files', () => {
  it('names the first 20 skipped files with their reasons, and counts them all', async () => {
    const desired = new DesiredTenants(PREFIX);
    const skippedFiles = Array.from({ length: 25 }, (_, index) => ({ key: `scans/page-${index}.tiff`, reason: 'unsupported_type' as const, detail: 'extension .tiff' }));
    const manager = new TenantIndexManager({
      desired,
      sourceEnvironment: {},
      metrics: new RagswapMetrics({ collectDefaults: false }),
      builder: {
        build: async () => ({
          table: { dimensions: 1, ids: ['a#0'], texts: ['text'], metadata: [{}], embeddings: new Float32Array(1) },
          bm25: buildBm25(['text']),
          documents: 1,
          skippedFiles,
          embeddingModel: 'hash',
        }),
      },
      createEngine: async () => ({ query: async () => ({ response: '', sources: [] }) }),
    });
    manager.notify(desired.applySnapshot([{ key: tenantConfigKey(PREFIX, 'a'), value: JSON.stringify({ version: 'v1', data_source: { type: 'fs', path: '/kb' } }), createIndex: 1, modifyIndex: 1, flags: 0 }]));
    await manager.idle();
    const status = manager.status('a');
    expect(status?.skipped_files).toBe(25);
    expect(status?.skipped_sample).toHaveLength(20);
    expect(status?.skipped_sample[0]).toEqual({ key: 'scans/page-0.tiff', reason: 'unsupported_type', detail: 'extension .tiff' });
    await manager.stop();
  });
});

describe('TenantIndexManager', () => {
  it('builds a new tenant, serves it and reports ready', async () => {
    const h = harness();
    h.write('a', h.config('v1'));
    expect(h.manager.status('a')?.state).toBe('building');
    await expect(h.manager.query('a', 'q', 1)).rejects.toBeInstanceOf(IndexNotReadyError);
    (await h.nextBuild()).resolve();
    await h.manager.idle();
    expect(await h.answer('a')).toBe('v1');
    expect(h.manager.status('a')).toMatchObject({ state: 'ready', serving_version: 'v1', desired_version: 'v1', chunks: 1, documents: 1 });
  });

  it('keeps serving the old version while the new one builds, then swaps', async () => {
    const h = harness();
    await h.serve('a', 'v1');
    h.write('a', h.config('v2'));
    const v2 = await h.nextBuild(2);
    expect(await h.answer('a')).toBe('v1');
    expect(h.manager.status('a')).toMatchObject({ state: 'building', serving_version: 'v1', desired_version: 'v2' });
    v2.resolve();
    await h.manager.idle();
    expect(await h.answer('a')).toBe('v2');
  });

  it('never lets a stale build overwrite a newer one (v2 finishing after v3)', async () => {
    const h = harness();
    await h.serve('a', 'v1');
    h.write('a', h.config('v2'));
    const v2 = await h.nextBuild(2);
    h.write('a', h.config('v3'));
    expect(v2.signal.aborted).toBe(true);
    const v3 = await h.nextBuild(3);
    expect(v3.request.config.version).toBe('v3');
    v3.resolve();
    await h.manager.idle();
    // The v2 build ignored its abort signal and completes last.
    v2.resolve();
    await new Promise((resolve) => setTimeout(resolve, 10));
    await h.manager.idle();
    expect(await h.answer('a')).toBe('v3');
    expect(h.manager.status('a')?.serving_version).toBe('v3');
  });

  it('lets a query already running on the old index finish on it after a swap', async () => {
    const gate = Promise.withResolvers<void>();
    const h = harness({ queryGate: gate.promise });
    await h.serve('a', 'v1');
    const inFlight = h.manager.query('a', 'q', 1);
    h.write('a', h.config('v2'));
    (await h.nextBuild(2)).resolve();
    await h.manager.idle();
    expect(h.manager.status('a')?.serving_version).toBe('v2');
    gate.resolve();
    expect(await inFlight).toMatchObject({ version: 'v1', response: 'v1' });
    expect(await h.answer('a')).toBe('v2');
  });

  it('coalesces queued builds: only the newest version is built', async () => {
    const h = harness({ buildConcurrency: 1 });
    h.write('blocker', h.config('b1'));
    const blocker = await h.nextBuild();
    h.write('a', h.config('v1'));
    h.write('a', h.config('v2'));
    h.write('a', h.config('v3'));
    blocker.resolve();
    const next = await h.nextBuild(2);
    next.resolve();
    await h.manager.idle();
    expect(h.builds.map((build) => `${build.request.tenantId}:${build.request.config.version}`)).toEqual(['blocker:b1', 'a:v3']);
    expect(await h.answer('a')).toBe('v3');
  });

  it('runs at most one build per tenant at a time', async () => {
    const h = harness({ buildConcurrency: 4 });
    h.write('a', h.config('v1'));
    await h.nextBuild();
    h.write('a', h.config('v1', { status: 'active' }));
    h.manager.resyncAll();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(h.builds).toHaveLength(1);
  });

  it('keeps the old index when a build fails permanently and does not retry', async () => {
    const h = harness();
    await h.serve('a', 'v1');
    h.write('a', h.config('v2'));
    (await h.nextBuild(2)).reject(new SourceError("bucket 'kb' does not exist", { permanent: true, code: 'source_not_found' }));
    await h.manager.idle();
    expect(await h.answer('a')).toBe('v1');
    expect(h.manager.status('a')).toMatchObject({
      state: 'failed',
      serving_version: 'v1',
      desired_version: 'v2',
      last_error: { code: 'source_not_found' },
    });
    expect(h.manager.status('a')?.warnings.join()).toMatch(/still serving version v1/);
    h.manager.resyncAll();
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(h.builds).toHaveLength(2);
    // A new version is a new attempt.
    h.write('a', h.config('v3'));
    (await h.nextBuild(3)).resolve();
    await h.manager.idle();
    expect(await h.answer('a')).toBe('v3');
    expect(h.manager.status('a')?.last_error).toBeNull();
  });

  it('retries transient failures with growing backoff until one succeeds', async () => {
    const h = harness({ retryDelayMs: 100 });
    h.write('a', h.config('v1'));
    const startedAt = performance.now();
    (await h.nextBuild(1)).reject(new BuildError('connect ECONNREFUSED', { permanent: false }));
    (await h.nextBuild(2)).reject(new BuildError('503 Slow Down', { permanent: false }));
    // Between attempts the status says what went wrong.
    await vi.waitFor(() => expect(h.manager.status('a')).toMatchObject({ state: 'failed', last_error: { message: '503 Slow Down' } }), { interval: 5 });
    (await h.nextBuild(3)).resolve();
    // Backoff grows: 100 ms after the first failure, 200 ms after the second.
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(290);
    await h.manager.idle();
    expect(await h.answer('a')).toBe('v1');
    expect(h.manager.status('a')?.state).toBe('ready');
  });

  it('applies status at once: inactive → 403 and unloaded, active again → rebuilt', async () => {
    const h = harness();
    await h.serve('a', 'v1');
    h.write('a', h.config('v1', { status: 'inactive' }));
    await expect(h.manager.query('a', 'q', 1)).rejects.toBeInstanceOf(TenantInactiveError);
    await h.manager.idle();
    expect(h.manager.status('a')).toMatchObject({ state: 'inactive', serving_version: null });
    h.write('a', h.config('v1', { status: 'active' }));
    (await h.nextBuild(2)).resolve();
    await h.manager.idle();
    expect(await h.answer('a')).toBe('v1');
  });

  it('warns instead of rebuilding when an index field changes without a version bump', async () => {
    const h = harness();
    await h.serve('a', 'v1');
    h.write('a', h.config('v1', { index_params: { chunk_size: 128, chunk_overlap: 10 } }));
    await h.manager.idle();
    expect(h.builds).toHaveLength(1);
    expect(h.manager.status('a')?.state).toBe('ready');
    expect(h.manager.status('a')?.warnings.join()).toMatch(/without a version bump/);
  });

  it('keeps serving when the config becomes invalid and shows the error', async () => {
    const h = harness();
    await h.serve('a', 'v1');
    h.write('a', '{"version": "v2", "data_source": ');
    await h.manager.idle();
    expect(await h.answer('a')).toBe('v1');
    expect(h.manager.status('a')).toMatchObject({ state: 'config_error', serving_version: 'v1', last_error: { code: 'invalid_config' } });
    expect(h.builds).toHaveLength(1);
  });

  it('unloads a deleted tenant: queries get 404 and the running build is aborted', async () => {
    const h = harness();
    await h.serve('a', 'v1');
    h.write('a', h.config('v2'));
    const v2 = await h.nextBuild(2);
    h.remove('a');
    expect(v2.signal.aborted).toBe(true);
    await expect(h.manager.query('a', 'q', 1)).rejects.toBeInstanceOf(TenantNotFoundError);
    await h.manager.idle();
    expect(h.manager.status('a')).toBeUndefined();
    expect(h.manager.statuses()).toEqual([]);
  });

  it('never serves a deleted tenant to its re-created namesake, even with the same version in one snapshot', async () => {
    const h = harness();
    await h.serve('a', 'v1');
    h.recreate('a', h.config('v1', { data_source: { type: 'fs', path: '/new-customer' } }));
    // Before any reconcile runs, the old index is already not this tenant's.
    await expect(h.manager.query('a', 'q', 1)).rejects.toBeInstanceOf(IndexNotReadyError);
    expect(h.manager.status('a')).toMatchObject({ state: 'building', serving_version: null, warnings: [] });
    const rebuilt = await h.nextBuild(2);
    expect(rebuilt.request.config.data_source).toEqual({ type: 'fs', path: '/new-customer' });
    rebuilt.resolve();
    await h.manager.idle();
    expect(h.manager.status('a')).toMatchObject({ state: 'ready', serving_version: 'v1', warnings: [] });
  });

  it('re-created while a build of the old tenant runs: that build is aborted and never swapped in', async () => {
    const h = harness();
    await h.serve('a', 'v1');
    h.write('a', h.config('v2'));
    const oldV2 = await h.nextBuild(2);
    h.recreate('a', h.config('v2', { data_source: { type: 'fs', path: '/new-customer' } }));
    expect(oldV2.signal.aborted).toBe(true);
    // The old build ignores its abort and finishes first: it must be discarded.
    oldV2.resolve();
    const newV2 = await h.nextBuild(3);
    expect(newV2.request.config.data_source).toEqual({ type: 'fs', path: '/new-customer' });
    await expect(h.manager.query('a', 'q', 1)).rejects.toBeInstanceOf(IndexNotReadyError);
    newV2.resolve();
    await h.manager.idle();
    expect(h.builds).toHaveLength(3);
    expect(h.manager.status('a')?.state).toBe('ready');
  });

  it("forgets a deleted tenant's permanent failure when the id is re-created", async () => {
    const h = harness();
    h.write('a', h.config('v1'));
    (await h.nextBuild(1)).reject(new SourceError('denied', { permanent: true, code: 'source_access_denied' }));
    await h.manager.idle();
    expect(h.manager.status('a')?.state).toBe('failed');
    h.recreate('a', h.config('v1'));
    expect(h.manager.status('a')).toMatchObject({ state: 'building', last_error: null });
    (await h.nextBuild(2)).resolve();
    await h.manager.idle();
    expect(h.manager.status('a')?.state).toBe('ready');
  });

  it('builds a version again after a rollback, though it failed permanently before', async () => {
    const h = harness();
    await h.serve('a', 'v1');
    h.write('a', h.config('v2'));
    (await h.nextBuild(2)).reject(new SourceError('denied', { permanent: true, code: 'source_access_denied' }));
    await h.manager.idle();
    // The operator rolls back to v1 (still serving), fixes the bucket policy and re-applies v2.
    h.write('a', h.config('v1'));
    await h.manager.idle();
    expect(h.manager.status('a')).toMatchObject({ state: 'ready', last_error: null, warnings: [] });
    h.write('a', h.config('v2'));
    (await h.nextBuild(3)).resolve();
    await h.manager.idle();
    expect(await h.answer('a')).toBe('v2');
  });

  it('starts the backoff over for a new version', async () => {
    const h = harness({ retryDelayMs: 50 });
    h.write('a', h.config('v1'));
    (await h.nextBuild(1)).reject(new BuildError('503 Slow Down', { permanent: false }));
    await vi.waitFor(() => expect(h.retryAttempts).toEqual([1]), { interval: 2 });
    // v2 arrives while v1 waits out its backoff; v2's first failure is its first, not v1's second.
    h.write('a', h.config('v2'));
    (await h.nextBuild(2)).reject(new BuildError('503 Slow Down', { permanent: false }));
    await vi.waitFor(() => expect(h.retryAttempts).toHaveLength(2), { interval: 2 });
    (await h.nextBuild(3)).resolve();
    await h.manager.idle();
    expect(h.retryAttempts).toEqual([1, 1]);
    expect(await h.answer('a')).toBe('v2');
  });

  it("removes a deleted tenant's metric series, and only its own", async () => {
    const h = harness();
    await h.serve('a', 'v1');
    await h.serve('b', 'v1');
    h.write('a', h.config('v2'));
    (await h.nextBuild(3)).reject(new SourceError('denied', { permanent: true, code: 'source_access_denied' }));
    await h.manager.idle();
    h.metrics.observeQuery('a', '200', 0.01);
    const tenantsIn = async () => [...(await h.metrics.registry.metrics()).matchAll(/tenant="([^"]+)"/g)].map((match) => match[1]);
    expect(new Set(await tenantsIn())).toEqual(new Set(['a', 'b']));
    h.remove('a');
    await h.manager.idle();
    const left = await tenantsIn();
    expect(left.length).toBeGreaterThan(0);
    expect(new Set(left)).toEqual(new Set(['b']));
  });

  it('tells a query why there is no index: building (retry soon), failed or invalid (retry later)', async () => {
    const h = harness();
    h.write('a', h.config('v1'));
    await expect(h.manager.query('a', 'q', 1)).rejects.toMatchObject({ code: 'index_not_ready', retryAfterSeconds: 2, message: expect.stringContaining('state is building') });
    (await h.nextBuild(1)).reject(new SourceError("bucket 'kb' does not exist", { permanent: true, code: 'source_not_found' }));
    await h.manager.idle();
    await expect(h.manager.query('a', 'q', 1)).rejects.toMatchObject({
      code: 'index_not_ready',
      retryAfterSeconds: 30,
      message: "tenant 'a' has no serving index yet: the index build failed (source_not_found): bucket 'kb' does not exist",
    });
    h.write('b', '{"version": ');
    await expect(h.manager.query('b', 'q', 1)).rejects.toMatchObject({ retryAfterSeconds: 30, message: expect.stringContaining('its config in KV is invalid') });
  });

  it('aborts a build that runs past the build timeout and retries it, freeing the slot for other tenants', async () => {
    const h = harness({ buildTimeoutMs: 100 });
    h.write('stuck', h.config('v1'));
    h.write('other', h.config('v1'));
    const stuck = await h.nextBuild(1);
    // This build honours its signal, as the worker builder does.
    const abandon = () => stuck.reject(stuck.signal.reason);
    if (stuck.signal.aborted) abandon();
    else stuck.signal.addEventListener('abort', abandon);
    // The only build slot is free again: the other tenant's build runs.
    const other = await h.nextBuild(2);
    expect(other.request.tenantId).toBe('other');
    expect(stuck.signal.aborted).toBe(true);
    await vi.waitFor(() =>
      expect(h.manager.status('stuck')).toMatchObject({ state: 'failed', last_error: { code: 'build_timeout', message: expect.stringContaining('BUILD_TIMEOUT_SECONDS') } }),
    );
    other.resolve();
    (await h.nextBuild(3)).resolve();
    await h.manager.idle();
    expect(h.manager.status('stuck')?.state).toBe('ready');
    expect(h.retryAttempts).toEqual([1]);
  });

  it('reports which tenants still wait for a first index', async () => {
    const h = harness({ buildConcurrency: 2 });
    h.write('a', h.config('v1'));
    h.write('b', h.config('v1'));
    h.write('c', h.config('v1', { status: 'inactive' }));
    h.write('d', '{"nope": true}');
    expect(h.manager.tenantsAwaitingFirstIndex()).toEqual(['a', 'b']);
    (await h.nextBuild(1)).resolve();
    (await h.nextBuild(2)).reject(new SourceError('denied', { permanent: true, code: 'source_access_denied' }));
    await h.manager.idle();
    expect(h.manager.tenantsAwaitingFirstIndex()).toEqual([]);
  });
});
