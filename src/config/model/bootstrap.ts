// Bootstrap configuration model: what the control side needs from envoy-rev.json after
// translation. Static listeners/clusters use the same model as xDS resources.
import type { AddressConfig } from './address';
import type { ClusterConfig, LocalityConfig } from './cluster';
import type { ApiConfigSourceConfig, GrpcServiceTarget } from './config-source';
import type { ListenerConfig } from './listener';
import type { StatsConfig } from './stats';
import type { SecretConfig } from './secret';
import type { TracingProviderConfig } from '../../tracing/tracing-config';

export interface NodeConfig {
  readonly id: string;
  readonly cluster: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly locality: LocalityConfig;
}

export type ConfigSourceConfig =
  | { readonly kind: 'ads'; readonly initialFetchTimeoutMs: number }
  | { readonly kind: 'api'; readonly api: ApiConfigSourceConfig; readonly initialFetchTimeoutMs: number }
  | { readonly kind: 'path'; readonly path: string; readonly watchedDirectory?: string; readonly initialFetchTimeoutMs: number };

export interface AdsConfig {
  readonly apiType: 'GRPC' | 'DELTA_GRPC';
  /** envoy_grpc cluster names (a static cluster each) or google_grpc target URIs. */
  readonly targets: readonly GrpcServiceTarget[];
  readonly setNodeOnFirstMessageOnly: boolean;
}

export interface DynamicResourcesConfig {
  readonly ads?: AdsConfig;
  readonly lds?: ConfigSourceConfig;
  readonly cds?: ConfigSourceConfig;
}

export interface BootstrapConfig {
  readonly node: NodeConfig;
  readonly admin?: { readonly address: AddressConfig; readonly accessLogPaths: readonly string[] };
  readonly staticListeners: readonly ListenerConfig[];
  readonly staticClusters: readonly ClusterConfig[];
  /** static_resources.secrets (TLS certificates and validation contexts named by SDS configs). */
  readonly staticSecrets: readonly SecretConfig[];
  readonly dynamicResources: DynamicResourcesConfig;
  /** Flattened static runtime layers (later layers win). */
  readonly runtime: Readonly<Record<string, string | number | boolean>>;
  readonly statsFlushIntervalMs: number;
  /** stats_config: tag extraction, stats matcher, histogram buckets. */
  readonly stats: StatsConfig;
  /** cluster_manager.local_cluster_name: the cluster of this proxy's own service (zone-aware
   * routing compares its spread over localities with each upstream's). */
  readonly localClusterName?: string;
  /** tracing.http: the server-wide tracer an HCM with `tracing {}` and no provider uses. */
  readonly tracingProvider?: TracingProviderConfig;
}
