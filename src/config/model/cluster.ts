// Cluster and endpoint configuration model (from envoy.config.cluster.v3.Cluster and
// envoy.config.endpoint.v3.ClusterLoadAssignment): plain data the worker turns into a
// ClusterRuntime with hosts, a load balancer and connection pools.
import type { AddressConfig } from './address';
import type { TransportSocketConfig } from './listener';

export type HealthStatus = 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TIMEOUT' | 'DEGRADED';

export interface LbEndpointConfig {
  readonly address: AddressConfig;
  readonly hostname: string;
  readonly healthStatus: HealthStatus;
  readonly loadBalancingWeight: number;
  /** filter_metadata as JSON (namespace -> object). */
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly healthCheckPort?: number;
}

export interface LocalityConfig {
  readonly region: string;
  readonly zone: string;
  readonly subZone: string;
}

export interface LocalityLbEndpointsConfig {
  readonly locality: LocalityConfig;
  readonly priority: number;
  readonly loadBalancingWeight?: number;
  readonly endpoints: readonly LbEndpointConfig[];
}

/** A ClusterLoadAssignment, translated. */
export interface EndpointSetConfig {
  readonly clusterName: string;
  readonly localities: readonly LocalityLbEndpointsConfig[];
  readonly overprovisioningFactor: number;
  readonly dropOverloads: readonly { readonly category: string; readonly ppm: number }[];
}

export type ClusterDiscoveryType = 'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS' | 'EDS' | 'ORIGINAL_DST' | 'AGGREGATE';

export type LbPolicy = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RING_HASH' | 'RANDOM' | 'MAGLEV' | 'CLUSTER_PROVIDED' | 'LOAD_BALANCING_POLICY_CONFIG';

export interface CircuitBreakerThresholdsConfig {
  readonly priority: 'DEFAULT' | 'HIGH';
  readonly maxConnections: number;
  readonly maxPendingRequests: number;
  readonly maxRequests: number;
  readonly maxRetries: number;
  readonly trackRemaining: boolean;
}

export interface ClusterConfig {
  readonly name: string;
  /** Name used in stats (alt_stat_name when set, else name). */
  readonly statName: string;
  readonly type: ClusterDiscoveryType;
  readonly lbPolicy: LbPolicy;
  readonly connectTimeoutMs: number;
  readonly perConnectionBufferLimitBytes: number;
  /** Endpoints for STATIC/DNS clusters (from load_assignment); EDS endpoints arrive separately. */
  readonly loadAssignment?: EndpointSetConfig;
  readonly edsServiceName?: string;
  readonly dnsLookupFamily: 'AUTO' | 'V4_ONLY' | 'V6_ONLY' | 'V4_PREFERRED' | 'ALL';
  readonly dnsRefreshRateMs: number;
  readonly respectDnsTtl: boolean;
  readonly circuitBreakers: readonly CircuitBreakerThresholdsConfig[];
  readonly transportSocket?: TransportSocketConfig;
  /** upstream_bind_config.source_address (Istio binds inbound clusters to 127.0.0.6). */
  readonly upstreamBindAddress?: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  /** HTTP/2 towards this cluster (http2_protocol_options or HttpProtocolOptions explicit http2). */
  readonly upstreamHttpProtocol: 'HTTP1' | 'HTTP2' | 'USE_DOWNSTREAM' | 'AUTO';
  readonly maxRequestsPerConnection?: number;
  readonly tcpKeepalive?: { readonly probes?: number; readonly timeS?: number; readonly intervalS?: number };
  /** ORIGINAL_DST options. */
  readonly originalDst?: { readonly useHttpHeader: boolean; readonly httpHeaderName: string; readonly upstreamPortOverride?: number };
  readonly cleanupIntervalMs: number;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
export const DEFAULT_DNS_REFRESH_MS = 5000;
