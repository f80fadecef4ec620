import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, vi } from 'vitest';
import { readSettings, type ServiceSettings } from '../../src/config.ts';
import { ConsulKvClient } from '../../src/kv/consul-kv-client.ts';
import { EmbeddedKvServer } from '../../src/kv/kv-server.ts';
import { startService, type RunningService, type ServiceOptions } from '../../src/service.ts';
import { tenantConfigKey } from '../../src/tenants/desired-tenants.ts';
import type { TenantStatus } from '../../src/tenants/tenant-state.ts';
import { startS3Server, type TestS3Server } from './s3-server.ts';

export const PREFIX = 'rag/tenants/';

/**
 * The whole service against real servers on loopback: an s3rver, the embedded Consul-compatible
 * KV server (on its own data dir) and ragswap itself with worker-thread builds.
 */
export interface Stack {
  readonly kv: EmbeddedKvServer;
  readonly kvClient: ConsulKvClient;
  readonly s3: TestS3Server;
  readonly service: RunningService;
  readonly kvDataDir: string;
  putConfig(tenantId: string, config: Record<string, unknown> | string): Promise<void>;
  deleteConfig(tenantId: string): Promise<void>;
  query(tenantId: string, body: unknown): Promise<{ status: number; body: any; headers: Headers }>;
  status(tenantId: string): Promise<TenantStatus & { kv: Record<string, unknown> }>;
  waitForServing(tenantId: string, version: string, timeoutMs?: number): Promise<void>;
  waitForState(tenantId: string, state: TenantStatus['state'], timeoutMs?: number): Promise<TenantStatus>;
  /** Stops the KV server; `restartKv` brings it back on the same port and data dir. */
  stopKv(): Promise<void>;
  restartKv(): Promise<void>;
  close(): Promise<void>;
}

export function testSettings(overrides: Partial<ServiceSettings> = {}): ServiceSettings {
  return { ...readSettings({}), host: '127.0.0.1', port: 0, kvWaitMs: 10_000, ...overrides };
}

export function s3Config(version: string, bucket: string, prefix = '', extra: Record<string, unknown> = {}) {
  return {
    version,
    data_source: { type: 's3', bucket, ...(prefix ? { prefix } : {}) },
    index_params: { chunk_size: 128, chunk_overlap: 16 },
    ...extra,
  };
}

export async function startStack(options: { service?: Partial<ServiceOptions>; settings?: Partial<ServiceSettings> } = {}): Promise<Stack> {
  const kvDataDir = await mkdtemp(path.join(tmpdir(), 'ragswap-kv-'));
  const s3 = await startS3Server();
  let kv = await EmbeddedKvServer.start({ port: 0, dataDir: kvDataDir });
  const kvPort = kv.port;
  const kvClient = new ConsulKvClient({ address: kv.address });
  const service = await startService({
    settings: testSettings({ consulAddress: kv.address, ...options.settings }),
    sourceEnvironment: s3.environment(),
    ...options.service,
  });

  /**
   * The ModifyIndex of each tenant's last write through putConfig. The waits below require the
   * service to have seen at least that write, so waiting for a state the tenant is already in (an
   * error replaced by another error) cannot pass on the stale status.
   */
  const writtenIndex = new Map<string, number>();
  const status = async (tenantId: string) => {
    const response = await fetch(`${service.url}/tenants/${tenantId}`);
    return (await response.json()) as TenantStatus & { kv: Record<string, unknown> };
  };

  const stack: Stack = {
    get kv() {
      return kv;
    },
    kvClient,
    s3,
    service,
    kvDataDir,
    async putConfig(tenantId, config) {
      const value = typeof config === 'string' ? config : JSON.stringify(config);
      const key = tenantConfigKey(PREFIX, tenantId);
      expect(await kvClient.put(key, value)).toBe(true);
      writtenIndex.set(tenantId, (await kvClient.get(key)).value?.modifyIndex ?? 0);
    },
    async deleteConfig(tenantId) {
      expect(await kvClient.delete(tenantConfigKey(PREFIX, tenantId))).toBe(true);
    },
    async query(tenantId, body) {
      const response = await fetch(`${service.url}/query/${tenantId}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // Keep the raw text: a non-JSON error body is itself a finding.
      }
      return { status: response.status, body: parsed, headers: response.headers };
    },
    status,
    async waitForServing(tenantId, version, timeoutMs = 20_000) {
      await vi.waitFor(
        async () => {
          const current = await status(tenantId);
          expect(current.modify_index).toBeGreaterThanOrEqual(writtenIndex.get(tenantId) ?? 0);
          expect(current.serving_version).toBe(version);
        },
        { timeout: timeoutMs, interval: 25 },
      );
    },
    async waitForState(tenantId, state, timeoutMs = 20_000) {
      let last: TenantStatus | undefined;
      await vi.waitFor(
        async () => {
          last = await status(tenantId);
          expect(last.modify_index).toBeGreaterThanOrEqual(writtenIndex.get(tenantId) ?? 0);
          expect(last.state).toBe(state);
        },
        { timeout: timeoutMs, interval: 25 },
      );
      return last!;
    },
    async stopKv() {
      await kv.stop();
    },
    async restartKv() {
      kv = await EmbeddedKvServer.start({ port: kvPort, dataDir: kvDataDir });
    },
    async close() {
      await service.close();
      await kv.stop().catch(() => undefined);
      await s3.close();
      await rm(kvDataDir, { recursive: true, force: true });
    },
  };
  return stack;
}
