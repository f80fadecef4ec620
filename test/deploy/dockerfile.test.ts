/**
 * The Dockerfile, checked without a Docker engine: its stages and image metadata are parsed and
 * asserted, then its build and runtime stages are performed on the host (COPY honouring
 * .dockerignore, the npm RUN steps for real) and the resulting runtime folder is started the way
 * the image's CMD starts it: as uid 10001 when the test runs as root (the app then cannot write
 * outside its data and tmp dirs, as with a read-only root filesystem), GET /health must answer 200
 * and SIGTERM must end it with exit code 0.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './helpers/paths.ts';
import { allOf, execForm, lastOf, parseDockerfile, parseKeyValues, type Stage } from './helpers/dockerfile.ts';
import { isExcluded, parseDockerignore } from './helpers/dockerignore.ts';
import { hostPath, performStage, type RunRequest, type StageState } from './helpers/stage-runner.ts';
import { classifyRun } from './helpers/run-steps.ts';
import { freePort, waitForExit, waitForHttpOk } from './helpers/app-process.ts';

const dockerfile = parseDockerfile(readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8'));
const ignoreRules = parseDockerignore(readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8'));
const stage = (name: string): Stage => {
  const found = dockerfile.stages.find((s) => s.name === name);
  if (!found) throw new Error(`Dockerfile has no stage named ${name}`);
  return found;
};
const runtime = (): Stage => {
  const last = dockerfile.stages[dockerfile.stages.length - 1];
  if (!last) throw new Error('Dockerfile has no stage');
  return last;
};
const runCommands = (s: Stage): string[] => allOf(s, 'RUN').map((r) => r.args);
const APP_UID = 10001;
const hasMain = existsSync(path.join(REPO_ROOT, 'src', 'main.ts'));

describe('Dockerfile structure', () => {
  it('has a build stage and a final runtime stage on the same pinned node 22 slim image', () => {
    expect(dockerfile.stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    for (const s of dockerfile.stages) expect(s.image).toMatch(/^node:22\.\d+\.\d+-bookworm-slim$/);
    expect(stage('build').image).toBe(runtime().image);
  });

  it('builds with npm ci and npm run build, and installs production dependencies only at runtime', () => {
    expect(runCommands(stage('build'))).toEqual(expect.arrayContaining([expect.stringMatching(/^npm ci\b/), 'npm run build']));
    const runtimeNpm = runCommands(runtime()).filter((c) => c.startsWith('npm '));
    expect(runtimeNpm).toHaveLength(1);
    expect(runtimeNpm[0]).toMatch(/^npm ci\b.*--omit=dev/);
    expect(allOf(runtime(), 'COPY').map((c) => [c.flags.from, c.args])).toEqual([
      [undefined, 'package.json package-lock.json ./'],
      ['build', '/app/dist ./dist'],
      [undefined, 'examples ./examples'],
    ]);
  });

  it('runs as a numeric non-root user, exposes 8080 and execs node dist/main.js under tini', () => {
    const user = lastOf(runtime(), 'USER')?.args ?? '';
    // Numeric, so that Kubernetes can verify runAsNonRoot without /etc/passwd.
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(Number(user.split(':')[0])).toBe(APP_UID);
    expect(allOf(runtime(), 'EXPOSE').map((e) => e.args)).toEqual(['8080']);
    expect(execForm(lastOf(runtime(), 'CMD')?.args ?? '')).toEqual(['node', 'dist/main.js']);
    expect(execForm(lastOf(runtime(), 'ENTRYPOINT')?.args ?? '')).toEqual(['/usr/bin/tini', '--']);
    expect(runCommands(runtime()).join('\n')).toMatch(/apt-get install -y --no-install-recommends tini/);
    // The USER line comes after every step that needs root.
    const userLine = lastOf(runtime(), 'USER')?.line ?? 0;
    expect(allOf(runtime(), 'RUN').every((r) => r.line < userLine)).toBe(true);
  });

  it('sets the environment for a read-only root filesystem', () => {
    const env = Object.assign({}, ...allOf(runtime(), 'ENV').map((e) => parseKeyValues(e.args))) as Record<string, string>;
    expect(env).toMatchObject({ NODE_ENV: 'production', HOST: '0.0.0.0', PORT: '8080', RAGSWAP_DATA_DIR: '/data', TMPDIR: '/tmp' });
  });

  it('carries the OCI image labels', () => {
    const labels = Object.assign({}, ...allOf(runtime(), 'LABEL').map((l) => parseKeyValues(l.args))) as Record<string, string>;
    for (const key of ['title', 'description', 'version', 'revision', 'created', 'source', 'licenses']) {
      expect(labels[`org.opencontainers.image.${key}`], key).toBeTruthy();
    }
    expect(labels['org.opencontainers.image.licenses']).toBe('Apache-2.0');
  });

  it('has a HEALTHCHECK against /health', () => {
    expect(lastOf(runtime(), 'HEALTHCHECK')?.args).toMatch(/CMD \[.*\/health/);
  });
});

describe('.dockerignore', () => {
  it('keeps dependencies, build output, VCS data, tests, deploy files and secrets out of the context', () => {
    for (const p of ['node_modules/x/index.js', 'dist/main.js', '.git/config', 'test/smoke.test.ts', 'charts/ragswap/values.yaml', 'clusters/production/apps.yaml', '.env', 'src/.env', 'npm-debug.log']) {
      expect(isExcluded(p, ignoreRules), p).toBe(true);
    }
  });

  it('lets in every context path the Dockerfile copies', () => {
    for (const p of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src/main.ts', 'src/kv/consul-kv-client.ts', 'examples/demo.md']) {
      expect(isExcluded(p, ignoreRules), p).toBe(false);
    }
  });
});

describe('Dockerfile stages performed on the host', () => {
  const workspace = mkdtempSync(path.join(os.tmpdir(), 'ragswap-image-'));
  const npmCache = process.env.npm_config_cache ?? path.join(os.homedir(), '.npm');
  const performed = new Map<string, StageState>();
  const log: string[] = [];
  afterAll(() => rmSync(workspace, { recursive: true, force: true }));

  const run = (request: RunRequest): void => {
    for (const step of classifyRun(request.command)) {
      if (step.kind === 'os-setup') {
        log.push(`skipped (image OS setup): ${step.command}`);
        continue;
      }
      const args = [...step.args, ...(step.args[0] === 'ci' ? ['--prefer-offline'] : [])];
      const started = Date.now();
      const result = spawnSync('npm', args, {
        cwd: request.cwd,
        // The stage's ENV, as docker build sets it, over the host's environment (which carries
        // what this machine needs to reach the registry, e.g. CA certificates); the host's npm
        // cache stands in for the Dockerfile's cache mount on /root/.npm.
        env: { ...process.env, ...request.env, npm_config_cache: npmCache, npm_config_update_notifier: 'false' },
        encoding: 'utf8',
        timeout: 240_000,
      });
      log.push(`npm ${args.join(' ')}: exit ${result.status} in ${Date.now() - started} ms`);
      if (result.status !== 0) {
        const errors = (result.stderr || result.stdout).split('\n').filter((l) => !/^npm error\s*(\[|$|  )/.test(l));
        throw new Error(`Dockerfile line ${request.instruction.line}: npm ${args.join(' ')} failed (exit ${result.status}):\n${errors.slice(0, 40).join('\n')}`);
      }
    }
  };

  it(
    'performs the build and runtime stages: npm ci, npm run build, npm ci --omit=dev, COPYs',
    () => {
      const stageRoots = new Map<string, string>();
      for (const s of dockerfile.stages) {
        const root = path.join(workspace, s.name ?? String(s.index));
        performed.set(s.name ?? String(s.index), performStage(s, root, { contextDir: REPO_ROOT, ignore: ignoreRules, stageRoots, run }));
        stageRoots.set(s.name ?? String(s.index), root);
      }
      const app = performed.get('runtime');
      expect(app?.workdir).toBe('/app');
      const appDir = hostPath(app?.root ?? '', '/app');
      for (const p of ['package.json', 'package-lock.json', 'node_modules/fastify/package.json', 'dist', 'examples']) {
        expect(existsSync(path.join(appDir, p)), p).toBe(true);
      }
      // Production dependencies only: a devDependency must be absent.
      expect(existsSync(path.join(appDir, 'node_modules', 'vitest'))).toBe(false);
      expect(existsSync(path.join(appDir, 'src'))).toBe(false);
    },
    420_000,
  );

  it.skipIf(!hasMain)(
    `starts like CMD, answers GET /health with 200, and exits 0 on SIGTERM${hasMain ? '' : ' (skipped until src/main.ts exists)'}`,
    async () => {
      const app = performed.get('runtime');
      if (!app) throw new Error('the stages were not performed (see the previous test)');
      const appDir = hostPath(app.root, app.workdir);
      const argv = execForm(lastOf(runtime(), 'CMD')?.args ?? '') ?? [];
      expect(existsSync(path.join(appDir, argv[1] ?? 'missing'))).toBe(true);

      const runDir = path.join(workspace, 'run');
      const dataDir = path.join(runDir, 'data');
      const tmpDir = path.join(runDir, 'tmp');
      for (const dir of [runDir, dataDir, tmpDir]) mkdirSync(dir, { recursive: true });
      chmodSync(workspace, 0o755);
      chmodSync(runDir, 0o755);
      const asRoot = process.getuid?.() === 0;
      if (asRoot) for (const dir of [dataDir, tmpDir]) chownSync(dir, APP_UID, APP_UID);
      // The image runs the base image's /usr/local/bin/node, which every user can execute. The
      // host's node may sit where uid 10001 cannot reach it (CI installs it under /root/.cache),
      // so the test runs a copy in the same place inside the performed runtime stage.
      const nodeBinary = hostPath(app.root, '/usr/local/bin/node');
      mkdirSync(path.dirname(nodeBinary), { recursive: true });
      copyFileSync(realpathSync(process.execPath), nodeBinary);
      chmodSync(nodeBinary, 0o755);
      for (let dir = path.dirname(nodeBinary); dir.startsWith(workspace); dir = path.dirname(dir)) chmodSync(dir, 0o755);

      const port = await freePort();
      const closedPort = await freePort();
      const child = spawn(nodeBinary, argv.slice(1), {
        cwd: appDir,
        // The image's ENV with the test's overrides; nothing else of the host's environment.
        env: {
          ...app.env,
          PATH: process.env.PATH ?? '',
          PORT: String(port),
          HOST: '127.0.0.1',
          RAGSWAP_DATA_DIR: dataDir,
          TMPDIR: tmpDir,
          HOME: tmpDir,
          LOG_LEVEL: 'warn',
          // Keep every client on loopback: a Consul that refuses connections, no instance metadata.
          CONSUL_HTTP_ADDR: `http://127.0.0.1:${closedPort}`,
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
          AWS_EC2_METADATA_DISABLED: 'true',
          AUTH_MODE: 'none',
        },
        ...(asRoot ? { uid: APP_UID, gid: APP_UID } : {}),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      const collect = (chunk: Buffer): void => {
        output = (output + chunk.toString()).slice(-8000);
      };
      child.stdout?.on('data', collect);
      child.stderr?.on('data', collect);
      // A spawn failure (EACCES, ENOENT) is reported here rather than as an uncaught exception.
      child.on('error', (error) => collect(Buffer.from(`spawn failed: ${error.message}\n`)));
      try {
        await waitForHttpOk(`http://127.0.0.1:${port}/health`, child, 60_000);
        expect(child.kill('SIGTERM')).toBe(true);
        const exit = await waitForExit(child, 30_000);
        expect(exit, output).toEqual({ code: 0, signal: null });
      } catch (error) {
        child.kill('SIGKILL');
        throw new Error(`${error instanceof Error ? error.message : String(error)}\n--- app output ---\n${output}`);
      }
    },
    120_000,
  );
});
