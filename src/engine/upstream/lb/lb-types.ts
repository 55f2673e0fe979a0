// Interfaces of the built-in load balancers (worker side, upstream data path):
//   router -> ClusterRuntime -> LoadBalancer.chooseHost(ctx) -> LbHost -> connection pool.
// The cluster runtime implements LbHost for its hosts, builds a PrioritySet from them whenever
// membership, health or weights change (priority-set.ts), and hands it to the LB's refresh().
// Everything here is plain data or tiny interfaces; the LBs never see protobuf or config JSON.
// Semantics follow Envoy's source/extensions/load_balancing_policies/* (see each LB file).
import type { MetadataMatchCriteria } from './metadata-match';
import type { HostSet, PrioritySet } from './priority-set';

/**
 * Coarse health of a host as the LBs see it (Envoy Host::coarseHealth() plus the
 * "excluded" partition of ClusterImplBase::partitionHostList).
 * - healthy: eligible for normal traffic.
 * - degraded: used only when healthy hosts cannot carry the priority's load (Envoy degraded load).
 * - unhealthy: failed active or passive health checks, or EDS UNHEALTHY; panic mode only.
 * - excluded: unhealthy and also left out of the health percentage (Envoy's excluded hosts:
 *   PENDING_ACTIVE_HC, EXCLUDED_VIA_IMMEDIATE_HC_FAIL, EDS DRAINING); panic mode only.
 */
export type HostHealth = 'healthy' | 'degraded' | 'unhealthy' | 'excluded';

/**
 * The view of one upstream host that the load balancers work on. Implemented by the cluster
 * runtime (owned elsewhere); keep it small. All fields except activeRequests are read when a
 * PrioritySet is built, so a change to them must be followed by a rebuild + LB refresh (Envoy
 * re-runs its priority update callbacks in the same situations).
 * Called on the worker's event loop only.
 */
export interface LbHost {
  /** Address key, Envoy's address()->asString(): "10.0.0.1:80", "[2001:db8::1]:80".
   * Ring hash and maglev hash this string, so it must match Envoy's spelling exactly. */
  readonly addressKey: string;
  /** Endpoint hostname (EDS endpoint.hostname), '' if none; hashed instead of addressKey when
   * consistent_hashing_lb_config.use_hostname_for_hashing is set. */
  readonly hostname: string;
  /** load_balancing_weight, an integer >= 1 (EDS defaults it to 1). */
  readonly weight: number;
  readonly health: HostHealth;
  /** LocalityLbEndpoints.priority, 0 = highest. */
  readonly priority: number;
  /** Any string naming the locality uniquely (e.g. "region/zone/sub_zone"). */
  readonly localityKey: string;
  /** LocalityLbEndpoints.load_balancing_weight of the host's locality; 0 when unset (Envoy
   * gives such a locality no traffic under locality-weighted LB). */
  readonly localityWeight: number;
  /** Requests currently active on this host (Envoy host rq_active, plus pending if the
   * cluster counts them). LIVE: read at pick time by LEAST_REQUEST, may be a getter. */
  readonly activeRequests: number;
  /** Endpoint filter_metadata as JSON (namespace -> object); the subset LB reads `envoy.lb`.
   * Read at refresh only. */
  readonly metadata?: Readonly<Record<string, unknown>>;
  /** Monotonic ms when the host last became healthy through active health checking (Envoy
   * Host::lastHcPassTime). Slow start sets it when unset on a healthy host it sees, as Envoy
   * does, so hosts without active HC start their window when the LB first sees them. */
  lastHcPassTimeMs?: number;
}

/**
 * Per-pick input from the router. A single object may be reused across requests (nothing here
 * keeps a reference to it). The request hash is computed elsewhere from the route's
 * hash_policy with xxhash64Into() and passed as two uint32 halves to keep picks allocation-free.
 */
