import { describe, expect, it } from 'vitest';
import { AuthSettingsError, isLoopbackHost, readAuthSettings, readConsulToken } from '../../../src/http/auth/auth-settings.ts';

const SECRET = 's'.repeat(32);

describe('readAuthSettings', () => {
  it('defaults to none on loopback, resolving the tenant from the path then the header', () => {
    const settings = readAuthSettings({}, '127.0.0.1');
    expect(settings).toMatchObject({ mode: 'none', tenantClaim: 'tenant_id', tenantResolution: ['path', 'header'], clockToleranceSeconds: 30 });
  });

  it('refuses AUTH_MODE=none on a non-loopback address with a clear message', () => {
    expect(() => readAuthSettings({}, '0.0.0.0')).toThrow(/only allowed on a loopback address; HOST is '0.0.0.0'/);
    expect(() => readAuthSettings({ AUTH_MODE: 'none' }, '10.0.0.5')).toThrow(AuthSettingsError);
  });

  it('needs exactly one key source in jwt mode', () => {
    expect(() => readAuthSettings({ AUTH_MODE: 'jwt' }, '0.0.0.0')).toThrow(/exactly one of AUTH_JWKS_URL or AUTH_JWT_SECRET/);
    expect(() => readAuthSettings({ AUTH_MODE: 'jwt', AUTH_JWKS_URL: 'https://idp/jwks', AUTH_JWT_SECRET: SECRET }, '0.0.0.0')).toThrow(/exactly one/);
    expect(readAuthSettings({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, AUTH_ISSUER: 'i', AUTH_AUDIENCE: 'a', AUTH_TENANT_CLAIM: 'org' }, '0.0.0.0')).toMatchObject({
      mode: 'jwt',
      issuer: 'i',
      audience: 'a',
      tenantClaim: 'org',
    });
  });

  it('rejects bad values naming the variable', () => {
    expect(() => readAuthSettings({ AUTH_MODE: 'basic' }, '127.0.0.1')).toThrow(/AUTH_MODE/);
    expect(() => readAuthSettings({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: 'short' }, '0.0.0.0')).toThrow(/AUTH_JWT_SECRET/);
    expect(() => readAuthSettings({ AUTH_MODE: 'jwt', AUTH_JWKS_URL: 'file:///etc/keys' }, '0.0.0.0')).toThrow(/AUTH_JWKS_URL/);
    expect(() => readAuthSettings({ AUTH_CLOCK_SKEW_SECONDS: '9000' }, '127.0.0.1')).toThrow(/AUTH_CLOCK_SKEW_SECONDS/);
    expect(() => readAuthSettings({ TENANT_RESOLUTION: 'path,cookie' }, '127.0.0.1')).toThrow(/TENANT_RESOLUTION/);
    expect(() => readAuthSettings({ TENANT_RESOLUTION: 'subdomain' }, '127.0.0.1')).toThrow(/TENANT_BASE_DOMAIN/);
  });

  it('knows loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '128.0.0.1']) expect(isLoopbackHost(host)).toBe(false);
  });
});

describe('readConsulToken', () => {
  it('prefers the token file (a mounted Secret) and trims it', () => {
    expect(readConsulToken({ CONSUL_HTTP_TOKEN_FILE: '/run/secret', CONSUL_HTTP_TOKEN: 'env' }, () => ' from-file\n')).toBe('from-file');
    expect(readConsulToken({ CONSUL_HTTP_TOKEN: 'env' })).toBe('env');
    expect(readConsulToken({})).toBeUndefined();
  });
  it('fails clearly on a missing or empty file', () => {
    expect(() => readConsulToken({ CONSUL_HTTP_TOKEN_FILE: '/nope/token' })).toThrow(/cannot be read/);
    expect(() => readConsulToken({ CONSUL_HTTP_TOKEN_FILE: '/run/secret' }, () => '  ')).toThrow(/is empty/);
  });
});
