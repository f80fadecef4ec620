import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The `tenant` label of queries that name no tenant this pod knows. Tenant ids start with a letter
 * or digit, so it never collides with one; without it, every made-up id in a URL would be a new
 * series.
 */
export const UNKNOWN_TENANT_LABEL = '_unknown';

/**
 * Every metric ragswap exports, on a registry of its own (not prom-client's global one) so that
 * several service instances in one process — as in the tests — never share counters.
 */
export class RagswapMetrics {
  readonly registry = new Registry();

  readonly queryDuration = new Histogram({
    name: 'ragswap_query_duration_seconds',
    help: 'Latency of POST /query by tenant and HTTP status code',
    labelNames: ['tenant', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly buildDuration = new Histogram({
    name: 'ragswap_index_build_duration_seconds',
    help: 'Duration of index builds by tenant and result (swapped, discarded, failed, aborted)',
    labelNames: ['tenant', 'result'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });

  readonly servingVersion = new Gauge({
    name: 'ragswap_serving_version_info',
    help: 'Version each tenant serves on this pod (value is always 1)',
    labelNames: ['tenant', 'version'] as const,
    registers: [this.registry],
  });

  readonly reconciles = new Counter({
    name: 'ragswap_reconcile_total',
    help: 'Reconcile runs by outcome (done, requeue, error, terminal)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly kvWatchErrors = new Counter({
    name: 'ragswap_kv_watch_errors_total',
    help: 'Failed Consul KV blocking queries',
    registers: [this.registry],
  });

  readonly kvLastIndex = new Gauge({
    name: 'ragswap_kv_last_index',
    help: 'X-Consul-Index the KV watcher waits on',
    registers: [this.registry],
  });

  readonly buildQueueLength = new Gauge({
    name: 'ragswap_build_queue_length',
    help: 'Index builds waiting for a build slot',
    registers: [this.registry],
  });

  readonly buildsRunning = new Gauge({
    name: 'ragswap_builds_running',
    help: 'Index builds running now',
    registers: [this.registry],
  });

  constructor(options: { collectDefaults?: boolean } = {}) {
    if (options.collectDefaults ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'ragswap_' });
    // Outcomes are zeroed at startup so a rate() over them has a baseline from the first scrape.
    for (const outcome of ['done', 'requeue', 'error', 'terminal']) this.reconciles.inc({ outcome }, 0);
    this.kvWatchErrors.inc(0);
  }

  readonly #servingVersions = new Map<string, string>();
  /** The label values each tenant's series were created with, so they can all be removed with it. */
  readonly #tenantSeries = new Map<string, { readonly statuses: Set<string>; readonly results: Set<string> }>();

  /** A query's latency. `tenant` must be a tenant this pod knows (else UNKNOWN_TENANT_LABEL). */
  observeQuery(tenant: string, status: string, seconds: number): void {
    this.#seriesOf(tenant).statuses.add(status);
    this.queryDuration.observe({ tenant, status }, seconds);
  }

  observeBuild(tenant: string, result: 'swapped' | 'discarded' | 'aborted' | 'failed', seconds: number): void {
    this.#seriesOf(tenant).results.add(result);
    this.buildDuration.observe({ tenant, result }, seconds);
  }

  /** Removes every series of a tenant that was deleted: with hundreds of tenants coming and going, series must not pile up. */
  forgetTenant(tenantId: string): void {
    const series = this.#tenantSeries.get(tenantId);
    if (series) {
      for (const status of series.statuses) this.queryDuration.remove({ tenant: tenantId, status });
      for (const result of series.results) this.buildDuration.remove({ tenant: tenantId, result });
      this.#tenantSeries.delete(tenantId);
    }
    this.recordServingVersion(tenantId, undefined);
  }

  #seriesOf(tenant: string) {
    let series = this.#tenantSeries.get(tenant);
    if (!series) {
      series = { statuses: new Set(), results: new Set() };
      this.#tenantSeries.set(tenant, series);
    }
    return series;
  }

  /** Keeps exactly one `version` series per tenant: the old one is removed when a new one serves. */
  recordServingVersion(tenantId: string, version: string | undefined): void {
    const previous = this.#servingVersions.get(tenantId);
    if (previous !== undefined && previous !== version) this.servingVersion.remove({ tenant: tenantId, version: previous });
    if (version === undefined) {
      this.#servingVersions.delete(tenantId);
      return;
    }
    this.#servingVersions.set(tenantId, version);
    this.servingVersion.set({ tenant: tenantId, version }, 1);
  }
}
