import { hostname } from 'node:os';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { RolloutResponse } from '../schemas/admin.ts';
import { discoverPeers, type PeerSpec, type Resolver } from './peers.ts';
import { fetchPodReport, mergeRollout, type PodReport } from './rollout.ts';

export interface RolloutRouteOptions {
  readonly peers: readonly PeerSpec[];
  /** This pod's listening port: the default port of DNS-discovered peers. */
  readonly selfPort: () => number;
  readonly peerTimeoutMs?: number;
  readonly resolver?: Resolver;
  /**
   * Show the peers the caller's `Authorization` header: true in AUTH_MODE=jwt, where the peers'
   * `GET /tenants` needs the `admin` scope. In none mode that endpoint is open, so the shared
   * ADMIN_TOKEN stays on this pod.
   */
  readonly forwardAuthorization: boolean;
}

export const rolloutRoutes: FastifyPluginAsyncTypebox<RolloutRouteOptions> = async (app, options) => {
  const timeoutMs = options.peerTimeoutMs ?? 1_500;
  app.get('/rollout', { schema: { response: { 200: RolloutResponse } } }, async (request) => {
    let reports: PodReport[];
    if (options.peers.length === 0) {
      // No peers configured: this pod alone, read in process rather than over HTTP.
      reports = [{ pod: hostname(), url: null, reachable: true, tenants: app.ragswap.tenantIndexes.statuses() }];
    } else {
      const peers = await discoverPeers(options.peers, options.selfPort(), options.resolver);
      const authorization = options.forwardAuthorization ? request.headers.authorization : undefined;
      reports = await Promise.all(peers.map((peer) => fetchPodReport(peer, timeoutMs, fetch, authorization)));
    }
    return mergeRollout(reports);
  });
};
