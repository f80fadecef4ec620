/**
 * An embedded server for Consul's KV HTTP API (`/v1/kv/...`, plus `/v1/status/leader`), for
 * machines without a Consul binary: `npm start` and the tests run against it, and the npm `consul`
 * client and our watcher must not be able to tell it from a Consul server. Status codes, bodies,
 * headers and blocking-query rules follow Consul's HTTP layer (agent/http.go,
 * agent/kvs_endpoint.go) and RPC layer (KVS.Get/List/ListKeys, blockingQuery). State, CAS and
 * persistence live in ./kv-store.ts; this module only translates HTTP to store calls.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { isRagswapError } from '../errors.ts';
import { silentLogger, type Logger } from '../logger.ts';
import { KvStore, type KvEntry, type KvWrite } from './kv-store.ts';

/** Consul's blocking-query defaults: 5 minutes when `wait` is absent, never more than 10. */
export const DEFAULT_WAIT_MS = 5 * 60_000;
export const MAX_WAIT_MS = 10 * 60_000;
/** Consul adds up to wait/16 of random jitter so that watchers do not all wake at once. */
const JITTER_FRACTION = 16;
/** Consul's default `kv_max_value_size`. */
export const MAX_VALUE_BYTES = 512 * 1024;
/** What a single-server Consul reports; clients only check that there is a leader. */
const LEADER_ADDRESS = '127.0.0.1:8300';
const KV_METHODS = ['GET', 'PUT', 'DELETE'] as const;
const STATUS_METHODS = ['GET'] as const;
/** How long stop() lets in-flight responses finish before cutting their connections. */
const STOP_GRACE_MS = 1_000;

// --- parsing (pure) -------------------------------------------------------------------------------

const DURATION_UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3, // U+00B5 micro sign
  'μs': 1e-3, // U+03BC Greek mu
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};
/** Go's time.Duration is int64 nanoseconds; longer durations do not parse there either. */
const MAX_DURATION_MS = 9_223_372_036_854.775;

/**
 * Parses a duration the way Go's time.ParseDuration does (Consul's `wait`): a sequence of decimal
 * numbers with units, e.g. `100ms`, `1.5s`, `1h30m`, an optional sign, or a bare `0`.
 * Returns milliseconds, or undefined when Go would reject it.
 */
export function parseGoDuration(text: string): number | undefined {
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') return undefined;
  let total = 0;
  while (rest !== '') {
    const match = /^(\d*)(\.\d*)?([^\d.]+)/.exec(rest);
    if (!match) return undefined;
    const [component, whole = '', fraction, unit = ''] = match;
    const factor = DURATION_UNIT_MS[unit];
    if (factor === undefined || (whole === '' && (fraction === undefined || fraction === '.'))) return undefined;
    total += Number(`${whole || '0'}${fraction ?? ''}`) * factor;
    rest = rest.slice(component.length);
  }
  return total > MAX_DURATION_MS ? undefined : sign * total;
}

const MAX_UINT64 = 2n ** 64n - 1n;

export type Uint64Result = { readonly ok: true; readonly value: bigint } | { readonly ok: false; readonly reason: 'invalid syntax' | 'value out of range' };

/** Go's strconv.ParseUint(text, 10, 64): digits only, no sign, at most 2^64-1. */
export function parseUint64(text: string): Uint64Result {
  if (!/^\d+$/.test(text)) return { ok: false, reason: 'invalid syntax' };
  const value = BigInt(text);
  return value > MAX_UINT64 ? { ok: false, reason: 'value out of range' } : { ok: true, value };
}

/**
 * How long a blocking query may hold the request: the requested wait (default 5 min when absent or
 * not positive), at most 10 min, at most `capMs` (a test knob), plus up to 1/16 of it as jitter.
 */
export function blockingTimeoutMs(requestedMs: number | undefined, capMs = MAX_WAIT_MS, random: () => number = Math.random): number {
  const wanted = requestedMs === undefined || requestedMs <= 0 ? DEFAULT_WAIT_MS : requestedMs;
  const wait = Math.min(wanted, MAX_WAIT_MS, capMs);
  return wait + random() * (wait / JITTER_FRACTION);
}

export interface QueryOptions {
  /** `?index`; 0 means "answer at once". */
  readonly minIndex: number;
  /** `?wait` in ms, when given. */
  readonly waitMs: number | undefined;
  readonly pretty: boolean;
}

