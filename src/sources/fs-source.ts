import { createHash } from 'node:crypto';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { SourceError } from '../errors.ts';
import type { FsDataSourceConfig } from '../tenants/tenant-config.ts';
import type { DocumentSource, LoadResult, SourceEnvironment } from './document-source.ts';
import {
  DEFAULT_MAX_OBJECT_BYTES,
  errorMessage,
  sizeLimitOutcome,
  skippedFile,
  toFileOutcome,
  toLoadResult,
  type FileOutcome,
} from './text-extraction.ts';

/** A regular file found by the walk; `key` is its path relative to the configured folder, with `/`. */
interface FoundFile {
  key: string;
  absolutePath: string;
  size: number;
  lastModified: Date;
}

/**
 * An entry that cannot be read: a symlink whose target is gone, or one entry that is refused.
 * Reported as skipped, since the author expected a file there; one bad file never fails the tenant.
 */
interface UnreadableEntry {
  key: string;
  unreadable: { reason: 'extraction_failed' | 'unreadable'; detail: string };
}

type WalkEntry = FoundFile | UnreadableEntry;

export class FsDocumentSource implements DocumentSource {
  readonly #config: FsDataSourceConfig;
  readonly #env: SourceEnvironment;

  constructor(config: FsDataSourceConfig, env: SourceEnvironment) {
    this.#config = config;
    this.#env = env;
  }

  async load(signal: AbortSignal): Promise<LoadResult> {
    signal.throwIfAborted();
    try {
      const root = this.#env.fsRoot === undefined ? undefined : await resolveRoot(this.#env.fsRoot);
      const folder = await resolveFolder(this.#config.path, this.#env.fsBaseDir ?? process.cwd(), root);
      const entries: WalkEntry[] = [];
      await walk(folder, '', root, new Set([folder]), signal, entries);
      const maxBytes = this.#env.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES;
      const outcomes: FileOutcome[] = [];
      // Sequential on purpose: local reads are fast, and the output order stays the walk order.
      for (const entry of entries) {
        signal.throwIfAborted();
        outcomes.push(await loadEntry(entry, maxBytes, signal));
      }
      return toLoadResult(outcomes);
    } catch (error) {
      // fs calls report an abort as their own AbortError; callers expect the reason they aborted with.
      if (signal.aborted) throw signal.reason;
      throw error;
    }
  }
}

export function isInside(parent: string, child: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative));
}

interface Root {
  configured: string;
  real: string;
}

async function resolveRoot(fsRoot: string): Promise<Root> {
  const configured = path.resolve(fsRoot);
  try {
    return { configured, real: await realpath(configured) };
  } catch (error) {
    throw new SourceError(`RAGSWAP_FS_ROOT '${fsRoot}' cannot be resolved: ${errorMessage(error)}`, {
      permanent: true,
      code: 'source_invalid',
      cause: error,
    });
  }
}

/** Returns the folder's real path after checking it exists, is a directory and (with a root) stays inside the root. */
async function resolveFolder(configuredPath: string, baseDir: string, root: Root | undefined): Promise<string> {
  const folder = path.resolve(baseDir, configuredPath);
  // Checked before touching the disk, so a tenant cannot probe which paths outside the root exist.
  if (root && !isInside(root.configured, folder) && !isInside(root.real, folder)) {
    throw outsideRoot(`folder '${configuredPath}'`, root);
  }
  const stats = await stat(folder).catch((error: unknown) => {
    throw fsSourceError(error, `folder '${configuredPath}'`);
  });
  if (!stats.isDirectory()) {
    throw new SourceError(`folder '${configuredPath}' is not a directory`, { permanent: true, code: 'source_invalid' });
  }
  const real = await realpath(folder).catch((error: unknown) => {
    throw fsSourceError(error, `folder '${configuredPath}'`);
  });
  if (root && !isInside(root.real, real)) throw outsideRoot(`folder '${configuredPath}' (through a symlink)`, root);
  return real;
}

/**
 * Lists regular files under `directory`, sorted by name at each level so builds are deterministic.
 * Dotfiles and dot-directories are skipped (VCS metadata, editor state). `visited` holds the real
 * paths of directories already walked, so symlink loops end.
 */
