// Per-request upstream ALPN override (Envoy's Network::ApplicationProtocols filter state, set by
// Istio's istio.alpn filter): an HTTP filter records the list for its stream, the HTTP pools read
// it when they need a connection and pass it to ClusterRuntime.connect -> wrapUpstreamTls. As in
// Envoy, connections opened with different ALPN lists are never shared (the pools key their
// connections by alpnKey()).
//
// The pools see a request as its UpstreamAttempt, which is the stream's terminal filter (the
// router), so the override is keyed by that object; a WeakMap keeps it off the request path's
// allocations and lets it go with the stream.
// TODO(hcm): a setUpstreamAlpn on HttpStreamCallbacks and an argument to the pools' acquire()
// would make this explicit (filter-api.ts / router.ts are owned elsewhere).
import type { TransparentSource } from '../../../platform/original-dst';
import type { HttpStreamCallbacks } from '../filter-api';

const overrides = new WeakMap<object, readonly string[]>();

/** Records `alpn` as the upstream ALPN list of the stream `s` (before the router runs). */
export function setUpstreamAlpn(s: HttpStreamCallbacks, alpn: readonly string[]): void {
  const filters = (s as unknown as { filters?: readonly object[] }).filters;
  const terminal = filters !== undefined && filters.length > 0 ? filters[filters.length - 1] : undefined;
  if (terminal !== undefined) overrides.set(terminal, alpn);
}

/** The ALPN override of the request behind `attempt`, if a filter set one. */
export function upstreamAlpnOf(attempt: object): readonly string[] | undefined {
  return overrides.get(attempt);
}

const keys = new WeakMap<readonly string[], string>();

/** A pool key for an ALPN list ('' for none); computed once per (config-time) list. */
export function alpnKey(alpn: readonly string[] | undefined): string {
  if (alpn === undefined) return '';
  let k = keys.get(alpn);
  if (k === undefined) {
    k = alpn.join(',');
    keys.set(alpn, k);
  }
  return k;
}

/**
 * The key under which a pool shares connections: the ALPN override's key, plus the downstream
 * client's address and mark under original_src (TPROXY), since such a connection is bound to
 * that client's address and can carry only its requests (Envoy hashes both into the pool key).
 */
export function upstreamPoolKey(alpn: string, source: TransparentSource | undefined): string {
  return source === undefined ? alpn : `${alpn}|${source.address}|${source.mark}`;
}
