// Extensions this proxy recognises in configuration but whose runtime behaviour is not built yet
// (or, for Istio's telemetry filters, is not on the data path). They parse to an empty config so
// Istio's resources validate and ACK; the engine treats them as pass-through. Each entry names
// the issue that will give it behaviour. Keeping the list explicit means an unknown extension is
// still an error, as in Envoy.
import type { ExtensionCategory, ExtensionParser } from './registry';

export interface Accepted {
  readonly category: ExtensionCategory;
  readonly names: readonly string[];
  readonly typeUrls: readonly string[];
  readonly terminal?: boolean;
}

export const T = 'type.googleapis.com/';

const ACCEPTED: readonly Accepted[] = [
  { category: 'network', names: ['istio.metadata_exchange'], typeUrls: [`${T}envoy.tcp.metadataexchange.config.MetadataExchange`] },
  { category: 'network', names: ['istio.stats'], typeUrls: [`${T}stats.PluginConfig`] },
  { category: 'network', names: ['envoy.filters.network.rbac'], typeUrls: [`${T}envoy.extensions.filters.network.rbac.v3.RBAC`] },
  { category: 'network', names: ['envoy.filters.network.set_filter_state'], typeUrls: [`${T}envoy.extensions.filters.network.set_filter_state.v3.Config`] },
  { category: 'network', names: ['envoy.filters.network.wasm'], typeUrls: [`${T}envoy.extensions.filters.network.wasm.v3.Wasm`] },
  { category: 'network', names: ['istio.network.authn'], typeUrls: [`${T}io.istio.network.authn.Config`] },
  { category: 'network', names: ['envoy.filters.network.connection_limit'], typeUrls: [`${T}envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit`] },
  { category: 'upstream_network', names: ['istio.metadata_exchange'], typeUrls: [`${T}envoy.tcp.metadataexchange.config.MetadataExchange`] },
];

/** Marker config for an accepted-but-pass-through extension. */
export interface PassThroughConfig {
  readonly passThrough: true;
}

/** Parse halves for a list of accepted (pass-through) extensions. */
export function passThroughParsers(list: readonly Accepted[]): ExtensionParser[] {
  return list.map((a) => ({
    category: a.category,
    names: a.names,
    typeUrls: a.typeUrls,
    ...(a.terminal ? { terminal: true } : {}),
    parse: (): PassThroughConfig => ({ passThrough: true }),
  }));
}

/** Network filters istiod places before tcp_proxy / HCM, accepted as pass-through. */
export function acceptedNetworkParsers(): ExtensionParser[] {
  return passThroughParsers(ACCEPTED);
}
