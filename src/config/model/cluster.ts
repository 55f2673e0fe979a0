// Cluster and endpoint configuration model (from envoy.config.cluster.v3.Cluster and
// envoy.config.endpoint.v3.ClusterLoadAssignment): plain data the worker turns into a
// ClusterRuntime with hosts, a load balancer and connection pools.
import type { AddressConfig } from './address';
import type { ApiConfigSourceConfig } from './config-source';
import type { TransportSocketConfig } from './listener';
import type { TransportSocketMatchConfig } from './tls';

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
  /** policy.weighted_priority_health: priority health by host weight, not host count. */
  readonly weightedPriorityHealth?: boolean;
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
  readonly maxConnectionPools?: number;
  readonly trackRemaining: boolean;
  /** retry_budget: retries allowed = max(minRetryConcurrency, budgetPercent% of active+pending
   * requests); replaces maxRetries when set (Envoy defaults 20% and 3). */
  readonly retryBudget?: { readonly budgetPercent: number; readonly minRetryConcurrency: number };
}

/** Load balancer settings from lb_policy + *_lb_config + common_lb_config, or from the typed
 * load_balancing_policy (its first supported policy). Omitted fields take Envoy's defaults. */
export interface LbSettingsConfig {
  /** common_lb_config.healthy_panic_threshold percent (default 50; 0 disables panic). */
  readonly healthyPanicThresholdPct?: number;
  readonly localityWeightedLb: boolean;
  /** zone_aware_lb_config tunables (common_lb_config or the typed policy's locality_lb_config).
   * Zone-aware routing runs whenever bootstrap cluster_manager.local_cluster_name is set and
   * locality-weighted LB is off, with Envoy's defaults when this is absent. */
  readonly zoneAware?: ZoneAwareLbConfig;
  /** common_lb_config.ignore_new_hosts_until_first_hc. */
  readonly ignoreNewHostsUntilFirstHc: boolean;
  /** common_lb_config.update_merge_window (Envoy default 1s; 0 disables merging). */
  readonly updateMergeWindowMs?: number;
  /** common_lb_config.close_connections_on_host_set_change. */
  readonly closeConnectionsOnHostSetChange: boolean;
  readonly choiceCount?: number;
  readonly activeRequestBias?: number;
  readonly leastRequestSelection?: 'N_CHOICES' | 'FULL_SCAN';
  readonly minRingSize?: number;
  readonly maxRingSize?: number;
  readonly maglevTableSize?: number;
  readonly useHostnameForHashing: boolean;
  /** slow_start_config of round_robin_lb_config / least_request_lb_config or of the typed
   * RoundRobin / LeastRequest policy; absent when not configured. */
  readonly slowStart?: SlowStartConfig;
}

/** Cluster.SlowStartConfig with Envoy's defaults applied. */
export interface SlowStartConfig {
  readonly windowMs: number;
  /** aggression.default_value (default 1.0). */
  readonly aggression: number;
  /** min_weight_percent in percent (default 10). */
  readonly minWeightPercent: number;
}

/** ZoneAwareLbConfig with Envoy's defaults applied. */
export interface ZoneAwareLbConfig {
  /** routing_enabled percent, rounded (default 100). */
  readonly routingEnabledPct: number;
  /** min_cluster_size (default 6). */
  readonly minClusterSize: number;
  readonly failTrafficOnPanic: boolean;
  /** LocalityLbConfig.ZoneAwareLbConfig.force_locality_direct_routing (typed policies only;
   * newer than our proto set, so false until the protos are regenerated). */
  readonly forceLocalityDirectRouting: boolean;
}

export type HealthCheckKind = 'HTTP' | 'TCP' | 'GRPC';

/** envoy.config.core.v3.HealthCheck. Payloads are hex strings (binary) so the model stays
 * structured-clone safe and comparable by JSON. */
export interface HealthCheckConfig {
  readonly kind: HealthCheckKind;
  readonly timeoutMs: number;
  readonly intervalMs: number;
  readonly initialJitterMs: number;
  readonly intervalJitterMs: number;
  readonly intervalJitterPercent: number;
  readonly unhealthyThreshold: number;
  readonly healthyThreshold: number;
  readonly noTrafficIntervalMs: number;
  readonly noTrafficHealthyIntervalMs?: number;
  readonly unhealthyIntervalMs?: number;
  readonly unhealthyEdgeIntervalMs?: number;
  readonly healthyEdgeIntervalMs?: number;
  readonly reuseConnection: boolean;
  readonly eventLogPath?: string;
  readonly alwaysLogHealthCheckFailures: boolean;
  readonly alwaysLogHealthCheckSuccess: boolean;
  readonly http?: {
    readonly host: string;
    readonly path: string;
    readonly method: string;
    /** [start, end) ranges; default [[200, 201]]. */
    readonly expectedStatuses: readonly (readonly [number, number])[];
    readonly retriableStatuses: readonly (readonly [number, number])[];
    readonly requestHeadersToAdd: readonly { readonly key: string; readonly value: string; readonly append: boolean }[];
    readonly requestHeadersToRemove: readonly string[];
    readonly http2: boolean;
  };
  readonly tcp?: { readonly sendHex: string; readonly receiveHex: readonly string[] };
  readonly grpc?: { readonly serviceName: string; readonly authority: string; readonly initialMetadata: readonly { readonly key: string; readonly value: string }[] };
}

