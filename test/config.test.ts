import { describe, expect, it } from 'vitest';
import { readSettings, SettingsError } from '../src/config.ts';

describe('admin settings', () => {
  it('defaults: admin on, no token (generated at start), audit under rag/audit/, no peers', () => {
    const settings = readSettings({});
    expect(settings).toMatchObject({ adminEnabled: true, adminToken: undefined, auditPrefix: 'rag/audit/', peers: [] });
  });

  it('reads ADMIN_ENABLED, ADMIN_TOKEN, AUDIT_KV_PREFIX and RAGSWAP_PEERS', () => {
    const settings = readSettings({ ADMIN_ENABLED: 'false', ADMIN_TOKEN: 'a-long-enough-token', AUDIT_KV_PREFIX: 'ops/audit', RAGSWAP_PEERS: 'http://a:8080,svc' });
    expect(settings).toMatchObject({
      adminEnabled: false,
      adminToken: 'a-long-enough-token',
      auditPrefix: 'ops/audit/',
      peers: [{ kind: 'url', url: 'http://a:8080' }, { kind: 'dns', hostname: 'svc', port: undefined }],
    });
  });

  it.each([
    [{ ADMIN_ENABLED: 'maybe' }, /ADMIN_ENABLED/],
    [{ ADMIN_TOKEN: 'short' }, /ADMIN_TOKEN/],
    [{ ADMIN_TOKEN: 'has a space in it somewhere' }, /ADMIN_TOKEN/],
    [{ AUDIT_KV_PREFIX: 'rag/tenants/audit/' }, /AUDIT_KV_PREFIX/],
    [{ AUDIT_KV_PREFIX: 'rag/' }, /AUDIT_KV_PREFIX/],
    [{ AUDIT_KV_PREFIX: '/abs' }, /AUDIT_KV_PREFIX/],
    [{ CONFIG_KV_PREFIX: 'x/', AUDIT_KV_PREFIX: 'x/' }, /AUDIT_KV_PREFIX/],
    [{ RAGSWAP_PEERS: 'ftp://x' }, /RAGSWAP_PEERS/],
  ])('rejects %j', (env, message) => {
    expect(() => readSettings(env)).toThrow(SettingsError);
    expect(() => readSettings(env)).toThrow(message);
  });
});

describe('KV watch settings', () => {
  it('defaults to a 60 s blocking wait and one call a second under churn', () => {
    expect(readSettings({})).toMatchObject({ kvWaitMs: 60_000, kvWatchMinIntervalMs: 1_000 });
    expect(readSettings({ KV_WAIT_SECONDS: '30', KV_WATCH_MIN_INTERVAL_MS: '250' })).toMatchObject({ kvWaitMs: 30_000, kvWatchMinIntervalMs: 250 });
  });

  it.each([{ KV_WATCH_MIN_INTERVAL_MS: '0' }, { KV_WATCH_MIN_INTERVAL_MS: 'fast' }, { KV_WAIT_SECONDS: '601' }])('rejects %j', (env) => {
    expect(() => readSettings(env)).toThrow(new RegExp(Object.keys(env)[0]!));
  });
});

describe('build settings', () => {
  it('defaults to one build at a time and a 30-minute build timeout', () => {
    expect(readSettings({})).toMatchObject({ buildConcurrency: 1, buildTimeoutMs: 1_800_000 });
    expect(readSettings({ BUILD_TIMEOUT_SECONDS: '90' }).buildTimeoutMs).toBe(90_000);
    expect(() => readSettings({ BUILD_TIMEOUT_SECONDS: '0' })).toThrow(/BUILD_TIMEOUT_SECONDS/);
  });
});
