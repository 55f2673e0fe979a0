// A cluster on a worker (Envoy ClusterImplBase + ClusterInfo + its LB, health checker, outlier
// detector and resource managers): hosts from load_assignment, DNS (STRICT/LOGICAL), EDS,
// original destination, or an aggregate of other clusters; the Envoy load balancer of ./lb over
// a PrioritySet rebuilt whenever membership or health changes; circuit breakers; active health
// checks; outlier detection; upstream TCP connects with connect timeout, source binding,
// keepalive and per-host socket tracking. Host objects carry over by key across EDS/DNS updates
// and cluster rebuilds (adopt()), keeping health, outlier state, counts and sockets.
//
// Data path use (tcp_proxy today, the HTTP router next):
//   host = cluster.chooseHost(ctx)          ctx: LbContext (+ previousHosts for retries, and
//                                           originalDst "ip:port" for ORIGINAL_DST clusters)
//   cluster.connect(host, done, final?)     TCP connect; takes a max_connections slot
//                                           (done(err, undefined, 'overflow') when refused)
// Router additions (per request; all allocation-free):
//   cluster.acquireRequest(prio) / releaseRequest(prio)   max_requests      -> 'overflow' = 503 UO
//   cluster.acquirePending(prio) / releasePending(prio)   max_pending_requests
//   cluster.acquireRetry(prio) / releaseRetry(prio)       max_retries or retry_budget
//   cluster.requestStarted(host) / requestFinished(host)  host.activeRequests for LEAST_REQUEST
//                                                         (+ host rq_total for /clusters)
//   cluster.reportHttpStatus(host, code), cluster.reportResult(host, result)  outlier detection
//                                           (+ host rq_success/rq_error by 5xx; 'local_timeout'
//                                           from a caller is a request timeout: host rq_timeout)
//   host.subscribe((host, 'removed' | 'unhealthy') => drain pool)           pool draining
//   config.maxRequestsPerConnection, config.perConnectionBufferLimitBytes    pool settings
import type { SecretConfig } from '../../config/model/secret';
import { internString } from '../../common/intern';
import { isTlsTransport, wrapUpstreamTls } from '../tls/upstream-tls';
import { selectTransportSocket } from '../tls/transport-socket-select';
import { lookup, promises as dnsPromises } from 'node:dns';
import { connectFromSource, type TransparentSource } from '../../platform/original-dst';
import * as net from 'node:net';
import type { Logger } from 'pino';
import { addressToString, type AddressConfig } from '../../config/model/address';
import type { ClusterConfig, EndpointSetConfig } from '../../config/model/cluster';
import type { Counter } from '../../stats/counter';
import type { Gauge, GaugeImportMode } from '../../stats/gauge';
import { lazyStats, type StatsScope } from '../../stats/stats-store';
import { CircuitBreakers, type RoutingPriority } from './circuit-breakers';
import { HealthChecker } from './health-checker';
import { createLoadBalancer } from './lb/create-load-balancer';
import { monotonicMs, type LbContext, type LbEnvironment, type LoadBalancer, type LocalPrioritySource, type MonotonicClock, type ZoneRoutingStats } from './lb/lb-types';
import { computePriorityLoad, choosePriority, type PriorityLoad } from './lb/priority-load';
import { buildPrioritySet, type HostSet, type PrioritySet } from './lb/priority-set';
import { SubsetLoadBalancer, subsetLbStats } from './lb/subset-lb';
import { lbOptionsFor } from './lb-options';
import { clampTimer, OutlierDetector, type OutlierResult } from './outlier-detector';
import { HostIndex } from './host-index';
import { HealthFlag, Host, type HostSpec } from './upstream-host';

export { Host } from './upstream-host';
export type { HostSpec, HostEvent, HostListener } from './upstream-host';
export type { OutlierResult } from './outlier-detector';
export type { RoutingPriority } from './circuit-breakers';

/** Per-pick input: the LB context plus what Envoy's LoadBalancerContext adds. */
export interface PickContext extends LbContext {
  /** Hosts already tried by this request (retry_host_predicate previous_hosts). */
  previousHosts?: readonly Host[];
  /** host_selection_retry_max_attempts (default 1: no re-pick). */
  maxHostSelectionAttempts?: number;
  /** ORIGINAL_DST: the destination "ip:port" (downstream local address or the header value). */
  originalDst?: string;
  // metadataMatch (from LbContext): the route's envoy.lb criteria for lb_subset_config clusters.
}

export interface ClusterStats {
  readonly upstreamCxTotal: Counter;
  readonly upstreamCxActive: Gauge;
  readonly upstreamCxConnectFail: Counter;
  readonly upstreamCxConnectTimeout: Counter;
  readonly upstreamCxNoneHealthy: Counter;
  readonly upstreamRqDropOverload: Counter;
  readonly upstreamCxRxBytesTotal: Counter;
  readonly upstreamCxTxBytesTotal: Counter;
  readonly upstreamCxDestroy: Counter;
  readonly membershipTotal: Gauge;
  readonly membershipHealthy: Gauge;
  readonly membershipDegraded: Gauge;
  readonly membershipExcluded: Gauge;
  readonly membershipChange: Counter;
  readonly updateAttempt: Counter;
  readonly updateSuccess: Counter;
  readonly updateFailure: Counter;
  readonly updateEmpty: Counter;
  readonly lbHealthyPanic: Counter;
  readonly maxHostWeight: Gauge;
  readonly zone: ZoneRoutingStats;
}