/** The query options Consul parses for every request; bad values are a 400 with Consul's wording. */
export function parseQueryOptions(query: URLSearchParams): QueryOptions {
  const wait = query.get('wait') ?? '';
  const waitMs = wait === '' ? undefined : parseGoDuration(wait);
  if (wait !== '' && waitMs === undefined) throw new ConsulHttpError(400, 'Invalid wait time');
  const index = query.get('index') ?? '';
  const parsedIndex = index === '' ? undefined : parseUint64(index);
  if (parsedIndex && !parsedIndex.ok) throw new ConsulHttpError(400, 'Invalid index');
  if (query.has('stale') && query.has('consistent')) {
    throw new ConsulHttpError(400, 'Cannot specify ?stale with ?consistent, conflicting semantics.');
  }
  return { minIndex: parsedIndex?.ok ? Number(parsedIndex.value) : 0, waitMs, pretty: query.has('pretty') };
}

/**
 * Consul CE has one namespace and one partition: naming another one, by query or header, is a 400
 * (agent/http_ce.go), never a silent read of the shared store a client meant to keep apart.
 */
export function rejectEnterpriseTenancy(headers: IncomingHttpHeaders, query: URLSearchParams): void {
  const checks = [
    ['header', 'X-Consul-Namespace', headers['x-consul-namespace'], 'Namespaces'],
    ['query parameter', 'ns', query.get('ns'), 'Namespaces'],
    ['header', 'X-Consul-Partition', headers['x-consul-partition'], 'Partitions'],
    ['query parameter', 'partition', query.get('partition'), 'Partitions'],
  ] as const;
  for (const [where, name, value, feature] of checks) {
    if (typeof value === 'string' && value !== '') {
      throw new ConsulHttpError(400, `Bad request: Invalid ${where}: "${name}" - ${feature} are a Consul Enterprise feature`);
    }
  }
}

/**
 * Go's ServeMux cleans every request path (`//`, `.` and `..` segments) and redirects to the clean
 * one, so a key such as `a/../b` never reaches Consul's KV endpoint as written. Returns the clean
 * path, which equals `requestPath` when there is nothing to clean.
 */
export function cleanRequestPath(requestPath: string): string {
  return path.posix.normalize(requestPath.startsWith('/') ? requestPath : `/${requestPath}`);
}

/** A path for a Location header: each segment escaped, the slashes kept. */
function escapePath(cleanPath: string): string {
  return cleanPath.split('/').map(encodeURIComponent).join('/');
}

/** Consul's token precedence: `?token=`, then `X-Consul-Token`, then `Authorization: Bearer`. */
export function requestToken(headers: IncomingHttpHeaders, query: URLSearchParams): string | undefined {
  const fromQuery = query.get('token');
  if (fromQuery) return fromQuery;
  const header = headers['x-consul-token'];
  if (typeof header === 'string' && header !== '') return header;
  const match = /^bearer\s+(.+)$/i.exec(headers.authorization?.trim() ?? '');
  return match?.[1]?.trim() || undefined;
}

export interface RequestTarget {
  /** Percent-decoded path (keys may contain encoded characters, `%2F` included). */
  readonly path: string;
  readonly rawQuery: string;
  readonly query: URLSearchParams;
}

/** Go's printable-path filter (unicode.IsPrint): letters, marks, numbers, punctuation, symbols, ASCII space. */
const NON_PRINTABLE = /[^\p{L}\p{M}\p{N}\p{P}\p{S} ]/u;

/** Splits a request target into decoded path and query; malformed ones are a 400, never a crash. */
export function parseRequestTarget(url: string): RequestTarget {
  let target = url;
  if (!target.startsWith('/')) {
    // Absolute form (`GET http://host/path`), which HTTP/1.1 servers must accept.
    try {
      const parsed = new URL(target);
      target = parsed.pathname + parsed.search;
    } catch {
      throw new ConsulHttpError(400, 'Bad Request');
    }
  }
  const hash = target.indexOf('#');
  if (hash !== -1) target = target.slice(0, hash);
  const mark = target.indexOf('?');
  const rawPath = mark === -1 ? target : target.slice(0, mark);
  const rawQuery = mark === -1 ? '' : target.slice(mark + 1);
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    throw new ConsulHttpError(400, `invalid URL escape in ${JSON.stringify(rawPath)}`);
  }
  if (NON_PRINTABLE.test(decoded)) throw new ConsulHttpError(400, '');
  return { path: decoded, rawQuery, query: new URLSearchParams(rawQuery) };
}

