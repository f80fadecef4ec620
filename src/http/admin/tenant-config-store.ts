import { ConfigValidationError, ConflictError, InvalidRequestError, TenantNotFoundError } from '../../errors.ts';
import type { KvClient, KvEntry } from '../../kv/consul-kv-client.ts';
import type { FastifyBaseLogger } from 'fastify';
import { tenantConfigKey, tenantIdFromKey } from '../../tenants/desired-tenants.ts';
import { validateTenantConfig } from '../../tenants/tenant-config.ts';
import type { AuditAction, AuditLog } from './audit.ts';
import { bumpVersion } from './version-bump.ts';

/**
 * Tenant configs in KV as the admin API sees them: every write is a check-and-set against the
 * ModifyIndex the operator read, and every successful write is followed by an audit record.
 * Validation is the watcher's own (`validateTenantConfig`), so what can be saved can be loaded.
 */
export interface StoredConfig {
  readonly tenant_id: string;
  readonly modify_index: number;
  /** The parsed JSON, or the raw text when the value is not JSON (someone wrote it by hand). */
  readonly config: unknown;
  readonly valid: boolean;
  readonly issues: { path: string; message: string }[];
}

export interface WriteResult {
  readonly tenant_id: string;
  /** The index of this write; null when another write already followed it (the next save will conflict, as it should). */
  readonly modify_index: number | null;
  readonly config: unknown;
  readonly warnings: string[];
}

/** How often reindex re-reads and retries when another write slips in between read and CAS. */
const REINDEX_ATTEMPTS = 3;

/** Parsed JSON where the KV value is JSON, else its raw text (shown so an operator can repair it). */
export function decodeValue(value: string | null): unknown {
  return value === null ? null : (parseJson(value)?.value ?? value);
}

function parseJson(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) };
  } catch {
    return undefined;
  }
}

function storedConfig(tenantId: string, entry: KvEntry): StoredConfig {
  const config = decodeValue(entry.value);
  try {
    validateTenantConfig(config);
    return { tenant_id: tenantId, modify_index: entry.modifyIndex, config, valid: true, issues: [] };
  } catch (error) {
    if (!(error instanceof ConfigValidationError)) throw error;
    // Raw text that is not JSON says so; JSON of the wrong shape (a string, an array) gets the schema's issues.
    const notJson = entry.value !== null && parseJson(entry.value) === undefined;
    const issues = notJson ? [{ path: '', message: 'not valid JSON' }] : [...error.issues];
    return { tenant_id: tenantId, modify_index: entry.modifyIndex, config, valid: false, issues };
  }
}

function versionOf(config: unknown): string | null {
  const version = (config as { version?: unknown } | null)?.version;
  return typeof version === 'string' ? version : null;
}

/** Pretty-printed, so `consul kv get` and diffs stay readable. */
export function encodeConfig(config: unknown): string {
  return `${JSON.stringify(config, null, 2)}\n`;
}

export class TenantConfigStore {
  readonly #kv: KvClient;
  readonly #prefix: string;
  readonly #audit: AuditLog;
  readonly #logger: Pick<FastifyBaseLogger, 'error'>;
  readonly #now: () => Date;

  constructor(options: { kv: KvClient; prefix: string; audit: AuditLog; logger: Pick<FastifyBaseLogger, 'error'>; now?: () => Date }) {
    this.#kv = options.kv;
    this.#prefix = options.prefix;
    this.#audit = options.audit;
    this.#logger = options.logger;
    this.#now = options.now ?? (() => new Date());
  }