// Views made on first use (lazyStats): every stat exists from the start, but a cluster that
// never sees traffic keeps no Counter/Gauge objects.
const CLUSTER_STATS: { readonly [K in Exclude<keyof ClusterStats, 'zone'>]: readonly ['counter', string] | readonly ['gauge', string, GaugeImportMode?] } = {
  upstreamCxTotal: ['counter', 'upstream_cx_total'],
  upstreamCxActive: ['gauge', 'upstream_cx_active'],
  upstreamCxConnectFail: ['counter', 'upstream_cx_connect_fail'],
  upstreamCxConnectTimeout: ['counter', 'upstream_cx_connect_timeout'],
  upstreamCxNoneHealthy: ['counter', 'upstream_cx_none_healthy'],
  upstreamRqDropOverload: ['counter', 'upstream_rq_drop_overload'],
  upstreamCxRxBytesTotal: ['counter', 'upstream_cx_rx_bytes_total'],
  upstreamCxTxBytesTotal: ['counter', 'upstream_cx_tx_bytes_total'],
  upstreamCxDestroy: ['counter', 'upstream_cx_destroy'],
  membershipTotal: ['gauge', 'membership_total', 'NeverImport'],
  membershipHealthy: ['gauge', 'membership_healthy', 'NeverImport'],
  membershipDegraded: ['gauge', 'membership_degraded', 'NeverImport'],
  membershipExcluded: ['gauge', 'membership_excluded', 'NeverImport'],
  membershipChange: ['counter', 'membership_change'],
  updateAttempt: ['counter', 'update_attempt'],
  updateSuccess: ['counter', 'update_success'],
  updateFailure: ['counter', 'update_failure'],
  updateEmpty: ['counter', 'update_empty'],
  lbHealthyPanic: ['counter', 'lb_healthy_panic'],
  maxHostWeight: ['gauge', 'max_host_weight', 'NeverImport'],
};

function clusterStats(scope: StatsScope): ClusterStats {
  const stats = lazyStats<Omit<ClusterStats, 'zone'>>(scope, CLUSTER_STATS);
  return Object.assign(stats, { zone: zoneRoutingStats(scope) });
}

/** Envoy's zone routing counters (ClusterLbStats); the LB bumps them directly. */
function zoneRoutingStats(scope: StatsScope): ZoneRoutingStats {
  // Declared by Envoy but no longer counted (clusters may differ in locality count).
  scope.counter('lb_zone_number_differs');
  return lazyStats<ZoneRoutingStats>(scope, ZONE_STATS);
}
const ZONE_STATS: { readonly [K in keyof ZoneRoutingStats]: readonly ['counter', string] } = {
  allDirectly: ['counter', 'lb_zone_routing_all_directly'],
  sampled: ['counter', 'lb_zone_routing_sampled'],
  crossZone: ['counter', 'lb_zone_routing_cross_zone'],
  localClusterNotOk: ['counter', 'lb_local_cluster_not_ok'],
  clusterTooSmall: ['counter', 'lb_zone_cluster_too_small'],
  noCapacityLeft: ['counter', 'lb_zone_no_capacity_left'],
  recalculateZoneStructures: ['counter', 'lb_recalculate_zone_structures'],
};

/** What a ClusterRuntime gets from its cluster manager besides the cluster config. */
export interface ClusterRuntimeOptions {
  /** Monotonic ms clock for slow start and the update merge window (tests inject one). */
  readonly clock?: MonotonicClock;
  /** The node's locality as a locality key: its hosts come first in per-locality lists. */
  readonly localLocalityKey?: string;
  /** The local cluster (bootstrap local_cluster_name): turns on zone-aware routing. */
  readonly local?: LocalPrioritySource;
}

/** Envoy's default common_lb_config.update_merge_window. */
export const DEFAULT_UPDATE_MERGE_WINDOW_MS = 1000;

/** Host set versions are unique across runtimes, so a replaced runtime never repeats one. */
let hostSetVersionSeq = 0;

/** Host identity: Envoy's textual address ("ip:port", "[v6]:port" or the pipe path). */
export const addressKey = addressToString;

export function localityKey(l: { region: string; zone: string; subZone: string }): string {
  return `${l.region}/${l.zone}/${l.subZone}`;
}

function specsFrom(set: EndpointSetConfig | undefined): HostSpec[] {
  const out: HostSpec[] = [];
  for (const loc of set?.localities ?? []) {
    const lk = localityKey(loc.locality);
    for (const ep of loc.endpoints) {
      out.push({
        address: ep.address,
        // Flat and shared: a built "ip:port" would keep its concatenation parts per host.
        key: internString(addressKey(ep.address)),
        hostname: ep.hostname,
        weight: ep.loadBalancingWeight,
        edsHealth: ep.healthStatus,
        priority: loc.priority,
        localityKey: lk,
        localityWeight: loc.loadBalancingWeight ?? 0,
        metadata: ep.metadata,
        ...(ep.healthCheckPort ? { healthCheckPort: ep.healthCheckPort } : {}),
      });
    }
  }
  return out;
}

export type ClusterResolver = (name: string) => ClusterRuntime | undefined;
export type ConnectDone = (err: 'connect_fail' | 'connect_timeout' | null, socket: net.Socket | undefined, detail?: 'overflow') => void;

