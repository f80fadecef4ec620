import { beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, KvUnavailableError } from '../../../src/errors.ts';
import { tenantConfigKey } from '../../../src/tenants/desired-tenants.ts';
import { AuditLog } from '../../../src/http/admin/audit.ts';
import { TenantConfigStore } from '../../../src/http/admin/tenant-config-store.ts';
import type { ConsulKvClient, KvClient } from '../../../src/kv/consul-kv-client.ts';
import { kvClientWith, useEmbeddedKv } from '../../helpers/kv.ts';

/**
 * The races the HTTP test cannot time: another write landing between the store's read and its
 * check-and-set, and an audit append that fails after the config was written.
 */
const PREFIX = 'rag/tenants/';
const config = (version: string) => ({ version, data_source: { type: 'fs', path: 'examples/acme-handbook' } });
const logger = { errors: [] as unknown[], error(obj: unknown) { this.errors.push(obj); } };

const embedded = useEmbeddedKv();
let kv: ConsulKvClient;
beforeAll(() => {
  kv = embedded.client;
});

/** A client whose next config PUT is preceded by someone else's write (the race window). */
function racingClient(intruder: () => Promise<void>): KvClient {
  let armed = true;
  return kvClientWith(kv, {
    delete: async (key, options) => {
      if (armed && key.startsWith(PREFIX)) {
        armed = false;
        await intruder();
      }
      return kv.delete(key, options);
    },
    put: async (key, value, options) => {
      if (armed && key.startsWith(PREFIX)) {
        armed = false;
        await intruder();
      }
      return kv.put(key, value, options);
    },
  });
}

const storeOn = (client: KvClient, audit = new AuditLog({ kv: client, prefix: 'rag/audit-store/' })) => new TenantConfigStore({ kv: client, prefix: PREFIX, audit, logger });

describe('TenantConfigStore races', () => {
  it('a write between read and CAS loses with 409 carrying the intruder\'s value', async () => {
    await kv.put(`${PREFIX}race/config`, JSON.stringify(config('v1')));
    const { value } = await kv.get(`${PREFIX}race/config`);
    const store = storeOn(racingClient(async () => void (await kv.put(`${PREFIX}race/config`, JSON.stringify(config('theirs'))))));
    const error = await store.put('race', config('mine'), value!.modifyIndex, 'me').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as ConflictError).details).toEqual({ current: { config: config('theirs'), modify_index: expect.any(Number) } });
    expect(JSON.parse((await kv.get(`${PREFIX}race/config`)).value!.value!)).toEqual(config('theirs'));
  });

  it('a CAS delete loses the same way and deletes nothing', async () => {
    await kv.put(`${PREFIX}race2/config`, JSON.stringify(config('v1')));
    const { value } = await kv.get(`${PREFIX}race2/config`);
    const store = storeOn(racingClient(async () => void (await kv.put(`${PREFIX}race2/config`, JSON.stringify(config('v2'))))));
    await expect(store.delete('race2', value!.modifyIndex, 'me')).rejects.toBeInstanceOf(ConflictError);
    expect((await kv.get(`${PREFIX}race2/config`)).value).toBeDefined();
  });

  it('reindex retries when another write slips in, and bumps on top of it', async () => {
    await kv.put(`${PREFIX}race3/config`, JSON.stringify(config('v1')));
    const store = storeOn(racingClient(async () => void (await kv.put(`${PREFIX}race3/config`, JSON.stringify(config('v7'))))));
    const result = await store.reindex('race3', 'me');
    expect(result).toMatchObject({ old_version: 'v7', version: 'v8' });
    expect(JSON.parse((await kv.get(`${PREFIX}race3/config`)).value!.value!)).toEqual(config('v8'));
  });

  it('reports a failed audit append as a warning: the config is saved and must not be retried', async () => {
    const failingAudit = { append: async () => Promise.reject(new Error('audit KV full')) } as unknown as AuditLog;
    const result = await storeOn(kv, failingAudit).put('audited', config('v1'), 0, 'me');
    expect(result.warnings).toEqual(['the change was saved but its audit record could not be written: audit KV full']);
    expect(result.modify_index).toBeGreaterThan(0);
    expect(logger.errors).toHaveLength(1);
  });

  it('tells text that is not JSON from JSON that is not a config object', async () => {
    const store = storeOn(kv);
    expect(await kv.put(tenantConfigKey(PREFIX, 'raw-text'), 'hello')).toBe(true);
    expect(await kv.put(tenantConfigKey(PREFIX, 'json-string'), '"hello"')).toBe(true);
    expect(await store.get('raw-text')).toMatchObject({ valid: false, config: 'hello', issues: [{ path: '', message: 'not valid JSON' }] });
    const jsonString = await store.get('json-string');
    expect(jsonString).toMatchObject({ valid: false, config: 'hello' });
    expect(jsonString?.issues.map((issue) => issue.message)).not.toContain('not valid JSON');
    expect(jsonString?.issues.length).toBeGreaterThan(0);
  });

  it('keeps the write and its audit record when reading the new index back fails', async () => {
    const audit = new AuditLog({ kv, prefix: 'rag/audit-readback/' });
    let failNextGet = false;
    const flaky = kvClientWith(kv, {
      get: async (key, options) => {
        if (failNextGet && key.endsWith('readback/config')) {
          failNextGet = false;
          throw new KvUnavailableError('Consul KV request failed: connect ECONNRESET');
        }
        return kv.get(key, options);
      },
      put: async (key, value, options) => {
        const ok = await kv.put(key, value, options);
        if (key.endsWith('readback/config')) failNextGet = true;
        return ok;
      },
    });
    const errorsBefore = logger.errors.length;
    const result = await storeOn(flaky, audit).put('readback', config('v1'), 0, 'me');
    expect(result.modify_index).toBeNull();
    expect(result.warnings).toEqual([expect.stringContaining('the change was saved but its new modify_index could not be read')]);
    expect(JSON.parse((await kv.get(tenantConfigKey(PREFIX, 'readback'))).value?.value ?? 'null')).toEqual(config('v1'));
    expect((await audit.page(5)).records).toMatchObject([{ tenant_id: 'readback', action: 'create', who: 'me' }]);
    expect(logger.errors.length).toBe(errorsBefore + 1);
  });

  it('returns a null modify_index when another write already followed the own one', async () => {
    const client = kvClientWith(kv, {
      put: async (key, value, options) => {
        const ok = await kv.put(key, value, options);
        if (key.endsWith('late/config')) await kv.put(key, JSON.stringify(config('later')));
        return ok;
      },
    });
    const result = await storeOn(client).put('late', config('v1'), 0, 'me');
    expect(result.modify_index).toBeNull();
  });
});
