import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.ts';

/**
 * `npm start` as a user runs it: the real entry point in its own process, on the embedded KV
 * server with the seeded demo tenants, driven with plain HTTP (what curl would send).
 */

const ROOT = path.resolve(import.meta.dirname, '../..');


interface RunningMain {
  readonly child: ChildProcess;
  readonly url: string;
  readonly kvUrl: string;
  readonly output: string[];
  readonly exited: Promise<number | null>;
}

function startMain(env: Record<string, string>): RunningMain {
  const output: string[] = [];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, url: `http://127.0.0.1:${env.PORT}`, kvUrl: `http://127.0.0.1:${env.EMBEDDED_KV_PORT}`, output, exited };
}

async function waitForReady(main: RunningMain, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = await fetch(`${main.url}/ready`).then((response) => response.status, () => 0);
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`service not ready after ${timeoutMs} ms:\n${main.output.join('')}`);
}

async function query(main: RunningMain, tenant: string, text: string) {
  const response = await fetch(`${main.url}/query/${tenant}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: text }),
  });
  return { status: response.status, body: (await response.json()) as any };
}

let dataDir: string;
let env: Record<string, string>;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'ragswap-main-'));
  env = { PORT: String(await freePort()), EMBEDDED_KV_PORT: String(await freePort()), RAGSWAP_DATA_DIR: dataDir, KV_WAIT_SECONDS: '5' };
  delete process.env.CONSUL_HTTP_ADDR;
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('npm start on the embedded default', () => {
  it('serves the demo tenants, applies a KV change, and drains on SIGTERM with exit 0', async () => {
    const main = startMain(env);
    try {
      await waitForReady(main);
      const english = await query(main, 'acme', 'How many vacation days do I get?');
      expect(english.status).toBe(200);
      expect(english.body.response).toContain('25 days');
      // Chinese retrieval with the default lexical embedding (character bigrams).
      const chinese = await query(main, 'tea-zh', '铁观音产于哪里？');
      expect(chinese.status).toBe(200);
      expect(chinese.body.response).toContain('福建安溪');
      expect(chinese.body.sources[0].metadata.source).toBe('file://oolong.md');

      // The README's walk-through: read the config from the KV API, bump its version, see it served.
      const raw = await fetch(`${main.kvUrl}/v1/kv/rag/tenants/acme/config?raw`).then((response) => response.json() as Promise<Record<string, unknown>>);
      expect(raw.version).toBe('v1');
      const put = await fetch(`${main.kvUrl}/v1/kv/rag/tenants/acme/config`, { method: 'PUT', body: JSON.stringify({ ...raw, version: 'v2' }) });
      expect(await put.json()).toBe(true);
      await expect.poll(async () => (await query(main, 'acme', 'vacation')).body.version, { timeout: 30_000, interval: 100 }).toBe('v2');

      // SIGTERM during traffic: queries in flight finish, the process exits 0.
      let stop = false;
      const failures: number[] = [];
      const traffic = (async () => {
        while (!stop) {
          const status = await query(main, 'acme', 'expenses hotel').then((result) => result.status, () => -1);
          if (status !== 200 && status !== -1) failures.push(status);
        }
      })();
      await new Promise((resolve) => setTimeout(resolve, 200));
      main.child.kill('SIGTERM');
      expect(await main.exited).toBe(0);
      stop = true;
      await traffic;
      expect(failures).toEqual([]);
      expect(main.output.join('')).toContain('shutdown complete');
    } finally {
      main.child.kill('SIGKILL');
    }
  }, 120_000);

  it('keeps KV state across restarts and does not seed the demo tenants again', async () => {
    const main = startMain(env);
    try {
      await waitForReady(main);
      const raw = await fetch(`${main.kvUrl}/v1/kv/rag/tenants/acme/config?raw`).then((response) => response.json() as Promise<Record<string, unknown>>);
      expect(raw.version).toBe('v2');
      expect((await query(main, 'acme', 'vacation')).body.version).toBe('v2');
      expect(main.output.join('')).not.toContain('seeded demo tenants');
    } finally {
      main.child.kill('SIGTERM');
      await main.exited;
    }
  }, 120_000);

  it('prints a generated admin token once, which opens the admin API and UI; ADMIN_TOKEN is never printed', async () => {
    const generated = startMain(env);
    try {
      await waitForReady(generated);
      const printed = [...generated.output.join('').matchAll(/token \(generated[^)]*\): (\S+)/g)].map((match) => match[1]);
      expect(printed).toHaveLength(1);
      const tenants = await fetch(`${generated.url}/admin/api/tenants`, { headers: { authorization: `Bearer ${printed[0]}` } });
      expect(tenants.status).toBe(200);
      expect(((await tenants.json()) as any).tenants.map((tenant: any) => tenant.tenant_id)).toEqual(['acme', 'tea-zh']);
      expect((await fetch(`${generated.url}/admin/`)).headers.get('content-type')).toMatch(/text\/html/);
    } finally {
      generated.child.kill('SIGTERM');
      await generated.exited;
    }
    const chosen = startMain({ ...env, ADMIN_TOKEN: 'operator-chosen-token-42' });
    try {
      await waitForReady(chosen);
      expect(chosen.output.join('')).not.toContain('operator-chosen-token-42');
      expect(chosen.output.join('')).not.toContain('token (generated');
      expect((await fetch(`${chosen.url}/admin/api/tenants`, { headers: { authorization: 'Bearer operator-chosen-token-42' } })).status).toBe(200);
    } finally {
      chosen.child.kill('SIGTERM');
      await chosen.exited;
    }
  }, 120_000);

  it('refuses AUTH_MODE=none on a non-loopback address', async () => {
    const main = startMain({ ...env, HOST: '0.0.0.0' });
    expect(await main.exited).toBe(2);
    expect(main.output.join('')).toContain('AUTH_MODE=none is only allowed on a loopback address');
  }, 30_000);

  it('refuses invalid settings with a clear message and exit code 2', async () => {
    const main = startMain({ ...env, PORT: 'eighty' });
    expect(await main.exited).toBe(2);
    expect(main.output.join('')).toContain('PORT must be an integer');
  }, 30_000);
});
