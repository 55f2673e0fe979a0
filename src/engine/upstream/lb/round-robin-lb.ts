// ROUND_ROBIN (Envoy source/extensions/load_balancing_policies/round_robin/round_robin_lb.h on
// EdfLoadBalancerBase). Equal weights: plain rotation over the chosen host list, the cursor
// starting at a per-LB random seed so workers and proxies do not move in lockstep. Unequal
// weights: the host list's EDF schedule (smooth weighted round robin, deadline 1/weight).
// With slow_start_config, a host in its window gets a reduced, ramping EDF weight (slow-start.ts).
// Worker side, called per request by the router; chooseHost() allocates nothing.

import { HostSources } from './host-sources';
import {
  monotonicMs,
  newLbStats,
  type LbContext,
  type LbEnvironment,
  type LbHost,
  type LbOptions,
  type LbStats,
  type LoadBalancer,
  type RandomGenerator,
} from './lb-types';
import type { PrioritySet } from './priority-set';
import { slowStartFor, type SlowStart } from './slow-start';

export class RoundRobinLoadBalancer implements LoadBalancer {
  readonly policy = 'ROUND_ROBIN' as const;
  readonly stats: LbStats = newLbStats();
  private readonly sources: HostSources;
  private readonly slowStart: SlowStart | null;

  constructor(options: LbOptions, private readonly random: RandomGenerator, env: LbEnvironment = {}) {
    this.slowStart = slowStartFor(options.slowStart, env.clock ?? monotonicMs);
    this.sources = HostSources.fromLbOptions(options, random, (h) => this.hostWeight(h), true, this.stats, env, this.slowStart); // one closure per LB
  }

  /** Envoy RoundRobinLoadBalancer::hostWeight. */
  private hostWeight(h: LbHost): number {
    const ss = this.slowStart;
    return ss !== null && ss.active() ? ss.scale(h.weight, h) : h.weight;
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
