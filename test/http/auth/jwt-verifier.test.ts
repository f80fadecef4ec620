import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ForbiddenError, UnauthorizedError } from '../../../src/errors.ts';
import { authorizeTenantQuery, requireScope } from '../../../src/http/auth/authorize.ts';
import { bearerToken, JwtVerifier, scopesOf } from '../../../src/http/auth/jwt-verifier.ts';

const SECRET = 'a-shared-secret-of-at-least-32-characters!';
const ISSUER = 'https://issuer.test';
const AUDIENCE = 'ragswap';
const now = () => Math.floor(Date.now() / 1000);

async function hsToken(claims: Record<string, unknown>, options: { secret?: string; alg?: string; expiresIn?: number; notBefore?: number; issuer?: string; audience?: string } = {}) {
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: options.alg ?? 'HS256' })
    .setIssuedAt()
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setExpirationTime(now() + (options.expiresIn ?? 300));
  if (options.notBefore !== undefined) jwt.setNotBefore(options.notBefore);
  return jwt.sign(new TextEncoder().encode(options.secret ?? SECRET));
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

async function expectUnauthorized(promise: Promise<unknown>, message: RegExp) {
  const error = await promise.catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(UnauthorizedError);
  expect((error as Error).message).toMatch(message);
}

describe('JwtVerifier with an HS256 secret', () => {
  const verifier = new JwtVerifier({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE, tenantClaim: 'tenant_id', clockToleranceSeconds: 5 });

  it('accepts a valid token and reads subject, tenant and scopes', async () => {
    const principal = await verifier.verify(await hsToken({ sub: 'app-1', tenant_id: 'acme', scope: 'query admin' }));
    expect(principal.subject).toBe('app-1');
    expect(principal.tenantId).toBe('acme');
    expect([...principal.scopes].sort()).toEqual(['admin', 'query']);
  });

  it('accepts `tid` as the tenant claim (client-credentials tokens)', async () => {
    expect((await verifier.verify(await hsToken({ tid: 'beta', scope: 'query' }))).tenantId).toBe('beta');
  });

  it('rejects a wrong signature', async () => {
    await expectUnauthorized(verifier.verify(await hsToken({ tenant_id: 'acme' }, { secret: 'another-secret-of-at-least-32-characters' })), /signature/);
  });

  it('rejects a wrong issuer or audience', async () => {
    await expectUnauthorized(verifier.verify(await hsToken({}, { issuer: 'https://evil.test' })), /'iss'/);
    await expectUnauthorized(verifier.verify(await hsToken({}, { audience: 'other' })), /'aud'/);
  });

  it('rejects expired and not-yet-valid tokens beyond the clock skew', async () => {
    await expectUnauthorized(verifier.verify(await hsToken({}, { expiresIn: -60 })), /expired/);
    await expectUnauthorized(verifier.verify(await hsToken({}, { notBefore: now() + 120 })), /'nbf'/);
    // Within the 5 s skew: accepted.
    await expect(verifier.verify(await hsToken({}, { expiresIn: -2 }))).resolves.toBeDefined();
  });

  it('rejects alg: none', async () => {
    const unsigned = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ tenant_id: 'acme', scope: 'query', iss: ISSUER, aud: AUDIENCE, exp: now() + 60 })}.`;
    await expectUnauthorized(verifier.verify(unsigned), /not allowed|malformed|invalid/);
  });

  it('rejects an HS384 token when only HS256 is configured', async () => {
    await expectUnauthorized(verifier.verify(await hsToken({}, { alg: 'HS384' })), /not allowed/);
  });

  it('rejects garbage', async () => {
    await expectUnauthorized(verifier.verify('not-a-jwt'), /malformed|invalid/);
    await expectUnauthorized(verifier.verify('a.b.c'), /malformed|invalid/);
  });

  it('refuses a short secret or two key sources at construction', () => {
    expect(() => new JwtVerifier({ secret: 'short', tenantClaim: 'tenant_id', clockToleranceSeconds: 0 })).toThrow(/32 characters/);
    expect(() => new JwtVerifier({ secret: SECRET, jwksUrl: 'http://x', tenantClaim: 'tenant_id', clockToleranceSeconds: 0 })).toThrow(/exactly one/);
    expect(() => new JwtVerifier({ tenantClaim: 'tenant_id', clockToleranceSeconds: 0 })).toThrow(/exactly one/);
  });
});

describe('JwtVerifier with a JWKS URL', () => {
  let server: Server;
  let jwks: { keys: JWK[] } = { keys: [] };
  let fetches = 0;
  let url: string;
  const keys: Record<string, Awaited<ReturnType<typeof generateKeyPair>>> = {};

  beforeAll(async () => {
    for (const kid of ['k1', 'k2']) keys[kid] = await generateKeyPair('RS256', { extractable: true });
    jwks = { keys: [{ ...(await exportJWK(keys.k1!.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] };
    server = createServer((_request, response) => {
      fetches += 1;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const rsToken = (kid: string, claims: Record<string, unknown> = { tenant_id: 'acme', scope: 'query' }) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime(now() + 60).sign(keys[kid]!.privateKey);

  it('verifies with the published key and picks up a rotated key by its new kid', async () => {
    const verifier = new JwtVerifier({ jwksUrl: url, issuer: ISSUER, audience: AUDIENCE, tenantClaim: 'tenant_id', clockToleranceSeconds: 0, jwksCooldownMs: 0 });
    expect((await verifier.verify(await rsToken('k1'))).tenantId).toBe('acme');
    const before = fetches;
    await expectUnauthorized(verifier.verify(await rsToken('k2')), /unknown key/);
    // Rotation: the issuer publishes k2; the next token with kid k2 triggers a refetch.
    jwks = { keys: [...jwks.keys, { ...(await exportJWK(keys.k2!.publicKey)), kid: 'k2', alg: 'RS256', use: 'sig' }] };
    expect((await verifier.verify(await rsToken('k2'))).tenantId).toBe('acme');
    expect(fetches).toBeGreaterThan(before);
  });

  it('rejects HS/RS confusion: an HS256 token signed with the public key as the secret', async () => {
    const verifier = new JwtVerifier({ jwksUrl: url, tenantClaim: 'tenant_id', clockToleranceSeconds: 0, jwksCooldownMs: 0 });
    const publicJwk = JSON.stringify(await exportJWK(keys.k1!.publicKey));
    const forged = await new SignJWT({ tenant_id: 'acme', scope: 'query admin' })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setExpirationTime(now() + 60)
      .sign(new TextEncoder().encode(publicJwk));
    await expectUnauthorized(verifier.verify(forged), /not allowed/);
  });
});

describe('authorization rules', () => {
  const principal = (tenantId: string | undefined, scopes: string[]) => ({ subject: 's', tenantId, scopes: new Set(scopes) });

  it('needs the query scope and a matching tenant claim to query', () => {
    expect(() => authorizeTenantQuery(principal('acme', ['query']), 'acme')).not.toThrow();
    expect(() => authorizeTenantQuery(principal('acme', ['query']), 'beta')).toThrow(ForbiddenError);
    expect(() => authorizeTenantQuery(principal(undefined, ['query']), 'acme')).toThrow(/no tenant claim/);
    expect(() => authorizeTenantQuery(principal('acme', ['admin']), 'acme')).toThrow(/'query' scope/);
  });

  it('needs the admin scope for admin endpoints', () => {
    expect(() => requireScope(principal(undefined, ['admin']), 'admin')).not.toThrow();
    const error = (() => {
      try {
        requireScope(principal('acme', ['query']), 'admin');
      } catch (caught) {
        return caught as ForbiddenError;
      }
    })();
    expect(error?.code).toBe('insufficient_scope');
  });

  it('reads scopes from scope, scp string or scp array', () => {
    expect([...scopesOf({ scope: 'a  b' })]).toEqual(['a', 'b']);
    expect([...scopesOf({ scp: ['query', 7, ''] })]).toEqual(['query']);
    expect([...scopesOf({ scp: 'admin' })]).toEqual(['admin']);
    expect([...scopesOf({})]).toEqual([]);
  });
});

describe('bearerToken', () => {
  it('takes the token of a Bearer header only', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('bearer abc')).toBe('abc');
    expect(() => bearerToken(undefined)).toThrow(/missing bearer token/);
    expect(() => bearerToken('Basic dXNlcjpwYXNz')).toThrow(UnauthorizedError);
    expect(() => bearerToken('Bearer ')).toThrow(UnauthorizedError);
    expect(() => bearerToken('Bearer a b')).toThrow(UnauthorizedError);
  });

  it('answers 401 errors with a WWW-Authenticate: Bearer challenge', () => {
    expect(new UnauthorizedError('x').headers['www-authenticate']).toMatch(/^Bearer/);
  });
});
