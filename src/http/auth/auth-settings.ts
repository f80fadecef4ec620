import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseResolutionOrder, type TenantSource } from './tenant-resolution.ts';

/** Authentication and tenant-resolution settings, read once at startup from the environment. */
export interface AuthSettings {
  readonly mode: 'jwt' | 'none';
  readonly jwksUrl: string | undefined;
  readonly jwtSecret: string | undefined;
  readonly issuer: string | undefined;
  readonly audience: string | undefined;
  readonly tenantClaim: string;
  readonly clockToleranceSeconds: number;
  readonly jwksCooldownMs: number;
  readonly tenantResolution: readonly TenantSource[];
  readonly tenantBaseDomain: string | undefined;
}

export class AuthSettingsError extends Error {
  override readonly name = 'AuthSettingsError';
}

/** `none` is for a laptop: only a loopback listener may run without authentication. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1';
  return false;
}

export function readAuthSettings(env: NodeJS.ProcessEnv, host: string): AuthSettings {
  const mode = env.AUTH_MODE ?? 'none';
  if (mode !== 'jwt' && mode !== 'none') throw new AuthSettingsError(`AUTH_MODE must be jwt or none, got '${mode}'`);
  if (mode === 'none' && !isLoopbackHost(host)) {
    throw new AuthSettingsError(`AUTH_MODE=none is only allowed on a loopback address; HOST is '${host}'. Set AUTH_MODE=jwt with AUTH_JWKS_URL or AUTH_JWT_SECRET.`);
  }
  const jwksUrl = env.AUTH_JWKS_URL || undefined;
  const jwtSecret = env.AUTH_JWT_SECRET || undefined;
  if (mode === 'jwt' && !!jwksUrl === !!jwtSecret) throw new AuthSettingsError('AUTH_MODE=jwt needs exactly one of AUTH_JWKS_URL or AUTH_JWT_SECRET');
  if (jwksUrl && !/^https?:\/\//.test(jwksUrl)) throw new AuthSettingsError('AUTH_JWKS_URL must be an http(s) URL');
  if (jwtSecret && jwtSecret.length < 32) throw new AuthSettingsError('AUTH_JWT_SECRET must be at least 32 characters');
  const skew = Number(env.AUTH_CLOCK_SKEW_SECONDS ?? 30);
  if (!Number.isInteger(skew) || skew < 0 || skew > 300) throw new AuthSettingsError('AUTH_CLOCK_SKEW_SECONDS must be an integer between 0 and 300');
  let tenantResolution: TenantSource[];
  try {
    tenantResolution = parseResolutionOrder(env.TENANT_RESOLUTION ?? 'path,header');
  } catch (error) {
    throw new AuthSettingsError((error as Error).message);
  }
  const tenantBaseDomain = env.TENANT_BASE_DOMAIN || undefined;
  if (tenantResolution.includes('subdomain') && !tenantBaseDomain) throw new AuthSettingsError('TENANT_RESOLUTION includes subdomain: set TENANT_BASE_DOMAIN');
  return {
    mode,
    jwksUrl,
    jwtSecret,
    issuer: env.AUTH_ISSUER || undefined,
    audience: env.AUTH_AUDIENCE || undefined,
    tenantClaim: env.AUTH_TENANT_CLAIM || 'tenant_id',
    clockToleranceSeconds: skew,
    jwksCooldownMs: 30_000,
    tenantResolution,
    tenantBaseDomain,
  };
}

/** `CONSUL_HTTP_TOKEN`, or the contents of `CONSUL_HTTP_TOKEN_FILE` (a mounted Secret) when set. */
export function readConsulToken(env: NodeJS.ProcessEnv, readFile: (path: string) => string = (path) => readFileSync(path, 'utf8')): string | undefined {
  if (env.CONSUL_HTTP_TOKEN_FILE) {
    let token: string;
    try {
      token = readFile(env.CONSUL_HTTP_TOKEN_FILE).trim();
    } catch (error) {
      throw new AuthSettingsError(`CONSUL_HTTP_TOKEN_FILE '${env.CONSUL_HTTP_TOKEN_FILE}' cannot be read: ${(error as Error).message}`);
    }
    if (!token) throw new AuthSettingsError(`CONSUL_HTTP_TOKEN_FILE '${env.CONSUL_HTTP_TOKEN_FILE}' is empty`);
    return token;
  }
  return env.CONSUL_HTTP_TOKEN || undefined;
}
