import { randomUUID } from 'node:crypto';
import { Mutex } from 'async-mutex';
import PQueue from 'p-queue';
import { BuildError, IndexNotReadyError, TenantInactiveError, TenantNotFoundError, isRagswapError } from '../errors.ts';
import { silentLogger, type Logger } from '../logger.ts';
import type { RagswapMetrics } from '../metrics.ts';
import { resolveChatModel } from '../models/chat-models.ts';
import { resolveEmbeddingModel } from '../models/embedding-models.ts';
import { DEFAULT_PROVIDER_SETTINGS, type ProviderSettings } from '../models/provider-settings.ts';
import { exponentialBackoff, type RetryPolicy } from '../retry.ts';
import type { SourceEnvironment } from '../sources/document-source.ts';
import type { DesiredTenants } from '../tenants/desired-tenants.ts';
import { DEFAULT_TOP_K, type TenantConfig } from '../tenants/tenant-config.ts';
import {
  attemptFor,
  sameAttempt,
  tenantStatus,
  type BuildAttempt,
  type BuildFailure,
  type ServingIndexInfo,
  type TenantStatus,
} from '../tenants/tenant-state.ts';
import type { BuildRequest, BuiltIndexData } from './build-index.ts';
import type { IndexBuilder } from './index-builder.ts';
import { KeyedWorkQueue } from './keyed-work-queue.ts';
import { TenantEngine, type EngineAnswer, type EngineQueryOptions, type Synthesis } from './tenant-engine.ts';

/**
 * The per-tenant index manager: a level-triggered reconciler. A trigger carries only a tenant id;
 * `reconcile` compares what KV wants (DesiredTenants) with what this pod serves and converges,
 * whatever woke it (a KV change, a retry, the startup pass, the periodic resync). Running it twice
 * does no harm.
 */

export interface QueryEngine {
  query(query: string, options: EngineQueryOptions): Promise<EngineAnswer>;
}

/** Per-request choices; retrieval mode and the LLM come from the tenant's config. */
export interface TenantQueryOptions {
  readonly synthesis?: Synthesis;
  readonly signal?: AbortSignal;
}

export interface TenantAnswer extends EngineAnswer {
  readonly tenantId: string;
  readonly version: string;
}

export interface TenantIndexManagerOptions {
  readonly desired: DesiredTenants;
  readonly builder: IndexBuilder;
  readonly sourceEnvironment: SourceEnvironment;
  readonly metrics: RagswapMetrics;
  readonly buildConcurrency?: number;
  /** Longest a build may run once it has a build slot (default 30 min); past it, a transient failure. */
  readonly buildTimeoutMs?: number;
  readonly logger?: Logger;
  /** Per-tenant backoff for transient build failures. */
  readonly retryPolicy?: RetryPolicy;
  /** Every tenant is reconciled again on this period (jittered), even without a trigger. */
  readonly resyncIntervalMs?: number;
  /** Turns built data into a query engine; injectable so tests can observe swaps. */
  readonly createEngine?: (built: BuiltIndexData) => Promise<QueryEngine>;
  /** Remote model endpoints (and the API key): passed to builds and used for query embeddings and LLMs. */
  readonly providers?: ProviderSettings;
}

/** The four ways a reconcile ends, as in controller-runtime. */
type ReconcileResult =
  | { readonly kind: 'done' }
  | { readonly kind: 'requeue'; readonly afterMs: number }
  | { readonly kind: 'error'; readonly error: unknown }
  | { readonly kind: 'terminal'; readonly error: unknown };

const DONE: ReconcileResult = { kind: 'done' };

interface ServingIndex {
  readonly engine: QueryEngine;
  readonly info: ServingIndexInfo;
}

interface RunningBuild extends BuildAttempt {
  readonly abort: AbortController;
}

/** What this pod holds for one tenant. Mutated only by its reconcile (and the swap, under `mutex`). */
interface TenantSlot {
  serving: ServingIndex | undefined;
  building: RunningBuild | undefined;
  lastFailure: BuildFailure | undefined;
  /** Consecutive transient failures, for backoff. */
  failures: number;
  readonly mutex: Mutex;
}

