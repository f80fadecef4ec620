import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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
