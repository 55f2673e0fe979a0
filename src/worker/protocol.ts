// Messages between the control side (node:cluster primary) and worker processes. Plain data
// only: snapshots and stats snapshots are structured-clone safe.
import type { EndpointSetConfig } from '../config/model/cluster';
import type { StatsSnapshot } from '../stats/snapshot';
import type { StatsConfig } from '../config/model/stats';
import type { TracingEnvironment } from '../tracing/tracing-environment';
import type { WorkerClusterStatus } from './cluster-status';
import type { LocalClusterSettings } from '../engine/upstream/cluster-manager';
import type { BoundListener } from './worker-engine';
import type { WireSnapshot } from './snapshot-wire';

export type ControlToWorker =
  /** Only what changed since the previous snapshot sent (snapshot-wire.ts). */
  | { readonly t: 'snapshot'; readonly snap: WireSnapshot }
  | { readonly t: 'stats'; readonly id: number }
  /** Admin /clusters: the worker's live cluster and host state; `id` pairs the answer. */
  | { readonly t: 'cluster-status'; readonly id: number }
  /**
   * EDS-only change: new host sets for some EDS services, applied to the current runtime without
   * a new snapshot (an empty set when the assignment was removed). `seq` pairs the acknowledgement.
   */
  | { readonly t: 'endpoints'; readonly seq: number; readonly generation: number; readonly updates: readonly EndpointDelta[] }
  | { readonly t: 'drain'; readonly inboundOnly: boolean }
  | { readonly t: 'shutdown' };

export type WorkerToControl =
  | { readonly t: 'applied'; readonly generation: number; readonly bound: readonly BoundListener[]; readonly error?: string }
  | { readonly t: 'stats'; readonly id: number; readonly snapshot: StatsSnapshot }
  | { readonly t: 'cluster-status'; readonly id: number; readonly clusters: readonly WorkerClusterStatus[] }
  | { readonly t: 'endpoints-applied'; readonly seq: number; readonly clusters: number };

/** One EDS service's new endpoints, sent to workers as a delta. */
export interface EndpointDelta {
  readonly serviceName: string;
  readonly set: EndpointSetConfig;
}

/** What a worker needs at start (passed in the environment as JSON). */
export interface WorkerInit {
  readonly index: number;
  /** The bootstrap's stats_config, so worker stats follow the same matcher and buckets. */
  readonly statsOptions: StatsConfig;
  /** Node facts and the bootstrap tracer for HCM tracing (tracing/tracing-environment.ts). */
  readonly tracing: TracingEnvironment;
  /** --file-flush-interval-msec for access log sinks. */
  readonly fileFlushIntervalMs: number;
  readonly drainTimeMs: number;
  /** Bootstrap cluster_manager.local_cluster_name and node.locality (zone-aware routing). */
  readonly localCluster?: LocalClusterSettings;
  readonly logLevel: string;
  readonly componentLevels: Record<string, string>;
  readonly logFormat?: string;
}