/** Built data → the serving engine, as the manager swaps it in (exported for `npm run eval`). */
export async function createTenantEngine(built: BuiltIndexData, providers: ProviderSettings = DEFAULT_PROVIDER_SETTINGS): Promise<TenantEngine> {
  const model = resolveEmbeddingModel(built.embeddingModel, providers);
  // Load the query-side model (use-lite weights) before the swap, not in the first query.
  await model.warm?.();
  return TenantEngine.create(built.table, built.bm25, model.llamaEmbedding());
}

export class TenantIndexManager {
  readonly #desired: DesiredTenants;
  readonly #builder: IndexBuilder;
  readonly #sourceEnvironment: SourceEnvironment;
  readonly #metrics: RagswapMetrics;
  readonly #logger: Logger;
  readonly #retryPolicy: RetryPolicy;
  readonly #resyncIntervalMs: number;
  readonly #buildTimeoutMs: number;
  readonly #createEngine: (built: BuiltIndexData) => Promise<QueryEngine>;
  readonly #providers: ProviderSettings;
  readonly #slots = new Map<string, TenantSlot>();
  readonly #buildQueue: PQueue;
  readonly #queue: KeyedWorkQueue;
  #resyncTimer: NodeJS.Timeout | undefined;

  constructor(options: TenantIndexManagerOptions) {
    this.#desired = options.desired;
    this.#builder = options.builder;
    this.#sourceEnvironment = options.sourceEnvironment;
    this.#metrics = options.metrics;
    this.#logger = (options.logger ?? silentLogger).child({ component: 'index-manager' });
    this.#retryPolicy = options.retryPolicy ?? exponentialBackoff({ baseMs: 1_000, maxMs: 5 * 60_000 });
    this.#resyncIntervalMs = options.resyncIntervalMs ?? 5 * 60_000;
    this.#buildTimeoutMs = options.buildTimeoutMs ?? 30 * 60_000;
    this.#providers = options.providers ?? DEFAULT_PROVIDER_SETTINGS;
    this.#createEngine = options.createEngine ?? ((built) => createTenantEngine(built, this.#providers));
    this.#buildQueue = new PQueue({ concurrency: Math.max(1, options.buildConcurrency ?? 1) });
    this.#buildQueue.addEventListener('add', () => this.#recordQueueMetrics());
    this.#buildQueue.addEventListener('next', () => this.#recordQueueMetrics());
    this.#queue = new KeyedWorkQueue((tenantId) => this.#runReconcile(tenantId));
  }

  /** Reconciles every known tenant now, then on a jittered period. */
  start(): void {
    this.resyncAll();
    this.#scheduleResync();
  }