  async list(): Promise<{ index: number; configs: StoredConfig[] }> {
    const { value: entries, index } = await this.#kv.list(this.#prefix);
    const configs = entries.flatMap((entry) => {
      const tenantId = tenantIdFromKey(this.#prefix, entry.key);
      return tenantId ? [storedConfig(tenantId, entry)] : [];
    });
    return { index, configs };
  }

  async get(tenantId: string): Promise<StoredConfig | undefined> {
    const { value: entry } = await this.#kv.get(this.#key(tenantId));
    return entry ? storedConfig(tenantId, entry) : undefined;
  }

  /** Create (`expectedIndex` 0) or update the config read at `expectedIndex`. */
  async put(tenantId: string, config: unknown, expectedIndex: number, who: string): Promise<WriteResult> {
    validateTenantConfig(config);
    const current = await this.get(tenantId);
    this.#expect(tenantId, current, expectedIndex);
    return this.#write(tenantId, config, current, expectedIndex, who, current ? 'update' : 'create');
  }

  async delete(tenantId: string, expectedIndex: number, who: string): Promise<void> {
    if (expectedIndex === 0) throw new InvalidRequestError('If-Match: 0 means "create"; send the modify_index of the config to delete');
    const current = await this.get(tenantId);
    if (!current) throw new TenantNotFoundError(tenantId);
    this.#expect(tenantId, current, expectedIndex);
    if (!(await this.#kv.delete(this.#key(tenantId), { cas: expectedIndex }))) await this.#lost(tenantId);
    await this.#record({ who, action: 'delete', tenant_id: tenantId, old_version: versionOf(current.config), new_version: null, old_config: current.config, new_config: null });
  }

  /** Bumps `version` so every pod rebuilds; retries the CAS when another write came in between. */
  async reindex(tenantId: string, who: string): Promise<WriteResult & { old_version: string; version: string }> {
    for (let attempt = 1; ; attempt += 1) {
      const current = await this.get(tenantId);
      if (!current) throw new TenantNotFoundError(tenantId);
      // An invalid config would not build anyway; the operator has to fix it first.
      const valid = validateTenantConfig(current.config);
      const next = { ...(current.config as Record<string, unknown>), version: bumpVersion(valid.version, this.#now()) };
      validateTenantConfig(next); // a long version plus a timestamp suffix can exceed the 128-character limit
      try {
        const result = await this.#write(tenantId, next, current, current.modify_index, who, 'reindex');
        return { ...result, old_version: valid.version, version: next.version };
      } catch (error) {
        if (!(error instanceof ConflictError) || attempt >= REINDEX_ATTEMPTS) throw error;
      }
    }
  }

  async #write(tenantId: string, config: unknown, current: StoredConfig | undefined, cas: number, who: string, action: AuditAction): Promise<WriteResult> {
    const text = encodeConfig(config);
    if (!(await this.#kv.put(this.#key(tenantId), text, { cas }))) await this.#lost(tenantId);
    // Consul's PUT answers only true/false; the new index has to be read back. The write has
    // happened: a failed read-back must neither fail the request (the operator would retry a saved
    // change and get a 409) nor skip the audit record.
    let modifyIndex: number | null = null;
    const warnings: string[] = [];
    try {
      const { value: written } = await this.#kv.get(this.#key(tenantId));
      modifyIndex = written?.value === text ? written.modifyIndex : null;
    } catch (error) {
      this.#logger.error({ err: error, tenant: tenantId, action }, 'saved config could not be read back');
      warnings.push(`the change was saved but its new modify_index could not be read (${(error as Error).message}); reload before the next edit`);
    }
    warnings.push(...(await this.#record({
      who,
      action,
      tenant_id: tenantId,
      old_version: current ? versionOf(current.config) : null,
      new_version: versionOf(config),
      old_config: current?.config ?? null,
      new_config: config,
    })));
    return { tenant_id: tenantId, modify_index: modifyIndex, config, warnings };
  }

  /**
   * The config is already written when the audit append runs; failing the request now would make
   * the operator retry a write that succeeded (and get a 409). So the failure is logged and
   * reported as a warning instead.
   */
  async #record(input: Parameters<AuditLog['append']>[0]): Promise<string[]> {
    try {
      await this.#audit.append(input);
      return [];
    } catch (error) {
      this.#logger.error({ err: error, tenant: input.tenant_id, action: input.action }, 'audit record could not be written');
      return [`the change was saved but its audit record could not be written: ${(error as Error).message}`];
    }
  }

  /** Fails early with the current value when the client's index is already stale. */
  #expect(tenantId: string, current: StoredConfig | undefined, expectedIndex: number): void {
    const actual = current?.modify_index ?? 0;
    if (actual === expectedIndex) return;
    const message = current
      ? expectedIndex === 0
        ? `tenant '${tenantId}' already exists (modify_index ${actual})`
        : `tenant '${tenantId}' was changed by someone else (modify_index ${actual}, yours ${expectedIndex})`
      : `tenant '${tenantId}' no longer exists`;
    throw new ConflictError(message, current ? { config: current.config, modify_index: current.modify_index } : null);
  }

  /** The CAS itself lost (a write between our read and our write): report what is there now. */
  async #lost(tenantId: string): Promise<never> {
    const now = await this.get(tenantId);
    throw new ConflictError(`tenant '${tenantId}' was changed by someone else while saving`, now ? { config: now.config, modify_index: now.modify_index } : null);
  }

  #key(tenantId: string): string {
    return tenantConfigKey(this.#prefix, tenantId);
  }
}