export class ClusterRuntime {
  readonly stats: ClusterStats;
  readonly circuitBreakers: CircuitBreakers;
  /** Bumped on every LB refresh; aggregate clusters watch it. */
  hostSetVersion = 0;
  private hostMap = new HostIndex();
  private hostList: Host[] = [];
  /**
   * Built on first use (a pick, /clusters, an aggregate parent) after membership or health
   * changed, not on every refresh: most of 10,000 clusters are never picked on a given worker.
   */
  private prioritySet: PrioritySet | undefined;
  private lb: LoadBalancer | undefined;
  /** hostSetVersion the PrioritySet and the LB were last built for (-1: never). */
  private psVersion = -1;
  private lbVersion = -1;
  private lastPanic = 0;
  private readonly healthCheckers: HealthChecker[] = [];
  private readonly outlier: OutlierDetector | undefined;
  private readonly scope: StatsScope;
  private dnsTimer: NodeJS.Timeout | undefined;
  private cleanupTimer: NodeJS.Timeout | undefined;
  private destroyed = false;
  private overprovisioningFactor: number | undefined;
  private weightedPriorityHealth = false;
  private resolveCluster: ClusterResolver = () => undefined;
  // Created on the first DNS resolution (most clusters are EDS and never resolve).
  private dnsSlots: Map<string, HostSpec[]> | undefined;
  private get dnsLast(): Map<string, HostSpec[]> {
    return (this.dnsSlots ??= new Map());
  }
  private aggregate: { versions: number[]; children: ClusterRuntime[]; owners: ClusterRuntime[]; load: PriorityLoad | null } | undefined;

  private readonly clock: MonotonicClock;
  /** update_merge_window state: when host changes were last applied, and the EDS update held back. */
  private lastUpdateMs = -Infinity;
  private pendingEndpoints: EndpointSetConfig | undefined;
  private mergeTimer: NodeJS.Timeout | undefined;
  /** The endpoint set last applied, weakly (compared with a re-send; a collected one counts as
   * changed, which only costs an idempotent re-apply). */
  private appliedRef: WeakRef<EndpointSetConfig> | undefined;

  constructor(
    readonly config: ClusterConfig,
    scope: StatsScope,
    private readonly log: Logger,
    private readonly options: ClusterRuntimeOptions = {},
  ) {
    this.clock = options.clock ?? monotonicMs;
    // 10,000 clusters x ~40 stats: the cluster's stats live in a compact group (stats-store).
    this.scope = scope.groupScope(`cluster.${config.statName}.`);
    this.stats = clusterStats(this.scope);
    this.circuitBreakers = new CircuitBreakers(config.circuitBreakers, this.scope);
    const self = this;
    if (config.outlierDetection) {
      this.outlier = new OutlierDetector(config.outlierDetection, { clusterName: config.name, hosts: () => self.hostList, onHostHealthChanged: () => self.refresh() }, this.scope, log);
    }
    for (const hc of config.healthChecks ?? []) {
      this.healthCheckers.push(
        new HealthChecker(
          hc,
          {
            clusterName: config.name,
            bindAddress: config.upstreamBindAddress,
            hosts: () => self.hostList,
            hadTraffic: () => self.stats.upstreamCxTotal.used,
            now: this.clock,
            onHealthTransition: (h, healthy) => self.onHealthTransition(h, healthy),
          },
          this.scope,
          log,
        ),
      );
    }
    if (config.type === 'STATIC') this.setHosts(specsFrom(config.loadAssignment), config.loadAssignment);
    else if (config.type === 'STRICT_DNS' || config.type === 'LOGICAL_DNS') this.resolveDns();
    else if (config.type === 'ORIGINAL_DST') this.scheduleCleanup();
  }

  /**
   * Takes over the hosts of the runtime this one replaces (config change): state by key. With
   * release false (a manager built in slices) the previous runtime keeps serving the same Host
   * objects until the swap, when the manager calls releaseHosts() on it; `again` re-takes them
   * after an EDS delta changed the previous runtime's hosts during the build.
   */
  adopt(previous: ClusterRuntime, release = true, again = false): void {
    if (this.config.type !== previous.config.type) return;
    if (again) {
      this.hostMap = new HostIndex();
      this.hostList = [];
    }
    if (this.hostList.length > 0) return;
    for (const h of previous.hostList) {
      if (this.healthCheckers.length === 0) h.setFlag(HealthFlag.FAILED_ACTIVE_HC | HealthFlag.PENDING_ACTIVE_HC | HealthFlag.DEGRADED_ACTIVE_HC, false);
      if (!this.outlier && h.hasFlag(HealthFlag.FAILED_OUTLIER_CHECK)) h.setFlag(HealthFlag.FAILED_OUTLIER_CHECK, false);
      this.outlier?.adoptEjected(h);
      this.hostMap.set(h);
    }
    this.hostList = this.hostMap.toArray();
    this.overprovisioningFactor = previous.overprovisioningFactor;
    this.weightedPriorityHealth = previous.weightedPriorityHealth;
    this.dropOverloadPpm = previous.dropOverloadPpm;
    this.endpointSetRef = previous.endpointSetRef;
    if (release) previous.releaseHosts();
    this.refresh();
  }

  /** Forgets the hosts a replacement runtime took over (adopt). */
  releaseHosts(): void {
    this.hostMap = new HostIndex();
    this.hostList = [];
  }

  /** Lets aggregate clusters find their children in the current ClusterManager. */
  setClusterResolver(fn: ClusterResolver): void {
    this.resolveCluster = fn;
    this.aggregate = undefined;
  }

  /** Parts per million of requests/connections to drop (ClusterLoadAssignment policy.drop_overloads). */
  private dropOverloadPpm = 0;

  /**
   * Envoy's drop_overloads: true when this request or connection must be dropped before a host is
   * chosen (the router answers 503 with flag DO, tcp_proxy closes); counts upstream_rq_drop_overload.
   */
  dropOverload(): boolean {
    if (this.dropOverloadPpm === 0 || Math.random() * 1_000_000 >= this.dropOverloadPpm) return false;
    this.stats.upstreamRqDropOverload.inc();
    return true;
  }