/** envoy.config.cluster.v3.OutlierDetection with Envoy's defaults applied. */
export interface OutlierDetectionConfig {
  readonly consecutive5xx: number;
  readonly consecutiveGatewayFailure: number;
  readonly consecutiveLocalOriginFailure: number;
  readonly intervalMs: number;
  readonly baseEjectionTimeMs: number;
  readonly maxEjectionTimeMs: number;
  readonly maxEjectionTimeJitterMs: number;
  readonly maxEjectionPercent: number;
  readonly enforcingConsecutive5xx: number;
  readonly enforcingConsecutiveGatewayFailure: number;
  readonly enforcingConsecutiveLocalOriginFailure: number;
  readonly enforcingSuccessRate: number;
  readonly enforcingLocalOriginSuccessRate: number;
  readonly enforcingFailurePercentage: number;
  readonly enforcingFailurePercentageLocalOrigin: number;
  readonly successRateMinimumHosts: number;
  readonly successRateRequestVolume: number;
  readonly successRateStdevFactor: number;
  readonly failurePercentageThreshold: number;
  readonly failurePercentageMinimumHosts: number;
  readonly failurePercentageRequestVolume: number;
  readonly splitExternalLocalOriginErrors: boolean;
  readonly successfulActiveHealthCheckUnejectHost: boolean;
  readonly alwaysEjectOneHost: boolean;
  readonly eventLogPath?: string;
}

/** Cluster.LbSubsetConfig.LbSubsetSelector, translated (keys sorted and unique, as Envoy's std::set). */
export interface LbSubsetSelectorConfig {
  readonly keys: readonly string[];
  readonly singleHostPerSubset: boolean;
  readonly fallbackPolicy: 'NOT_DEFINED' | 'NO_FALLBACK' | 'ANY_ENDPOINT' | 'DEFAULT_SUBSET' | 'KEYS_SUBSET';
  /** KEYS_SUBSET only: a strict subset of `keys`, sorted and unique. */
  readonly fallbackKeysSubset: readonly string[];
}

/** Cluster.lb_subset_config (present only when subset_selectors is non-empty: Envoy's isEnabled). */
export interface LbSubsetConfig {
  readonly fallbackPolicy: 'NO_FALLBACK' | 'ANY_ENDPOINT' | 'DEFAULT_SUBSET';
  /** default_subset as JSON; compared with endpoint metadata under `envoy.lb`. */
  readonly defaultSubset: Readonly<Record<string, unknown>>;
  /** Selectors with at least one key, in config order (Envoy drops key-less ones). */
  readonly subsetSelectors: readonly LbSubsetSelectorConfig[];
  readonly localityWeightAware: boolean;
  readonly scaleLocalityWeight: boolean;
  readonly panicModeAny: boolean;
  readonly listAsAny: boolean;
  readonly metadataFallbackPolicy: 'METADATA_NO_FALLBACK' | 'FALLBACK_LIST';
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
  /** eds_config is an api_config_source (its own EDS stream); unset = ADS. */
  readonly edsApiSource?: ApiConfigSourceConfig;
  readonly dnsLookupFamily: 'AUTO' | 'V4_ONLY' | 'V6_ONLY' | 'V4_PREFERRED' | 'ALL';
  readonly dnsRefreshRateMs: number;
  readonly respectDnsTtl: boolean;
  readonly circuitBreakers: readonly CircuitBreakerThresholdsConfig[];
  readonly transportSocket?: TransportSocketConfig;
  /** transport_socket_matches: per-endpoint transport sockets by endpoint metadata (Istio's tlsMode). */
  readonly transportSocketMatches?: readonly TransportSocketMatchConfig[];
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
  // The fields below are optional so hand-written configs (tests) stay valid; translate always
  // sets lb and healthChecks. Absent means Envoy's defaults / none.
  readonly lb?: LbSettingsConfig;
  readonly healthChecks?: readonly HealthCheckConfig[];
  readonly outlierDetection?: OutlierDetectionConfig;
  /** Cluster.close_connections_on_host_health_failure. */
  readonly closeConnectionsOnHostHealthFailure?: boolean;
  /** Cluster.ignore_health_on_host_removal. */
  readonly ignoreHealthOnHostRemoval?: boolean;
  /** envoy.clusters.aggregate: child clusters in priority order. */
  readonly aggregateClusters?: readonly string[];
  /** lb_subset_config: the subset load balancer wraps the policy above. */
  readonly lbSubset?: LbSubsetConfig;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
export const DEFAULT_DNS_REFRESH_MS = 5000;
