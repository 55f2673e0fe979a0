// ConfigSnapshot: one consistent, immutable set of listeners, clusters and endpoints that the
// control side publishes to workers. Plain data: it crosses to worker processes by IPC
// (structured clone / JSON), never as protobuf objects.
import type { ClusterConfig, EndpointSetConfig } from './cluster';
import type { ListenerConfig } from './listener';

export interface ConfigSnapshot {
  /** Monotonic per control side; workers acknowledge it. */
  readonly generation: number;
  readonly listeners: readonly ListenerConfig[];
  readonly clusters: readonly ClusterConfig[];
  /** EDS assignments by service name. */
  readonly endpoints: Readonly<Record<string, EndpointSetConfig>>;
  /** xDS version per type URL short name (lds, cds, ...) this snapshot was built from. */
  readonly versions: Readonly<Record<string, string>>;
}
