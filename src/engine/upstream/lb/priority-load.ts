// Priority load and panic computation, Envoy's LoadBalancerBase (source/extensions/
// load_balancing_policies/common/load_balancer_impl.cc: recalculatePerPriorityState,
// recalculatePerPriorityPanic, recalculateLoadInTotalPanic, choosePriority). Computed once per
// PrioritySet at LB refresh; choosePriority() runs per pick and allocates nothing.
//
// Per priority p (integer arithmetic exactly as Envoy, so the splits match to the percent):
//   health[p]   = min(100, factor * healthy  / (hosts - excluded))   factor = overprovisioning
//   degraded[p] = min(100, factor * degraded / (hosts - excluded))   (weights instead of counts
//                                                                   with weighted_priority_health)
//   total = min(100, sum(health) + sum(degraded))
//   healthyLoad[p]  = min(left, health[p] * 100 / total), taken in priority order from 100
//   degradedLoad[p] = the same from what is left, over degraded[]; any rounding remainder goes
//                     to the first priority with healthy (else degraded) availability.
//   panic[p] = total < 100 && healthy% + degraded% of p < panic threshold
//   all priorities in panic -> load by raw host count per priority ("total panic").
// Example: P0 5 of 10 healthy, P1 all healthy -> health 70 / 100 -> load 70% / 30%.

import type { PrioritySet } from './priority-set';

export interface PriorityLoad {
  readonly healthyLoad: Int32Array;
  readonly degradedLoad: Int32Array;
  /** 1 where the priority is in panic (route to all its hosts). */
  readonly panic: Uint8Array;
  /** Availability figures, exposed for admin/debug and tests. */
  readonly health: Int32Array;
  readonly degraded: Int32Array;
}

export function computePriorityLoad(ps: PrioritySet, panicThresholdPct: number): PriorityLoad {
  const n = Math.max(1, ps.hostSets.length);
  const out: PriorityLoad = {
    healthyLoad: new Int32Array(n),
    degradedLoad: new Int32Array(n),
    panic: new Uint8Array(n),
    health: new Int32Array(n),
    degraded: new Int32Array(n),
  };
  const threshold = Math.min(100, Math.max(0, Math.round(panicThresholdPct)));

  for (const hs of ps.hostSets) {
    const p = hs.priority;
    const hostCount = hs.hosts.length - hs.excludedHosts.length;
    if (hostCount <= 0) continue;
    let healthyW: number, degradedW: number, totalW: number;
    if (hs.weightedPriorityHealth) {
      healthyW = sumWeights(hs.healthyHosts);
      degradedW = sumWeights(hs.degradedHosts);
      totalW = sumWeights(hs.hosts) - sumWeights(hs.excludedHosts);
    } else {
      healthyW = hs.healthyHosts.length;
      degradedW = hs.degradedHosts.length;
      totalW = hostCount;
    }
    if (totalW <= 0) continue;
    out.health[p] = Math.min(100, Math.floor((hs.overprovisioningFactor * healthyW) / totalW));
    out.degraded[p] = Math.min(100, Math.floor((hs.overprovisioningFactor * degradedW) / totalW));
  }

  const total = normalizedTotalAvailability(out.health, out.degraded);
  if (total > 0) {
    let left = 100;
    let firstHealthy = -1;
    for (let i = 0; i < n; i++) {
      if (firstHealthy < 0 && out.health[i]! > 0) firstHealthy = i;
      const l = Math.min(left, Math.floor((out.health[i]! * 100) / total));
      out.healthyLoad[i] = l;
      left -= l;
    }
    let firstDegraded = -1;
    for (let i = 0; i < n; i++) {
      if (firstDegraded < 0 && out.degraded[i]! > 0) firstDegraded = i;
      const l = Math.min(left, Math.floor((out.degraded[i]! * 100) / total));
      out.degradedLoad[i] = l;
      left -= l;
    }
    if (left !== 0) {
      if (firstHealthy !== -1) out.healthyLoad[firstHealthy]! += left;
      else out.degradedLoad[firstDegraded]! += left;
    }
  }

  // recalculatePerPriorityPanic
  if (threshold === 0 && total === 0) {
    // Nothing available and panic disabled: Envoy still needs loads summing to 100; P0 gets
    // them and the pick finds no healthy host.
    out.healthyLoad[0] = 100;
    return out;
  }
  let totalPanic = true;
  for (let i = 0; i < n; i++) {
    const hs = ps.hostSets[i];
    const inPanic = total === 100 ? false : hs === undefined || isHostSetInPanic(hs, threshold);
    out.panic[i] = inPanic ? 1 : 0;
    totalPanic = totalPanic && inPanic;
  }
  if (totalPanic) loadInTotalPanic(ps, out);
  return out;
}

function sumWeights(hosts: readonly { readonly weight: number }[]): number {
  let s = 0;
  for (const h of hosts) s += h.weight;
  return s;
}

function normalizedTotalAvailability(health: Int32Array, degraded: Int32Array): number {
  let s = 0;
  for (let i = 0; i < health.length; i++) s += health[i]! + degraded[i]!;
  return Math.min(100, s);
}

export function isHostSetInPanic(
  hs: { hosts: readonly unknown[]; excludedHosts: readonly unknown[]; healthyHosts: readonly unknown[]; degradedHosts: readonly unknown[] },
  threshold: number,
): boolean {
  const hostCount = hs.hosts.length - hs.excludedHosts.length;
  const healthyPct = hostCount <= 0 ? 0 : (100 * hs.healthyHosts.length) / hostCount;
  const degradedPct = hostCount <= 0 ? 0 : (100 * hs.degradedHosts.length) / hostCount;
  return healthyPct + degradedPct < threshold;
}

function loadInTotalPanic(ps: PrioritySet, out: PriorityLoad): void {
  const n = out.healthyLoad.length;
  let totalHosts = 0;
  for (const hs of ps.hostSets) totalHosts += hs.hosts.length;
  out.degradedLoad.fill(0);
  if (totalHosts === 0) {
    out.healthyLoad.fill(0);
    out.healthyLoad[0] = 100;
    return;
  }
  let left = 100;
  let firstNonEmpty = -1;
  for (let i = 0; i < n; i++) {
    const count = ps.hostSets[i]?.hosts.length ?? 0;
    if (firstNonEmpty === -1 && count !== 0) firstNonEmpty = i;
    const l = Math.floor((100 * count) / totalHosts);
    out.healthyLoad[i] = l;
    left -= l;
  }
  out.healthyLoad[firstNonEmpty]! += left;
}

/**
 * Envoy's choosePriority: `value1to100` is (hash % 100) + 1. Walks healthy loads then degraded
 * loads. Returns (priority << 1) | (1 if the degraded hosts are to be used).
 */
export function choosePriority(load: PriorityLoad, value1to100: number): number {
  const hl = load.healthyLoad;
  let acc = 0;
  for (let p = 0; p < hl.length; p++) {
    acc += hl[p]!;
    if (value1to100 <= acc) return p << 1;
  }
  const dl = load.degradedLoad;
  for (let p = 0; p < dl.length; p++) {
    acc += dl[p]!;
    if (value1to100 <= acc) return (p << 1) | 1;
  }
  return 0; // loads always sum to 100; Envoy logs a bug and uses P0 healthy
}
