// ROUND_ROBIN (Envoy source/extensions/load_balancing_policies/round_robin/round_robin_lb.h on
// EdfLoadBalancerBase). Equal weights: plain rotation over the chosen host list, the cursor
// starting at a per-LB random seed so workers and proxies do not move in lockstep. Unequal
// weights: the host list's EDF schedule (smooth weighted round robin, deadline 1/weight).
// Worker side, called per request by the router; chooseHost() allocates nothing.

import { HostSources } from './host-sources';
import {
  newLbStats,
  type LbContext,
  type LbHost,
  type LbOptions,
  type LbStats,
  type LoadBalancer,
  type RandomGenerator,
} from './lb-types';
import type { PrioritySet } from './priority-set';

function hostWeight(h: LbHost): number {
  return h.weight;
}

export class RoundRobinLoadBalancer implements LoadBalancer {
  readonly policy = 'ROUND_ROBIN' as const;
  readonly stats: LbStats = newLbStats();
  private readonly sources: HostSources;

  constructor(options: LbOptions, private readonly random: RandomGenerator) {
    this.sources = HostSources.fromLbOptions(options, random, hostWeight, true, this.stats);
  }

  refresh(prioritySet: PrioritySet): void {
    this.sources.rebuild(prioritySet);
  }

  chooseHost(_ctx: LbContext | null): LbHost | null {
    const src = this.sources.select(this.random.nextUint32());
    if (src === null) return null;
    const n = src.hosts.length;
    if (n === 0) return null;
    if (src.edf !== null) return src.edf.pickAndAdd()!;
    return src.hosts[src.rrIndex++ % n]!;
  }
}
