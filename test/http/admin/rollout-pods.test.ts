import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { inProcessIndexBuilder } from '../../../src/indexing/index-builder.ts';
import { EmbeddedKvServer } from '../../../src/kv/kv-server.ts';
import { parsePeerList } from '../../../src/http/admin/peers.ts';
import { startService, type RunningService } from '../../../src/service.ts';
import { testSettings } from '../../helpers/stack.ts';
import { freePort } from '../../helpers/ports.ts';

/**
 * Two service instances watching the same KV server, each told about both (and about a pod that
 * is gone): a write through one pod's admin API shows up in the rollout view of both, per pod.
 */
const TOKEN = 'rollout-test-token-0123456789';


let kv: EmbeddedKvServer;
let dataDir: string;
let podA: RunningService;
let podB: RunningService;
let deadUrl: string;

const admin = (pod: RunningService, url: string, init: RequestInit = {}) =>
  fetch(`${pod.url}/admin/api${url}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, ...(init.body ? { 'content-type': 'application/json' } : {}), ...(init.headers as Record<string, string>) } });

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'ragswap-rollout-'));
  kv = await EmbeddedKvServer.start({ port: 0, dataDir });
  const [portA, portB, portDead] = [await freePort(), await freePort(), await freePort()];
  deadUrl = `http://127.0.0.1:${portDead}`;
  const peers = parsePeerList(`http://127.0.0.1:${portA},http://127.0.0.1:${portB},${deadUrl}`);
  const start = (port: number) =>
    startService({ settings: testSettings({ consulAddress: kv.address, port, adminToken: TOKEN, peers }), builder: inProcessIndexBuilder });
  [podA, podB] = await Promise.all([start(portA), start(portB)]);
});

afterAll(async () => {
  await Promise.all([podA?.close(), podB?.close()]);
  await kv?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('GET /admin/api/rollout with two pods', () => {
  it('shows, per tenant, which version each pod serves, and the unreachable pod as such', async () => {
    const body = { version: 'v1', data_source: { type: 'fs', path: 'examples/acme-handbook' } };
    expect((await admin(podA, '/tenants/shop/config', { method: 'PUT', body: JSON.stringify(body), headers: { 'if-match': '0' } })).status).toBe(201);

    let view: any;
    await vi.waitFor(
      async () => {
        view = await (await admin(podB, '/rollout')).json();
        expect(view.tenants.find((tenant: any) => tenant.tenant_id === 'shop')?.pods.filter((cell: any) => cell.serving_version === 'v1')).toHaveLength(2);
      },
      { timeout: 15_000, interval: 50 },
    );
    expect(view.pods).toEqual([
      { pod: podA.url, url: podA.url, reachable: true, error: null },
      { pod: podB.url, url: podB.url, reachable: true, error: null },
      { pod: deadUrl, url: deadUrl, reachable: false, error: expect.stringMatching(/ECONNREFUSED/) },
    ]);
    const shop = view.tenants.find((tenant: any) => tenant.tenant_id === 'shop');
    expect(shop.pods).toEqual([
      { pod: podA.url, reachable: true, state: 'ready', serving_version: 'v1', desired_version: 'v1' },
      { pod: podB.url, reachable: true, state: 'ready', serving_version: 'v1', desired_version: 'v1' },
      { pod: deadUrl, reachable: false, state: null, serving_version: null, desired_version: null },
    ]);
    // A pod that cannot be asked means the rollout cannot be called done.
    expect(shop.converged).toBe(false);

    // Reindex through pod B; both pods move to v2.
    expect(((await (await admin(podB, '/tenants/shop/reindex', { method: 'POST' })).json()) as any).version).toBe('v2');
    await vi.waitFor(
      async () => {
        const next = (await (await admin(podA, '/rollout')).json()) as any;
        const row = next.tenants.find((tenant: any) => tenant.tenant_id === 'shop');
        expect(row.pods.slice(0, 2).map((cell: any) => cell.serving_version)).toEqual(['v2', 'v2']);
      },
      { timeout: 15_000, interval: 50 },
    );
  });
});
