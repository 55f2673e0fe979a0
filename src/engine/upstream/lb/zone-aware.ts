// Zone-aware routing (Envoy ZoneAwareLoadBalancerBase in source/extensions/load_balancing_policies/
// common/load_balancer_impl.cc: regenerateLocalityRoutingStructures, earlyExitNonLocalityRouting,
// calculateLocalityPercentages, tryChooseLocalLocalityHosts). Used by ROUND_ROBIN, LEAST_REQUEST
// and RANDOM (host-sources.ts) when the cluster manager has a local cluster
// (cluster_manager.local_cluster_name); only priority 0 is routed by zone.
//
// From the healthy hosts per locality of the local cluster (L) and of the upstream cluster (U),
// both with the node's own locality at index 0, in units of 1/10000:
//   local%[i]    = 10000 * L-healthy in U's locality i / L-healthy total
//   upstream%[i] = 10000 * U-healthy in locality i     / U-healthy total
// - no routing (plain healthy list) when U has < 2 localities, L has < 2 localities (unless
//   force_locality_direct_routing), L has no host in our locality (lb_local_cluster_not_ok), or
//   U has fewer healthy hosts than min_cluster_size (lb_zone_cluster_too_small);
// - direct: all traffic to our locality when upstream%[0] > 0 and upstream%[0] >= local%[0]
//   (lb_zone_routing_all_directly per pick);
// - residual: upstream%[0] * 10000 / local%[0] of picks stay local (lb_zone_routing_sampled);
//   the rest go cross zone (lb_zone_routing_cross_zone) to locality i in proportion to its
//   residual capacity max(0, upstream%[i] - local%[i]); none anywhere -> a random locality
//   (lb_zone_no_capacity_left).
// Per pick, routing_enabled % of picks are zone routed, and when the local cluster itself is in
// panic the pick is not zone routed (lb_local_cluster_not_ok), or fails with
// fail_traffic_on_panic. Envoy declares lb_zone_number_differs but no longer counts it: locality
// counts may differ between the clusters.
//
// Structures are rebuilt when the upstream host set changes (rebuild) and when the local
// cluster's version moves (checked per pick: an integer compare). Picks allocate nothing.

import {
  DEFAULT_ZONE_MIN_CLUSTER_SIZE,
  DEFAULT_ZONE_ROUTING_ENABLED_PCT,
  type LocalPrioritySource,
  type RandomGenerator,
  type ZoneAwareOptions,
  type ZoneRoutingStats,
} from './lb-types';
import { isHostSetInPanic } from './priority-load';
import type { HostSet } from './priority-set';

const enum State {
  None = 0,
  Direct = 1,
  Residual = 2,
}

/** What a pick should use at priority 0: the plain list, a locality index, or nothing. */
export const ZONE_PLAIN = -1;
export const ZONE_FAIL = -2;

export class ZoneRouter {
  private state: State = State.None;
  private localPercentToRoute = 0;
  private residual = new Float64Array(0);
  private upstream: HostSet | undefined;
  private seenVersion = NaN;
  private readonly routingEnabledPct: number;
  private readonly minClusterSize: number;
  private readonly failTrafficOnPanic: boolean;
  private readonly force: boolean;

  constructor(
    private readonly local: LocalPrioritySource,
    options: ZoneAwareOptions | undefined,
    private readonly panicThresholdPct: number,
    private readonly random: RandomGenerator,
    private readonly stats: ZoneRoutingStats,
  ) {
    this.routingEnabledPct = options?.routingEnabledPct ?? DEFAULT_ZONE_ROUTING_ENABLED_PCT;
    this.minClusterSize = options?.minClusterSize ?? DEFAULT_ZONE_MIN_CLUSTER_SIZE;
    this.failTrafficOnPanic = options?.failTrafficOnPanic ?? false;
    this.force = options?.forceLocalityDirectRouting ?? false;
  }

  /** The upstream's priority-0 host set changed. */
  setUpstream(hs: HostSet | undefined): void {
    this.upstream = hs;
    this.regenerate();
  }

