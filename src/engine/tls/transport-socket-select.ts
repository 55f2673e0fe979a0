// Cluster transport_socket_matches on the worker: picks the transport socket for one endpoint
// from its filter_metadata["envoy.transport_socket_match"] (Istio's auto-mTLS: endpoints of
// injected pods carry {tlsMode: "istio"} and get the mTLS socket; others fall to the empty
// `tlsMode-disabled` match, i.e. plaintext). Envoy takes the first entry whose match keys are
// all present with equal values; with no entry matching, the cluster's transport_socket.
// The cluster runtime calls this once per host when it builds its host set (not per request).
import type { TransportSocketConfig } from '../../config/model/listener';
import { TRANSPORT_SOCKET_MATCH_NAMESPACE, type TransportSocketMatchConfig } from '../../config/model/tls';

function equalJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (!equalJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  return true;
}

/**
 * The transport socket for an endpoint. `endpointMetadata` is the endpoint's filter_metadata
 * (namespace -> object), as in LbEndpointConfig.metadata. Returns undefined for raw buffers.
 */
export function selectTransportSocket(
  matches: readonly TransportSocketMatchConfig[] | undefined,
  clusterDefault: TransportSocketConfig | undefined,
  endpointMetadata: Readonly<Record<string, unknown>> | undefined,
): TransportSocketConfig | undefined {
  if (!matches || matches.length === 0) return clusterDefault;
  const md = (endpointMetadata?.[TRANSPORT_SOCKET_MATCH_NAMESPACE] ?? {}) as Record<string, unknown>;
  for (const m of matches) {
    let ok = true;
    for (const k of Object.keys(m.match)) {
      if (!(k in md) || !equalJson(md[k], m.match[k])) {
        ok = false;
        break;
      }
    }
    if (ok) return m.transportSocket;
  }
  return clusterDefault;
}