  /**
   * The endpoint set last applied, weakly: a snapshot that carries the very same set object (the
   * control side shares unchanged ones in-process) does not rebuild the hosts; a worker process's
   * copy can still be collected.
   */
  get endpointSet(): EndpointSetConfig | undefined {
    return this.endpointSetRef?.deref();
  }
  private endpointSetRef: WeakRef<EndpointSetConfig> | undefined;

  /**
   * An EDS assignment. Under common_lb_config.update_merge_window (Envoy's ClusterManagerImpl::
   * scheduleUpdate; default 1 s, 0 disables): an update that changes membership (a host added or
   * removed, or moved to another priority) applies at once and cancels any held-back update; so
   * does the first update after a quiet window. An update that only changes health, weights,
   * metadata or the assignment policy, arriving within the window of the last applied change, is
   * held back; later ones replace it, and the latest is applied once when the window (started by
   * the first held-back update) ends.
   */
  setEndpoints(set: EndpointSetConfig): void {
    this.endpointSetRef = new WeakRef(set);
    this.stats.updateAttempt.inc();
    this.scheduleEndpoints(set);
    this.stats.updateSuccess.inc();
    if (set.localities.every((l) => l.endpoints.length === 0)) this.stats.updateEmpty.inc();
  }

  private scheduleEndpoints(set: EndpointSetConfig): void {
    const windowMs = this.config.lb?.updateMergeWindowMs ?? DEFAULT_UPDATE_MERGE_WINDOW_MS;
    const specs = specsFrom(set);
    if (windowMs > 0 && this.sameMembership(specs)) {
      if (this.pendingEndpoints) {
        this.pendingEndpoints = set; // merged: the latest state wins
        return;
      }
      if (this.sameAsApplied(set)) return; // nothing changed (a snapshot re-sends it)
      if (this.clock() - this.lastUpdateMs <= windowMs) {
        this.pendingEndpoints = set;
        this.mergeTimer = setTimeout(() => this.flushMergedEndpoints(), windowMs);
        this.mergeTimer.unref();
        return;
      }
    }
    this.cancelMergedEndpoints();
    this.applyEndpoints(specs, set);
  }

  private sameAsApplied(set: EndpointSetConfig): boolean {
    const applied = this.appliedRef?.deref();
    if (applied === undefined) return false;
    return applied === set || JSON.stringify(applied) === JSON.stringify(set);
  }

  private applyEndpoints(specs: readonly HostSpec[], set: EndpointSetConfig): void {
    this.appliedRef = new WeakRef(set);
    this.lastUpdateMs = this.clock();
    this.setHosts(specs, set);
  }

  private flushMergedEndpoints(): void {
    this.mergeTimer = undefined;
    const set = this.pendingEndpoints;
    this.pendingEndpoints = undefined;
    if (set && !this.destroyed) this.applyEndpoints(specsFrom(set), set);
  }

  private cancelMergedEndpoints(): void {
    if (this.mergeTimer) clearTimeout(this.mergeTimer);
    this.mergeTimer = undefined;
    this.pendingEndpoints = undefined;
  }

  /** True when `specs` name exactly the current hosts, each at its current priority. */
  private sameMembership(specs: readonly HostSpec[]): boolean {
    if (this.hostMap.size === 0) return false;
    const seen = new Set<string>();
    for (const spec of specs) {
      if (seen.has(spec.key)) continue;
      seen.add(spec.key);
      const h = this.hostMap.get(spec.key);
      if (!h || h.priority !== spec.priority) return false;
    }
    return seen.size === this.hostMap.size;
  }

  /**
   * Replaces the membership. Hosts that stay keep their object (health, counts, sockets). With
   * active health checks, new hosts start FAILED_ACTIVE_HC (+ PENDING_ACTIVE_HC under
   * ignore_new_hosts_until_first_hc), and a removed host that still passes active checks stays
   * (PENDING_DYNAMIC_REMOVAL) until it fails one, unless ignore_health_on_host_removal — Envoy's
   * BaseDynamicClusterImpl::updateDynamicHostList.
   */
  setHosts(specs: readonly HostSpec[], set?: EndpointSetConfig): void {
    if (set) {
      this.overprovisioningFactor = set.overprovisioningFactor;
      this.weightedPriorityHealth = !!set.weightedPriorityHealth;
      let ppm = 0;
      for (const d of set.dropOverloads) ppm += d.ppm;
      this.dropOverloadPpm = Math.min(1_000_000, ppm);
    }
    const hc = this.healthCheckers.length > 0;
    const next = new HostIndex();
    let changed = false;
    for (const spec of specs) {
      if (next.has(spec.key)) continue; // duplicate address: Envoy keeps the first
      const old = this.hostMap.get(spec.key);
      if (old) {
        if (old.update(spec)) changed = true;
        old.setFlag(HealthFlag.PENDING_DYNAMIC_REMOVAL, false);
        next.set(old);
      } else {
        const h = new Host(spec);
        if (hc) {
          h.flags |= HealthFlag.FAILED_ACTIVE_HC;
          if (this.config.lb?.ignoreNewHostsUntilFirstHc) h.flags |= HealthFlag.PENDING_ACTIVE_HC;
          h.updateHealth();
        }
        next.set(h);
        changed = true;
      }
    }
    for (const old of this.hostMap) {
      if (next.has(old.key)) continue;
      if (hc && !this.config.ignoreHealthOnHostRemoval && old.activeHcHealthy) {
        old.setFlag(HealthFlag.PENDING_DYNAMIC_REMOVAL, true);
        next.set(old);
        continue;
      }
      changed = true;
      this.removeHost(old);
    }
    this.hostMap = next;
    this.hostList = next.toArray();
    if (changed) {
      this.stats.membershipChange.inc();
      if (this.config.lb?.closeConnectionsOnHostSetChange) for (const h of this.hostList) h.closeConnections();
    }
    for (const c of this.healthCheckers) c.syncHosts();
    this.refresh();
  }

