import { GetObjectCommand, ListObjectsV2Command, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { S3DataSourceConfig } from '../tenants/tenant-config.ts';
import type { DocumentSource, LoadResult, SourceEnvironment } from './document-source.ts';
import { isNoSuchKey, toSourceError } from './s3-errors.ts';
import {
  DEFAULT_MAX_OBJECT_BYTES,
  sizeLimitOutcome,
  skippedFile,
  toFileOutcome,
  toLoadResult,
  type FetchedFile,
  type FileOutcome,
} from './text-extraction.ts';

export const DEFAULT_S3_REGION = 'us-east-1';
export const DEFAULT_S3_PAGE_SIZE = 1000;
/** Parallel GetObject calls per load: enough to hide latency, few enough to stay polite to the store. */
export const S3_DOWNLOAD_CONCURRENCY = 8;

/** One entry of a ListObjectsV2 page that names a file (not a "folder" marker). */
export interface ListedObject {
  key: string;
  size: number;
  etag?: string | undefined;
  lastModified?: Date | undefined;
}

/** Tenant settings win over process defaults; the checksum settings keep s3rver and other S3-compatible stores working. */
export function s3ClientConfig(config: S3DataSourceConfig, env: SourceEnvironment): S3ClientConfig {
  const endpoint = config.endpoint ?? env.s3Endpoint;
  return {
    region: config.region ?? env.s3Region ?? DEFAULT_S3_REGION,
    forcePathStyle: config.force_path_style ?? env.s3ForcePathStyle ?? false,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...(endpoint ? { endpoint } : {}),
    ...(env.s3Credentials ? { credentials: env.s3Credentials } : {}),
  };
}

/** S3 returns ETags as quoted strings (`"abc"`, `W/"abc"` on some stores); the metadata keeps the bare value. */
export function normalizeEtag(etag: string | undefined): string | undefined {
  const bare = etag?.replace(/^W\//, '').replace(/^"|"$/g, '');
  return bare || undefined;
}

export class S3DocumentSource implements DocumentSource {
  readonly #config: S3DataSourceConfig;
  readonly #env: SourceEnvironment;

  constructor(config: S3DataSourceConfig, env: SourceEnvironment) {
    this.#config = config;
    this.#env = env;
  }

  async load(signal: AbortSignal): Promise<LoadResult> {
    signal.throwIfAborted();
    // One client per load: its sockets are released when the build ends instead of idling between builds.
    const client = new S3Client(s3ClientConfig(this.#config, this.#env));
    try {
      const objects = await this.#listObjects(client, signal);
      const maxBytes = this.#env.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES;
      const outcomes = await mapWithConcurrency(objects, S3_DOWNLOAD_CONCURRENCY, signal, (object, taskSignal) =>
        this.#loadObject(client, object, maxBytes, taskSignal),
      );
      return toLoadResult(outcomes);
    } catch (error) {
      // The SDK reports an abort as its own AbortError (which the mapping turns into a SourceError);
      // callers expect the reason they aborted with.
      if (signal.aborted) throw signal.reason;
      throw error;
    } finally {
      client.destroy();
    }
  }

  async #listObjects(client: S3Client, signal: AbortSignal): Promise<ListedObject[]> {
    const { bucket, prefix } = this.#config;
    const objects: ListedObject[] = [];
    let continuationToken: string | undefined;
    do {
      const command = new ListObjectsV2Command({
        Bucket: bucket,
        MaxKeys: this.#env.s3PageSize ?? DEFAULT_S3_PAGE_SIZE,
        ...(prefix ? { Prefix: prefix } : {}),
        ...(continuationToken ? { ContinuationToken: continuationToken } : {}),
      });
      const page = await client.send(command, { abortSignal: signal }).catch((error: unknown) => {
        throw toSourceError(error, bucket);
      });
      for (const entry of page.Contents ?? []) {
        if (entry.Key === undefined || isFolderMarker(entry.Key, entry.Size ?? 0)) continue;
        objects.push({ key: entry.Key, size: entry.Size ?? 0, etag: normalizeEtag(entry.ETag), lastModified: entry.LastModified });
      }
      // A store that claims truncation without a token would otherwise loop forever.
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken);
    return objects;
  }

  async #loadObject(client: S3Client, object: ListedObject, maxBytes: number, signal: AbortSignal): Promise<FileOutcome> {
    const tooLarge = sizeLimitOutcome(object.key, object.size, maxBytes);
    if (tooLarge) return tooLarge;
    const downloaded = await this.#download(client, object, maxBytes, signal);
    return 'bytes' in downloaded ? toFileOutcome(downloaded) : downloaded;
  }

  /** GetObject, with the outcomes only S3 has: an object deleted or grown past the limit since the listing. */
  async #download(client: S3Client, object: ListedObject, maxBytes: number, signal: AbortSignal): Promise<FetchedFile | FileOutcome> {
    const { bucket } = this.#config;
    try {
      const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: object.key }), { abortSignal: signal });
      const grownTooLarge = sizeLimitOutcome(object.key, response.ContentLength ?? 0, maxBytes);
      if (grownTooLarge) {
        (response.Body as { destroy?: () => void } | undefined)?.destroy?.();
        return grownTooLarge;
      }
      const bytes = (await response.Body?.transformToByteArray()) ?? new Uint8Array();
      return {
        id: `s3://${bucket}/${object.key}`,
        key: object.key,
        bytes,
        size: bytes.byteLength,
        contentType: response.ContentType,
        etag: normalizeEtag(response.ETag) ?? object.etag,
        lastModified: response.LastModified ?? object.lastModified,
      };
    } catch (error) {
      if (isNoSuchKey(error)) {
        return { skipped: skippedFile(object.key, 'extraction_failed', 'object was deleted between listing and download (NoSuchKey)') };
      }
      const sourceError = toSourceError(error, bucket, object.key);
      // The bucket was listed, so access works: one object refused (its own ACL or KMS key, an
      // archived storage class such as Glacier) is skipped and reported, not the tenant's end.
      // Transient trouble still fails the build, which retries.
      if (sourceError.permanent) return { skipped: skippedFile(object.key, 'unreadable', sourceError.message) };
      throw sourceError;
    }
  }
}

/**
 * Zero-byte keys ending in `/` are how consoles and sync tools represent folders. One with content
 * is someone's file and goes through the usual path (skipped and counted as an unsupported type).
 */
function isFolderMarker(key: string, size: number): boolean {
  return key.endsWith('/') && size === 0;
}

/**
 * Runs `task` over `items` with at most `limit` in flight and keeps the input order. The first
 * failure aborts the tasks still running (through their signal) and stops new ones, so a broken
 * source fails fast instead of downloading the rest of the bucket.
 */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal,
  task: (item: T, taskSignal: AbortSignal) => Promise<R>,
): Promise<R[]> {
  const failure = new AbortController();
  const taskSignal = AbortSignal.any([signal, failure.signal]);
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      taskSignal.throwIfAborted();
      const index = next++;
      results[index] = await task(items[index] as T, taskSignal);
    }
  };
  const workers = Array.from({ length: Math.min(limit, items.length) }, () =>
    worker().catch((error: unknown) => {
      failure.abort(error);
      throw error;
    }),
  );
  await Promise.all(workers);
  return results;
}
