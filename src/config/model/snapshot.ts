// ConfigSnapshot: one consistent, immutable set of listeners, route configurations, clusters,
// endpoints and secrets that the control side publishes to workers. Plain data: it crosses to
// worker processes by IPC (structured clone), never as protobuf objects.
import type { ClusterConfig, EndpointSetConfig } from './cluster';
import type { ListenerConfig } from './listener';
import type { RouteConfigurationConfig } from './route';
import type { SecretConfig } from './secret';

export interface ConfigSnapshot {
  /** Monotonic per control side; workers acknowledge it. */
  readonly generation: number;
  readonly listeners: readonly ListenerConfig[];
  /** RDS route configurations by name (inline HCM route configs travel inside their listener). */
  readonly routeConfigs: readonly RouteConfigurationConfig[];
  readonly clusters: readonly ClusterConfig[];
  /** EDS assignments by service name. */
  readonly endpoints: Readonly<Record<string, EndpointSetConfig>>;
  /** SDS secrets by name (static and dynamic). */
  readonly secrets: readonly SecretConfig[];
  /** xDS version per type short name (lds, cds, ...) this snapshot was built from. */
  readonly versions: Readonly<Record<string, string>>;
}