// --- encoding (pure) ------------------------------------------------------------------------------

/** V8's JSON.rawJSON (Node 21+) lets uint64 flags go out as exact JSON numbers; TS's lib lacks it. */
const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON.bind(JSON);

/** Consul's JSON: compact, or indented by 4 with a trailing newline under `?pretty`. */
export function toJson(value: unknown, pretty = false): string {
  return pretty ? `${JSON.stringify(value, null, 4)}\n` : JSON.stringify(value);
}

/** Entries in Consul's DirEntry shape (its field order; Session omitted, as no entry has one). */
export function encodeEntries(entries: readonly KvEntry[], pretty = false): string {
  return toJson(
    entries.map((entry) => ({
      LockIndex: 0,
      Key: entry.key,
      Flags: rawJSON(entry.flags.toString()),
      Value: entry.value.length === 0 ? null : entry.value.toString('base64'),
      CreateIndex: entry.createIndex,
      ModifyIndex: entry.modifyIndex,
    })),
    pretty,
  );
}

// --- errors ---------------------------------------------------------------------------------------

/** Consul's HTTPError: a status with a plain-text reason. Thrown by the parsers, answered in one place. */
export class ConsulHttpError extends Error {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  constructor(status: number, reason: string, headers: Record<string, string> = {}) {
    super(reason);
    this.name = 'ConsulHttpError';
    this.status = status;
    this.headers = headers;
  }
}

function missingKey(): ConsulHttpError {
  return new ConsulHttpError(400, 'Missing key name');
}

/**
 * Consul returns strconv's error for a bad `flags`/`cas` as-is, which its HTTP layer turns into a
 * 500 (unlike `index`/`wait`, which it validates itself).
 */
function uintParam(text: string): bigint {
  const parsed = parseUint64(text);
  if (!parsed.ok) throw new ConsulHttpError(500, `strconv.ParseUint: parsing ${JSON.stringify(text)}: ${parsed.reason}`);
  return parsed.value;
}

/** Consul refuses to combine some parameters (e.g. `cas` with `acquire`, `recurse` with `cas`). */
function rejectConflictingFlags(query: URLSearchParams, flags: readonly string[]): void {
  if (flags.filter((flag) => query.has(flag)).length < 2) return;
  const encoded = new URLSearchParams(query);
  encoded.sort();
  throw new ConsulHttpError(400, `Conflicting flags: ${encoded.toString()}\n`);
}

/**
 * Consul's method check: OPTIONS is answered here with the Allow header alone, any other method
 * outside `allowed` is a 405 carrying the same header. Returns whether the handler should go on.
 */
function acceptMethod(req: IncomingMessage, res: ServerResponse, allowed: readonly string[]): boolean {
  const allow = ['OPTIONS', ...allowed].join(',');
  if (req.method === 'OPTIONS') {
    sendEmpty(res, 200, { Allow: allow });
    return false;
  }
  if (allowed.includes(req.method ?? '')) return true;
  throw new ConsulHttpError(405, `method ${req.method ?? ''} not allowed`, { Allow: allow });
}

function tooLarge(size: number): ConsulHttpError {
  return new ConsulHttpError(
    413,
    `Request body(${size} bytes) too large, max size: ${MAX_VALUE_BYTES} bytes. See https://developer.hashicorp.com/docs/agent/config/config-files#kv_max_value_size.`,
  );
}

/**
 * This server has no sessions (there is no /v1/session API), so lock operations get what Consul
 * answers for a session that does not exist: `acquire` fails with "invalid session", `release`
 * is `false` because no key can be held by it.
 */
function answerLockWithoutSessions(query: URLSearchParams): false {
  const acquire = query.get('acquire');
  const session = acquire ?? query.get('release') ?? '';
  if (session === '') throw new ConsulHttpError(500, 'missing session');
  if (acquire !== null) throw new ConsulHttpError(500, `invalid session ${JSON.stringify(session)}`);
  return false;
}

// --- responses ------------------------------------------------------------------------------------