  async stop(): Promise<void> {
    clearTimeout(this.#resyncTimer);
    for (const slot of this.#slots.values()) slot.building?.abort.abort(new Error('manager stopped'));
    this.#buildQueue.clear();
    await this.#queue.stop();
    await this.#builder.close?.();
  }

  /** Triggers for tenants whose desired state may have changed (the watcher calls this). */
  notify(tenantIds: Iterable<string>): void {
    for (const tenantId of tenantIds) {
      this.#preemptOutdatedBuild(tenantId);
      this.#queue.enqueue(tenantId);
    }
  }

  resyncAll(): void {
    this.notify(new Set([...this.#desired.tenantIds(), ...this.#slots.keys()]));
  }

  /** Resolves once no reconcile is running (tests and tools; the service never waits on this). */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  // --- queries ---------------------------------------------------------------------------------

  /** `topK` from the request wins over the tenant's `retrieval.top_k`, which wins over the default 4. */
  async query(tenantId: string, query: string, topK?: number, options: TenantQueryOptions = {}): Promise<TenantAnswer> {
    const desired = this.#desired.get(tenantId);
    if (!desired) throw new TenantNotFoundError(tenantId);
    // Status is applied from KV at once, before any reconcile runs.
    if (desired.config?.status === 'inactive') throw new TenantInactiveError(tenantId);
    // One read of the slot: engine and version always belong together. An index built for an earlier
    // incarnation of this id (deleted and re-created in KV) belongs to another tenant: never serve it.
    const slotServing = this.#slots.get(tenantId)?.serving;
    const serving = slotServing?.info.incarnation === desired.createIndex ? slotServing : undefined;
    if (!serving) throw notReady(tenantId, this.status(tenantId));
    const config = desired.config;
    const answer = await serving.engine.query(query, {
      topK: topK ?? config?.retrieval.top_k ?? DEFAULT_TOP_K,
      mode: config?.retrieval.mode ?? 'hybrid',
      synthesis: options.synthesis ?? 'answer',
      // The schema only admits known llm names, so this cannot throw for a valid config.
      chat: options.synthesis === 'none' ? undefined : resolveChatModel(config?.llm ?? 'extractive', this.#providers),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return { tenantId, version: serving.info.version, ...answer };
  }

  // --- status ----------------------------------------------------------------------------------

  status(tenantId: string): TenantStatus | undefined {
    const desired = this.#desired.get(tenantId);
    if (!desired) return undefined;
    const slot = this.#slots.get(tenantId);
    return tenantStatus(desired, {
      serving: slot?.serving?.info,
      building: slot?.building,
      lastFailure: slot?.lastFailure,
    });
  }

  /** Whether KV names this tenant: a map lookup, for the query path (status() derives much more). */
  knows(tenantId: string): boolean {
    return this.#desired.get(tenantId) !== undefined;
  }

  statuses(): TenantStatus[] {
    return this.#desired.tenantIds().flatMap((tenantId) => this.status(tenantId) ?? []);
  }

  /** Tenants that are active with a valid config but have neither a serving index nor a failed build. */
  tenantsAwaitingFirstIndex(): string[] {
    return this.#desired.tenantIds().filter((tenantId) => {
      const desired = this.#desired.get(tenantId);
      if (!desired?.config || desired.config.status === 'inactive') return false;
      const slot = this.#slots.get(tenantId);
      return !slot?.serving && !slot?.lastFailure;
    });
  }

  // --- reconcile -------------------------------------------------------------------------------

  /** Wraps one reconcile: log context, exceptions as errors, outcome counted, follow-up scheduled. */
  async #runReconcile(tenantId: string): Promise<void> {
    const logger = this.#logger.child({ tenant: tenantId, reconcileId: randomUUID().slice(0, 8) });
    let result: ReconcileResult;
    try {
      result = await this.#reconcile(tenantId, logger);
    } catch (error) {
      result = { kind: 'error', error };
    }
    this.#metrics.reconciles.inc({ outcome: result.kind });
    const slot = this.#slots.get(tenantId);
    switch (result.kind) {
      case 'done':
        if (slot) slot.failures = 0;
        return;
      case 'requeue':
        this.#queue.enqueueAfter(tenantId, result.afterMs);
        return;
      case 'error': {
        const failures = slot ? ++slot.failures : 1;
        const decision = this.#retryPolicy(failures);
        logger.warn({ err: errorMessage(result.error), attempt: failures, retryInMs: decision.delayMs }, 'reconcile failed; will retry');
        if (decision.retry) this.#queue.enqueueAfter(tenantId, decision.delayMs);
        return;
      }
      case 'terminal':
        logger.error({ err: errorMessage(result.error) }, 'reconcile failed permanently; waiting for a config change');
        return;
    }
  }

  async #reconcile(tenantId: string, logger: Logger): Promise<ReconcileResult> {
    const desired = this.#desired.get(tenantId);
    // The key is gone from KV: unload, so queries get 404 and the memory is freed.
    if (!desired) {
      const slot = this.#slots.get(tenantId);
      if (slot) await this.#unload(tenantId, slot, logger, 'deleted from KV');
      this.#slots.delete(tenantId);
      this.#metrics.forgetTenant(tenantId);
      return DONE;
    }
    const slot = this.#slot(tenantId);
    // The key was deleted and written again (maybe within one snapshot, or during an outage): what
    // this slot holds is the deleted tenant's. Unload it before anything else, as for a deletion.
    if ([slot.serving?.info, slot.building, slot.lastFailure].some((part) => part && part.incarnation !== desired.createIndex)) {
      await this.#unload(tenantId, slot, logger, 'deleted and re-created in KV');
      slot.failures = 0;
    }
    const target = desired.config;
    // Never had a valid config: nothing to build until someone fixes it (the status shows why).
    if (!target) return { kind: 'terminal', error: desired.error };
    if (target.status === 'inactive') {
      if (slot.serving || slot.building) await this.#unload(tenantId, slot, logger, 'inactive');
      return DONE;
    }
    // Already serving the desired version. Non-index fields are read from KV on each query; an
    // index-affecting edit without a version bump only earns a warning (derived in the status).
    if (slot.serving?.info.version === target.version) {
      // Converged: a failure of another version (say v2, before a rollback to this one) is history,
      // and must not stop v2 from being built again when it is re-applied.
      slot.lastFailure = undefined;
      return DONE;
    }
    if (slot.lastFailure?.permanent && sameAttempt(slot.lastFailure, attemptFor(target, desired.createIndex))) {
      return { kind: 'terminal', error: new Error(slot.lastFailure.message) };
    }
    return this.#build(tenantId, slot, attemptFor(target, desired.createIndex), target, logger);
  }

  async #build(tenantId: string, slot: TenantSlot, attempt: BuildAttempt, target: TenantConfig, logger: Logger): Promise<ReconcileResult> {
    const abort = new AbortController();
    slot.building = { ...attempt, abort };
    const startedAt = performance.now();
    const seconds = () => (performance.now() - startedAt) / 1000;
    logger.info({ version: target.version }, 'index build started');
    try {
      const request = { tenantId, config: target, sourceEnvironment: this.#sourceEnvironment, providers: this.#providers };
      // p-queue drops the task if the signal aborts while it waits for a build slot, and rejects
      // (freeing the slot) if it aborts while running: a superseded build never holds the tenant.
      const built = await this.#buildQueue.add(() => this.#buildWithTimeout(request, abort.signal), { signal: abort.signal });
      const engine = await this.#createEngine(built);
      const buildMs = Math.round(seconds() * 1000);
      const swapped = await slot.mutex.runExclusive(() => {
        // Only what KV wants right now may serve: a build that finished after a newer version
        // (or an unload) was decided is stale and must never overwrite the newer state.
        const desired = this.#desired.get(tenantId);
        const current = desired?.config;
        if (abort.signal.aborted || !desired || !current || current.status === 'inactive' || !sameAttempt(attemptFor(current, desired.createIndex), attempt)) {
          return false;
        }
        slot.serving = { engine, info: servingInfo(attempt, built, buildMs) };
        slot.lastFailure = undefined;
        return true;
      });
      this.#metrics.observeBuild(tenantId, swapped ? 'swapped' : 'discarded', seconds());
      if (swapped) {
        this.#metrics.recordServingVersion(tenantId, target.version);
        logger.info({ version: target.version, chunks: built.table.ids.length, documents: built.documents, buildMs }, 'index swapped in');
      } else {
        logger.info({ version: target.version }, 'build result discarded: a newer desired state exists');
      }
      return DONE;
    } catch (error) {
      if (abort.signal.aborted) {
        // Superseded: whoever aborted us has enqueued the tenant again.
        this.#metrics.observeBuild(tenantId, 'aborted', seconds());
        logger.info({ version: target.version }, 'index build aborted');
        return DONE;
      }
      const permanent = isRagswapError(error) ? error.permanent : false;
      // Backoff counts failures of this attempt only; a new version starts from the first delay.
      if (!sameAttempt(slot.lastFailure, attempt)) slot.failures = 0;
      slot.lastFailure = {
        ...attempt,
        code: isRagswapError(error) ? error.code : 'build_failed',
        message: errorMessage(error),
        permanent,
        at: new Date().toISOString(),
      };
      this.#metrics.observeBuild(tenantId, 'failed', seconds());
      logger.error({ version: target.version, err: errorMessage(error), permanent }, 'index build failed; keeping the old index');
      return permanent ? { kind: 'terminal', error } : { kind: 'error', error };
    } finally {
      if (slot.building?.abort === abort) slot.building = undefined;
    }
  }

  /**
   * The timeout starts when the build gets its slot, not while it queues: a slow remote model or a
   * store that drips bytes must not hold the slot every other tenant's build waits for.
   */
  async #buildWithTimeout(request: BuildRequest, signal: AbortSignal): Promise<BuiltIndexData> {
    const timeout = AbortSignal.timeout(this.#buildTimeoutMs);
    try {
      return await this.#builder.build(request, AbortSignal.any([signal, timeout]));
    } catch (error) {
      if (!timeout.aborted || signal.aborted) throw error;
      throw new BuildError(`index build took longer than ${Math.round(this.#buildTimeoutMs / 1000)} s (BUILD_TIMEOUT_SECONDS); aborted, will retry`, {
        permanent: false,
        code: 'build_timeout',
        cause: error,
      });
    }
  }

  /** A build for something KV no longer wants is wasted CPU: stop it now rather than when it ends. */
  #preemptOutdatedBuild(tenantId: string): void {
    const building = this.#slots.get(tenantId)?.building;
    if (!building) return;
    const desired = this.#desired.get(tenantId);
    const target = desired?.config;
    if (desired && target && target.status !== 'inactive' && sameAttempt(attemptFor(target, desired.createIndex), building)) return;
    building.abort.abort(new Error('superseded by a newer desired state'));
  }

  async #unload(tenantId: string, slot: TenantSlot, logger: Logger, reason: string): Promise<void> {
    slot.building?.abort.abort(new Error(`tenant ${reason}`));
    await slot.mutex.runExclusive(() => {
      slot.serving = undefined;
      slot.lastFailure = undefined;
    });
    this.#metrics.recordServingVersion(tenantId, undefined);
    logger.info({ reason }, 'tenant index unloaded');
  }

  #slot(tenantId: string): TenantSlot {
    let slot = this.#slots.get(tenantId);
    if (!slot) {
      slot = { serving: undefined, building: undefined, lastFailure: undefined, failures: 0, mutex: new Mutex() };
      this.#slots.set(tenantId, slot);
    }
    return slot;
  }

  #scheduleResync(): void {
    const jitter = 0.9 + Math.random() * 0.2;
    this.#resyncTimer = setTimeout(() => {
      this.resyncAll();
      this.#scheduleResync();
    }, this.#resyncIntervalMs * jitter);
    this.#resyncTimer.unref();
  }

  #recordQueueMetrics(): void {
    this.#metrics.buildQueueLength.set(this.#buildQueue.size);
    this.#metrics.buildsRunning.set(this.#buildQueue.pending);
  }
}

