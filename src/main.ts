import { demoTenantWrites } from './demo-tenants.ts';
import { readSettings, SettingsError, type ServiceSettings } from './config.ts';
import { EmbeddedKvServer } from './kv/kv-server.ts';
import { createLogger } from './logger.ts';
import { startService } from './service.ts';

/**
 * `npm start`: with CONSUL_HTTP_ADDR set, watch that Consul; without it, start the embedded
 * Consul-compatible KV server (seeded with demo tenants on first start) and watch that.
 */
const logger = createLogger();

async function startEmbeddedKv(settings: ServiceSettings): Promise<{ settings: ServiceSettings; server: EmbeddedKvServer }> {
  const server = await EmbeddedKvServer.start({ host: '127.0.0.1', port: settings.embeddedKvPort, dataDir: settings.dataDir, logger });
  if (await server.store.seedIfEmpty(demoTenantWrites(settings.configPrefix))) {
    logger.info({ tenants: ['acme', 'tea-zh'] }, 'seeded demo tenants into the embedded KV server');
  }
  logger.info({ address: server.address, dataDir: settings.dataDir }, 'embedded Consul-compatible KV server started (set CONSUL_HTTP_ADDR to use a real Consul)');
  return { settings: { ...settings, consulAddress: server.address }, server };
}

async function main(): Promise<void> {
  let settings: ServiceSettings;
  try {
    settings = readSettings();
  } catch (error) {
    if (error instanceof SettingsError) {
      logger.fatal(error.message);
      process.exit(2);
    }
    throw error;
  }
  const embedded = settings.consulAddress ? undefined : await startEmbeddedKv(settings);
  const service = await startService({ settings: embedded?.settings ?? settings, logger });
  if (service.adminToken && !settings.adminToken) {
    // Printed once, to stdout only, because nobody else knows it; set ADMIN_TOKEN to keep one across restarts.
    process.stdout.write(`\nragswap admin UI: ${service.url}/admin/  token (generated, set ADMIN_TOKEN to choose one): ${service.adminToken}\n\n`);
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining in-flight requests');
    await service.close();
    await embedded?.server.stop();
    logger.info('shutdown complete');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  logger.fatal({ err: error }, 'ragswap failed to start');
  process.exit(1);
});