  private removeHost(h: Host): void {
    this.outlier?.onHostRemoved(h);
    h.emit('removed');
  }

  /**
   * Membership or health changed: the PrioritySet and LB are rebuilt on their next use
   * (ensureLb), except for policies whose stats report the built LB (ring hash, Maglev, subsets).
   */
  refresh(): void {
    if (this.destroyed) return;
    // The PrioritySet and LB are stale from here on. Unique across runtimes: zone-aware LBs compare the local cluster's version.
    this.hostSetVersion = ++hostSetVersionSeq;
    let healthy = 0;
    let degraded = 0;
    let excluded = 0;
    let maxW = 0;
    for (const h of this.hostList) {
      if (h.health === 'healthy') healthy++;
      else if (h.health === 'degraded') degraded++;
      else if (h.health === 'excluded') excluded++;
      if (h.weight > maxW) maxW = h.weight;
    }
    const s = this.stats;
    s.membershipTotal.set(this.hostList.length);
    s.membershipHealthy.set(healthy);
    s.membershipDegraded.set(degraded);
    s.membershipExcluded.set(excluded);
    s.maxHostWeight.set(maxW);
    // Built at once when its stats report the built LB, or when slow start must see hosts as
    // they join (a new host's window starts when the LB first sees it).
    if (this.config.lbPolicy !== 'RING_HASH' && this.config.lbPolicy !== 'MAGLEV' && !this.config.lbSubset && this.config.lb?.slowStart === undefined) return;
    const ls = this.ensureLb().stats;
    if (this.config.lbPolicy === 'RING_HASH') {
      this.scope.gauge('ring_hash_lb.size', 'NeverImport').set(ls.ringSize);
      this.scope.gauge('ring_hash_lb.min_hashes_per_host', 'NeverImport').set(ls.minHashesPerHost);
      this.scope.gauge('ring_hash_lb.max_hashes_per_host', 'NeverImport').set(ls.maxHashesPerHost);
    } else if (this.config.lbPolicy === 'MAGLEV') {
      this.scope.gauge('maglev_lb.min_entries_per_host', 'NeverImport').set(ls.minEntriesPerHost);
      this.scope.gauge('maglev_lb.max_entries_per_host', 'NeverImport').set(ls.maxEntriesPerHost);
    }
  }

  private lbEnvironment(): LbEnvironment {
    const local = this.options.local;
    return { clock: this.clock, zoneStats: this.stats.zone, ...(local ? { local } : {}) };
  }

  private onHealthTransition(h: Host, healthy: boolean): void {
    if (healthy) {
      this.outlier?.onActiveHealthCheckSuccess(h);
    } else {
      if (this.config.closeConnectionsOnHostHealthFailure) h.closeConnections();
      h.emit('unhealthy');
      if (h.hasFlag(HealthFlag.PENDING_DYNAMIC_REMOVAL)) {
        // Kept only because it was healthy; now it goes (Envoy removes it on the failed check).
        this.hostMap.delete(h.key);
        this.hostList = this.hostMap.toArray();
        this.removeHost(h);
        for (const c of this.healthCheckers) c.syncHosts();
      }
    }
    this.refresh();
  }

  allHosts(): readonly Host[] {
    return this.hostList;
  }

  /** The PrioritySet and LB for the current hosts, rebuilt if membership or health changed. */
  private ensureLb(): LoadBalancer {
    if (this.lb && this.lbVersion === this.hostSetVersion) return this.lb;
    const ps = this.currentPrioritySet();
    this.lbVersion = this.hostSetVersion;
    if (this.lb) this.lb.refresh(ps);
    else if (this.config.lbSubset) this.lb = new SubsetLoadBalancer(this.config.lbSubset, lbOptionsFor(this.config), ps, subsetLbStats(this.scope), undefined, this.lbEnvironment());
    else this.lb = createLoadBalancer(lbOptionsFor(this.config), ps, undefined, this.lbEnvironment());
    this.lastPanic = this.lb.stats.lbHealthyPanic;
    return this.lb;
  }

  /** The PrioritySet for the current hosts (the local cluster's is read by zone-aware LBs,
   * including its own, so this must not build the LB). */
  currentPrioritySet(): PrioritySet {
    if (this.prioritySet !== undefined && this.psVersion === this.hostSetVersion) return this.prioritySet;
    this.psVersion = this.hostSetVersion;
    this.prioritySet = buildPrioritySet(this.hostList, {
      ...(this.overprovisioningFactor !== undefined ? { overprovisioningFactor: this.overprovisioningFactor } : {}),
      weightedPriorityHealth: this.weightedPriorityHealth,
      ...(this.options.localLocalityKey !== undefined ? { localLocalityKey: this.options.localLocalityKey } : {}),
    });
    return this.prioritySet;
  }

