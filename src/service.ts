import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ServiceSettings } from './config.ts';
import { buildApp } from './http/app.ts';
import { WorkerIndexBuilder, type IndexBuilder } from './indexing/index-builder.ts';
import { TenantIndexManager } from './indexing/tenant-index-manager.ts';
import { ConsulKvClient, type KvClient } from './kv/consul-kv-client.ts';
import { PrefixWatcher } from './kv/prefix-watcher.ts';
import { watchRateLimit } from './kv/token-bucket.ts';
import { createLogger, type Logger } from './logger.ts';
import { RagswapMetrics } from './metrics.ts';
import type { SourceEnvironment } from './sources/document-source.ts';
import { DesiredTenants } from './tenants/desired-tenants.ts';

/**
 * Wires the path KV change → watcher snapshot → desired state → manager → build → swap, and the
 * HTTP app in front of it. Everything is passed in, so tests start real instances side by side.
 */
export interface ServiceOptions {
  readonly settings: ServiceSettings;
  readonly logger?: Logger;
  readonly kvClient?: KvClient;
  readonly builder?: IndexBuilder;
  /** Merged over what the settings give (tests pass S3 credentials for s3rver). */
  readonly sourceEnvironment?: Partial<SourceEnvironment>;
  readonly resyncIntervalMs?: number;
}

export interface RunningService {
  readonly app: FastifyInstance;
  /** `http://host:port` the service listens on. */
  readonly url: string;
  readonly manager: TenantIndexManager;
  readonly watcher: PrefixWatcher;
  readonly kvClient: KvClient;
  readonly metrics: RagswapMetrics;
  /** The admin bearer token (`ADMIN_TOKEN`, or generated when unset); undefined with the admin API off. */
  readonly adminToken: string | undefined;
  /** Graceful stop: watcher first, then the listener (in-flight requests drain, bounded), then builds. */
  close(): Promise<void>;
}

export function sourceEnvironmentFrom(settings: ServiceSettings): SourceEnvironment {
  return {
    ...(settings.fsRoot ? { fsRoot: settings.fsRoot } : {}),
    ...(settings.s3ForcePathStyle === undefined ? {} : { s3ForcePathStyle: settings.s3ForcePathStyle }),
    ...(settings.s3Endpoint ? { s3Endpoint: settings.s3Endpoint } : {}),
    ...(settings.awsRegion ? { s3Region: settings.awsRegion } : {}),
  };
}

/**
 * Ready once the first KV read is done and every active tenant with a valid config has a serving
 * index or a failed first build. It then stays ready: a tenant added later, or a Consul outage,
 * must not take every pod out of the Service at once.
 */
function readinessGate(watcher: PrefixWatcher, manager: TenantIndexManager, prefix: string) {
  let latched = false;
  return () => {
    if (latched) return { ready: true, waitingFor: [] };
    const waitingFor: string[] = [];
    if (!watcher.status.initialLoadDone) waitingFor.push(`kv: first read of '${prefix}'`);
    else waitingFor.push(...manager.tenantsAwaitingFirstIndex().map((tenantId) => `tenant ${tenantId}: first index build`));
    latched = waitingFor.length === 0;
    return { ready: latched, waitingFor };
  };
}

export async function startService(options: ServiceOptions): Promise<RunningService> {
  const { settings } = options;
  const logger = options.logger ?? createLogger();
  if (!settings.consulAddress && !options.kvClient) throw new Error('startService needs settings.consulAddress or a kvClient');
  const kvClient = options.kvClient ?? new ConsulKvClient({ address: settings.consulAddress!, ...(settings.consulToken ? { token: settings.consulToken } : {}) });
  const metrics = new RagswapMetrics();
  const desired = new DesiredTenants(settings.configPrefix);
  const builder = options.builder ?? new WorkerIndexBuilder();
  if (builder instanceof WorkerIndexBuilder) builder.warm();
  const manager = new TenantIndexManager({
    desired,
    builder,
    sourceEnvironment: { ...sourceEnvironmentFrom(settings), ...options.sourceEnvironment },
    metrics,
    buildConcurrency: settings.buildConcurrency,
    buildTimeoutMs: settings.buildTimeoutMs,
    logger,
    providers: settings.providers,
    ...(options.resyncIntervalMs ? { resyncIntervalMs: options.resyncIntervalMs } : {}),
  });
  const watcher = new PrefixWatcher({
    transport: kvClient,
    prefix: settings.configPrefix,
    waitMs: settings.kvWaitMs,
    rateLimit: watchRateLimit(settings.kvWatchMinIntervalMs),
    logger,
    onSnapshot: (entries, index) => {
      metrics.kvLastIndex.set(index);
      manager.notify(desired.applySnapshot(entries));
    },
    onError: () => metrics.kvWatchErrors.inc(),
  });

  // Without ADMIN_TOKEN a random one is made per process (main.ts prints it once). With JWT auth
  // the admin API takes tokens with the `admin` scope instead, so there is no shared token at all.
  const adminToken =
    settings.adminEnabled && settings.auth.mode === 'none' ? (settings.adminToken ?? randomBytes(32).toString('base64url')) : undefined;
  let listeningPort = settings.port;
  const app = await buildApp({
    logger,
    auth: settings.auth,
    services: {
      tenantIndexes: manager,
      metrics,
      kvStatus: () => watcher.status,
      readiness: readinessGate(watcher, manager, settings.configPrefix),
      kvClient,
      configPrefix: settings.configPrefix,
      tenantConfig: (tenantId) => desired.get(tenantId)?.config,
    },
    ...(settings.adminEnabled
      ? { admin: { token: adminToken, auditPrefix: settings.auditPrefix, peers: settings.peers, selfPort: () => listeningPort } }
      : {}),
  });
  await app.listen({ host: settings.host, port: settings.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : settings.port;
  listeningPort = port;
  const url = `http://${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${port}`;
  watcher.start();
  manager.start();
  logger.info({ url, consul: settings.consulAddress, prefix: settings.configPrefix }, 'ragswap listening');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await watcher.stop();
      const drained = app.close();
      const timeout = new Promise<'timeout'>((resolve) => setTimeout(resolve, settings.shutdownTimeoutMs, 'timeout').unref());
      if ((await Promise.race([drained, timeout])) === 'timeout') {
        logger.warn({ timeoutMs: settings.shutdownTimeoutMs }, 'drain timed out; closing remaining connections');
        app.server.closeAllConnections();
      }
      await manager.stop();
    })());

  return { app, url, manager, watcher, kvClient, metrics, adminToken, close };
}
