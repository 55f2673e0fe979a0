// Slow start for ROUND_ROBIN and LEAST_REQUEST (Envoy EdfLoadBalancerBase in source/extensions/
// load_balancing_policies/common/load_balancer_impl.cc: recalculateHostsInSlowStart,
// noHostsAreInSlowStart, applySlowStartFactor).
//
// When a host's window starts: at its lastHcPassTimeMs. Active health checking sets that when a
// host turns healthy (health-checker.ts); a healthy host the LB sees without one (no active HC,
// or HC has not run) gets "now", so a host added by EDS/DNS starts its window when it joins.
// The LB tracks the latest window start among the hosts it has seen; while now - latest <= window
// the cluster "has hosts in slow start": every host source gets an EDF schedule (even with equal
// weights) and each host's EDF weight is scaled, for a healthy host t ms into its window, by
//   max(timeFactor ^ (1 / aggression), min_weight_percent / 100),  timeFactor = max(1, t) / window.
// The EDF scheduler reads the weight again every time it re-queues a host after a pick, so a
// host's share ramps up pick by pick during the window without any rebuild (Envoy has no timer
// either). Hosts seen again later (every refresh re-scans its host lists) only move the latest
// window start forward when they are still inside their window.

import { DEFAULT_SLOW_START_AGGRESSION, DEFAULT_SLOW_START_MIN_WEIGHT_PERCENT, type LbHost, type MonotonicClock, type SlowStartOptions } from './lb-types';

export class SlowStart {
  private latestHostAddedMs: number;
  private readonly windowMs: number;
  private readonly aggression: number;
  private readonly minWeight: number;

  constructor(
    options: SlowStartOptions,
    private readonly clock: MonotonicClock,
  ) {
    this.windowMs = Math.max(0, Math.floor(options.windowMs));
    const a = options.aggression ?? DEFAULT_SLOW_START_AGGRESSION;
    // Envoy logs and uses 1.0 for an aggression <= 0 or NaN (a runtime override can produce one).
    this.aggression = a <= 0 || Number.isNaN(a) ? 1.0 : a;
    this.minWeight = (options.minWeightPercent ?? DEFAULT_SLOW_START_MIN_WEIGHT_PERCENT) / 100;
    this.latestHostAddedMs = clock();
  }

  /** Envoy recalculateHostsInSlowStart: note window starts of hosts added or re-listed. */
  noteHosts(hosts: readonly LbHost[]): void {
    const now = this.clock();
    for (const h of hosts) {
      if (h.health !== 'healthy') continue;
      const passed = h.lastHcPassTimeMs ?? now;
      if (h.lastHcPassTimeMs === undefined) h.lastHcPassTimeMs = now;
      if (passed > this.latestHostAddedMs && Math.floor(now - passed) <= this.windowMs) this.latestHostAddedMs = passed;
    }
  }

  /** Envoy !noHostsAreInSlowStart(): some host's window is still open. */
  active(): boolean {
    return Math.floor(this.clock() - this.latestHostAddedMs) <= this.windowMs;
  }

  /** Envoy applySlowStartFactor: `weight` scaled for a healthy host inside its window. */
  scale(weight: number, h: LbHost): number {
    const passed = h.lastHcPassTimeMs;
    if (passed === undefined || h.health !== 'healthy') return weight;
    const inWindow = Math.floor(this.clock() - passed);
    if (inWindow >= this.windowMs) return weight;
    const timeFactor = Math.max(1, inWindow) / this.windowMs;
    const ramp = this.aggression === 1.0 || timeFactor === 1.0 ? timeFactor : Math.pow(timeFactor, 1.0 / this.aggression);
    return weight * Math.max(ramp, this.minWeight);
  }
}

/** A SlowStart for the options, or null when slow start is off (no config or a zero window). */
export function slowStartFor(options: SlowStartOptions | undefined, clock: MonotonicClock): SlowStart | null {
  return options && options.windowMs > 0 ? new SlowStart(options, clock) : null;
}