  /** Next host, or undefined when none can be picked (router: 503 UH / no healthy upstream). */
  chooseHost(ctx?: PickContext | null): Host | undefined {
    if (this.config.type === 'ORIGINAL_DST') return ctx?.originalDst ? this.originalDstHost(ctx.originalDst) : undefined;
    if (this.config.type === 'AGGREGATE') return this.chooseAggregate(ctx ?? null);
    const lb = this.ensureLb();
    const prev = ctx?.previousHosts;
    const attempts = prev && prev.length > 0 ? Math.max(1, ctx!.maxHostSelectionAttempts ?? 1) : 1;
    let host: Host | null = null;
    for (let i = 0; i < attempts; i++) {
      if (ctx) ctx.attempt = i;
      host = lb.chooseHost(ctx ?? null) as Host | null;
      if (host === null || !prev || !prev.includes(host)) break;
    }
    const panic = lb.stats.lbHealthyPanic;
    if (panic !== this.lastPanic) {
      this.stats.lbHealthyPanic.add(panic - this.lastPanic);
      this.lastPanic = panic;
    }
    return host ?? undefined;
  }

  /**
   * envoy.clusters.aggregate: the children's priority levels laid end to end form one priority
   * list; Envoy's priority load over it picks the child, whose own LB picks the host. (Envoy also
   * pins the child's priority; here the child picks among its own levels.)
   */
  private chooseAggregate(ctx: PickContext | null): Host | undefined {
    const names = this.config.aggregateClusters ?? [];
    let agg = this.aggregate;
    const children: ClusterRuntime[] = [];
    for (const n of names) {
      const c = this.resolveCluster(n);
      if (c && c !== this) children.push(c);
    }
    const versions = children.map((c) => c.hostSetVersion);
    if (!agg || agg.children.length !== children.length || agg.children.some((c, i) => c !== children[i] || agg!.versions[i] !== versions[i])) {
      const sets: HostSet[] = [];
      const owner: ClusterRuntime[] = [];
      for (const c of children) {
        for (const hs of c.currentPrioritySet().hostSets) {
          sets.push({ ...hs, priority: sets.length });
          owner.push(c);
        }
      }
      const load = sets.length ? computePriorityLoad({ hostSets: sets, hostCount: sets.reduce((s, h) => s + h.hosts.length, 0) }, this.config.lb?.healthyPanicThresholdPct ?? 50) : null;
      agg = this.aggregate = { versions, children, owners: owner, load };
    }
    if (!agg.load || agg.owners.length === 0) return undefined;
    const p = choosePriority(agg.load, ((Math.random() * 100) | 0) + 1) >> 1;
    return agg.owners[p]?.chooseHost(ctx) ?? undefined;
  }

  // ---- ORIGINAL_DST ----------------------------------------------------------------------

  /** The host for a destination "ip:port" (created on first use, swept when unused). */
  originalDstHost(dst: string): Host | undefined {
    let h = this.hostMap.get(dst);
    if (h) {
      h.used = true;
      return h;
    }
    const i = dst.lastIndexOf(':');
    if (i <= 0) return undefined;
    let ip = dst.slice(0, i);
    if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
    if (!net.isIP(ip)) return undefined;
    const port = this.config.originalDst?.upstreamPortOverride ?? Number(dst.slice(i + 1));
    const address: AddressConfig = { kind: 'socket', protocol: 'TCP', address: ip, port, ipv4Compat: false };
    const key = addressKey(address);
    h = this.hostMap.get(key);
    if (!h) {
      h = new Host({ address, key, hostname: '', weight: 1, edsHealth: 'HEALTHY', priority: 0, localityKey: '', localityWeight: 0, metadata: {} });
      this.hostMap.set(h);
      this.hostList.push(h);
      this.stats.membershipChange.inc();
      this.refresh();
    }
    h.used = true;
    return h;
  }

  /** Envoy OriginalDstCluster::cleanup: hosts unused for a whole cleanup_interval go. */
  private scheduleCleanup(): void {
    if (this.config.cleanupIntervalMs > 2147483647) return; // Istio's "never"
    this.cleanupTimer = setInterval(() => {
      let removed = false;
      for (const h of this.hostMap.toArray()) {
        if (h.used || h.activeConnections > 0 || h.activeRequests > 0) {
          h.used = false;
          continue;
        }
        this.hostMap.delete(h.key);
        this.removeHost(h);
        removed = true;
      }
      if (removed) {
        this.hostList = this.hostMap.toArray();
        this.stats.membershipChange.inc();
        this.refresh();
      }
    }, clampTimer(this.config.cleanupIntervalMs));
    this.cleanupTimer.unref();
  }

  // ---- circuit breakers and request accounting (router) -----------------------------------

  acquireRequest(priority?: RoutingPriority): 'ok' | 'overflow' {
    const rm = this.circuitBreakers.of(priority);
    if (!rm.requests.canAcquire()) {
      // Envoy counts request overflow under upstream_rq_pending_overflow too.
      this.circuitBreakers.overflow.pending.inc();
      return 'overflow';
    }
    rm.requests.acquire();
    return 'ok';
  }

  releaseRequest(priority?: RoutingPriority): void {
    this.circuitBreakers.of(priority).requests.release();
  }

  acquirePending(priority?: RoutingPriority): 'ok' | 'overflow' {
    const rm = this.circuitBreakers.of(priority);
    if (!rm.pendingRequests.canAcquire()) {
      this.circuitBreakers.overflow.pending.inc();
      return 'overflow';
    }
    rm.pendingRequests.acquire();
    return 'ok';
  }

  releasePending(priority?: RoutingPriority): void {
    this.circuitBreakers.of(priority).pendingRequests.release();
  }

  /** max_connections leaves room for one more upstream connection (default priority). */
  canOpenConnection(): boolean {
    return this.circuitBreakers.default.connections.canAcquire();
  }

