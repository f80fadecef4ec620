import { EventEmitter } from 'node:events';
import Consul from 'consul';
import { KvUnavailableError } from '../errors.ts';

/** One KV entry, decoded: `value` is the UTF-8 text of Consul's base64 `Value` (null when empty). */
export interface KvEntry {
  readonly key: string;
  readonly value: string | null;
  readonly createIndex: number;
  readonly modifyIndex: number;
  readonly flags: number;
}

/** A read of a key or prefix together with the `X-Consul-Index` it was read at (one step, never a mismatched pair). */
export interface KvRead<T> {
  readonly value: T;
  readonly index: number;
}

export interface BlockingOptions {
  /** Block until the index passes this value (Consul `index`). 0 or absent answers at once. */
  readonly index?: number;
  /** Consul `wait`: how long the server may hold the request. */
  readonly waitMs?: number;
  readonly signal?: AbortSignal;
}

/** What the watcher needs from Consul; tests script it, production uses ConsulKvClient. */
export interface KvListTransport {
  list(prefix: string, options?: BlockingOptions): Promise<KvRead<KvEntry[]>>;
}

export interface KvClient extends KvListTransport {
  get(key: string, options?: BlockingOptions): Promise<KvRead<KvEntry | undefined>>;
  /** The keys under a prefix (`?keys`), without their values: cheap for long lists such as the audit log. */
  keys(prefix: string, options?: { signal?: AbortSignal }): Promise<string[]>;
  /** Check-and-set when `cas` is given (0 = create only). Resolves false when the CAS lost. */
  put(key: string, value: string, options?: { cas?: number; signal?: AbortSignal }): Promise<boolean>;
  delete(key: string, options?: { cas?: number; recurse?: boolean; signal?: AbortSignal }): Promise<boolean>;
}

export interface ConsulKvClientOptions {
  /** `CONSUL_HTTP_ADDR`: `host:port`, `http://host:port` or `https://host:port`. */
  readonly address: string;
  /** `CONSUL_HTTP_TOKEN`, sent as `X-Consul-Token`. */
  readonly token?: string;
  /** Timeout for non-blocking calls. */
  readonly requestTimeoutMs?: number;
}

interface ConsulEntry {
  Key: string;
  Value: string | null;
  CreateIndex: number;
  ModifyIndex: number;
  Flags: number;
}

/** With `includeResponse`, consul@2 resolves `[response, body]` (`[response]` on a 404). */
interface IncludedResponse<T> {
  readonly body: T | undefined;
  readonly headers: Record<string, string | undefined>;
}

type RawIncludedResponse = [{ headers?: Record<string, string | undefined> } | undefined, unknown?] | undefined;

function unwrapResponse<T>(raw: RawIncludedResponse): IncludedResponse<T> {
  const [response, body] = raw ?? [];
  return { body: body as T | undefined, headers: response?.headers ?? {} };
}

export function consulBaseUrl(address: string): string {
  const withScheme = /^https?:\/\//.test(address) ? address : `http://${address}`;
  return `${withScheme.replace(/\/+$/, '')}/v1`;
}

/**
 * Consul adds up to wait/16 of jitter to a blocking query, so the client must wait longer than
 * `wait` itself or every quiet period would look like a failure.
 */
export function blockingTimeoutMs(waitMs: number): number {
  return waitMs + Math.ceil(waitMs / 16) + 5_000;
}

/** Consul's wait syntax; whole milliseconds keep the value exact. */
export function formatWait(waitMs: number): string {
  return `${Math.max(1, Math.round(waitMs))}ms`;
}

function toEntry(entry: ConsulEntry): KvEntry {
  return {
    key: entry.Key,
    // The npm client decodes base64 into a string already (its `buffer` option is off).
    value: entry.Value ?? null,
    createIndex: entry.CreateIndex,
    modifyIndex: entry.ModifyIndex,
    flags: entry.Flags ?? 0,
  };
}

function readIndex(headers: Record<string, string | undefined>): number {
  const parsed = Number(headers['x-consul-index']);
  return Number.isFinite(parsed) ? parsed : 0;
}

