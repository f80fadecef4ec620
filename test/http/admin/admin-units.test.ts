import { describe, expect, it } from 'vitest';
import { InvalidRequestError, PreconditionRequiredError } from '../../../src/errors.ts';
import { bearerMatches } from '../../../src/http/admin/admin-plugin.ts';
import { auditId, isAuditRecord, olderIds } from '../../../src/http/admin/audit.ts';
import { auditUser, etagOf, parseIfMatch } from '../../../src/http/admin/if-match.ts';
import { discoverPeers, parsePeerList, type Resolver } from '../../../src/http/admin/peers.ts';
import { fetchPodReport, mergeRollout } from '../../../src/http/admin/rollout.ts';
import { bumpVersion, utcStamp } from '../../../src/http/admin/version-bump.ts';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';

/** A loopback port nobody listens on (fetch refuses "bad ports" such as 1 before connecting). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const NOW = new Date('2025-03-04T05:06:07.890Z');

describe('bumpVersion', () => {
  it.each([
    ['v3', 'v4'],
    ['1.9', '1.10'],
    ['release-41', 'release-42'],
    ['v09', 'v10'],
    ['build-007', 'build-008'],
    ['99', '100'],
    ['v1.2.3', 'v1.2.4'],
    ['x12345678901234567890123', 'x12345678901234567890124'],
  ])('%s → %s', (from, to) => expect(bumpVersion(from, NOW)).toBe(to));

  it('appends a UTC timestamp when there is no trailing number', () => {
    expect(bumpVersion('main', NOW)).toBe('main-20250304050607');
    expect(bumpVersion('v1-beta', NOW)).toBe('v1-beta-20250304050607');
    expect(utcStamp(NOW)).toMatch(/^\d{14}$/);
  });
});

describe('If-Match, ETag and X-Admin-User', () => {
  it.each([
    ['0', 0],
    ['42', 42],
    ['"42"', 42],
    [' 7 ', 7],
  ])('parses %j', (header, expected) => expect(parseIfMatch(header)).toBe(expected));

  it('requires the header (428)', () => {
    expect(() => parseIfMatch(undefined)).toThrow(PreconditionRequiredError);
  });

  it.each(['', 'abc', '-1', '+1', '1.5', '1e3', '*', 'W/"3"', '"3", "4"', '"3', '99999999999999999', '0x10'])('rejects %j with 400', (header) => {
    expect(() => parseIfMatch(header)).toThrow(InvalidRequestError);
  });

  it('round-trips its own ETag', () => expect(parseIfMatch(etagOf(12))).toBe(12));

  it('defaults the audit user to admin and validates a given one', () => {
    const header = (value: string | string[] | undefined) => auditUser({ headers: value === undefined ? {} : { 'x-admin-user': value } });
    expect(header(undefined)).toBe('admin');
    expect(header('alice@example.com')).toBe('alice@example.com');
    for (const bad of ['a b', 'x'.repeat(65), '<script>', 'ä']) expect(() => header(bad)).toThrow(InvalidRequestError);
    expect(() => header(['a', 'b'])).toThrow(InvalidRequestError);
  });

  it('takes a verified JWT subject over any X-Admin-User header', () => {
    const principal = { subject: 'carol', tenantId: undefined, scopes: new Set(['admin']) };
    expect(auditUser({ principal, headers: { 'x-admin-user': 'mallory' } })).toBe('carol');
    // Even a header that would be refused does not matter once the token names the writer.
    expect(auditUser({ principal, headers: { 'x-admin-user': 'not valid!' } })).toBe('carol');
    expect(auditUser({ principal: { ...principal, subject: '' }, headers: {} })).toBe('unknown subject');
  });

  it('compares bearer tokens', () => {
    const expected = createHash('sha256').update('s3cret-token-123456').digest();
    expect(bearerMatches('Bearer s3cret-token-123456', expected)).toBe(true);
    expect(bearerMatches('bearer s3cret-token-123456', expected)).toBe(true);
    expect(bearerMatches('Bearer s3cret-token-12345', expected)).toBe(false);
    expect(bearerMatches('Basic s3cret-token-123456', expected)).toBe(false);
    expect(bearerMatches('s3cret-token-123456', expected)).toBe(false);
    expect(bearerMatches(undefined, expected)).toBe(false);
  });
});

describe('audit record ids', () => {
  const PREFIX = 'rag/audit/';
  const key = (ms: number, suffix = '00000000') => `${PREFIX}${auditId(new Date(ms), suffix)}`;

  it('keys sort by time as plain strings', () => {
    expect(auditId(new Date(9), 'aa') < auditId(new Date(10), 'aa')).toBe(true);
    expect(auditId(NOW, 'deadbeef')).toBe('001741064767890-deadbeef');
  });

  it('lists ids newest first, strictly older than the cursor, and only ids of records', () => {
    const keys = [key(3), key(1), key(5), `${PREFIX}notes`, `${PREFIX}000000000000004-XYZ`, key(2)];
    expect(olderIds(keys, PREFIX)).toEqual([5, 3, 2, 1].map((ms) => auditId(new Date(ms), '00000000')));
    expect(olderIds(keys, PREFIX, auditId(new Date(3), '00000000'))).toEqual([2, 1].map((ms) => auditId(new Date(ms), '00000000')));
    expect(olderIds(keys, PREFIX, auditId(new Date(0), '00000000'))).toEqual([]);
    expect(olderIds([], PREFIX)).toEqual([]);
  });

  it('tells a record from other JSON under the prefix', () => {
    const record = { at: NOW.toISOString(), who: 'alice', action: 'update', tenant_id: 't', old_version: 'v1', new_version: 'v2', old_config: {}, new_config: {} };
    expect(isAuditRecord(record)).toBe(true);
    expect(isAuditRecord({ ...record, old_config: undefined, new_config: null })).toBe(true);
    for (const bad of [{ x: 1 }, [], null, 'text', { ...record, action: 'drop' }, { ...record, who: 7 }, { ...record, new_version: 2 }]) {
      expect(isAuditRecord(bad), JSON.stringify(bad)).toBe(false);
    }
    const { new_config: _dropped, ...withoutNewConfig } = record;
    expect(isAuditRecord(withoutNewConfig)).toBe(false);
  });
});

describe('RAGSWAP_PEERS', () => {
  it('parses base URLs and DNS names', () => {
    expect(parsePeerList('http://10.0.0.1:8080, https://pod-b.example/ragswap/ ,ragswap-headless, ragswap.ns.svc:9090')).toEqual([
      { kind: 'url', url: 'http://10.0.0.1:8080' },
      { kind: 'url', url: 'https://pod-b.example/ragswap' },
      { kind: 'dns', hostname: 'ragswap-headless', port: undefined },
      { kind: 'dns', hostname: 'ragswap.ns.svc', port: 9090 },
    ]);
    expect(parsePeerList(undefined)).toEqual([]);
    expect(parsePeerList(' , ')).toEqual([]);
  });

  it.each(['ftp://x', 'http://', 'http://a/?q=1', 'http://u:p@a', 'bad_name', 'host:0', 'host:70000', 'a..b', '-a'])('rejects %j', (text) => {
    expect(() => parsePeerList(text)).toThrow(/RAGSWAP_PEERS/);
  });

  const resolver = (v4: Record<string, string[]>, v6: Record<string, string[]> = {}): Resolver => ({
    resolve4: async (name) => v4[name] ?? Promise.reject(new Error(`queryA ENOTFOUND ${name}`)),
    resolve6: async (name) => v6[name] ?? Promise.reject(new Error(`queryAaaa ENOTFOUND ${name}`)),
  });

  it('resolves a headless Service to every pod IP, IPv4 and IPv6, on the own port by default', async () => {
    const peers = await discoverPeers(parsePeerList('svc'), 8080, resolver({ svc: ['10.0.0.2', '10.0.0.1'] }, { svc: ['fd00::1'] }));
    expect(peers.map((peer) => peer.url)).toEqual(['http://10.0.0.1:8080', 'http://10.0.0.2:8080', 'http://[fd00::1]:8080']);
  });

  it('keeps a name that does not resolve as an unreachable peer, and asks a pod once', async () => {
    const peers = await discoverPeers(parsePeerList('gone:81,http://10.0.0.1:8080,svc'), 8080, resolver({ svc: ['10.0.0.1'] }));
    expect(peers).toEqual([
      { name: 'gone:81', url: 'http://gone:81', error: expect.stringMatching(/DNS lookup failed: .*ENOTFOUND/) },
      { name: 'http://10.0.0.1:8080', url: 'http://10.0.0.1:8080' },
    ]);
  });
});

describe('rollout', () => {
  it('merges pod reports per tenant and marks convergence', () => {
    const view = mergeRollout([
      { pod: 'a', url: 'http://a', reachable: true, tenants: [{ tenant_id: 'acme', state: 'ready', serving_version: 'v2', desired_version: 'v2' }, { tenant_id: 'off', state: 'inactive', serving_version: null, desired_version: 'v1' }] },
      { pod: 'b', url: 'http://b', reachable: true, tenants: [{ tenant_id: 'acme', state: 'building', serving_version: 'v1', desired_version: 'v2' }, { tenant_id: 'off', state: 'inactive', serving_version: null, desired_version: 'v1' }] },
    ]);
    expect(view.pods).toEqual([
      { pod: 'a', url: 'http://a', reachable: true, error: null },
      { pod: 'b', url: 'http://b', reachable: true, error: null },
    ]);
    expect(view.tenants.map((t) => [t.tenant_id, t.converged])).toEqual([['acme', false], ['off', true]]);
    expect(view.tenants[0]!.pods[1]).toEqual({ pod: 'b', reachable: true, state: 'building', serving_version: 'v1', desired_version: 'v2' });
  });

  it('shows unreachable pods in every row and never calls that converged', () => {
    const view = mergeRollout([
      { pod: 'a', url: 'http://a', reachable: true, tenants: [{ tenant_id: 'acme', state: 'ready', serving_version: 'v1', desired_version: 'v1' }] },
      { pod: 'b', url: 'http://b', reachable: false, error: 'connect ECONNREFUSED' },
    ]);
    expect(view.pods[1]).toEqual({ pod: 'b', url: 'http://b', reachable: false, error: 'connect ECONNREFUSED' });
    expect(view.tenants[0]).toEqual({
      tenant_id: 'acme',
      converged: false,
      pods: [
        { pod: 'a', reachable: true, state: 'ready', serving_version: 'v1', desired_version: 'v1' },
        { pod: 'b', reachable: false, state: null, serving_version: null, desired_version: null },
      ],
    });
  });

  it('a pod that does not know a tenant yet gets an empty cell', () => {
    const view = mergeRollout([
      { pod: 'a', url: null, reachable: true, tenants: [{ tenant_id: 'new', state: 'building', serving_version: null, desired_version: 'v1' }] },
      { pod: 'b', url: null, reachable: true, tenants: [] },
    ]);
    expect(view.tenants[0]!.pods[1]).toMatchObject({ pod: 'b', reachable: true, state: null });
    expect(view.tenants[0]!.converged).toBe(false);
  });

  it('reports refused connections, timeouts, HTTP errors and foreign JSON as unreachable', async () => {
    const peer = { name: 'p', url: 'http://p' };
    const refused = await fetchPodReport({ name: 'x', url: `http://127.0.0.1:${await closedPort()}` }, 1_000);
    expect(refused).toMatchObject({ reachable: false, error: expect.stringMatching(/ECONNREFUSED/) });
    const hang: typeof fetch = (_url, init) => new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason)));
    expect(await fetchPodReport(peer, 50, hang)).toMatchObject({ reachable: false, error: 'no answer within 50 ms' });
    expect(await fetchPodReport(peer, 50, async () => new Response('no', { status: 502 }))).toMatchObject({ reachable: false, error: 'GET /tenants answered 502' });
    expect(await fetchPodReport(peer, 50, async () => Response.json({ hello: 1 }))).toMatchObject({ reachable: false });
    expect(await fetchPodReport({ ...peer, error: 'DNS lookup failed: x' }, 50)).toMatchObject({ reachable: false, error: 'DNS lookup failed: x' });
  });

  it('sends the Authorization header only when given one, and keeps it out of the report', async () => {
    const seen: (string | null)[] = [];
    const recording: typeof fetch = async (_url, init) => {
      seen.push(new Headers(init?.headers).get('authorization'));
      return new Response('{"error":"unauthorized"}', { status: 401 });
    };
    const peer = { name: 'p', url: 'http://p' };
    await fetchPodReport(peer, 50, recording);
    const report = await fetchPodReport(peer, 50, recording, 'Bearer a.b.c');
    expect(seen).toEqual([null, 'Bearer a.b.c']);
    expect(report).toEqual({ pod: 'p', url: 'http://p', reachable: false, error: 'GET /tenants answered 401' });
  });
});