export interface LbContext {
  /** True when hashHi/hashLo carry a request hash; hashing LBs pick at random otherwise. */
  hasHash: boolean;
  /** High 32 bits of the 64-bit request hash. */
  hashHi: number;
  /** Low 32 bits of the 64-bit request hash. */
  hashLo: number;
  /** Envoy's host selection attempt: 0 for the first pick; > 0 when a retry host predicate
   * rejected earlier picks (hashing LBs then step off the primary host as Envoy does). */
  attempt: number;
  /** The route's (or weighted cluster's) metadata_match under `envoy.lb`, compiled once per
   * route (metadata-match.ts); only the subset LB reads it. Absent or null: no criteria. */
  metadataMatch?: MetadataMatchCriteria | null;
}

/**
 * Source of uniform random uint32 values. Injected so tests can be deterministic; the default
 * is Math.random based (random-generator.ts). Envoy draws 64-bit randoms and takes them modulo
 * small numbers; 32 bits give the same distribution for any realistic host count.
 */
export interface RandomGenerator {
  nextUint32(): number;
}

/** The built-in policies (Envoy Cluster.LbPolicy names; CLUSTER_PROVIDED lives elsewhere). */
export type LbPolicyKind = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'RING_HASH' | 'MAGLEV';

/** Envoy defaults we match. */
export const DEFAULT_OVERPROVISIONING_FACTOR = 140;
export const DEFAULT_HEALTHY_PANIC_THRESHOLD_PCT = 50;
export const DEFAULT_LEAST_REQUEST_CHOICE_COUNT = 2;
export const DEFAULT_ACTIVE_REQUEST_BIAS = 1.0;
export const DEFAULT_MIN_RING_SIZE = 1024;
export const DEFAULT_MAX_RING_SIZE = 8 * 1024 * 1024;
export const DEFAULT_MAGLEV_TABLE_SIZE = 65537;

/**
 * LB options, plain data (the cluster runtime maps its ClusterConfig onto this). Omitted
 * fields take Envoy's defaults above. Validation (ranges, maglev table size prime, ring min <=
 * max) belongs to config translate; createLoadBalancer re-checks only what would break it.
 */
export interface LbOptions {
  readonly policy: LbPolicyKind;
  /** common_lb_config.healthy_panic_threshold in percent, 0..100; 0 disables panic mode. */
  readonly healthyPanicThresholdPct?: number;
  /** common_lb_config.locality_weighted_lb_config present. */
  readonly localityWeightedLb?: boolean;
  /** least_request_lb_config.choice_count (>= 2). */
  readonly choiceCount?: number;
  /** least_request_lb_config.active_request_bias (>= 0). */
  readonly activeRequestBias?: number;
  /** LeastRequest selection_method: N_CHOICES (default) or FULL_SCAN. */
  readonly leastRequestSelection?: 'N_CHOICES' | 'FULL_SCAN';
  /** ring_hash_lb_config.minimum_ring_size / maximum_ring_size. */
  readonly minRingSize?: number;
  readonly maxRingSize?: number;
  /** maglev_lb_config.table_size (prime). */
  readonly maglevTableSize?: number;
  /** consistent_hashing_lb_config.use_hostname_for_hashing. */
  readonly useHostnameForHashing?: boolean;
  /** slow_start_config (ROUND_ROBIN and LEAST_REQUEST only; absent or window 0: off). */
  readonly slowStart?: SlowStartOptions;
  /** common_lb_config.zone_aware_lb_config tunables; zone-aware routing itself runs whenever
   * the LB is given a local cluster (LbEnvironment.local), as in Envoy. */
  readonly zoneAware?: ZoneAwareOptions;
}

/** Cluster.SlowStartConfig. */
export interface SlowStartOptions {
  readonly windowMs: number;
  /** aggression (RuntimeDouble default 1.0); <= 0 or NaN falls back to 1.0 as Envoy does. */
  readonly aggression: number;
  /** min_weight_percent as a percent (default 10). */
  readonly minWeightPercent: number;
}

/** ZoneAwareLbConfig (Envoy defaults: routing_enabled 100%, min_cluster_size 6). */
export interface ZoneAwareOptions {
  readonly routingEnabledPct: number;
  readonly minClusterSize: number;
  readonly failTrafficOnPanic: boolean;
  readonly forceLocalityDirectRouting: boolean;
}

