// Parse halves of HTTP filters: real parsers for the filters with a runtime (router, fault,
// cors, local_ratelimit, istio.alpn; create halves in ./factories.ts and engine/http/router.ts), and
// ACCEPTED entries that are recognised but pass-through until their runtime exists.
import { passThroughParsers, T, type Accepted } from '../../accepted';
import type { ExtensionParser } from '../../registry';
import { corsParser } from './cors/config';
import { faultParser } from './fault/config';
import { istioAlpnParser } from './istio-alpn/config';
import { localRateLimitParser } from './local-ratelimit/config';
import { routerParser } from './router/config';

const ACCEPTED: readonly Accepted[] = [
  { category: 'http', names: ['istio.metadata_exchange'], typeUrls: [`${T}io.istio.http.peer_metadata.Config`] },
  { category: 'http', names: ['istio.stats'], typeUrls: [`${T}stats.PluginConfig`] },
  { category: 'http', names: ['envoy.filters.http.grpc_stats'], typeUrls: [`${T}envoy.extensions.filters.http.grpc_stats.v3.FilterConfig`] },
  { category: 'http', names: ['envoy.filters.http.rbac'], typeUrls: [`${T}envoy.extensions.filters.http.rbac.v3.RBAC`] },
  { category: 'http', names: ['envoy.filters.http.ext_authz'], typeUrls: [`${T}envoy.extensions.filters.http.ext_authz.v3.ExtAuthz`] },
  { category: 'http', names: ['envoy.filters.http.wasm'], typeUrls: [`${T}envoy.extensions.filters.http.wasm.v3.Wasm`] },
  { category: 'http', names: ['envoy.filters.http.compressor'], typeUrls: [`${T}envoy.extensions.filters.http.compressor.v3.Compressor`] },
  { category: 'http', names: ['envoy.filters.http.set_filter_state'], typeUrls: [`${T}envoy.extensions.filters.http.set_filter_state.v3.Config`] },
  { category: 'http', names: ['envoy.filters.http.grpc_web'], typeUrls: [`${T}envoy.extensions.filters.http.grpc_web.v3.GrpcWeb`] },
  { category: 'http', names: ['envoy.filters.http.health_check'], typeUrls: [`${T}envoy.extensions.filters.http.health_check.v3.HealthCheck`] },
  { category: 'http', names: ['envoy.filters.http.lua'], typeUrls: [`${T}envoy.extensions.filters.http.lua.v3.Lua`] },
  { category: 'http', names: ['istio.connect_authority'], typeUrls: [`${T}io.istio.http.connect_authority.Config`] },
  { category: 'http', names: ['istio.connect_baggage'], typeUrls: [`${T}io.istio.http.connect_baggage.Config`] },
  { category: 'http', names: ['istio.set_internal_dst_address'], typeUrls: [`${T}istio.set_internal_dst_address.v1.Config`] },
];

export function httpFilterParsers(): ExtensionParser[] {
  return [routerParser, faultParser, corsParser, localRateLimitParser, istioAlpnParser, ...passThroughParsers(ACCEPTED)];
}
