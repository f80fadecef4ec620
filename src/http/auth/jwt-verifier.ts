import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { UnauthorizedError } from '../../errors.ts';

/**
 * Verifies bearer JWTs and turns them into a Principal. Exactly one key source: a JWKS URL (keys
 * cached by jose and refetched when a token names an unknown `kid`, so key rotation needs no
 * restart) or an HS256 shared secret. The accepted algorithms follow from the key source, which is
 * what rules out `alg: none` and HS/RS confusion (an RS public key used as an HMAC secret).
 */
export interface JwtSettings {
  readonly jwksUrl?: string;
  readonly secret?: string;
  readonly issuer?: string;
  readonly audience?: string;
  /** Claim holding the caller's tenant id; `tid` is accepted too (OAuth client-credentials setups). */
  readonly tenantClaim: string;
  readonly clockToleranceSeconds: number;
  /** Minimum time between two JWKS refetches triggered by unknown `kid`s. */
  readonly jwksCooldownMs?: number;
}

export interface Principal {
  readonly subject: string;
  readonly tenantId: string | undefined;
  readonly scopes: ReadonlySet<string>;
}

const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/** `scope` (space-separated, RFC 8693) or `scp` (string or array, as Azure AD and Okta send it). */
export function scopesOf(payload: JWTPayload): Set<string> {
  const raw = payload.scope ?? payload.scp ?? payload.scopes;
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(/\s+/) : [];
  return new Set(list.filter((scope): scope is string => typeof scope === 'string' && scope.length > 0));
}

export function tenantOf(payload: JWTPayload, tenantClaim: string): string | undefined {
  const value = payload[tenantClaim] ?? payload.tid;
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function describeFailure(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'token expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `token claim '${error.claim}' is invalid (${error.reason})`;
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'token signature is invalid';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'token algorithm is not allowed';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'token signed with an unknown key';
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid) return 'signing keys are unavailable';
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid) return 'token is malformed';
  return 'token is invalid';
}

export class JwtVerifier {
  readonly #settings: JwtSettings;
  readonly #key: Uint8Array | JWTVerifyGetKey;
  readonly #algorithms: string[];

  constructor(settings: JwtSettings) {
    if (!!settings.jwksUrl === !!settings.secret) throw new Error('JWT auth needs exactly one of AUTH_JWKS_URL or AUTH_JWT_SECRET');
    this.#settings = settings;
    if (settings.jwksUrl) {
      this.#key = createRemoteJWKSet(new URL(settings.jwksUrl), { cooldownDuration: settings.jwksCooldownMs ?? 30_000, timeoutDuration: 5_000 });
      this.#algorithms = ASYMMETRIC_ALGORITHMS;
    } else {
      if ((settings.secret ?? '').length < 32) throw new Error('AUTH_JWT_SECRET must be at least 32 characters');
      this.#key = new TextEncoder().encode(settings.secret);
      this.#algorithms = ['HS256'];
    }
  }

  async verify(token: string): Promise<Principal> {
    let payload: JWTPayload;
    try {
      const options = {
        algorithms: this.#algorithms,
        clockTolerance: this.#settings.clockToleranceSeconds,
        ...(this.#settings.issuer ? { issuer: this.#settings.issuer } : {}),
        ...(this.#settings.audience ? { audience: this.#settings.audience } : {}),
      };
      // Two calls because jose's overloads take either a key or a key-getter, not a union.
      const key = this.#key;
      payload = typeof key === 'function' ? (await jwtVerify(token, key, options)).payload : (await jwtVerify(token, key, options)).payload;
    } catch (error) {
      throw new UnauthorizedError(describeFailure(error));
    }
    return { subject: payload.sub ?? 'unknown', tenantId: tenantOf(payload, this.#settings.tenantClaim), scopes: scopesOf(payload) };
  }
}

/** `Authorization: Bearer <token>` → the token; anything else is a 401. */
export function bearerToken(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  const match = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)$/i.exec(value?.trim() ?? '');
  if (!match?.[1]) throw new UnauthorizedError(value ? 'Authorization header must be "Bearer <token>"' : 'missing bearer token');
  return match[1];
}
