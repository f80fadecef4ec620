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
}

export const rolloutRoutes: FastifyPluginAsyncTypebox<RolloutRouteOptions> = async (app, options) => {
  const timeoutMs = options.peerTimeoutMs ?? 1_500;
  app.get('/rollout', { schema: { response: { 200: RolloutResponse } } }, async () => {
    let reports: PodReport[];
    if (options.peers.length === 0) {
      // No peers configured: this pod alone, read in process rather than over HTTP.
      reports = [{ pod: hostname(), url: null, reachable: true, tenants: app.ragswap.tenantIndexes.statuses() }];
    } else {
      const peers = await discoverPeers(options.peers, options.selfPort(), options.resolver);
      reports = await Promise.all(peers.map((peer) => fetchPodReport(peer, timeoutMs)));
    }
    return mergeRollout(reports);
  });
};
