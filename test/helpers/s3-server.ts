import { createCipheriv } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import type { SourceEnvironment } from '../../src/sources/document-source.ts';

export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface RecordedRequest {
  method: string;
  url: URL;
}

/**
 * Answers a request instead of s3rver (to inject faults) when it returns true. Runs before
 * s3rver sees the request, so a test can also watch for a request and react to it.
 */
export type Interceptor = (request: IncomingMessage, response: ServerResponse, url: URL) => boolean;

/** A real s3rver on 127.0.0.1 with an ephemeral port, behind a thin server that records requests. */
export interface TestS3Server {
  endpoint: string;
  requests: RecordedRequest[];
  intercept: Interceptor | undefined;
  /** Source settings that reach this server with path-style URLs and s3rver's credentials. */
  environment(overrides?: Partial<SourceEnvironment>): SourceEnvironment;
  client(): S3Client;
  close(): Promise<void>;
}

export async function startS3Server(): Promise<TestS3Server> {
  const directory = await mkdtemp(path.join(tmpdir(), 'ragswap-s3rver-'));
  const s3rver = new S3rver({ silent: true, directory });
  const handle = s3rver.callback();
  const state: TestS3Server = {
    endpoint: '',
    requests: [],
    intercept: undefined,
    environment: (overrides = {}) => ({
      s3Endpoint: state.endpoint,
      s3ForcePathStyle: true,
      s3Region: 'us-east-1',
      s3Credentials: S3RVER_CREDENTIALS,
      ...overrides,
    }),
    client: () => s3Client(state.endpoint),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      s3rver.logger.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://s3.test');
    state.requests.push({ method: request.method ?? 'GET', url });
    if (state.intercept?.(request, response, url)) return;
    handle(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

/** A client for seeding the server; the same checksum settings as the source, which s3rver needs. */
export function s3Client(endpoint: string, credentials = S3RVER_CREDENTIALS): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export async function createBucketWith(
  client: S3Client,
  bucket: string,
  objects: readonly { key: string; body: Uint8Array | string; contentType?: string }[],
): Promise<void> {
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const { key, body, contentType } of objects) {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    // An explicit length keeps the SDK from treating a zero-byte body as a stream of unknown length.
    const command = new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentLength: bytes.byteLength, ...(contentType ? { ContentType: contentType } : {}) });
    await client.send(command);
  }
}

/** The error body S3 sends, for interceptors that fake a failure. */
export function sendS3Error(response: ServerResponse, status: number, code: string, message: string): true {
  response.writeHead(status, { 'content-type': 'application/xml' });
  response.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`);
  return true;
}

export function isListObjectsV2(request: RecordedRequest): boolean {
  return request.method === 'GET' && request.url.searchParams.get('list-type') === '2';
}

/**
 * s3rver encrypts continuation tokens with DES, which OpenSSL 3 only offers through its legacy
 * provider. Without it every paginated listing fails with a 500, which would read as a source bug.
 */
export function assertLegacyOpenSslProvider(): void {
  try {
    createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8));
  } catch {
    throw new Error('s3rver needs DES for ListObjectsV2 continuation tokens: run the tests with NODE_OPTIONS=--openssl-legacy-provider');
  }
}