/** Query metadata on every KV read, 404s included; index 0 would make clients spin, so it is at least 1. */
function setReadMeta(res: ServerResponse, index: number): void {
  res.setHeader('X-Consul-Index', String(Math.max(1, index)));
  res.setHeader('X-Consul-KnownLeader', 'true');
  res.setHeader('X-Consul-LastContact', '0');
}

function sendJson(res: ServerResponse, json: string): void {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(json) });
  res.end(json);
}

function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'Content-Length': 0 });
  res.end();
}

/** Consul's error bodies are plain text; Go sniffs them as text/plain; charset=utf-8. */
function sendText(res: ServerResponse, status: number, text: string, headers: Readonly<Record<string, string>> = {}): void {
  if (text === '') return sendEmpty(res, status, { ...headers });
  res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** `?raw`: the bytes as stored, with the headers Consul uses to keep browsers from running them. */
function sendRaw(res: ServerResponse, value: Buffer): void {
  res.writeHead(200, {
    'Content-Type': 'text/plain',
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': 'sandbox',
    'Content-Length': value.length,
  });
  res.end(value);
}

/**
 * Buffers a request body up to `limit` bytes. Past the limit it stops buffering but keeps draining,
 * so the 413 can still reach the client and the connection stays usable.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      cleanup();
      req.resume();
      reject(tooLarge(size));
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onClose = (): void => {
      if (req.complete) return;
      cleanup();
      reject(new Error('request aborted before its body was complete'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

// --- the server -----------------------------------------------------------------------------------

export interface EmbeddedKvServerOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 8500; 0 picks a free port. */
  readonly port?: number;
  /** Persist under `<dataDir>/kv/`; in memory only when absent. */
  readonly dataDir?: string;
  /** When set, every KV request must carry this token (X-Consul-Token, ?token= or Bearer), else 403. */
  readonly aclToken?: string;
  /** Upper bound for blocking queries, below Consul's 10 minutes (for tests). */
  readonly maxWaitMs?: number;
  readonly logger?: Logger;
}

type KvReadMode = 'get' | 'recurse' | 'keys';

export class EmbeddedKvServer {
  readonly #server: Server;
  readonly #store: KvStore;
  readonly #host: string;
  readonly #aclDigest: Buffer | undefined;
  readonly #maxWaitMs: number;
  readonly #logger: Logger;
  /** Aborted by stop(): every blocking query answers at once. */
  readonly #shutdown = new AbortController();
  /** Responses not yet closed, each with a promise that settles when it is. */
  readonly #inFlight = new Map<ServerResponse, Promise<void>>();
  #port = 0;
  #stopping: Promise<void> | undefined;

  private constructor(store: KvStore, options: EmbeddedKvServerOptions, logger: Logger) {
    this.#store = store;
    this.#host = options.host ?? '127.0.0.1';
    this.#aclDigest = options.aclToken === undefined ? undefined : digest(options.aclToken);
    this.#maxWaitMs = options.maxWaitMs ?? MAX_WAIT_MS;
    this.#logger = logger;
    this.#server = createServer((req, res) => this.#onRequest(req, res));
    this.#server.on('error', (error) => this.#logger.error({ err: error }, 'kv server error'));
  }

  static async start(options: EmbeddedKvServerOptions = {}): Promise<EmbeddedKvServer> {
    const logger = (options.logger ?? silentLogger).child({ component: 'kv-server' });
    const store = await KvStore.open({
      directory: options.dataDir === undefined ? undefined : path.join(options.dataDir, 'kv'),
      logger,
    });
    const server = new EmbeddedKvServer(store, options, logger);
    try {
      await server.#listen(options.port ?? 8500);
    } catch (error) {
      await store.close();
      throw error;
    }
    logger.info({ address: server.address, persistent: options.dataDir !== undefined, acl: options.aclToken !== undefined }, 'kv server listening');
    return server;
  }

  get address(): string {
    const host = this.#host.includes(':') ? `[${this.#host}]` : this.#host;
    return `http://${host}:${this.#port}`;
  }

  get port(): number {
    return this.#port;
  }

  get store(): KvStore {
    return this.#store;
  }

  /** Seeds the store on its first start only; see KvStore.seedIfEmpty. */
  seedIfEmpty(writes: readonly KvWrite[]): Promise<boolean> {
    return this.#store.seedIfEmpty(writes);
  }

