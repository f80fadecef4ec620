import { beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, type AuditInput } from '../../../src/http/admin/audit.ts';
import type { ConsulKvClient } from '../../../src/kv/consul-kv-client.ts';
import { kvClientWith, useEmbeddedKv } from '../../helpers/kv.ts';

const PREFIX = 'rag/audit/';
const embedded = useEmbeddedKv();
let kv: ConsulKvClient;
beforeAll(() => {
  kv = embedded.client;
});

/** Counts the values read, so a test can see how much of the log one page costs. */
function countingClient() {
  const counts = { gets: 0, lists: 0 };
  const client = kvClientWith(kv, {
    list: (prefix, options) => {
      counts.lists += 1;
      return kv.list(prefix, options);
    },
    get: (key, options) => {
      counts.gets += 1;
      return kv.get(key, options);
    },
  });
  return { client, counts };
}

const input = (version: number): AuditInput => ({
  who: 'alice',
  action: 'reindex',
  tenant_id: 'shop',
  old_version: `v${version - 1}`,
  new_version: `v${version}`,
  // A big config, like one with an inline logo: reading every record per page would be costly.
  old_config: { version: `v${version - 1}`, theme: { logo_url: `data:image/png;base64,${'A'.repeat(20_000)}` } },
  new_config: { version: `v${version}` },
});

describe('AuditLog', () => {
  it('pages newest first through a long log, reading only the records on each page', async () => {
    let ms = Date.parse('2026-12-01T10:00:00Z');
    const { client, counts } = countingClient();
    const audit = new AuditLog({ kv: client, prefix: PREFIX, now: () => new Date((ms += 1_000)) });
    for (let version = 1; version <= 45; version += 1) await audit.append(input(version));

    const seen: string[] = [];
    let before: string | undefined;
    let pages = 0;
    do {
      counts.gets = 0;
      const page = await audit.page(20, before);
      expect(counts.gets).toBeLessThanOrEqual(20);
      seen.push(...page.records.map((record) => record.new_version ?? ''));
      before = page.next ?? undefined;
      pages += 1;
    } while (before);
    expect(pages).toBe(3);
    expect(counts.lists).toBe(0);
    expect(seen).toEqual(Array.from({ length: 45 }, (_, index) => `v${45 - index}`));
  });

  it('skips keys under the prefix that are not records, and still fills the page', async () => {
    const prefix = 'rag/audit-foreign/';
    let ms = Date.parse('2026-12-01T11:00:00Z');
    const audit = new AuditLog({ kv, prefix, now: () => new Date((ms += 1_000)) });
    for (let version = 1; version <= 3; version += 1) await audit.append(input(version));
    // Written by hand between the records: valid JSON of another shape, text, and a non-record key name.
    expect(await kv.put(`${prefix}${String(ms + 1).padStart(15, '0')}-deadbeef`, '{"x":1}')).toBe(true);
    expect(await kv.put(`${prefix}${String(ms + 2).padStart(15, '0')}-cafebabe`, 'not json')).toBe(true);
    expect(await kv.put(`${prefix}README`, 'notes')).toBe(true);
    const first = await audit.page(2);
    expect(first.records.map((record) => record.new_version)).toEqual(['v3', 'v2']);
    const second = await audit.page(2, first.next!);
    expect(second).toMatchObject({ records: [{ new_version: 'v1' }], next: null });
  });
});
