// Where a type's xDS resources come from (envoy.config.core.v3.ConfigSource), as the control
// side needs it: the ADS stream, a stream of its own to an api_config_source (one gRPC service:
// a static cluster or a google_grpc target), or a file. Used by the bootstrap's lds/cds_config,
// an HCM's rds.config_source and a cluster's eds_cluster_config.eds_config.

/** One grpc_services entry: envoy_grpc names a static cluster, google_grpc a target URI. */
export type GrpcServiceTarget = { readonly kind: 'envoy_grpc'; readonly clusterName: string } | { readonly kind: 'google_grpc'; readonly targetUri: string };

/** ApiConfigSource with a gRPC api_type: the stream a non-ADS subscription opens. */
export interface ApiConfigSourceConfig {
  readonly apiType: 'GRPC' | 'DELTA_GRPC';
  readonly target: GrpcServiceTarget;
  readonly setNodeOnFirstMessageOnly: boolean;
}

/** A per-resource config source (rds.config_source, eds_config): only where it streams from. */
export type XdsSourceRef = { readonly kind: 'ads' } | { readonly kind: 'api'; readonly api: ApiConfigSourceConfig };

/**
 * The identity of an api_config_source stream: one stream per distinct (api type, node flag,
 * gRPC service) and resource type. Parsed back by parseApiSourceKey.
 */
export function apiSourceKey(a: ApiConfigSourceConfig): string {
  const t = a.target.kind === 'envoy_grpc' ? `envoy_grpc|${a.target.clusterName}` : `google_grpc|${a.target.targetUri}`;
  return `${a.apiType}|${a.setNodeOnFirstMessageOnly ? 1 : 0}|${t}`;
}

export function parseApiSourceKey(key: string): ApiConfigSourceConfig | undefined {
  const m = /^(GRPC|DELTA_GRPC)\|([01])\|(envoy_grpc|google_grpc)\|(.*)$/s.exec(key);
  if (!m) return undefined;
  const target: GrpcServiceTarget = m[3] === 'envoy_grpc' ? { kind: 'envoy_grpc', clusterName: m[4]! } : { kind: 'google_grpc', targetUri: m[4]! };
  return { apiType: m[1] as 'GRPC' | 'DELTA_GRPC', setNodeOnFirstMessageOnly: m[2] === '1', target };
}
