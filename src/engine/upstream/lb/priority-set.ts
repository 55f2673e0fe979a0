// PrioritySet: the hosts of one cluster partitioned the way Envoy's LBs consume them
// (envoy/upstream/upstream.h HostSet/PrioritySet; ClusterImplBase::partitionHostList and
// partitionHostsPerLocality in source/common/upstream/upstream_impl.cc). Built by the cluster
// runtime on the worker each time membership, health or weights change, then passed to the
// cluster's LoadBalancer.refresh(). Immutable once built; never touched on the request path
// except through the arrays the LBs captured at refresh.
//
//   PrioritySet
//     hostSets[p]            one HostSet per priority 0..max (empty ones included, as Envoy)
//       hosts                every host at p, in input order (panic mode uses these)
//       healthyHosts         health == healthy
//       degradedHosts        health == degraded
//       excludedHosts        health == excluded (not counted in the health percentage)
//       localities[i]        key + weight, in order of first appearance, except that the
//                            node's own locality (localLocalityKey) comes first when present
//                            (Envoy's HostsPerLocality "local locality first"; zone-aware
//                            routing relies on it)
//       *PerLocality[i]      the same four partitions per locality

import { DEFAULT_OVERPROVISIONING_FACTOR, type LbHost } from './lb-types';

export interface HostSet {
  readonly priority: number;
  readonly hosts: readonly LbHost[];
  readonly healthyHosts: readonly LbHost[];
  readonly degradedHosts: readonly LbHost[];
  readonly excludedHosts: readonly LbHost[];
  readonly localityKeys: readonly string[];
  /** LocalityLbEndpoints.load_balancing_weight per locality (0 when unset). */
  readonly localityWeights: readonly number[];
  readonly hostsPerLocality: readonly (readonly LbHost[])[];
  readonly healthyHostsPerLocality: readonly (readonly LbHost[])[];
  readonly degradedHostsPerLocality: readonly (readonly LbHost[])[];
  readonly excludedHostsPerLocality: readonly (readonly LbHost[])[];
  /** ClusterLoadAssignment.policy.overprovisioning_factor (percent, default 140). */
  readonly overprovisioningFactor: number;
  /** ClusterLoadAssignment.policy.weighted_priority_health: health % by weight, not count. */
  readonly weightedPriorityHealth: boolean;
  /** Index 0 of the per-locality lists is the node's own locality (Envoy hasLocalLocality()). */
  readonly hasLocalLocality: boolean;
}

export interface PrioritySet {
  readonly hostSets: readonly HostSet[];
  /** Total hosts over all priorities. */
  readonly hostCount: number;
}

export interface PrioritySetOptions {
  readonly overprovisioningFactor?: number;
  readonly weightedPriorityHealth?: boolean;
  /** The node's locality key (same spelling as LbHost.localityKey); its hosts go first. */
  readonly localLocalityKey?: string;
}

interface MutableHostSet {
  priority: number;
  hosts: LbHost[];
  healthyHosts: LbHost[];
  degradedHosts: LbHost[];
  excludedHosts: LbHost[];
  localityKeys: string[];
  localityWeights: number[];
  hostsPerLocality: LbHost[][];
  healthyHostsPerLocality: LbHost[][];
  degradedHostsPerLocality: LbHost[][];
  excludedHostsPerLocality: LbHost[][];
  overprovisioningFactor: number;
  weightedPriorityHealth: boolean;
  hasLocalLocality: boolean;
}

/** Partition hosts by priority, health and locality. Hosts keep their input order. */
export function buildPrioritySet(hosts: readonly LbHost[], options: PrioritySetOptions = {}): PrioritySet {
  const factor = options.overprovisioningFactor ?? DEFAULT_OVERPROVISIONING_FACTOR;
  const weighted = options.weightedPriorityHealth ?? false;
  let maxPriority = 0;
  for (const h of hosts) if (h.priority > maxPriority) maxPriority = h.priority;
  const sets: MutableHostSet[] = [];
  for (let p = 0; p <= maxPriority; p++) {
    sets.push({
      priority: p,
      hosts: [],
      healthyHosts: [],
      degradedHosts: [],
      excludedHosts: [],
      localityKeys: [],
      localityWeights: [],
      hostsPerLocality: [],
      healthyHostsPerLocality: [],
      degradedHostsPerLocality: [],
      excludedHostsPerLocality: [],
      overprovisioningFactor: factor,
      weightedPriorityHealth: weighted,
      hasLocalLocality: false,
    });
  }
  const localityIndex: Map<string, number>[] = sets.map(() => new Map());
  for (const h of hosts) {
    const set = sets[h.priority]!;
    let li = localityIndex[h.priority]!.get(h.localityKey);
    if (li === undefined) {
      li = set.localityKeys.length;
      localityIndex[h.priority]!.set(h.localityKey, li);
      set.localityKeys.push(h.localityKey);
      set.localityWeights.push(h.localityWeight);
      set.hostsPerLocality.push([]);
      set.healthyHostsPerLocality.push([]);
      set.degradedHostsPerLocality.push([]);
      set.excludedHostsPerLocality.push([]);
    }
    set.hosts.push(h);
    set.hostsPerLocality[li]!.push(h);
    switch (h.health) {
      case 'healthy':
        set.healthyHosts.push(h);
        set.healthyHostsPerLocality[li]!.push(h);
        break;
      case 'degraded':
        set.degradedHosts.push(h);
        set.degradedHostsPerLocality[li]!.push(h);
        break;
      case 'excluded':
        set.excludedHosts.push(h);
        set.excludedHostsPerLocality[li]!.push(h);
        break;
      case 'unhealthy':
        break;
    }
  }
  if (options.localLocalityKey !== undefined) {
    for (let p = 0; p < sets.length; p++) {
      const li = localityIndex[p]!.get(options.localLocalityKey);
      if (li !== undefined) moveLocalityFirst(sets[p]!, li);
    }
  }
  return { hostSets: sets, hostCount: hosts.length };
}

function moveLocalityFirst(set: MutableHostSet, li: number): void {
  set.hasLocalLocality = true;
  if (li === 0) return;
  const lists = [set.localityKeys, set.localityWeights, set.hostsPerLocality, set.healthyHostsPerLocality, set.degradedHostsPerLocality, set.excludedHostsPerLocality] as unknown[][];
  for (const list of lists) list.unshift(list.splice(li, 1)[0]);
}
