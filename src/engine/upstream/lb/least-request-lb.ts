// LEAST_REQUEST (Envoy source/extensions/load_balancing_policies/least_request/
// least_request_lb.cc). Equal weights: power of N choices (choice_count, default 2) - sample N
// hosts at random and keep the one with the fewest active requests (ties keep the earlier
// sample), or FULL_SCAN with reservoir sampling among ties. Unequal weights: the EDF schedule
// with each host re-queued at weight / (active_requests + 1)^active_request_bias (bias default
// 1.0; 0 makes it weighted round robin). Active requests are read live from LbHost at pick
// time. With slow_start_config that weight is further scaled for hosts in their window
// (slow-start.ts). Worker side, per request; chooseHost() allocates nothing.

import { HostSources } from './host-sources';
import {
  DEFAULT_ACTIVE_REQUEST_BIAS,
  DEFAULT_LEAST_REQUEST_CHOICE_COUNT,
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

export class LeastRequestLoadBalancer implements LoadBalancer {
  readonly policy = 'LEAST_REQUEST' as const;
  readonly stats: LbStats = newLbStats();
  private readonly sources: HostSources;
  private readonly choiceCount: number;
  private readonly bias: number;
  private readonly fullScan: boolean;
  private readonly slowStart: SlowStart | null;

  constructor(options: LbOptions, private readonly random: RandomGenerator, env: LbEnvironment = {}) {
    this.choiceCount = Math.max(1, options.choiceCount ?? DEFAULT_LEAST_REQUEST_CHOICE_COUNT);
    const bias = options.activeRequestBias ?? DEFAULT_ACTIVE_REQUEST_BIAS;
    // Envoy warns and falls back to 1.0 on a negative or NaN bias.
    this.bias = bias < 0 || Number.isNaN(bias) ? 1.0 : bias;
    this.fullScan = options.leastRequestSelection === 'FULL_SCAN';
    this.slowStart = slowStartFor(options.slowStart, env.clock ?? monotonicMs);
    this.sources = HostSources.fromLbOptions(options, random, (h) => this.hostWeight(h), true, this.stats, env, this.slowStart); // one closure per LB, not per pick
  }

  refresh(prioritySet: PrioritySet): void {
    this.sources.rebuild(prioritySet);
  }

  /** Envoy LeastRequestLoadBalancer::hostWeight. */
  private hostWeight(h: LbHost): number {
    const active = h.activeRequests + 1;
    const w = this.bias === 1.0 ? h.weight / active : this.bias === 0.0 ? h.weight : h.weight / Math.pow(active, this.bias);
    const ss = this.slowStart;
    return ss !== null && ss.active() ? ss.scale(w, h) : w;
  }

  chooseHost(_ctx: LbContext | null): LbHost | null {
    const src = this.sources.select(this.random.nextUint32());
    if (src === null) return null;
    const hosts = src.hosts;
    const n = hosts.length;
    if (n === 0) return null;
    if (src.edf !== null) return src.edf.pickAndAdd()!;
    return this.fullScan ? this.pickFullScan(hosts) : this.pickNChoices(hosts);
  }

  private pickNChoices(hosts: readonly LbHost[]): LbHost {
    const n = hosts.length;
    let candidate = hosts[this.random.nextUint32() % n]!;
    for (let c = 1; c < this.choiceCount; c++) {
      const sampled = hosts[this.random.nextUint32() % n]!;
      if (sampled.activeRequests < candidate.activeRequests) candidate = sampled;
    }
    return candidate;
  }

  private pickFullScan(hosts: readonly LbHost[]): LbHost {
    let candidate = hosts[0]!;
    let candidateActive = candidate.activeRequests;
    let tied = 1;
    for (let i = 1; i < hosts.length; i++) {
      const h = hosts[i]!;
      const a = h.activeRequests;
      if (a < candidateActive) {
        candidate = h;
        candidateActive = a;
        tied = 1;
      } else if (a === candidateActive) {
        // Reservoir sampling: each of the tied hosts ends up chosen with probability 1/ties.
        tied++;
        if (this.random.nextUint32() % tied === 0) {
          candidate = h;
        }
      }
    }
    return candidate;
  }
}
