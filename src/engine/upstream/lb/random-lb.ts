// RANDOM (Envoy source/extensions/load_balancing_policies/random/random_lb.cc): one uniform
// random number picks the priority (value % 100) and then the host (value % hosts). Host
// weights are ignored, as in Envoy (so is slow start: Envoy's random LB is not EDF based);
// zone-aware routing applies. Worker side, per request; allocates nothing.

import { HostSources } from './host-sources';
import {
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

function unitWeight(): number {
  return 1;
}

export class RandomLoadBalancer implements LoadBalancer {
  readonly policy = 'RANDOM' as const;
  readonly stats: LbStats = newLbStats();
  private readonly sources: HostSources;

  constructor(options: LbOptions, private readonly random: RandomGenerator, env: LbEnvironment = {}) {
    this.sources = HostSources.fromLbOptions(options, random, unitWeight, false, this.stats, env);
  }

  refresh(prioritySet: PrioritySet): void {
    this.sources.rebuild(prioritySet);
  }

  chooseHost(_ctx: LbContext | null): LbHost | null {
    const r = this.random.nextUint32();
    const src = this.sources.select(r);
    if (src === null) return null;
    const n = src.hosts.length;
    return n === 0 ? null : src.hosts[r % n]!;
  }
}
