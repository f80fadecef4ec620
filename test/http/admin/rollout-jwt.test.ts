import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parsePeerList } from '../../../src/http/admin/peers.ts';
import { readAuthSettings } from '../../../src/http/auth/auth-settings.ts';
import { inProcessIndexBuilder } from '../../../src/indexing/index-builder.ts';
import { ConsulKvClient } from '../../../src/kv/consul-kv-client.ts';
import { EmbeddedKvServer } from '../../../src/kv/kv-server.ts';
import { createLogger } from '../../../src/logger.ts';
import { startService, type RunningService } from '../../../src/service.ts';
import { tenantConfigKey } from '../../../src/tenants/desired-tenants.ts';
import { freePort } from '../../helpers/ports.ts';
import { PREFIX, testSettings } from '../../helpers/stack.ts';

/**
 * The rollout view in AUTH_MODE=jwt: peers' `GET /tenants` needs the `admin` scope, so the admin
 * caller's own bearer token is what the pod shows its peers. A peer that still refuses it (here a
 * stand-in answering 401) is shown as unreachable with that reason.
 */

const SECRET = 'an-hs256-secret-for-the-rollout-tests-0123456789';
const ACME = { version: 'v1', data_source: { type: 'fs', path: 'examples/acme-handbook' }, index_params: { chunk_size: 128, chunk_overlap: 16 } };

let kv: EmbeddedKvServer;
let dataDir: string;
let podA: RunningService;
let podB: RunningService;
let refusingPeer: Server;
let refusingUrl: string;
const refusingPeerSaw: IncomingHttpHeaders[] = [];
const logLines: string[] = [];

const adminJwt = () => new SignJWT({ sub: 'ops', scope: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('5m').sign(new TextEncoder().encode(SECRET));

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'ragswap-rollout-jwt-'));
  kv = await EmbeddedKvServer.start({ port: 0, dataDir });
  await new ConsulKvClient({ address: kv.address }).put(tenantConfigKey(PREFIX, 'acme'), JSON.stringify(ACME));
  refusingPeer = createServer((request, response) => {
    refusingPeerSaw.push(request.headers);
    response.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' }).end('{"error":"unauthorized","message":"no"}');
  });
  await new Promise<void>((resolve) => refusingPeer.listen(0, '127.0.0.1', resolve));
  refusingUrl = `http://127.0.0.1:${(refusingPeer.address() as AddressInfo).port}`;

  const [portA, portB] = [await freePort(), await freePort()];
  const peers = parsePeerList(`http://127.0.0.1:${portA},http://127.0.0.1:${portB},${refusingUrl}`);
  const auth = readAuthSettings({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET }, '127.0.0.1');
  const logger = createLogger({ level: 'trace' }, { write: (line: string) => void logLines.push(line) });
  const start = (port: number) => startService({ settings: testSettings({ consulAddress: kv.address, port, peers, auth }), builder: inProcessIndexBuilder, logger });
  [podA, podB] = await Promise.all([start(portA), start(portB)]);
  await vi.waitFor(() => expect([podA, podB].map((pod) => pod.manager.status('acme')?.state)).toEqual(['ready', 'ready']), { timeout: 20_000, interval: 25 });
});

afterAll(async () => {
  await Promise.all([podA?.close(), podB?.close()]);
  await new Promise((resolve) => refusingPeer?.close(resolve));
  await kv?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('GET /admin/api/rollout with AUTH_MODE=jwt', () => {
  it('asks the peers with the caller admin token: both pods reachable with their versions, a refusing peer unreachable with its 401', async () => {
    const jwt = await adminJwt();
    const response = await fetch(`${podA.url}/admin/api/rollout`, { headers: { authorization: `Bearer ${jwt}` } });
    expect(response.status).toBe(200);
    const view = (await response.json()) as any;
    expect(view.pods).toEqual([
      { pod: podA.url, url: podA.url, reachable: true, error: null },
      { pod: podB.url, url: podB.url, reachable: true, error: null },
      { pod: refusingUrl, url: refusingUrl, reachable: false, error: 'GET /tenants answered 401' },
    ]);
    expect(view.tenants.find((tenant: any) => tenant.tenant_id === 'acme').pods.slice(0, 2)).toEqual([
      { pod: podA.url, reachable: true, state: 'ready', serving_version: 'v1', desired_version: 'v1' },
      { pod: podB.url, reachable: true, state: 'ready', serving_version: 'v1', desired_version: 'v1' },
    ]);
    // The forwarded credential is the caller's, unchanged, and it is never logged.
    expect(refusingPeerSaw.at(-1)?.authorization).toBe(`Bearer ${jwt}`);
    expect(logLines.join('')).not.toContain(jwt);
  });

  it('still needs the admin scope itself', async () => {
    expect((await fetch(`${podA.url}/admin/api/rollout`)).status).toBe(401);
  });
});
