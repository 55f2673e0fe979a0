// Host source selection shared by ROUND_ROBIN, LEAST_REQUEST and RANDOM: Envoy's
// ZoneAwareLoadBalancerBase::hostSourceToUse plus EdfLoadBalancerBase::refresh (source/
// extensions/load_balancing_policies/common/load_balancer_impl.cc) and LocalityWrr
// (common/locality_wrr.cc). Per pick: priority from the priority load, then
//   panic at that priority      -> all hosts of the priority (counts lb_healthy_panic)
//   locality weighted LB on     -> a locality by EDF over effective locality weights
//                                  (weight x min(1, factor x eligible/(hosts-excluded))),
//                                  then that locality's healthy (or degraded) hosts
//   priority 0 with a local     -> zone-aware routing (zone-aware.ts): our own locality's or
//   cluster                        another locality's healthy (or degraded) hosts
//   otherwise                   -> the priority's healthy (or degraded) hosts.
// Every candidate list ("host source") carries its own EDF schedule (built when there are 2+
// hosts and weights differ or some host is in slow start, as Envoy) or a round-robin cursor.
//
// Built at refresh; select() allocates nothing.

import { EdfScheduler, type EdfWeightFn } from './edf-scheduler';
import { DEFAULT_HEALTHY_PANIC_THRESHOLD_PCT, newZoneRoutingStats, type LbEnvironment, type LbHost, type LbOptions, type LbStats, type RandomGenerator } from './lb-types';
import type { SlowStart } from './slow-start';
import { ZONE_FAIL, ZONE_PLAIN, ZoneRouter } from './zone-aware';
import { choosePriority, computePriorityLoad, type PriorityLoad } from './priority-load';
import type { HostSet, PrioritySet } from './priority-set';

/** One candidate list and its pick state. */
export interface HostSource {
  readonly hosts: readonly LbHost[];
  /** Weighted schedule, null when all weights are equal (plain rotation / P2C then). */
  readonly edf: EdfScheduler<LbHost> | null;
  /** Round-robin cursor (ROUND_ROBIN only); starts at the LB's random seed, like Envoy. */
  rrIndex: number;
}

interface PerPriority {
  readonly all: HostSource;
  readonly healthy: HostSource;
  readonly degraded: HostSource;
  readonly localityHealthy: readonly HostSource[];
  readonly localityDegraded: readonly HostSource[];
  readonly healthyLocalities: EdfScheduler<number> | null;
  readonly degradedLocalities: EdfScheduler<number> | null;
}

export interface HostSourcesOptions {
  readonly panicThresholdPct: number;
  readonly localityWeighted: boolean;
  readonly random: RandomGenerator;
  /** EDF weight of a host (read again each time the host is re-queued). */
  readonly weightOf: EdfWeightFn<LbHost>;
  /** Build EDF schedules for lists with unequal weights (false for RANDOM). */
  readonly useEdf: boolean;
  readonly stats: LbStats;
  /** Slow start (ROUND_ROBIN / LEAST_REQUEST with a window), else null. */
  readonly slowStart?: SlowStart | null;
  /** Zone-aware routing at priority 0 (a local cluster is configured), else null. */
  readonly zone?: ZoneRouter | null;
  /** zone_aware_lb_config.fail_traffic_on_panic: a pick at a priority in panic finds no host. */
  readonly failTrafficOnPanic?: boolean;
}

export class HostSources {
  /** Host sources for a cluster's LbOptions, with Envoy's defaults (panic threshold 50%, no locality weighting). */
  static fromLbOptions(
    options: LbOptions,
    random: RandomGenerator,
    weightOf: EdfWeightFn<LbHost>,
    useEdf: boolean,
    stats: LbStats,
    env: LbEnvironment = {},
    slowStart: SlowStart | null = null,
  ): HostSources {
    const panicThresholdPct = options.healthyPanicThresholdPct ?? DEFAULT_HEALTHY_PANIC_THRESHOLD_PCT;
    return new HostSources({
      panicThresholdPct,
      localityWeighted: options.localityWeightedLb ?? false,
      random,
      weightOf,
      useEdf,
      stats,
      slowStart,
      zone: env.local ? new ZoneRouter(env.local, options.zoneAware, panicThresholdPct, random, env.zoneStats ?? newZoneRoutingStats()) : null,
      failTrafficOnPanic: options.zoneAware?.failTrafficOnPanic ?? false,
    });
  }

  private load: PriorityLoad | null = null;
  private perPriority: PerPriority[] = [];
  /** Envoy's EdfLoadBalancerBase seed_: one random per LB, reused across refreshes. */
  private readonly seed: number;

  constructor(private readonly opts: HostSourcesOptions) {
    this.seed = opts.random.nextUint32();
  }

  get priorityLoad(): PriorityLoad | null {
    return this.load;
  }

