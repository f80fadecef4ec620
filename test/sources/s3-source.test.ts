import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SourceError } from '../../src/errors.ts';
import { createDocumentSource, type SourceEnvironment } from '../../src/sources/document-source.ts';
import { mapWithConcurrency, normalizeEtag, S3DocumentSource, s3ClientConfig } from '../../src/sources/s3-source.ts';
import type { S3DataSourceConfig } from '../../src/tenants/tenant-config.ts';
import { expectFixtureDocuments, fixtureFiles, readFixture } from './helpers/fixtures.ts';
import {
  assertLegacyOpenSslProvider,
  createBucketWith,
  isListObjectsV2,
  sendS3Error,
  S3RVER_CREDENTIALS,
  startS3Server,
  type TestS3Server,
} from '../helpers/s3-server.ts';

const signal = new AbortController().signal;
const KB_BUCKET = 'kb-main';
const PAGED_BUCKET = 'kb-paged';

function s3Source(config: Partial<S3DataSourceConfig>, env: SourceEnvironment): S3DocumentSource {
  return new S3DocumentSource({ type: 's3', bucket: KB_BUCKET, ...config }, env);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the load to fail');
    },
    (error: unknown) => error,
  );
}

describe('S3DocumentSource against s3rver', () => {
  let server: TestS3Server;
  let seeder: S3Client;

  beforeAll(async () => {
    server = await startS3Server();
    seeder = server.client();
    await createBucketWith(seeder, KB_BUCKET, [
      ...fixtureFiles().map(({ key, body, contentType }) => ({ key: `kb/${key}`, body, ...(contentType ? { contentType } : {}) })),
      // A console-made "folder": a zero-byte key ending in a slash.
      { key: 'kb/sub/', body: '' },
      // No extension: only the content type says what it is.
      { key: 'kb/sub/README', body: 'Readme reached through its content type.', contentType: 'text/markdown' },
      { key: 'other/outside-prefix.txt', body: 'Not under the tenant prefix.', contentType: 'text/plain' },
    ]);
    await createBucketWith(
      seeder,
      PAGED_BUCKET,
      ['a', 'b', 'c', 'd', 'e'].map((name) => ({ key: `doc-${name}.txt`, body: `Document ${name}.`, contentType: 'text/plain' })),
    );
  });

  afterAll(async () => {
    seeder?.destroy();
    await server?.close();
  });

  beforeEach(() => {
    server.requests.length = 0;
    server.intercept = undefined;
  });

  it('loads every supported format under the prefix and reports the rest as skipped', async () => {
    const result = await s3Source({ prefix: 'kb/' }, server.environment()).load(signal);
    const readme = result.documents.find((document) => document.metadata.key === 'kb/sub/README');
    expect(readme?.text).toBe('Readme reached through its content type.');
    expectFixtureDocuments({ ...result, documents: result.documents.filter((document) => document !== readme) }, 'kb/');
    // Neither the folder marker nor the object outside the prefix shows up anywhere.
    const keys = [...result.documents.map((document) => document.metadata.key), ...result.skipped.map((file) => file.key)];
    expect(keys).not.toContain('kb/sub/');
    expect(keys.some((key) => key.startsWith('other/'))).toBe(false);
  });

  it('keeps key, ETag (unquoted), content type, size and modification time', async () => {
    const { documents } = await s3Source({ prefix: 'kb/notes' }, server.environment()).load(signal);
    const bytes = readFixture('notes.txt');
    expect(documents).toHaveLength(1);
    expect(documents[0]?.id).toBe('s3://kb-main/kb/notes.txt');
    expect(documents[0]?.metadata).toEqual({
      source: 's3://kb-main/kb/notes.txt',
      key: 'kb/notes.txt',
      etag: createHash('md5').update(bytes).digest('hex'),
      content_type: 'text/plain',
      size: bytes.byteLength,
      last_modified: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
  });

  it('follows ListObjectsV2 continuation tokens page by page', async () => {
    assertLegacyOpenSslProvider();
    const { documents } = await createDocumentSource({ type: 's3', bucket: PAGED_BUCKET }, server.environment({ s3PageSize: 2 })).load(signal);
    expect(documents.map((document) => document.text)).toEqual(['Document a.', 'Document b.', 'Document c.', 'Document d.', 'Document e.']);
    const listCalls = server.requests.filter(isListObjectsV2).map((request) => request.url.searchParams);
    expect(listCalls).toHaveLength(3);
    expect(listCalls.map((params) => params.get('max-keys'))).toEqual(['2', '2', '2']);
    expect(listCalls.map((params) => params.has('continuation-token'))).toEqual([false, true, true]);
  });

  it('counts a key ending in a slash that has content as skipped, instead of dropping it as a folder', async () => {
    await createBucketWith(seeder, 'kb-slash', [
      { key: 'notes/', body: 'Someone uploaded text under a folder-like key.', contentType: 'text/plain' },
      { key: 'fine.txt', body: 'fine', contentType: 'text/plain' },
    ]);
    const { documents, skipped } = await s3Source({ bucket: 'kb-slash' }, server.environment()).load(signal);
    expect(documents.map((document) => document.metadata.key)).toContain('fine.txt');
    expect([...documents.map((document) => document.metadata.key), ...skipped.map((file) => file.key)]).toContain('notes/');
  });

  it('skips objects over maxObjectBytes without downloading them', async () => {
    const { documents, skipped } = await s3Source({ prefix: 'kb/page' }, server.environment({ maxObjectBytes: 100 })).load(signal);
    expect(documents).toEqual([]);
    expect(skipped).toEqual([{ key: 'kb/page.html', reason: 'too_large', detail: expect.stringContaining('exceeds the limit of 100') }]);
    expect(server.requests.filter((request) => request.url.pathname.endsWith('/page.html'))).toEqual([]);
  });

  it('skips an object deleted between listing and download instead of failing the build', async () => {
    server.intercept = (request, response, url) =>
      request.method === 'GET' && url.pathname === `/${KB_BUCKET}/kb/guide.md` && sendS3Error(response, 404, 'NoSuchKey', 'The specified key does not exist.');
    const { documents, skipped } = await s3Source({ prefix: 'kb/' }, server.environment()).load(signal);
    expect(skipped).toContainEqual({ key: 'kb/guide.md', reason: 'extraction_failed', detail: expect.stringContaining('NoSuchKey') });
    expect(documents.map((document) => document.metadata.key)).toContain('kb/notes.txt');
  });

  it('skips objects refused one by one (their ACL, an archived storage class) and indexes the rest', async () => {
    server.intercept = (request, response, url) =>
      request.method === 'GET' &&
      ((url.pathname === `/${KB_BUCKET}/kb/guide.md` && sendS3Error(response, 403, 'AccessDenied', 'Access Denied')) ||
        (url.pathname === `/${KB_BUCKET}/kb/notes.txt` && sendS3Error(response, 403, 'InvalidObjectState', 'The operation is not valid for the object\'s storage class')));
    const { documents, skipped } = await s3Source({ prefix: 'kb/' }, server.environment()).load(signal);
    expect(skipped).toContainEqual({ key: 'kb/guide.md', reason: 'unreadable', detail: expect.stringContaining('AccessDenied') });
    expect(skipped).toContainEqual({ key: 'kb/notes.txt', reason: 'unreadable', detail: expect.stringContaining('InvalidObjectState') });
    expect(documents.map((document) => document.metadata.key)).toContain('kb/people.csv');
  });

  it('still fails the build (to retry it) when one object hits a transient error', async () => {
    server.intercept = (request, response, url) =>
      request.method === 'GET' && url.pathname === `/${KB_BUCKET}/kb/guide.md` && sendS3Error(response, 503, 'SlowDown', 'Please reduce your request rate.');
    const error = await rejection(s3Source({ prefix: 'kb/' }, server.environment()).load(signal));
    expect(error).toMatchObject({ code: 'source_unavailable', permanent: false });
  });

  it('fails permanently with source_not_found, naming the bucket, when the bucket is missing', async () => {
    const error = await rejection(s3Source({ bucket: 'no-such-bucket' }, server.environment()).load(signal));
    expect(error).toBeInstanceOf(SourceError);
    expect(error).toMatchObject({ code: 'source_not_found', permanent: true, message: expect.stringContaining("'no-such-bucket'") });
  });

  // s3rver checks the access key id but does not verify SigV4 signatures, so a wrong secret
  // with the right key id would pass; an unknown key id is the refusal it can produce.
  it('fails permanently with source_access_denied for credentials the server rejects', async () => {
    const env = server.environment({ s3Credentials: { accessKeyId: 'NOT-A-KEY', secretAccessKey: S3RVER_CREDENTIALS.secretAccessKey } });
    const error = await rejection(s3Source({}, env).load(signal));
    expect(error).toBeInstanceOf(SourceError);
    expect(error).toMatchObject({ code: 'source_access_denied', permanent: true, message: expect.stringContaining('InvalidAccessKeyId') });
  });

  it('fails transiently with source_unavailable when the server refuses connections', async () => {
    const error = await rejection(s3Source({}, server.environment({ s3Endpoint: await closedPortEndpoint() })).load(signal));
    expect(error).toBeInstanceOf(SourceError);
    expect(error).toMatchObject({ code: 'source_unavailable', permanent: false, message: expect.stringContaining('ECONNREFUSED') });
  });

  it('fails transiently when the store keeps throttling (503 SlowDown)', async () => {
    server.intercept = (_request, response) => sendS3Error(response, 503, 'SlowDown', 'Please reduce your request rate.');
    const error = await rejection(s3Source({}, server.environment()).load(signal));
    expect(error).toMatchObject({ code: 'source_unavailable', permanent: false, message: expect.stringContaining('SlowDown') });
  });

  it('rejects with the abort reason when aborted during downloads', async () => {
    const controller = new AbortController();
    const reason = new Error('superseded by a newer config version');
    // The first GetObject aborts the build and never gets an answer: only the abort can end the load.
    server.intercept = (request, _response, url) => {
      if (request.method !== 'GET' || isListObjectsV2({ method: 'GET', url })) return false;
      controller.abort(reason);
      return true;
    };
    await expect(s3Source({ prefix: 'kb/' }, server.environment()).load(controller.signal)).rejects.toBe(reason);
  });

  it('rejects with the abort reason, without any request, when already aborted', async () => {
    const reason = new Error('shutting down');
    await expect(s3Source({}, server.environment()).load(AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(server.requests).toEqual([]);
  });

  it('is what the factory builds for an s3 data source', () => {
    expect(createDocumentSource({ type: 's3', bucket: KB_BUCKET }, {})).toBeInstanceOf(S3DocumentSource);
  });
});

describe('s3ClientConfig', () => {
  const env: SourceEnvironment = { s3Endpoint: 'http://env:9000', s3Region: 'eu-west-1', s3ForcePathStyle: true };

  it('lets the tenant data source override the process defaults', () => {
    const config = s3ClientConfig(
      { type: 's3', bucket: 'kb', endpoint: 'https://tenant.example', region: 'ap-south-1', force_path_style: false },
      env,
    );
    expect(config).toMatchObject({ endpoint: 'https://tenant.example', region: 'ap-south-1', forcePathStyle: false });
  });

  it('uses the process defaults, then us-east-1 and the SDK credential chain', () => {
    expect(s3ClientConfig({ type: 's3', bucket: 'kb' }, env)).toMatchObject({ endpoint: 'http://env:9000', region: 'eu-west-1', forcePathStyle: true });
    const bare = s3ClientConfig({ type: 's3', bucket: 'kb' }, {});
    expect(bare).toEqual({
      region: 'us-east-1',
      forcePathStyle: false,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  });
});

describe('normalizeEtag', () => {
  it('strips the quotes (and a weak marker) S3 puts around ETags', () => {
    expect(normalizeEtag('"9b2cf535f27731c974343645a3985328"')).toBe('9b2cf535f27731c974343645a3985328');
    expect(normalizeEtag('W/"abc"')).toBe('abc');
    expect(normalizeEtag('""')).toBeUndefined();
    expect(normalizeEtag(undefined)).toBeUndefined();
  });
});

describe('mapWithConcurrency', () => {
  const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));

  it('keeps at most `limit` tasks in flight and returns results in input order', async () => {
    let inFlight = 0;
    let peak = 0;
    const results = await mapWithConcurrency([5, 1, 4, 2, 3, 0, 6, 7, 8, 9], 3, signal, async (item) => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, item));
      inFlight--;
      return item * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30, 0, 60, 70, 80, 90]);
    expect(peak).toBe(3);
  });

  it('stops starting tasks after the first failure and aborts the ones running', async () => {
    const started: number[] = [];
    const abortedReasons: unknown[] = [];
    const failure = new Error('bucket gone');
    const run = mapWithConcurrency([0, 1, 2, 3, 4, 5], 2, signal, async (item, taskSignal) => {
      started.push(item);
      if (item === 1) throw failure;
      await new Promise<void>((resolve) => {
        taskSignal.addEventListener('abort', () => {
          abortedReasons.push(taskSignal.reason);
          resolve();
        });
      });
      return item;
    });
    await expect(run).rejects.toBe(failure);
    await tick();
    expect(started).toEqual([0, 1]);
    expect(abortedReasons).toEqual([failure]);
  });

  it('does not start anything once the caller’s signal is aborted', async () => {
    const reason = new Error('stop');
    const started: number[] = [];
    await expect(mapWithConcurrency([1, 2], 2, AbortSignal.abort(reason), async (item) => started.push(item))).rejects.toBe(reason);
    expect(started).toEqual([]);
  });
});

/** An endpoint on a loopback port that was just free: connecting to it is refused. */
async function closedPortEndpoint(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