/**
 * KV access through the npm `consul` client. Its context object is how it exposes response headers
 * (`includeResponse`) and cancellation (`cancel` event); its types know neither, hence the casts
 * kept inside this file.
 */
export class ConsulKvClient implements KvClient {
  readonly #consul: Consul;
  readonly #requestTimeoutMs: number;

  constructor(options: ConsulKvClientOptions) {
    this.#consul = new Consul({
      baseUrl: consulBaseUrl(options.address),
      ...(options.token ? { defaults: { token: options.token } } : {}),
    } as ConstructorParameters<typeof Consul>[0]);
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  }

  async list(prefix: string, options: BlockingOptions = {}): Promise<KvRead<KvEntry[]>> {
    const response = await this.#call<ConsulEntry[]>(
      (kv, ctx) => kv.get({ key: prefix, recurse: true, ...this.#blocking(options), ctx }),
      options,
    );
    return { value: (response.body ?? []).map(toEntry), index: readIndex(response.headers) };
  }

  async get(key: string, options: BlockingOptions = {}): Promise<KvRead<KvEntry | undefined>> {
    const response = await this.#call<ConsulEntry>((kv, ctx) => kv.get({ key, ...this.#blocking(options), ctx }), options);
    return { value: response.body ? toEntry(response.body) : undefined, index: readIndex(response.headers) };
  }

  async keys(prefix: string, options: { signal?: AbortSignal } = {}): Promise<string[]> {
    try {
      const response = await this.#call<string[]>((kv, ctx) => kv.keys({ key: prefix, timeout: this.#requestTimeoutMs, ctx }), options);
      return response.body ?? [];
    } catch (error) {
      // Consul answers 404 when nothing is under the prefix; unlike get, the client rejects on it.
      if (error instanceof KvUnavailableError && (error.cause as { statusCode?: number } | undefined)?.statusCode === 404) return [];
      throw error;
    }
  }

  async put(key: string, value: string, options: { cas?: number; signal?: AbortSignal } = {}): Promise<boolean> {
    const response = await this.#call<boolean>(
      (kv, ctx) => kv.set({ key, value, ...(options.cas === undefined ? {} : { cas: String(options.cas) }), ctx }),
      options,
    );
    // A lost CAS comes back as `false` (or `undefined` in some client versions).
    return response.body === true;
  }

  async delete(key: string, options: { cas?: number; recurse?: boolean; signal?: AbortSignal } = {}): Promise<boolean> {
    const response = await this.#call<boolean>(
      (kv, ctx) =>
        kv.del({
          key,
          ...(options.recurse ? { recurse: true } : {}),
          ...(options.cas === undefined ? {} : { cas: String(options.cas) }),
          ctx,
        }),
      options,
    );
    return response.body === true;
  }

  #blocking(options: BlockingOptions): Record<string, unknown> {
    if (!options.index) return { timeout: this.#requestTimeoutMs };
    const waitMs = options.waitMs ?? 5 * 60_000;
    return { index: String(options.index), wait: formatWait(waitMs), timeout: blockingTimeoutMs(waitMs) };
  }

  async #call<T>(
    run: (kv: LooseKv, ctx: EventEmitter) => Promise<unknown>,
    options: { signal?: AbortSignal },
  ): Promise<IncludedResponse<T>> {
    options.signal?.throwIfAborted();
    const ctx = Object.assign(new EventEmitter(), { includeResponse: true });
    const cancel = () => ctx.emit('cancel');
    options.signal?.addEventListener('abort', cancel, { once: true });
    try {
      return unwrapResponse<T>((await run(this.#consul.kv as unknown as LooseKv, ctx)) as RawIncludedResponse);
    } catch (error) {
      options.signal?.throwIfAborted();
      throw new KvUnavailableError(`Consul KV request failed: ${(error as Error).message}`, { cause: error });
    } finally {
      options.signal?.removeEventListener('abort', cancel);
    }
  }
}

interface LooseKv {
  get(options: Record<string, unknown>): Promise<unknown>;
  keys(options: Record<string, unknown>): Promise<unknown>;
  set(options: Record<string, unknown>): Promise<unknown>;
  del(options: Record<string, unknown>): Promise<unknown>;
}
