import { isAbsolute, resolve } from 'node:path';

/** Process settings, read from the environment once at startup; everything below takes them as arguments. */
export interface ServiceSettings {
  /** Unset → the embedded Consul-compatible KV server is started. */
  readonly consulAddress: string | undefined;
  readonly consulToken: string | undefined;
  readonly configPrefix: string;
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly buildConcurrency: number;
  readonly fsRoot: string | undefined;
  readonly s3ForcePathStyle: boolean | undefined;
  readonly s3Endpoint: string | undefined;
  readonly awsRegion: string | undefined;
  readonly kvWaitMs: number;
  readonly embeddedKvPort: number;
  readonly shutdownTimeoutMs: number;
}

export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SettingsError(`${name} must be an integer between ${min} and ${max}, got '${raw}'`);
  }
  return value;
}

function boolean(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === '') return undefined;
  if (['1', 'true', 'yes'].includes(raw)) return true;
  if (['0', 'false', 'no'].includes(raw)) return false;
  throw new SettingsError(`${name} must be true or false, got '${env[name]}'`);
}

export function readSettings(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ServiceSettings {
  const prefix = env.CONFIG_KV_PREFIX ?? 'rag/tenants/';
  if (prefix.startsWith('/')) throw new SettingsError('CONFIG_KV_PREFIX must not start with /');
  const dataDir = env.RAGSWAP_DATA_DIR ?? './.ragswap';
  const absolute = (path: string) => (isAbsolute(path) ? path : resolve(cwd, path));
  return {
    consulAddress: env.CONSUL_HTTP_ADDR || undefined,
    consulToken: env.CONSUL_HTTP_TOKEN || undefined,
    // A prefix without a trailing slash would also match "rag/tenants-old/…".
    configPrefix: prefix.endsWith('/') || prefix === '' ? prefix : `${prefix}/`,
    host: env.HOST ?? '127.0.0.1',
    port: integer(env, 'PORT', 8080, 0, 65_535),
    dataDir: absolute(dataDir),
    buildConcurrency: integer(env, 'BUILD_CONCURRENCY', 1, 1, 64),
    fsRoot: env.RAGSWAP_FS_ROOT ? absolute(env.RAGSWAP_FS_ROOT) : undefined,
    s3ForcePathStyle: boolean(env, 'S3_FORCE_PATH_STYLE'),
    s3Endpoint: env.AWS_ENDPOINT_URL_S3 || undefined,
    awsRegion: env.AWS_REGION || undefined,
    kvWaitMs: integer(env, 'KV_WAIT_SECONDS', 60, 1, 600) * 1000,
    embeddedKvPort: integer(env, 'EMBEDDED_KV_PORT', 8500, 0, 65_535),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_SECONDS', 20, 1, 600) * 1000,
  };
}