  /**
   * Stops listening, answers open blocking queries at once, closes keep-alive connections and then
   * the store. The port is free when this resolves, so a new server can bind it straight away.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#shutdownNow();
    return this.#stopping;
  }

  async #shutdownNow(): Promise<void> {
    for (const res of this.#inFlight.keys()) if (!res.headersSent) res.setHeader('Connection', 'close');
    this.#shutdown.abort();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    // An unref'd timer: once everything has finished, nothing is left to hold the process open.
    await Promise.race([Promise.allSettled(this.#inFlight.values()), delay(STOP_GRACE_MS, undefined, { ref: false })]);
    this.#server.closeAllConnections();
    await closed;
    await this.#store.close();
    this.#logger.info({ port: this.#port }, 'kv server stopped');
  }

  #listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => {
        this.#server.off('listening', onListening);
        reject(error);
      };
      const onListening = (): void => {
        this.#server.off('error', onError);
        this.#port = (this.#server.address() as AddressInfo).port;
        resolve();
      };
      this.#server.once('error', onError);
      this.#server.once('listening', onListening);
      this.#server.listen({ host: this.#host, port });
    });
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    this.#inFlight.set(res, new Promise<void>((resolve) => res.once('close', resolve)));
    res.once('close', () => {
      this.#inFlight.delete(res);
      this.#logger.debug(
        { method: req.method, path: pathForLog(req.url), status: res.statusCode, durationMs: Math.round(performance.now() - started) },
        'kv request',
      );
    });
    if (this.#stopping) res.setHeader('Connection', 'close');
    this.#handle(req, res).catch((error: unknown) => this.#fail(req, res, error));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Consul sends its ACL default policy on every response.
    res.setHeader('X-Consul-Default-ACL-Policy', this.#aclDigest ? 'deny' : 'allow');
    const target = parseRequestTarget(req.url ?? '/');
    const clean = cleanRequestPath(target.path);
    if (clean !== target.path) {
      return sendEmpty(res, 301, { Location: `${escapePath(clean)}${target.rawQuery === '' ? '' : `?${target.rawQuery}`}` });
    }
    if (target.path === '/v1/status/leader') {
      if (!acceptMethod(req, res, STATUS_METHODS)) return;
      return sendJson(res, toJson(LEADER_ADDRESS, target.query.has('pretty')));
    }
    if (target.path === '/v1/kv') {
      // Go's ServeMux redirects a subtree root without its trailing slash.
      const location = `/v1/kv/${target.rawQuery === '' ? '' : `?${target.rawQuery}`}`;
      return sendEmpty(res, 301, { Location: location });
    }
    if (target.path.startsWith('/v1/kv/')) return this.#kv(req, res, target.path.slice('/v1/kv/'.length), target.query);
    throw new ConsulHttpError(
      404,
      target.path.includes('/v1/')
        ? 'Invalid URL path: not a recognized HTTP API endpoint\n'
        : "Invalid URL path: if attempting to use the HTTP API, ensure the path starts with '/v1/'\n",
    );
  }

  async #kv(req: IncomingMessage, res: ServerResponse, key: string, query: URLSearchParams): Promise<void> {
    if (!acceptMethod(req, res, KV_METHODS)) return;
    rejectEnterpriseTenancy(req.headers, query);
    const options = parseQueryOptions(query);
    this.#authorize(req, query);
    if (req.method === 'GET') return this.#kvGet(res, key, query, options);
    if (req.method === 'PUT') return this.#kvPut(req, res, key, query);
    return this.#kvDelete(res, key, query);
  }

  async #kvGet(res: ServerResponse, key: string, query: URLSearchParams, options: QueryOptions): Promise<void> {
    const mode: KvReadMode = query.has('keys') ? 'keys' : query.has('recurse') ? 'recurse' : 'get';
    if (mode === 'get' && key === '') throw missingKey();
    const indexOf = mode === 'get' ? () => this.#store.keyIndex(key) : () => this.#store.prefixIndex(key);
    await this.#block(res, indexOf, options);
    if (res.destroyed) return; // the client gave up while we waited

    if (mode === 'keys') {
      // Consul still honours its historic misspelling.
      const separator = query.get('separator') ?? query.get('seperator') ?? '';
      const { index, keys } = this.#store.keys(key, separator);
      setReadMeta(res, index);
      // The root is never "not found", just empty.
      if (keys.length === 0 && key !== '') return sendEmpty(res, 404);
      return sendJson(res, toJson(keys, options.pretty));
    }
    if (mode === 'recurse') {
      const { index, entries } = this.#store.list(key);
      setReadMeta(res, index);
      if (entries.length === 0) return sendEmpty(res, 404);
      return sendJson(res, encodeEntries(entries, options.pretty));
    }
    const { index, entry } = this.#store.get(key);
    setReadMeta(res, index);
    if (!entry) return sendEmpty(res, 404);
    if (query.has('raw')) return sendRaw(res, entry.value);
    return sendJson(res, encodeEntries([entry], options.pretty));
  }

  /**
   * The wait half of a blocking query: hold the request while the read's index is still at most
   * `?index`, until a write moves it, the wait (plus jitter) runs out, the client disconnects or the
   * server stops. The caller then answers with whatever the data is, changed or not.
   */
  async #block(res: ServerResponse, indexOf: () => number, options: QueryOptions): Promise<void> {
    if (options.minIndex === 0) return;
    const disconnected = new AbortController();
    const onClose = (): void => disconnected.abort();
    res.once('close', onClose);
    try {
      await this.#store.waitForIndex(indexOf, options.minIndex, {
        timeoutMs: blockingTimeoutMs(options.waitMs, this.#maxWaitMs),
        signal: AbortSignal.any([this.#shutdown.signal, disconnected.signal]),
      });
    } finally {
      res.off('close', onClose);
    }
  }

