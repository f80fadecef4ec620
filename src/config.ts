import { isAbsolute, resolve } from 'node:path';
import { AuthSettingsError, readAuthSettings, readConsulToken, type AuthSettings } from './http/auth/auth-settings.ts';
import { parsePeerList, type PeerSpec } from './http/admin/peers.ts';
import { DEFAULT_WATCH_MIN_INTERVAL_MS } from './kv/token-bucket.ts';
import { DEFAULT_OLLAMA_HOST, DEFAULT_OPENAI_BASE_URL, normaliseBaseUrl, type ProviderSettings } from './models/provider-settings.ts';

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
  /** A build running longer is aborted and retried later, so one stuck tenant cannot hold a build slot forever. */
  readonly buildTimeoutMs: number;
  readonly fsRoot: string | undefined;
  readonly s3ForcePathStyle: boolean | undefined;
  readonly s3Endpoint: string | undefined;
  readonly awsRegion: string | undefined;
  readonly kvWaitMs: number;
  /** How often the watch loop may ask Consul once its burst of 2 is spent (values churning). */
  readonly kvWatchMinIntervalMs: number;
  readonly embeddedKvPort: number;
  readonly shutdownTimeoutMs: number;
  /** `ADMIN_ENABLED`: the admin API (`/admin/api`) and UI (`/admin`). */
  readonly adminEnabled: boolean;
  /** `ADMIN_TOKEN`; unset → startService generates one (main.ts prints it once). Never log it. */
  readonly adminToken: string | undefined;
  /** `AUDIT_KV_PREFIX`: where admin writes are recorded, outside the config prefix. */
  readonly auditPrefix: string;
  /** `RAGSWAP_PEERS`: the pods the rollout view asks; empty → only this pod. */
  readonly peers: readonly PeerSpec[];
  /** Remote embedding/LLM providers (OPENAI_*, OLLAMA_HOST, MODEL_*). Holds the API key: never log it. */
  readonly providers: ProviderSettings;
  /** `AUTH_MODE` and friends, `TENANT_RESOLUTION`, `TENANT_BASE_DOMAIN`. */
  readonly auth: AuthSettings;
}

/** Auth settings live with the auth code; their errors are settings errors like any other. */
function asSettingsError<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof AuthSettingsError) throw new SettingsError(error.message);
    throw error;
  }
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

/** A KV prefix with a trailing `/`: without it `rag/tenants` would also match `rag/tenants-old/…`. */
function kvPrefix(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const prefix = env[name] ?? fallback;
  if (prefix.startsWith('/')) throw new SettingsError(`${name} must not start with /`);
  return prefix.endsWith('/') || prefix === '' ? prefix : `${prefix}/`;
}

function peerList(env: NodeJS.ProcessEnv): PeerSpec[] {
  try {
    return parsePeerList(env.RAGSWAP_PEERS);
  } catch (error) {
    throw new SettingsError((error as Error).message);
  }
}

function adminToken(env: NodeJS.ProcessEnv): string | undefined {
  const token = env.ADMIN_TOKEN;
  if (token === undefined || token === '') return undefined;
  // Short tokens can be guessed; the generated ones are 32 random bytes.
  if (token.length < 16 || /\s/.test(token)) throw new SettingsError('ADMIN_TOKEN must be at least 16 characters without whitespace');
  return token;
}

/** The audit log must not live under the config prefix: the watcher would read every record. */
function auditPrefix(env: NodeJS.ProcessEnv, config: string): string {
  const audit = kvPrefix(env, 'AUDIT_KV_PREFIX', 'rag/audit/');
  if (audit === '' || audit.startsWith(config) || config.startsWith(audit)) {
    throw new SettingsError(`AUDIT_KV_PREFIX '${audit}' must not be empty, inside or around CONFIG_KV_PREFIX '${config}'`);
  }
  return audit;
}

export function readSettings(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ServiceSettings {
  const configPrefix = kvPrefix(env, 'CONFIG_KV_PREFIX', 'rag/tenants/');
  const dataDir = env.RAGSWAP_DATA_DIR ?? './.ragswap';
  const absolute = (path: string) => (isAbsolute(path) ? path : resolve(cwd, path));
  const host = env.HOST ?? '127.0.0.1';
  return {
    consulAddress: env.CONSUL_HTTP_ADDR || undefined,
    consulToken: asSettingsError(() => readConsulToken(env)),
    configPrefix,
    host,
    port: integer(env, 'PORT', 8080, 0, 65_535),
    dataDir: absolute(dataDir),
    buildConcurrency: integer(env, 'BUILD_CONCURRENCY', 1, 1, 64),
    buildTimeoutMs: integer(env, 'BUILD_TIMEOUT_SECONDS', 1800, 1, 86_400) * 1000,
    fsRoot: env.RAGSWAP_FS_ROOT ? absolute(env.RAGSWAP_FS_ROOT) : undefined,
    s3ForcePathStyle: boolean(env, 'S3_FORCE_PATH_STYLE'),
    s3Endpoint: env.AWS_ENDPOINT_URL_S3 || undefined,
    awsRegion: env.AWS_REGION || undefined,
    kvWaitMs: integer(env, 'KV_WAIT_SECONDS', 60, 1, 600) * 1000,
    kvWatchMinIntervalMs: integer(env, 'KV_WATCH_MIN_INTERVAL_MS', DEFAULT_WATCH_MIN_INTERVAL_MS, 10, 600_000),
    embeddedKvPort: integer(env, 'EMBEDDED_KV_PORT', 8500, 0, 65_535),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_SECONDS', 20, 1, 600) * 1000,
    adminEnabled: boolean(env, 'ADMIN_ENABLED') ?? true,
    adminToken: adminToken(env),
    auditPrefix: auditPrefix(env, configPrefix),
    peers: peerList(env),
    providers: {
      openaiBaseUrl: normaliseBaseUrl(env.OPENAI_BASE_URL || DEFAULT_OPENAI_BASE_URL),
      openaiApiKey: env.OPENAI_API_KEY || undefined,
      ollamaHost: normaliseBaseUrl(env.OLLAMA_HOST || DEFAULT_OLLAMA_HOST),
      requestTimeoutMs: integer(env, 'MODEL_REQUEST_TIMEOUT_SECONDS', 60, 1, 3600) * 1000,
      batchSize: integer(env, 'MODEL_BATCH_SIZE', 64, 1, 2048),
      concurrency: integer(env, 'MODEL_CONCURRENCY', 2, 1, 64),
      maxRetries: integer(env, 'MODEL_MAX_RETRIES', 4, 0, 20),
    },
    auth: asSettingsError(() => readAuthSettings(env, host)),
  };
}
