import { afterAll, beforeAll } from 'vitest';
import { ConsulKvClient, type KvClient } from '../../src/kv/consul-kv-client.ts';
import { EmbeddedKvServer } from '../../src/kv/kv-server.ts';

/** An embedded KV server for the test file and a client of it; read `.client` inside tests. */
export function useEmbeddedKv(): { readonly client: ConsulKvClient } {
  let server: EmbeddedKvServer | undefined;
  const handle = { client: undefined as unknown as ConsulKvClient };
  beforeAll(async () => {
    server = await EmbeddedKvServer.start({ port: 0 });
    handle.client = new ConsulKvClient({ address: server.address });
  });
  afterAll(async () => server?.stop());
  return handle;
}

/**
 * A client that forwards every call to `kv` except the ones given: how a test puts a race, a
 * failure or a counter in one place. (Spreading a ConsulKvClient would not copy its methods.)
 */
export function kvClientWith(kv: KvClient, overrides: Partial<KvClient>): KvClient {
  return {
    list: (prefix, options) => kv.list(prefix, options),
    get: (key, options) => kv.get(key, options),
    keys: (prefix, options) => kv.keys(prefix, options),
    put: (key, value, options) => kv.put(key, value, options),
    delete: (key, options) => kv.delete(key, options),
    ...overrides,
  };
}
