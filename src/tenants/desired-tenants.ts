import { ConfigValidationError } from '../errors.ts';
import type { KvEntry } from '../kv/consul-kv-client.ts';
import { isValidTenantId, parseTenantConfig, type TenantConfig } from './tenant-config.ts';

/**
 * The desired state of every tenant as KV says it is now. Fed whole prefix snapshots by the
 * watcher; parses a key only when its ModifyIndex moved. The index manager reads from here by
 * tenant id alone (level-triggered: a reconcile never depends on what event woke it).
 */
export interface DesiredTenant {
  readonly tenantId: string;
  readonly key: string;
  /**
   * The key's CreateIndex: which incarnation of the tenant this is. A key deleted and written again
   * is a new tenant that happens to reuse the id, even when both writes arrive in one snapshot.
   */
  readonly createIndex: number;
  readonly modifyIndex: number;
  /** The last valid config seen for this key; an invalid write keeps the previous one as the target. */
  readonly config: TenantConfig | undefined;
  /** Set while the current KV value is invalid. */
  readonly error: ConfigValidationError | undefined;
}

const CONFIG_KEY_SUFFIX = '/config';

/** `{prefix}{tenant}/config` → tenant id; any other key under the prefix is not ours. */
export function tenantIdFromKey(prefix: string, key: string): string | undefined {
  if (!key.startsWith(prefix) || !key.endsWith(CONFIG_KEY_SUFFIX)) return undefined;
  const tenantId = key.slice(prefix.length, key.length - CONFIG_KEY_SUFFIX.length);
  return isValidTenantId(tenantId) ? tenantId : undefined;
}

export function tenantConfigKey(prefix: string, tenantId: string): string {
  return `${prefix}${tenantId}${CONFIG_KEY_SUFFIX}`;
}

export function parseDesiredTenant(tenantId: string, entry: KvEntry, previous: DesiredTenant | undefined): DesiredTenant {
  const identity = { tenantId, key: entry.key, createIndex: entry.createIndex, modifyIndex: entry.modifyIndex };
  try {
    return { ...identity, config: parseTenantConfig(entry.value ?? ''), error: undefined };
  } catch (error) {
    if (!(error instanceof ConfigValidationError)) throw error;
    // An invalid write keeps the last valid target, but only of the same incarnation: a re-created
    // tenant must not inherit the deleted one's config.
    const sameIncarnation = previous?.createIndex === entry.createIndex;
    return { ...identity, config: sameIncarnation ? previous?.config : undefined, error };
  }
}

export class DesiredTenants {
  readonly #prefix: string;
  readonly #tenants = new Map<string, DesiredTenant>();

  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  /** Applies a full snapshot of the prefix; returns the tenants that changed or disappeared. */
  applySnapshot(entries: readonly KvEntry[]): string[] {
    const changed: string[] = [];
    const present = new Set<string>();
    for (const entry of entries) {
      const tenantId = tenantIdFromKey(this.#prefix, entry.key);
      if (!tenantId) continue;
      present.add(tenantId);
      const previous = this.#tenants.get(tenantId);
      // Unchanged ModifyIndex: the same bytes we already parsed.
      if (previous && previous.modifyIndex === entry.modifyIndex) continue;
      this.#tenants.set(tenantId, parseDesiredTenant(tenantId, entry, previous));
      changed.push(tenantId);
    }
    for (const tenantId of [...this.#tenants.keys()]) {
      if (present.has(tenantId)) continue;
      this.#tenants.delete(tenantId);
      changed.push(tenantId);
    }
    return changed;
  }

  get(tenantId: string): DesiredTenant | undefined {
    return this.#tenants.get(tenantId);
  }

  tenantIds(): string[] {
    return [...this.#tenants.keys()].sort();
  }
}