export const DEFAULT_SLOW_START_AGGRESSION = 1.0;
export const DEFAULT_SLOW_START_MIN_WEIGHT_PERCENT = 10;
export const DEFAULT_ZONE_ROUTING_ENABLED_PCT = 100;
export const DEFAULT_ZONE_MIN_CLUSTER_SIZE = 6;

/** Monotonic milliseconds (injectable for tests). */
export type MonotonicClock = () => number;

export const monotonicMs: MonotonicClock = () => performance.now();

/**
 * The local cluster (bootstrap cluster_manager.local_cluster_name) as zone-aware routing reads
 * it: its priority-0 host set, partitioned with the node's locality first (hasLocalLocality),
 * and a version that changes whenever that host set is rebuilt.
 */
export interface LocalPrioritySource {
  readonly version: number;
  localHostSet(): HostSet | undefined;
}

/** A counter the LB bumps (the stats layer's Counter fits). */
export interface LbCounter {
  inc(): void;
}

/** Envoy's zone routing counters of ClusterLbStats. */
export interface ZoneRoutingStats {
  readonly allDirectly: LbCounter;
  readonly sampled: LbCounter;
  readonly crossZone: LbCounter;
  readonly localClusterNotOk: LbCounter;
  readonly clusterTooSmall: LbCounter;
  readonly noCapacityLeft: LbCounter;
  readonly recalculateZoneStructures: LbCounter;
}

/** A plain in-memory counter (tests, and LBs built without a stats scope). */
export class PlainCounter implements LbCounter {
  value = 0;
  inc(): void {
    this.value++;
  }
}

export function newZoneRoutingStats(): ZoneRoutingStats {
  return {
    allDirectly: new PlainCounter(),
    sampled: new PlainCounter(),
    crossZone: new PlainCounter(),
    localClusterNotOk: new PlainCounter(),
    clusterTooSmall: new PlainCounter(),
    noCapacityLeft: new PlainCounter(),
    recalculateZoneStructures: new PlainCounter(),
  };
}

/** What an LB gets from its cluster besides options: clock, local cluster, stat counters. */
export interface LbEnvironment {
  readonly clock?: MonotonicClock;
  readonly local?: LocalPrioritySource;
  readonly zoneStats?: ZoneRoutingStats;
}

/**
 * Counters and gauges a load balancer keeps as plain numbers; the stats layer reads them on
 * scrape (cluster.<name>.lb_healthy_panic, cluster.<name>.ring_hash_lb.size, ...).
 */
export interface LbStats {
  /** Counter: picks made while the chosen priority was in panic mode (lb_healthy_panic). */
  lbHealthyPanic: number;
  /** Gauges, ring hash only (ring_hash_lb.size, .min_hashes_per_host, .max_hashes_per_host),
   * summed over priorities' rings as last built. */
  ringSize: number;
  minHashesPerHost: number;
  maxHashesPerHost: number;
  /** Gauges, maglev only (maglev_lb.min_entries_per_host, .max_entries_per_host). */
  minEntriesPerHost: number;
  maxEntriesPerHost: number;
}

export function newLbStats(): LbStats {
  return {
    lbHealthyPanic: 0,
    ringSize: 0,
    minHashesPerHost: 0,
    maxHashesPerHost: 0,
    minEntriesPerHost: 0,
    maxEntriesPerHost: 0,
  };
}

/**
 * A load balancer instance: one per cluster per worker. refresh() is called with the new
 * PrioritySet whenever hosts change (rebuilds schedules/tables, keeps round-robin cursors);
 * chooseHost() is the allocation-free hot path, returning null when no host can be picked
 * (the router turns that into a 503 with response flag UH).
 */
export interface LoadBalancer {
  readonly policy: LbPolicyKind;
  readonly stats: LbStats;
  refresh(prioritySet: PrioritySet): void;
  chooseHost(ctx: LbContext | null): LbHost | null;
}
