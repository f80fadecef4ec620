import type { DataSourceConfig } from '../tenants/tenant-config.ts';
import { FsDocumentSource } from './fs-source.ts';
import { S3DocumentSource } from './s3-source.ts';

/**
 * A document source loads a tenant's knowledge base (an S3 prefix or a local folder) as plain-text
 * documents for the index build. Files that cannot become text are reported in `skipped` rather
 * than failing the build; only problems with the source as a whole (missing bucket, no access,
 * network down) reject, always with a SourceError whose `permanent` flag says whether a retry can
 * help. An aborted signal rejects with the signal's own reason.
 */

export interface SourceDocument {
  /** Stable id: `s3://bucket/key` or `file://<path relative to the configured folder>`. */
  id: string;
  /** Extracted plain text, never empty. */
  text: string;
  metadata: {
    /** Same as `id`. */
    source: string;
    key: string;
    etag?: string;
    content_type?: string;
    size: number;
    last_modified?: string;
    title?: string;
  };
}

export interface SkippedFile {
  key: string;
  /** `unreadable`: this one file (or folder) was refused (permissions, a storage class, a symlink loop or one leading outside RAGSWAP_FS_ROOT). */
  reason: 'unsupported_type' | 'empty' | 'extraction_failed' | 'too_large' | 'unreadable';
  detail?: string;
}

export interface LoadResult {
  documents: SourceDocument[];
  skipped: SkippedFile[];
}

export interface DocumentSource {
  load(signal: AbortSignal): Promise<LoadResult>;
}

/** Process-level settings, passed in so that sources never read process.env themselves. */
export interface SourceEnvironment {
  /** RAGSWAP_FS_ROOT: when set, fs paths must resolve (realpath) inside it. */
  fsRoot?: string;
  /** Relative fs paths resolve against this (default process.cwd()). */
  fsBaseDir?: string;
  /** S3_FORCE_PATH_STYLE default; the tenant's data_source.force_path_style wins. */
  s3ForcePathStyle?: boolean;
  /** AWS_ENDPOINT_URL_S3 default; the tenant's data_source.endpoint wins. */
  s3Endpoint?: string;
  /** AWS_REGION default; the tenant's data_source.region wins; falls back to us-east-1. */
  s3Region?: string;
  /** Static credentials (tests); otherwise the SDK's default credential chain. */
  s3Credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** MaxKeys per ListObjectsV2 page (default 1000). */
  s3PageSize?: number;
  /** Default 50 MiB; larger objects are skipped as too_large. */
  maxObjectBytes?: number;
}

export function createDocumentSource(config: DataSourceConfig, env: SourceEnvironment): DocumentSource {
  switch (config.type) {
    case 's3':
      return new S3DocumentSource(config, env);
    case 'fs':
      return new FsDocumentSource(config, env);
  }
}
