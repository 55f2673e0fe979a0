// Base of the hashing ("thread aware") load balancers RING_HASH and MAGLEV, Envoy's
// ThreadAwareLoadBalancerBase (source/extensions/load_balancing_policies/common/
// thread_aware_lb_impl.cc). At refresh, per priority: normalize host weights (and locality
// weights when locality-weighted LB is on) so they sum to 1, using all hosts if the priority
// is in panic and the healthy hosts otherwise, and build one lookup table. Per pick: the
// request's 64-bit hash (or a random one when the request has none, which makes the LB act
// as RANDOM, as Envoy does) picks the priority as hash % 100 + 1 and then the host from that
// priority's table. Degraded hosts are never in a table, as in Envoy. The bounded-load variant
// (hash_balance_factor) is not implemented.
// Worker side; chooseHost() allocates nothing.

import { mod64 } from '../../../common/hash/xxhash64';
import {
  DEFAULT_HEALTHY_PANIC_THRESHOLD_PCT,
  newLbStats,
  type LbContext,
  type LbHost,
  type LbOptions,
  type LbPolicyKind,
  type LbStats,
  type LoadBalancer,
  type RandomGenerator,
} from './lb-types';
import { choosePriority, computePriorityLoad, type PriorityLoad } from './priority-load';
import type { HostSet, PrioritySet } from './priority-set';

/** A host and its weight normalized so that a priority's weights sum to 1. */
export interface NormalizedHostWeight {
  readonly host: LbHost;
  readonly weight: number;
}

/** The lookup structure of one priority (a ring or a maglev table). */
export interface HashingTable {
  /** Host for the 64-bit hash (hi, lo); attempt > 0 steps off the primary choice. */
  chooseHost(hashHi: number, hashLo: number, attempt: number): LbHost | null;
}

export type HashingTableFactory = (
  weights: readonly NormalizedHostWeight[],
  minNormalizedWeight: number,
  maxNormalizedWeight: number,
) => HashingTable;

export class HashingLoadBalancer implements LoadBalancer {
  readonly stats: LbStats = newLbStats();
  private load: PriorityLoad | null = null;
  private tables: HashingTable[] = [];
  private readonly panicThresholdPct: number;
  private readonly localityWeighted: boolean;

  constructor(
    readonly policy: LbPolicyKind,
    options: LbOptions,
    private readonly random: RandomGenerator,
    private readonly createTable: (stats: LbStats) => HashingTableFactory,
  ) {
    this.panicThresholdPct = options.healthyPanicThresholdPct ?? DEFAULT_HEALTHY_PANIC_THRESHOLD_PCT;
    this.localityWeighted = options.localityWeightedLb ?? false;
  }

  refresh(prioritySet: PrioritySet): void {
    const load = computePriorityLoad(prioritySet, this.panicThresholdPct);
    const factory = this.createTable(this.stats);
    this.tables = prioritySet.hostSets.map((hs) => {
      const nw = normalizeWeights(hs, load.panic[hs.priority] === 1, this.localityWeighted);
      return factory(nw.weights, nw.min, nw.max);
    });
    this.load = load;
  }

  chooseHost(ctx: LbContext | null): LbHost | null {
    const load = this.load;
    if (load === null) return null;
    let hi: number, lo: number;
    if (ctx !== null && ctx.hasHash) {
      hi = ctx.hashHi;
      lo = ctx.hashLo;
    } else {
      hi = this.random.nextUint32();
      lo = this.random.nextUint32();
    }
    const p = choosePriority(load, mod64(hi, lo, 100) + 1) >> 1;
    const table = this.tables[p];
    if (table === undefined) return null;
    if (load.panic[p] === 1) this.stats.lbHealthyPanic++;
    return table.chooseHost(hi, lo, ctx === null ? 0 : ctx.attempt);
  }
}

/** normalizeWeights / normalizeHostWeights / normalizeLocalityWeights of Envoy. */
export function normalizeWeights(
  hs: HostSet,
  inPanic: boolean,
  localityWeighted: boolean,
): { weights: NormalizedHostWeight[]; min: number; max: number } {
  const out = { weights: [] as NormalizedHostWeight[], min: 1.0, max: 0.0 };
  if (!localityWeighted || hs.localityWeights.length === 0) {
    normalizeHostWeights(inPanic ? hs.hosts : hs.healthyHosts, 1.0, out);
    return out;
  }
  const perLocality = inPanic ? hs.hostsPerLocality : hs.healthyHostsPerLocality;
  let sum = 0;
  for (const w of hs.localityWeights) sum += w;
  if (sum === 0) return out; // all localities weigh 0: nothing to route to
  for (let i = 0; i < hs.localityWeights.length; i++) {
    const lw = hs.localityWeights[i]!;
    if (lw !== 0) normalizeHostWeights(perLocality[i]!, lw / sum, out);
  }
  return out;
}

function normalizeHostWeights(
  hosts: readonly LbHost[],
  localityWeight: number,
  out: { weights: NormalizedHostWeight[]; min: number; max: number },
): void {
  let sum = 0;
  for (const h of hosts) sum += h.weight;
  for (const h of hosts) {
    const weight = (h.weight * localityWeight) / sum;
    out.weights.push({ host: h, weight });
    if (weight < out.min) out.min = weight;
    if (weight > out.max) out.max = weight;
  }
}

/** Envoy's hashKey(): the hostname when use_hostname_for_hashing, else the address string. */
export function hostHashKey(host: LbHost, useHostname: boolean): string {
  return useHostname ? host.hostname : host.addressKey;
}