  acquireRetry(priority?: RoutingPriority): 'ok' | 'overflow' {
    const rm = this.circuitBreakers.of(priority);
    if (!rm.canRetry()) {
      this.circuitBreakers.overflow.retry.inc();
      return 'overflow';
    }
    rm.retries.acquire();
    return 'ok';
  }

  releaseRetry(priority?: RoutingPriority): void {
    this.circuitBreakers.of(priority).retries.release();
  }

  requestStarted(host: Host): void {
    host.activeRequests++;
    host.rqTotal++;
    host.used = true;
  }

  requestFinished(host: Host): void {
    if (host.activeRequests > 0) host.activeRequests--;
  }

  /** Outlier detection: an upstream HTTP response status for `host`. */
  reportHttpStatus(host: Host, code: number): void {
    // Envoy's router chargeUpstreamCode: 5xx counts rq_error, anything else rq_success.
    if (code >= 500) host.rqError++;
    else host.rqSuccess++;
    this.outlier?.putHttpResponseCode(host, code);
  }

  /** Outlier detection: a connect/timeout/request result (Envoy Outlier::Result). */
  reportResult(host: Host, result: OutlierResult): void {
    // connect() reports its own connect timeouts straight to the detector, so a caller's
    // 'local_timeout' is a request (per-try or route) timeout: Envoy's host rq_timeout.
    if (result === 'local_timeout') host.rqTimeout++;
    this.outlier?.putResult(host, result);
  }

  /** Test and admin hook: the outlier detector, when configured. */
  outlierDetector(): OutlierDetector | undefined {
    return this.outlier;
  }

  // ---- connections ------------------------------------------------------------------------

  /**
   * Opens a TCP (or pipe) connection to `host` with the cluster's connect timeout, source
   * binding and keepalive, under the max_connections circuit breaker. `done` is called once:
   * with the connected socket, or with an error kind ('connect_fail' and detail 'overflow' when
   * the breaker refused; upstream_cx_overflow counts it). Connect failures and timeouts are
   * reported to outlier detection as local-origin errors; a success as LocalOriginConnectSuccess,
   * or LocalOriginConnectSuccessFinal when `finalResult` (tcp_proxy: nothing else follows).
   * An address (not a Host) of an ORIGINAL_DST cluster maps to its original-destination host.
   * `alpn` replaces the TLS context's alpn_protocols for this connection (Istio's istio.alpn).
   * `source` (original_src, DownstreamConnection.originalSource) binds a TCP connection to the
   * client's IP with IP_TRANSPARENT and SO_MARK (platform connectFromSource); it wins over the
   * cluster's bind address. A socket that cannot be made that way (EPERM) is a connect failure.
   */
  /** SDS secrets of the current snapshot (ClusterManager sets them on every apply). */
  secrets: ReadonlyMap<string, SecretConfig> = new Map();