  rebuild(ps: PrioritySet): void {
    const old = new Map<string, number>();
    this.perPriority.forEach((pp, p) => {
      old.set(`${p}/a`, pp.all.rrIndex);
      old.set(`${p}/h`, pp.healthy.rrIndex);
      old.set(`${p}/d`, pp.degraded.rrIndex);
      pp.localityHealthy.forEach((s, i) => old.set(`${p}/lh${i}`, s.rrIndex));
      pp.localityDegraded.forEach((s, i) => old.set(`${p}/ld${i}`, s.rrIndex));
    });
    const slowStart = this.opts.slowStart ?? null;
    const src = (hosts: readonly LbHost[], key: string): HostSource => {
      slowStart?.noteHosts(hosts);
      const weighted = !weightsAreEqual(hosts) || (slowStart !== null && slowStart.active());
      return {
        hosts,
        edf: this.opts.useEdf && hosts.length > 1 && weighted ? EdfScheduler.createWithPicks(hosts, this.opts.weightOf, this.seed) : null,
        // Envoy inserts the seed only for sources it has not seen, keeping existing cursors.
        rrIndex: old.get(key) ?? this.seed,
      };
    };
    this.load = computePriorityLoad(ps, this.opts.panicThresholdPct);
    this.perPriority = ps.hostSets.map((hs, p) => {
      const localitySeed = this.opts.random.nextUint32();
      return {
        all: src(hs.hosts, `${p}/a`),
        healthy: src(hs.healthyHosts, `${p}/h`),
        degraded: src(hs.degradedHosts, `${p}/d`),
        localityHealthy: hs.healthyHostsPerLocality.map((h, i) => src(h, `${p}/lh${i}`)),
        localityDegraded: hs.degradedHostsPerLocality.map((h, i) => src(h, `${p}/ld${i}`)),
        healthyLocalities: this.opts.localityWeighted
          ? localityScheduler(hs, hs.healthyHostsPerLocality, hs.healthyHosts.length, localitySeed)
          : null,
        degradedLocalities: this.opts.localityWeighted
          ? localityScheduler(hs, hs.degradedHostsPerLocality, hs.degradedHosts.length, localitySeed)
          : null,
      };
    });
    this.opts.zone?.setUpstream(ps.hostSets[0]);
  }

  /** Pick the host source for one request; `r` is a uniform uint32 (or the request hash). */
  select(r: number): HostSource | null {
    const load = this.load;
    if (load === null) return null;
    const pa = choosePriority(load, (r % 100) + 1);
    const p = pa >> 1;
    const pp = this.perPriority[p];
    if (pp === undefined) return null;
    if (load.panic[p] === 1) {
      this.opts.stats.lbHealthyPanic++;
      return this.opts.failTrafficOnPanic ? null : pp.all;
    }
    const degraded = (pa & 1) === 1;
    if (this.opts.localityWeighted) {
      const sched = degraded ? pp.degradedLocalities : pp.healthyLocalities;
      if (sched !== null) {
        const li = sched.pickAndAdd()!;
        return degraded ? pp.localityDegraded[li]! : pp.localityHealthy[li]!;
      }
    }
    const zone = this.opts.zone;
    if (p === 0 && zone) {
      const li = zone.choose();
      if (li === ZONE_FAIL) return null;
      if (li !== ZONE_PLAIN) return (degraded ? pp.localityDegraded[li] : pp.localityHealthy[li]) ?? null;
    }
    return degraded ? pp.degraded : pp.healthy;
  }
}

function weightsAreEqual(hosts: readonly LbHost[]): boolean {
  if (hosts.length <= 1) return true;
  const w = hosts[0]!.weight;
  for (let i = 1; i < hosts.length; i++) if (hosts[i]!.weight !== w) return false;
  return true;
}

/**
 * LocalityWrr::rebuildLocalityScheduler: EDF over localities with positive effective weight;
 * null when there are no eligible hosts, no localities, or every effective weight is 0 (the
 * pick then falls back to the whole healthy/degraded list, as Envoy does).
 */
function localityScheduler(
  hs: HostSet,
  eligiblePerLocality: readonly (readonly LbHost[])[],
  eligibleCount: number,
  seed: number,
): EdfScheduler<number> | null {
  if (eligibleCount === 0 || hs.localityWeights.length === 0) return null;
  const effective: number[] = [];
  const indexes: number[] = [];
  for (let i = 0; i < hs.hostsPerLocality.length; i++) {
    const w = effectiveLocalityWeight(hs, i, eligiblePerLocality);
    effective[i] = w;
    if (w > 0) indexes.push(i);
  }
  if (indexes.length === 0) return null;
  return EdfScheduler.createWithPicks(indexes, (i) => effective[i]!, seed);
}

/** LocalityWrr::effectiveLocalityWeight. */
export function effectiveLocalityWeight(
  hs: HostSet,
  index: number,
  eligiblePerLocality: readonly (readonly LbHost[])[],
): number {
  const excluded = hs.excludedHostsPerLocality[index]?.length ?? 0;
  const hostCount = hs.hostsPerLocality[index]!.length - excluded;
  if (hostCount <= 0) return 0;
  const ratio = (1.0 * eligiblePerLocality[index]!.length) / hostCount;
  return hs.localityWeights[index]! * Math.min(1.0, (hs.overprovisioningFactor / 100.0) * ratio);
}
