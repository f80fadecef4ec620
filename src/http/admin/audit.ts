import { randomBytes } from 'node:crypto';
import type { KvClient } from '../../kv/consul-kv-client.ts';

/**
 * The audit log of admin writes, one KV entry per record under its own prefix. Keys are
 * `<prefix><15-digit ms timestamp>-<8 hex>`: they sort by time as plain strings (Consul lists keys
 * in byte order), the random part keeps two writes in the same millisecond apart, and each record
 * is created with CAS 0 so a record is never overwritten.
 */
export type AuditAction = 'create' | 'update' | 'delete' | 'reindex';

export interface AuditRecord {
  readonly id: string;
  readonly at: string;
  readonly who: string;
  readonly action: AuditAction;
  readonly tenant_id: string;
  readonly old_version: string | null;
  readonly new_version: string | null;
  /** Parsed JSON where the KV value was JSON, else its raw text; null when there was none. */
  readonly old_config: unknown;
  readonly new_config: unknown;
}

export type AuditInput = Omit<AuditRecord, 'id' | 'at'>;

export interface AuditPage {
  readonly records: AuditRecord[];
  /** Pass as `before` for the next (older) page; null on the last page. */
  readonly next: string | null;
}

export const AUDIT_ID_PATTERN = '^[0-9]{15}-[0-9a-f]{8}$';
const ID_REGEX = new RegExp(AUDIT_ID_PATTERN);

export function auditId(now: Date, random: string): string {
  return `${String(now.getTime()).padStart(15, '0')}-${random}`;
}

/** Record ids under the prefix, newest first, strictly older than `before`. Pure, so the bounds are unit-tested. */
export function olderIds(keys: readonly string[], prefix: string, before?: string): string[] {
  return keys
    .map((key) => key.slice(prefix.length))
    .filter((id) => ID_REGEX.test(id) && (before === undefined || id < before))
    .sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
}

const ACTIONS: readonly string[] = ['create', 'update', 'delete', 'reindex'];
const isNullableString = (value: unknown) => value === null || typeof value === 'string';

/** A value someone else wrote under the audit prefix must not pass for a record (or break the page). */
export function isAuditRecord(value: unknown): value is Omit<AuditRecord, 'id'> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const record = value as Record<string, unknown>;
  return (
    typeof record.at === 'string' &&
    typeof record.who === 'string' &&
    typeof record.action === 'string' &&
    ACTIONS.includes(record.action) &&
    typeof record.tenant_id === 'string' &&
    isNullableString(record.old_version) &&
    isNullableString(record.new_version) &&
    'old_config' in record &&
    'new_config' in record
  );
}

export class AuditLog {
  readonly #kv: KvClient;
  readonly #prefix: string;
  readonly #now: () => Date;

  constructor(options: { kv: KvClient; prefix: string; now?: () => Date }) {
    this.#kv = options.kv;
    this.#prefix = options.prefix;
    this.#now = options.now ?? (() => new Date());
  }

  async append(input: AuditInput): Promise<AuditRecord> {
    // A collision needs the same millisecond and the same 32 random bits; retry rather than assume.
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const at = this.#now();
      const record: AuditRecord = { id: auditId(at, randomBytes(4).toString('hex')), at: at.toISOString(), ...input };
      if (await this.#kv.put(`${this.#prefix}${record.id}`, JSON.stringify(record), { cas: 0 })) return record;
    }
    throw new Error('could not allocate an audit record key');
  }

  /**
   * One page, newest first. Lists keys only, then reads just the records on the page: each record
   * carries two whole configs, and the log only grows, so reading every value per page would not
   * scale. Keys that are not records are skipped (the page is filled from the next ones).
   */
  async page(limit: number, before?: string): Promise<AuditPage> {
    const ids = olderIds(await this.#kv.keys(this.#prefix), this.#prefix, before);
    const records: AuditRecord[] = [];
    let consumed = 0;
    while (records.length < limit && consumed < ids.length) {
      const batch = ids.slice(consumed, consumed + limit - records.length);
      consumed += batch.length;
      const read = await Promise.all(batch.map((id) => this.#read(id)));
      records.push(...read.filter((record): record is AuditRecord => record !== undefined));
    }
    // The cursor is the last id looked at, record or not: the next page starts right after it.
    return { records, next: consumed < ids.length ? ids[consumed - 1]! : null };
  }

  async #read(id: string): Promise<AuditRecord | undefined> {
    const { value: entry } = await this.#kv.get(`${this.#prefix}${id}`);
    // Deleted since the listing, or empty: not a record.
    if (!entry?.value) return undefined;
    try {
      const parsed: unknown = JSON.parse(entry.value);
      return isAuditRecord(parsed) ? { ...parsed, id } : undefined;
    } catch {
      // Someone else's key under our prefix: not a record.
      return undefined;
    }
  }
}