  connect(target: Host | AddressConfig, done: ConnectDone, finalResult = false, alpn?: readonly string[], source?: TransparentSource): net.Socket {
    let host: Host | undefined;
    let address: AddressConfig;
    if (target instanceof Host) {
      host = target;
      address = target.address;
    } else if ('key' in target) {
      address = (target as unknown as { address: AddressConfig }).address; // a host-like literal (older callers)
    } else {
      address = target;
    }
    if (!host && this.config.type === 'ORIGINAL_DST' && address.kind === 'socket') host = this.originalDstHost(addressKey(address));
    const rm = this.circuitBreakers.default;
    if (!rm.connections.canAcquire()) {
      this.circuitBreakers.overflow.cx.inc();
      const s = new net.Socket();
      process.nextTick(() => done('connect_fail', undefined, 'overflow'));
      return s;
    }
    rm.connections.acquire();
    const opts: net.NetConnectOpts =
      address.kind === 'pipe'
        ? { path: address.path, allowHalfOpen: true }
        : { host: address.kind === 'socket' ? address.address : '127.0.0.1', port: address.kind === 'socket' ? address.port : 0, allowHalfOpen: true, noDelay: true, ...(this.config.upstreamBindAddress ? { localAddress: this.config.upstreamBindAddress } : {}) };
    if (this.config.tcpKeepalive && address.kind === 'socket') {
      (opts as net.TcpNetConnectOpts).keepAlive = true;
      if (this.config.tcpKeepalive.timeS) (opts as net.TcpNetConnectOpts).keepAliveInitialDelay = this.config.tcpKeepalive.timeS * 1000;
    }
    const stats = this.stats;
    stats.upstreamCxTotal.inc();
    const socket = source && address.kind === 'socket' ? connectFromSourceOrFail(opts as net.TcpNetConnectOpts, source) : net.connect(opts);
    if (host) {
      host.connectionsTotal++;
      host.used = true;
    }
    let settled = false;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      rm.connections.release();
    };
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      stats.upstreamCxConnectTimeout.inc();
      release();
      socket.destroy();
      if (host) {
        host.cxConnectFail++;
        this.outlier?.putResult(host, 'local_timeout');
      }
      done('connect_timeout', undefined);
    }, clampTimer(this.config.connectTimeoutMs));
    const h = host;
    // tcp_proxy (finalResult): the connection is the request, as Envoy's TCP pool attaches one
    // stream per connection (host rq_total, and rq_active until the connection closes).
    let attached = false;
    const ready = (s: net.Socket) => {
      if (h && finalResult) {
        attached = true;
        h.rqTotal++;
        h.activeRequests++;
      }
      done(null, s);
    };
    socket.once('connect', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stats.upstreamCxActive.add(1);
      if (h) {
        h.activeConnections++;
        h.sockets.add(socket);
        this.outlier?.putResult(h, finalResult ? 'local_connect_success_final' : 'local_connect_success');
      }
      socket.once('close', () => {
        stats.upstreamCxActive.sub(1);
        stats.upstreamCxDestroy.inc();
        release();
        if (h) {
          h.activeConnections--;
          h.sockets.delete(socket);
          if (attached && h.activeRequests > 0) h.activeRequests--;
        }
      });
      // TLS (cluster transport_socket, or the transport_socket_matches entry the endpoint's
      // metadata selects — Istio's tlsMode: istio) is set up before the caller sees the socket.
      const ts = selectTransportSocket(this.config.transportSocketMatches, this.config.transportSocket, h?.metadata);
      if (!isTlsTransport(ts)) return ready(socket);
      wrapUpstreamTls(socket, ts!, { secrets: this.secrets }, alpn, (err, res) => {
        if (err || !res) {
          stats.upstreamCxConnectFail.inc();
          if (h) h.cxConnectFail++;
          this.log.debug({ cluster: this.config.name, err: err?.message }, 'upstream TLS handshake failed');
          socket.destroy();
          return done('connect_fail', undefined);
        }
        ready(res.socket);
      });
    });
    socket.once('error', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      release();
      stats.upstreamCxConnectFail.inc();
      if (h) {
        h.cxConnectFail++;
        this.outlier?.putResult(h, 'local_connect_failed');
      }
      done('connect_fail', undefined);
    });
    return socket;
  }

  // ---- DNS --------------------------------------------------------------------------------

  /**
   * STRICT_DNS: every endpoint name resolves to all its addresses (by dns_lookup_family);
   * LOGICAL_DNS: the first address only. A failed name keeps its previous addresses (Envoy keeps
   * the last good result). With respect_dns_ttl the next refresh follows the record TTL.
   */
  private resolveDns(): void {
    if (this.destroyed) return;
    const eps = specsFrom(this.config.loadAssignment);
    const family = this.config.dnsLookupFamily;
    let pending = eps.length;
    let failed = false;
    let minTtlMs = Infinity;
    this.stats.updateAttempt.inc();
    const finish = () => {
      if (this.destroyed) return;
      const all: HostSpec[] = [];
      for (const ep of eps) all.push(...(this.dnsLast.get(`${ep.key}|${ep.priority}|${ep.localityKey}`) ?? []));
      this.setHosts(all, this.config.loadAssignment);
      if (failed) this.stats.updateFailure.inc();
      else this.stats.updateSuccess.inc();
      const next = this.config.respectDnsTtl && Number.isFinite(minTtlMs) && minTtlMs > 0 ? minTtlMs : this.config.dnsRefreshRateMs;
      this.dnsTimer = setTimeout(() => this.resolveDns(), clampTimer(next));
      this.dnsTimer.unref();
    };
    if (pending === 0) return finish();
    for (const ep of eps) {
      const slot = `${ep.key}|${ep.priority}|${ep.localityKey}`;
      if (ep.address.kind !== 'socket' || net.isIP(ep.address.address)) {
        this.dnsLast.set(slot, [ep]);
        if (--pending === 0) finish();
        continue;
      }
      const sa = ep.address;
      lookup(sa.address, { all: true, family: family === 'V4_ONLY' ? 4 : family === 'V6_ONLY' ? 6 : 0 }, (err, addrs) => {
        if (err || !addrs.length) {
          failed = true;
          this.log.warn({ cluster: this.config.name, host: sa.address, err: err?.code }, 'dns: resolution failed');
        } else {
          const v4 = addrs.filter((a) => a.family === 4);
          const v6 = addrs.filter((a) => a.family === 6);
          let picked = family === 'ALL' || family === 'V4_ONLY' || family === 'V6_ONLY' ? addrs : family === 'V4_PREFERRED' ? (v4.length ? v4 : v6) : v6.length ? v6 : v4;
          if (this.config.type === 'LOGICAL_DNS') picked = picked.slice(0, 1);
          this.dnsLast.set(
            slot,
            picked.map((a) => {
              const address: AddressConfig = { ...sa, address: a.address };
              return { ...ep, address, key: addressKey(address), hostname: ep.hostname || sa.address };
            }),
          );
        }
        if (!this.config.respectDnsTtl || err) {
          if (--pending === 0) finish();
          return;
        }
        // Record TTLs come from a DNS query (names from /etc/hosts have none: refresh rate).
        const q = family === 'V6_ONLY' ? dnsPromises.resolve6(sa.address, { ttl: true }) : dnsPromises.resolve4(sa.address, { ttl: true });
        q.then(
          (recs) => {
            for (const r of recs) minTtlMs = Math.min(minTtlMs, r.ttl * 1000);
          },
          () => {},
        ).finally(() => {
          if (--pending === 0) finish();
        });
      });
    }
  }

  destroy(): void {
    this.destroyed = true;
    this.cancelMergedEndpoints();
    if (this.dnsTimer) clearTimeout(this.dnsTimer);
    if (this.cleanupTimer) clearInterval(this.cleanupTimer);
    for (const c of this.healthCheckers) c.destroy();
    this.outlier?.destroy();
  }
}

/** original_src socket, or one that fails with the reason on the next tick (connect's error path counts it). */
function connectFromSourceOrFail(opts: net.TcpNetConnectOpts, source: TransparentSource): net.Socket {
  try {
    return connectFromSource(opts, source);
  } catch (err) {
    const s = new net.Socket();
    process.nextTick(() => s.destroy(err as Error));
    return s;
  }
}
