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

/** Newest first, strictly older than `before`, at most `limit`. Pure, so the bounds are unit-tested. */
export function pageOf(records: readonly AuditRecord[], limit: number, before?: string): AuditPage {
  const sorted = [...records].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  const older = before === undefined ? sorted : sorted.filter((record) => record.id < before);
  const page = older.slice(0, limit);
  return { records: page, next: older.length > limit ? page.at(-1)!.id : null };
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

  async page(limit: number, before?: string): Promise<AuditPage> {
    const { value: entries } = await this.#kv.list(this.#prefix);
    const records = entries.flatMap((entry): AuditRecord[] => {
      const id = entry.key.slice(this.#prefix.length);
      if (!ID_REGEX.test(id) || entry.value === null) return [];
      try {
        return [{ ...(JSON.parse(entry.value) as AuditRecord), id }];
      } catch {
        // Someone else's key under our prefix: not a record.
        return [];
      }
    });
    return pageOf(records, limit, before);
  }
}