  async #kvPut(req: IncomingMessage, res: ServerResponse, key: string, query: URLSearchParams): Promise<void> {
    if (key === '') throw missingKey();
    rejectConflictingFlags(query, ['cas', 'acquire', 'release']);
    const flags = query.has('flags') ? uintParam(query.get('flags') ?? '') : 0n;
    const cas = query.has('cas') ? uintParam(query.get('cas') ?? '') : undefined;
    const declared = Number(req.headers['content-length']);
    if (declared > MAX_VALUE_BYTES) throw tooLarge(declared);
    const value = await readBody(req, MAX_VALUE_BYTES);
    if (query.has('acquire') || query.has('release')) return sendJson(res, toJson(answerLockWithoutSessions(query)));
    const ok = await this.#store.set(key, value, { flags, cas });
    sendJson(res, toJson(ok));
  }

  async #kvDelete(res: ServerResponse, key: string, query: URLSearchParams): Promise<void> {
    rejectConflictingFlags(query, ['recurse', 'cas']);
    const recurse = query.has('recurse');
    if (!recurse && key === '') throw missingKey();
    const cas = query.has('cas') ? uintParam(query.get('cas') ?? '') : undefined;
    const ok = recurse ? await this.#store.deleteTree(key) : await this.#store.delete(key, { cas });
    sendJson(res, toJson(ok));
  }

  /** One token with full access; Consul says "ACL not found" for a token it does not know. */
  #authorize(req: IncomingMessage, query: URLSearchParams): void {
    if (!this.#aclDigest) return;
    const token = requestToken(req.headers, query);
    if (token === undefined) throw new ConsulHttpError(403, 'Permission denied');
    if (!timingSafeEqual(digest(token), this.#aclDigest)) throw new ConsulHttpError(403, 'ACL not found');
  }

  /** The single place where errors become responses. */
  #fail(req: IncomingMessage, res: ServerResponse, error: unknown): void {
    const context = { method: req.method, path: pathForLog(req.url) };
    if (res.headersSent || res.destroyed) {
      this.#logger.debug({ ...context, err: error }, 'kv request ended early');
      res.destroy();
      return;
    }
    if (error instanceof ConsulHttpError) {
      if (error.status >= 500) this.#logger.warn({ ...context, status: error.status, reason: error.message }, 'kv request failed');
      return sendText(res, error.status, error.message, error.headers);
    }
    if (isRagswapError(error)) {
      this.#logger.warn({ ...context, err: error }, 'kv request failed');
      return sendText(res, error.statusCode, error.message);
    }
    this.#logger.error({ ...context, err: error }, 'kv request failed');
    sendText(res, 500, error instanceof Error ? error.message : String(error));
  }
}

/** Fixed-length digests make the token comparison constant-time whatever the lengths. */
function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** The path only: a `?token=` must never reach the logs. */
function pathForLog(url: string | undefined): string {
  const target = url ?? '';
  const mark = target.indexOf('?');
  return mark === -1 ? target : target.slice(0, mark);
}
