import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SourceError } from '../../src/errors.ts';
import { createDocumentSource, type LoadResult, type SourceEnvironment } from '../../src/sources/document-source.ts';
import { FsDocumentSource } from '../../src/sources/fs-source.ts';
import { expectFixtureDocuments, FIXTURES_DIR, readFixture } from './helpers/fixtures.ts';

const signal = new AbortController().signal;

function loadFolder(folder: string, env: SourceEnvironment = {}): Promise<LoadResult> {
  return createDocumentSource({ type: 'fs', path: folder }, env).load(signal);
}

async function expectSourceError(promise: Promise<unknown>, expected: { code: string; permanent: boolean; message?: RegExp }): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (rejection: unknown) => rejection,
  );
  expect(error).toBeInstanceOf(SourceError);
  expect(error).toMatchObject({ code: expected.code, permanent: expected.permanent });
  if (expected.message) expect((error as Error).message).toMatch(expected.message);
}

describe('FsDocumentSource', () => {
  // base/
  //   root/            RAGSWAP_FS_ROOT
  //     kb/            a copy of the fixtures, plus dotfiles
  //     shared/        a target for symlinks that stay inside the root
  //   outside/         never readable through the root
  let base: string;
  let root: string;
  let outside: string;

  beforeAll(async () => {
    base = await mkdtemp(path.join(tmpdir(), 'ragswap-fs-source-'));
    root = path.join(base, 'root');
    outside = path.join(base, 'outside');
    await cp(FIXTURES_DIR, path.join(root, 'kb'), { recursive: true });
    await mkdir(path.join(root, 'kb', '.git'), { recursive: true });
    await writeFile(path.join(root, 'kb', '.git', 'config'), '[core]\n\tbare = false\n');
    await writeFile(path.join(root, 'kb', '.hidden.txt'), 'hidden draft');
    await mkdir(path.join(root, 'shared'), { recursive: true });
    await writeFile(path.join(root, 'shared', 'policy.txt'), 'Shared policy text.');
    await mkdir(outside, { recursive: true });
    await writeFile(path.join(outside, 'secret.txt'), 'Secret from outside the root.');
    await writeFile(path.join(root, 'not-a-folder.txt'), 'plain file');
  });

  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('loads every supported format from a folder and reports the rest as skipped', async () => {
    expectFixtureDocuments(await loadFolder(FIXTURES_DIR));
  });

  it('identifies documents by their path relative to the folder, with a content etag', async () => {
    const { documents } = await loadFolder(FIXTURES_DIR);
    const nested = documents.find((document) => document.metadata.key === 'nested/faq.md');
    const bytes = readFixture('nested/faq.md');
    expect(nested?.id).toBe('file://nested/faq.md');
    expect(nested?.metadata).toEqual({
      source: 'file://nested/faq.md',
      key: 'nested/faq.md',
      size: bytes.byteLength,
      etag: createHash('sha1').update(bytes).digest('hex'),
      last_modified: (await stat(path.join(FIXTURES_DIR, 'nested/faq.md'))).mtime.toISOString(),
    });
  });

  it('skips dotfiles and dot-directories', async () => {
    const { documents, skipped } = await loadFolder(path.join(root, 'kb'));
    const keys = [...documents, ...skipped.map((file) => ({ metadata: { key: file.key } }))].map((entry) => entry.metadata.key);
    expect(keys.some((key) => key.includes('.git') || key.includes('.hidden'))).toBe(false);
    expect(documents).toHaveLength(7);
  });

  it('resolves relative paths against fsBaseDir and accepts folders inside fsRoot', async () => {
    const result = await loadFolder('kb', { fsRoot: root, fsBaseDir: root });
    expectFixtureDocuments(result);
    expect(result.documents[0]?.id).toBe('file://catalog.json');
    expectFixtureDocuments(await loadFolder(path.join(root, 'kb'), { fsRoot: root }));
  });

  it('refuses folders outside fsRoot, including through `..`, before checking they exist', async () => {
    const denied = { code: 'source_access_denied', permanent: true, message: /outside RAGSWAP_FS_ROOT/ };
    await expectSourceError(loadFolder(outside, { fsRoot: root }), denied);
    await expectSourceError(loadFolder('kb/../../outside', { fsRoot: root, fsBaseDir: root }), denied);
    await expectSourceError(loadFolder(path.join(base, 'does-not-exist'), { fsRoot: root }), denied);
  });

  it('refuses a folder that is a symlink leading out of fsRoot', async () => {
    await symlink(outside, path.join(root, 'escape'), 'dir');
    await expectSourceError(loadFolder('escape', { fsRoot: root, fsBaseDir: root }), {
      code: 'source_access_denied',
      permanent: true,
      message: /through a symlink/,
    });
  });

  it('never reads a symlink inside the folder that leads out of fsRoot: it is skipped, the rest indexed', async () => {
    const folder = path.join(root, 'leaky');
    await mkdir(folder);
    await writeFile(path.join(folder, 'fine.txt'), 'fine');
    await symlink(path.join(outside, 'secret.txt'), path.join(folder, 'leak.txt'));
    const restricted = await loadFolder(folder, { fsRoot: root });
    expect(restricted.documents.map((document) => document.id)).toEqual(['file://fine.txt']);
    expect(JSON.stringify(restricted)).not.toContain('Secret from outside');
    expect(restricted.skipped).toEqual([{ key: 'leak.txt', reason: 'unreadable', detail: expect.stringContaining('outside RAGSWAP_FS_ROOT') }]);
    // Without a root there is nothing to escape from: the link is followed.
    const unrestricted = await loadFolder(folder);
    expect(unrestricted.documents.map((document) => [document.id, document.text])).toEqual([
      ['file://fine.txt', 'fine'],
      ['file://leak.txt', 'Secret from outside the root.'],
    ]);
  });

  it('follows symlinks that stay inside fsRoot, survives loops and reports broken links', async () => {
    const folder = path.join(root, 'linked');
    await mkdir(folder);
    await symlink(path.join(root, 'shared'), path.join(folder, 'shared-dir'), 'dir');
    await symlink(path.join(root, 'shared', 'policy.txt'), path.join(folder, 'policy-link.txt'));
    await symlink(folder, path.join(folder, 'loop'), 'dir');
    await symlink(path.join(root, 'gone.txt'), path.join(folder, 'broken.txt'));
    const { documents, skipped } = await loadFolder(folder, { fsRoot: root });
    expect(documents.map((document) => document.id)).toEqual(['file://policy-link.txt', 'file://shared-dir/policy.txt']);
    expect(skipped).toEqual([{ key: 'broken.txt', reason: 'extraction_failed', detail: 'broken symbolic link' }]);
  });

  it('skips an entry that cannot be resolved (a symlink to itself) and indexes the rest', async () => {
    const folder = path.join(root, 'self-loop');
    await mkdir(folder);
    await writeFile(path.join(folder, 'fine.txt'), 'fine');
    await symlink('loop', path.join(folder, 'loop'));
    const { documents, skipped } = await loadFolder(folder);
    expect(documents.map((document) => document.id)).toEqual(['file://fine.txt']);
    expect(skipped).toEqual([{ key: 'loop', reason: 'unreadable', detail: expect.stringContaining('ELOOP') }]);
  });

  it('fails permanently with source_not_found for a missing folder', async () => {
    await expectSourceError(loadFolder(path.join(root, 'missing')), { code: 'source_not_found', permanent: true, message: /missing/ });
    await expectSourceError(loadFolder('missing', { fsRoot: root, fsBaseDir: root }), { code: 'source_not_found', permanent: true });
  });

  it('fails permanently with source_invalid when the path is not a directory', async () => {
    await expectSourceError(loadFolder(path.join(root, 'not-a-folder.txt')), {
      code: 'source_invalid',
      permanent: true,
      message: /not a directory/,
    });
  });

  it('fails permanently when fsRoot itself does not exist', async () => {
    await expectSourceError(loadFolder(FIXTURES_DIR, { fsRoot: path.join(base, 'no-root') }), { code: 'source_invalid', permanent: true });
  });

  it('skips files over maxObjectBytes without reading them', async () => {
    const folder = path.join(root, 'sizes');
    await mkdir(folder);
    await writeFile(path.join(folder, 'big.txt'), 'x'.repeat(200));
    await writeFile(path.join(folder, 'small.txt'), 'small');
    const { documents, skipped } = await loadFolder(folder, { maxObjectBytes: 100 });
    expect(documents.map((document) => document.text)).toEqual(['small']);
    expect(skipped).toEqual([{ key: 'big.txt', reason: 'too_large', detail: '200 bytes exceeds the limit of 100' }]);
  });

  it('rejects with the abort reason when the signal is aborted', async () => {
    const reason = new Error('tenant config changed');
    const source = new FsDocumentSource({ type: 'fs', path: FIXTURES_DIR }, {});
    await expect(source.load(AbortSignal.abort(reason))).rejects.toBe(reason);
  });

  it('is what the factory builds for an fs data source', () => {
    expect(createDocumentSource({ type: 'fs', path: '.' }, {})).toBeInstanceOf(FsDocumentSource);
  });
});