  /**
   * Envoy hostSourceToUse after the locality-weighted step, for priority 0: ZONE_PLAIN (use the
   * healthy/degraded list), ZONE_FAIL (no host: fail_traffic_on_panic), or a locality index.
   */
  choose(): number {
    if (this.local.version !== this.seenVersion) this.regenerate();
    if (this.state === State.None) return ZONE_PLAIN;
    if (this.random.nextUint32() % 100 >= this.routingEnabledPct) return ZONE_PLAIN;
    const lhs = this.local.localHostSet();
    if (lhs === undefined || isHostSetInPanic(lhs, this.panicThresholdPct)) {
      this.stats.localClusterNotOk.inc();
      return this.failTrafficOnPanic ? ZONE_FAIL : ZONE_PLAIN;
    }
    return this.chooseLocality();
  }

  /** Envoy tryChooseLocalLocalityHosts. */
  private chooseLocality(): number {
    if (this.state === State.Direct) {
      this.stats.allDirectly.inc();
      return 0;
    }
    if (this.random.nextUint32() % 10000 < this.localPercentToRoute) {
      this.stats.sampled.inc();
      return 0;
    }
    this.stats.crossZone.inc();
    const residual = this.residual;
    const n = residual.length;
    const total = residual[n - 1]!;
    if (total === 0) {
      this.stats.noCapacityLeft.inc();
      return this.random.nextUint32() % n;
    }
    const threshold = this.random.nextUint32() % total;
    let i = 0;
    while (threshold >= residual[i]!) i++;
    return i;
  }

  /** Envoy regenerateLocalityRoutingStructures. */
  private regenerate(): void {
    this.seenVersion = this.local.version;
    this.stats.recalculateZoneStructures.inc();
    this.state = State.None;
    const hs = this.upstream;
    const lhs = this.local.localHostSet();
    if (hs === undefined || this.earlyExit(hs, lhs)) return;
    const up = hs.healthyHostsPerLocality;
    const n = up.length;
    // calculateLocalityPercentages
    let totalLocal = 0;
    const localCounts = new Map<string, number>();
    lhs!.healthyHostsPerLocality.forEach((list, i) => {
      totalLocal += list.length;
      if (list.length > 0) localCounts.set(lhs!.localityKeys[i]!, list.length);
    });
    let totalUp = 0;
    for (const list of up) totalUp += list.length;
    const localPct = new Float64Array(n);
    const upPct = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      if (up[i]!.length === 0) continue;
      const lc = localCounts.get(hs.localityKeys[i]!) ?? 0;
      localPct[i] = totalLocal > 0 ? Math.floor((10000 * lc) / totalLocal) : 0;
      upPct[i] = totalUp > 0 ? Math.floor((10000 * up[i]!.length) / totalUp) : 0;
    }
    if (hs.hasLocalLocality && ((upPct[0]! > 0 && upPct[0]! >= localPct[0]!) || this.force)) {
      this.state = State.Direct;
      return;
    }
    this.state = State.Residual;
    this.localPercentToRoute = hs.hasLocalLocality && localPct[0]! > 0 ? Math.floor((upPct[0]! * 10000) / localPct[0]!) : 0;
    const residual = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const last = i > 0 ? residual[i - 1]! : 0;
      if (i === 0 && hs.hasLocalLocality) residual[i] = last;
      else residual[i] = upPct[i]! > localPct[i]! ? last + upPct[i]! - localPct[i]! : last;
    }
    this.residual = residual;
  }

  /** Envoy earlyExitNonLocalityRouting. */
  private earlyExit(hs: HostSet, lhs: HostSet | undefined): boolean {
    if (hs.healthyHostsPerLocality.length < 2) return true;
    if ((lhs === undefined || lhs.hostsPerLocality.length < 2) && !this.force) return true;
    if (lhs === undefined || !lhs.hasLocalLocality || lhs.hostsPerLocality[0]!.length === 0) {
      this.stats.localClusterNotOk.inc();
      return true;
    }
    if (hs.healthyHosts.length < this.minClusterSize) {
      this.stats.clusterTooSmall.inc();
      return true;
    }
    return false;
  }
}