/** How many skipped files the status lists by name: enough to see a pattern, small for hundreds of tenants. */
const SKIPPED_SAMPLE_SIZE = 20;

function servingInfo(attempt: BuildAttempt, built: BuiltIndexData, buildMs: number): ServingIndexInfo {
  return {
    version: attempt.version,
    fingerprint: attempt.fingerprint,
    incarnation: attempt.incarnation,
    documents: built.documents,
    chunks: built.table.ids.length,
    skippedFiles: built.skippedFiles.length,
    skippedSample: built.skippedFiles.slice(0, SKIPPED_SAMPLE_SIZE),
    buildMs,
    loadedAt: new Date().toISOString(),
  };
}

/** The first index is not there: the caller learns why, and a failed build is not retried every 2 s. */
function notReady(tenantId: string, status: TenantStatus | undefined): IndexNotReadyError {
  if (!status) return new IndexNotReadyError(tenantId, 'not loaded yet');
  if (status.state === 'failed' && status.last_error) {
    // A retry may succeed once an operator fixes the source or a transient failure clears.
    return new IndexNotReadyError(tenantId, `the index build failed (${status.last_error.code}): ${status.last_error.message}`, 30);
  }
  if (status.state === 'config_error') return new IndexNotReadyError(tenantId, 'its config in KV is invalid', 30);
  return new IndexNotReadyError(tenantId, `state is ${status.state}`);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
