// Extensions this proxy recognises in configuration but whose runtime behaviour is not built yet
// (or, for Istio's telemetry filters, is not on the data path). They parse to an empty config so
// Istio's resources validate and ACK; the engine treats them as pass-through. Each entry names
// the issue that will give it behaviour. Keeping the list explicit means an unknown extension is
// still an error, as in Envoy.
import type { ExtensionCategory, ExtensionParser } from './registry';

interface Accepted {
  readonly category: ExtensionCategory;
  readonly names: readonly string[];
  readonly typeUrls: readonly string[];
  readonly terminal?: boolean;
}

const T = 'type.googleapis.com/';

const ACCEPTED: readonly Accepted[] = [
  // Listener filters (TLS and interception issues).
  { category: 'listener', names: ['envoy.filters.listener.original_dst', 'envoy.listener.original_dst'], typeUrls: [`${T}envoy.extensions.filters.listener.original_dst.v3.OriginalDst`] },
  { category: 'listener', names: ['envoy.filters.listener.original_src', 'envoy.listener.original_src'], typeUrls: [`${T}envoy.extensions.filters.listener.original_src.v3.OriginalSrc`] },
  { category: 'listener', names: ['envoy.filters.listener.tls_inspector', 'envoy.listener.tls_inspector'], typeUrls: [`${T}envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector`] },
  { category: 'listener', names: ['envoy.filters.listener.http_inspector', 'envoy.listener.http_inspector'], typeUrls: [`${T}envoy.extensions.filters.listener.http_inspector.v3.HttpInspector`] },
  { category: 'listener', names: ['envoy.filters.listener.proxy_protocol', 'envoy.listener.proxy_protocol'], typeUrls: [`${T}envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol`] },
  // Network filters istiod puts before tcp_proxy / HCM.
  { category: 'network', names: ['istio.metadata_exchange'], typeUrls: [`${T}envoy.tcp.metadataexchange.config.MetadataExchange`] },
  { category: 'network', names: ['istio.stats'], typeUrls: [`${T}stats.PluginConfig`] },
  { category: 'network', names: ['envoy.filters.network.rbac'], typeUrls: [`${T}envoy.extensions.filters.network.rbac.v3.RBAC`] },
  { category: 'network', names: ['envoy.filters.network.set_filter_state'], typeUrls: [`${T}envoy.extensions.filters.network.set_filter_state.v3.Config`] },
  { category: 'network', names: ['envoy.filters.network.wasm'], typeUrls: [`${T}envoy.extensions.filters.network.wasm.v3.Wasm`] },
  { category: 'network', names: ['istio.network.authn'], typeUrls: [`${T}io.istio.network.authn.Config`] },
  { category: 'network', names: ['envoy.filters.network.connection_limit'], typeUrls: [`${T}envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit`] },
  // Upstream (cluster) network filters.
  { category: 'upstream_network', names: ['istio.metadata_exchange'], typeUrls: [`${T}envoy.tcp.metadataexchange.config.MetadataExchange`] },
  // HTTP filters (HTTP issue).
  { category: 'http', names: ['envoy.filters.http.router'], typeUrls: [`${T}envoy.extensions.filters.http.router.v3.Router`], terminal: true },
  { category: 'http', names: ['istio.metadata_exchange'], typeUrls: [`${T}io.istio.http.peer_metadata.Config`] },
  { category: 'http', names: ['istio.alpn'], typeUrls: [`${T}istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig`] },
  { category: 'http', names: ['istio.stats'], typeUrls: [`${T}stats.PluginConfig`] },
  { category: 'http', names: ['envoy.filters.http.cors'], typeUrls: [`${T}envoy.extensions.filters.http.cors.v3.Cors`] },
  { category: 'http', names: ['envoy.filters.http.fault'], typeUrls: [`${T}envoy.extensions.filters.http.fault.v3.HTTPFault`] },
  { category: 'http', names: ['envoy.filters.http.grpc_stats'], typeUrls: [`${T}envoy.extensions.filters.http.grpc_stats.v3.FilterConfig`] },
  { category: 'http', names: ['envoy.filters.http.rbac'], typeUrls: [`${T}envoy.extensions.filters.http.rbac.v3.RBAC`] },
  { category: 'http', names: ['envoy.filters.http.ext_authz'], typeUrls: [`${T}envoy.extensions.filters.http.ext_authz.v3.ExtAuthz`] },
  { category: 'http', names: ['envoy.filters.http.wasm'], typeUrls: [`${T}envoy.extensions.filters.http.wasm.v3.Wasm`] },
  { category: 'http', names: ['envoy.filters.http.compressor'], typeUrls: [`${T}envoy.extensions.filters.http.compressor.v3.Compressor`] },
  { category: 'http', names: ['envoy.filters.http.local_ratelimit'], typeUrls: [`${T}envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit`] },
  { category: 'http', names: ['envoy.filters.http.set_filter_state'], typeUrls: [`${T}envoy.extensions.filters.http.set_filter_state.v3.Config`] },
  { category: 'http', names: ['envoy.filters.http.grpc_web'], typeUrls: [`${T}envoy.extensions.filters.http.grpc_web.v3.GrpcWeb`] },
  { category: 'http', names: ['envoy.filters.http.health_check'], typeUrls: [`${T}envoy.extensions.filters.http.health_check.v3.HealthCheck`] },
  { category: 'http', names: ['envoy.filters.http.lua'], typeUrls: [`${T}envoy.extensions.filters.http.lua.v3.Lua`] },
  { category: 'http', names: ['istio.connect_authority'], typeUrls: [`${T}io.istio.http.connect_authority.Config`] },
  { category: 'http', names: ['istio.connect_baggage'], typeUrls: [`${T}io.istio.http.connect_baggage.Config`] },
  { category: 'http', names: ['istio.set_internal_dst_address'], typeUrls: [`${T}istio.set_internal_dst_address.v1.Config`] },
  // Transport sockets (TLS issue).
  { category: 'transport_socket', names: ['envoy.transport_sockets.raw_buffer', 'raw_buffer'], typeUrls: [`${T}envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer`] },
  { category: 'transport_socket', names: ['envoy.transport_sockets.tls', 'tls'], typeUrls: [`${T}envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext`, `${T}envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext`] },
  { category: 'transport_socket', names: ['envoy.transport_sockets.internal_upstream'], typeUrls: [`${T}envoy.extensions.transport_sockets.internal_upstream.v3.InternalUpstreamTransport`] },
  // Access loggers (HTTP issue gives them behaviour).
  { category: 'access_logger', names: ['envoy.access_loggers.file', 'envoy.file_access_log'], typeUrls: [`${T}envoy.extensions.access_loggers.file.v3.FileAccessLog`] },
  { category: 'access_logger', names: ['envoy.access_loggers.stdout'], typeUrls: [`${T}envoy.extensions.access_loggers.stream.v3.StdoutAccessLog`] },
  { category: 'access_logger', names: ['envoy.access_loggers.stderr'], typeUrls: [`${T}envoy.extensions.access_loggers.stream.v3.StderrAccessLog`] },
  { category: 'access_logger', names: ['envoy.access_loggers.http_grpc'], typeUrls: [`${T}envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig`] },
  { category: 'access_logger', names: ['envoy.access_loggers.tcp_grpc'], typeUrls: [`${T}envoy.extensions.access_loggers.grpc.v3.TcpGrpcAccessLogConfig`] },
];

/** Marker config for an accepted-but-pass-through extension. */
export interface PassThroughConfig {
  readonly passThrough: true;
}

export function acceptedParsers(): ExtensionParser[] {
  return ACCEPTED.map((a) => ({
    category: a.category,
    names: a.names,
    typeUrls: a.typeUrls,
    ...(a.terminal ? { terminal: true } : {}),
    parse: (): PassThroughConfig => ({ passThrough: true }),
  }));
}