async function walk(directory: string, keyPrefix: string, root: Root | undefined, visited: Set<string>, signal: AbortSignal, found: WalkEntry[]): Promise<void> {
  signal.throwIfAborted();
  const names = await readdir(directory).catch((error: unknown) => {
    // The configured folder itself must be readable; a refused subfolder is one skipped entry.
    if (keyPrefix !== '' && isRefused(error)) return refusedEntry(`${keyPrefix}/`, error);
    throw fsSourceError(error, `directory '${keyPrefix || '.'}'`);
  });
  if (!Array.isArray(names)) {
    found.push(names);
    return;
  }
  for (const name of names.filter((entry) => !entry.startsWith('.')).sort(compareCodeUnits)) {
    const key = keyPrefix ? `${keyPrefix}/${name}` : name;
    const absolutePath = path.join(directory, name);
    const real = await realpath(absolutePath).catch((error: unknown) => {
      if (isErrno(error, 'ENOENT')) return { key, unreadable: { reason: 'extraction_failed', detail: 'broken symbolic link' } } as const;
      if (isRefused(error)) return refusedEntry(key, error);
      throw fsSourceError(error, `'${key}'`);
    });
    if (typeof real !== 'string') {
      found.push(real);
      continue;
    }
    if (root && !isInside(root.real, real)) {
      // Never read, only reported: a link out of the allowed tree is the author's mistake, not the tenant's end.
      found.push({ key, unreadable: { reason: 'unreadable', detail: `symlink resolves outside RAGSWAP_FS_ROOT '${root.configured}'` } });
      continue;
    }
    const stats = await stat(absolutePath).catch((error: unknown) => {
      if (isRefused(error)) return refusedEntry(key, error);
      throw fsSourceError(error, `'${key}'`);
    });
    if ('unreadable' in stats) {
      found.push(stats);
    } else if (stats.isDirectory()) {
      if (visited.has(real)) continue;
      visited.add(real);
      // Appends into `found`: spreading a subtree of 100k+ files into push() would overflow the stack.
      await walk(absolutePath, key, root, visited, signal, found);
    } else if (stats.isFile()) {
      // Only regular files: reading a FIFO or device would block or never end.
      found.push({ key, absolutePath, size: stats.size, lastModified: stats.mtime });
    }
  }
}

/** Errors that concern one entry and stay until someone fixes it: skip the entry, keep the tenant. */
function isRefused(error: unknown): boolean {
  return ['EACCES', 'EPERM', 'ELOOP', 'ENAMETOOLONG'].some((code) => isErrno(error, code));
}

function refusedEntry(key: string, error: unknown): UnreadableEntry {
  return { key, unreadable: { reason: 'unreadable', detail: errorMessage(error) } };
}

async function loadEntry(entry: WalkEntry, maxBytes: number, signal: AbortSignal): Promise<FileOutcome> {
  if ('unreadable' in entry) return { skipped: skippedFile(entry.key, entry.unreadable.reason, entry.unreadable.detail) };
  const tooLarge = sizeLimitOutcome(entry.key, entry.size, maxBytes);
  if (tooLarge) return tooLarge;
  let bytes: Uint8Array;
  try {
    bytes = await readFile(entry.absolutePath, { signal });
  } catch (error) {
    // Deleted between the walk and the read: the same as an S3 object that vanished after listing.
    if (isErrno(error, 'ENOENT')) return { skipped: skippedFile(entry.key, 'extraction_failed', 'file was deleted while loading') };
    if (isRefused(error)) return { skipped: skippedFile(entry.key, 'unreadable', errorMessage(error)) };
    throw fsSourceError(error, `'${entry.key}'`);
  }
  const id = `file://${entry.key}`;
  return toFileOutcome({
    id,
    key: entry.key,
    bytes,
    size: bytes.byteLength,
    // A content hash: unchanged files keep their etag across copies, touches and restores.
    etag: createHash('sha1').update(bytes).digest('hex'),
    lastModified: entry.lastModified,
  });
}

function outsideRoot(what: string, root: Root): SourceError {
  return new SourceError(`${what} resolves outside RAGSWAP_FS_ROOT '${root.configured}'; only paths inside it may be indexed`, {
    permanent: true,
    code: 'source_access_denied',
  });
}

function fsSourceError(error: unknown, what: string): SourceError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reason = errorMessage(error);
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new SourceError(`${what} does not exist: ${reason}`, { permanent: true, code: 'source_not_found', cause: error });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new SourceError(`${what} is not readable: ${reason}`, { permanent: true, code: 'source_access_denied', cause: error });
  }
  if (code === 'ELOOP' || code === 'ENAMETOOLONG') {
    return new SourceError(`${what} is not a valid path: ${reason}`, { permanent: true, code: 'source_invalid', cause: error });
  }
  // EIO, EMFILE, a stale network mount...: conditions that can clear up on their own.
  return new SourceError(`${what} cannot be read: ${reason}`, { permanent: false, code: 'source_unavailable', cause: error });
}

function isErrno(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === code;
}

// Locale-independent, so two pods (or two runs) never order the same folder differently.
function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
