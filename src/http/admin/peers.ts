import { resolve4, resolve6 } from 'node:dns/promises';

/**
 * Where the rollout view finds the other pods (`RAGSWAP_PEERS`). Each comma-separated entry is
 * either a base URL (`http://pod-a:8080`, has a scheme) or a DNS name (`ragswap-headless` or
 * `ragswap-headless.ns.svc:8080`, no scheme) that resolves to every pod IP, as a Kubernetes headless
 * Service does. DNS names are resolved on every rollout request, so pods that come and go are seen.
 */
export type PeerSpec =
  | { readonly kind: 'url'; readonly url: string }
  | { readonly kind: 'dns'; readonly hostname: string; readonly port: number | undefined };

export interface Peer {
  /** How the pod is named in the rollout view: its base URL. */
  readonly name: string;
  readonly url: string;
  /** Set when the peer could not even be found (DNS failure); it is shown, never hidden. */
  readonly error?: string;
}

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** Parses `RAGSWAP_PEERS`; throws an Error naming the bad entry (readSettings turns it into a SettingsError). */
export function parsePeerList(text: string | undefined): PeerSpec[] {
  const entries = (text ?? '').split(',').map((entry) => entry.trim()).filter(Boolean);
  return entries.map((entry): PeerSpec => {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(entry)) {
      let url: URL;
      try {
        url = new URL(entry);
      } catch {
        throw new Error(`RAGSWAP_PEERS: '${entry}' is not a valid URL`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`RAGSWAP_PEERS: '${entry}' must use http or https`);
      if (url.search || url.hash || url.username || url.password) throw new Error(`RAGSWAP_PEERS: '${entry}' must be a plain base URL`);
      return { kind: 'url', url: `${url.origin}${url.pathname.replace(/\/+$/, '')}` };
    }
    const match = /^([^:]+)(?::(\d{1,5}))?$/.exec(entry);
    const port = match?.[2] === undefined ? undefined : Number(match[2]);
    if (!match || !HOSTNAME.test(match[1]!) || (port !== undefined && (port < 1 || port > 65_535))) {
      throw new Error(`RAGSWAP_PEERS: '${entry}' is neither a base URL (http://host:port) nor a DNS name (host or host:port)`);
    }
    return { kind: 'dns', hostname: match[1]!.toLowerCase(), port };
  });
}

export interface Resolver {
  resolve4(hostname: string): Promise<string[]>;
  resolve6(hostname: string): Promise<string[]>;
}

const systemResolver: Resolver = { resolve4, resolve6 };

/**
 * Turns specs into the peers to ask. `selfPort` is this pod's listening port, the default for DNS
 * names (every pod of a Deployment listens on the same port). A name that resolves to nothing is
 * returned as a peer with an error so the view says so instead of silently showing fewer pods.
 */
export async function discoverPeers(specs: readonly PeerSpec[], selfPort: number, resolver: Resolver = systemResolver): Promise<Peer[]> {
  const groups = await Promise.all(
    specs.map(async (spec): Promise<Peer[]> => {
      if (spec.kind === 'url') return [{ name: spec.url, url: spec.url }];
      const port = spec.port ?? selfPort;
      // A headless Service may be IPv4-only, IPv6-only or dual-stack: ask for both, keep what answers.
      const [v4, v6] = await Promise.allSettled([resolver.resolve4(spec.hostname), resolver.resolve6(spec.hostname)]);
      const addresses = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value.map((ip) => `[${ip}]`) : [])];
      if (addresses.length === 0) {
        const reason = v4.status === 'rejected' ? (v4.reason as Error).message : 'no addresses';
        return [{ name: `${spec.hostname}:${port}`, url: `http://${spec.hostname}:${port}`, error: `DNS lookup failed: ${reason}` }];
      }
      return addresses.sort().map((address) => ({ name: `http://${address}:${port}`, url: `http://${address}:${port}` }));
    }),
  );
  // The same pod listed twice (a URL and the DNS name) is asked once.
  const seen = new Set<string>();
  return groups.flat().filter((peer) => !seen.has(peer.url) && !!seen.add(peer.url));
}
