// Create half of Istio's istio.alpn HTTP filter (istio/proxy
// source/extensions/filters/http/alpn/alpn_filter.cc): on request headers, find the routed
// cluster, work out the HTTP protocol it will be spoken upstream (the cluster's protocol
// options applied to the downstream protocol, as Envoy's ClusterInfo::upstreamHttpProtocol)
// and record that protocol's configured ALPN list as the stream's upstream ALPN override
// (engine/http/upstream/upstream-alpn.ts), which the pools hand to the upstream TLS handshake.
// Clusters with metadata istio.alpn_override "false" (user-provided TLS, where the server does
// not know Istio's ALPN values) keep their own alpn_protocols.
import type { ClusterConfig } from '../../../../config/model/cluster';
import type { ActiveStream } from '../../../../engine/http/active-stream';
import { CONTINUE, type FilterStatus, type HttpFilter, type HttpFilterFactory, type HttpStreamCallbacks } from '../../../../engine/http/filter-api';
import { setUpstreamAlpn } from '../../../../engine/http/upstream/upstream-alpn';
import type { IstioAlpnConfig } from './config';

/** Cluster configs that opted out through istio.alpn_override: "false" (computed once per config). */
const optOut = new WeakMap<ClusterConfig, boolean>();

function skips(c: ClusterConfig): boolean {
  let v = optOut.get(c);
  if (v === undefined) {
    const istio = c.metadata.istio as Record<string, unknown> | undefined;
    v = istio !== undefined && istio !== null && String(istio.alpn_override) === 'false';
    optOut.set(c, v);
  }
  return v;
}

/** The ALPN list for a request with downstream `protocol` to `cluster`, or undefined. */
export function alpnFor(config: IstioAlpnConfig, cluster: ClusterConfig, protocol: string): readonly string[] | undefined {
  if (skips(cluster)) return undefined;
  let list: readonly string[];
  const p = cluster.upstreamHttpProtocol;
  if (p === 'HTTP2') list = config.http2;
  else if (p === 'USE_DOWNSTREAM') list = protocol === 'HTTP/2' ? config.http2 : protocol === 'HTTP/1.0' ? config.http10 : config.http11;
  // HTTP1 and AUTO: our pools speak HTTP/1.1 for AUTO, so offer the HTTP/1.1 list (Envoy would
  // prefer h2 there; offering istio-h2 while speaking HTTP/1.1 would break the connection).
  else list = config.http11;
  return list.length > 0 ? list : undefined;
}

export class IstioAlpnFilterFactory implements HttpFilterFactory, HttpFilter {
  readonly name = 'istio.alpn';

  constructor(readonly config: IstioAlpnConfig) {}

  // Stateless per stream: the factory is its own filter instance (no allocation per request).
  create(): HttpFilter {
    return this;
  }

  decodeHeaders(s: HttpStreamCallbacks, _endStream: boolean): FilterStatus {
    const route = s.route;
    if (route === null || route.cluster === '') return CONTINUE;
    const cluster = s.runtime.clusters.get(route.cluster);
    if (cluster === undefined) return CONTINUE;
    const alpn = alpnFor(this.config, cluster.config, (s as ActiveStream).protocol);
    if (alpn !== undefined) setUpstreamAlpn(s, alpn);
    return CONTINUE;
  }
}
