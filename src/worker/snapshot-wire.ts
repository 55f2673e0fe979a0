// A snapshot as it travels to worker processes: only what changed since the previous snapshot
// sent. Clusters and EDS sets whose config object is the one the previous snapshot held (the
// store keeps the object of an unchanged resource) go as a name; the worker takes them from the
// previous snapshot it received, as the very same objects, so its cluster manager sees an
// unchanged cluster at once (a === b) instead of comparing two copies as JSON. A push that
// changes a few clusters of 10,000 then costs the control process a few clusters of
// serialization per worker, not all of them plus every endpoint set.
import type { ClusterConfig, EndpointSetConfig } from '../config/model/cluster';
import type { ConfigSnapshot } from '../config/model/snapshot';

export interface WireSnapshot extends Omit<ConfigSnapshot, 'clusters' | 'endpoints'> {
  /** A cluster's config, or its name when unchanged since the previous snapshot. */
  readonly clusters: readonly (ClusterConfig | string)[];
  /** EDS sets that changed (or are new) since the previous snapshot. */
  readonly endpoints: Readonly<Record<string, EndpointSetConfig>>;
  /** Services whose EDS set is the previous snapshot's. */
  readonly sameEndpoints: readonly string[];
}

/** The control side's half: `prev` is the snapshot last sent to the same workers. */
export function toWire(prev: ConfigSnapshot | undefined, next: ConfigSnapshot): WireSnapshot {
  const prevClusters = new Map<string, ClusterConfig>();
  for (const c of prev?.clusters ?? []) prevClusters.set(c.name, c);
  const clusters = next.clusters.map((c) => (prevClusters.get(c.name) === c ? c.name : c));
  const endpoints: Record<string, EndpointSetConfig> = {};
  const sameEndpoints: string[] = [];
  for (const [name, set] of Object.entries(next.endpoints)) {
    if (prev && prev.endpoints[name] === set) sameEndpoints.push(name);
    else endpoints[name] = set;
  }
  return { ...next, clusters, endpoints, sameEndpoints };
}

/** The worker's half: `prev` is the snapshot this worker last received (fromWire's result). */
export function fromWire(prev: ConfigSnapshot | undefined, wire: WireSnapshot): ConfigSnapshot {
  const prevClusters = new Map<string, ClusterConfig>();
  for (const c of prev?.clusters ?? []) prevClusters.set(c.name, c);
  const clusters = wire.clusters.map((c) => {
    if (typeof c !== 'string') return c;
    const have = prevClusters.get(c);
    if (!have) throw new Error(`snapshot ${wire.generation}: cluster '${c}' sent as unchanged but the previous snapshot lacks it`);
    return have;
  });
  const endpoints: Record<string, EndpointSetConfig> = { ...wire.endpoints };
  for (const name of wire.sameEndpoints) {
    const have = prev?.endpoints[name];
    if (!have) throw new Error(`snapshot ${wire.generation}: EDS set '${name}' sent as unchanged but the previous snapshot lacks it`);
    endpoints[name] = have;
  }
  const { sameEndpoints: _, ...rest } = wire;
  return { ...rest, clusters, endpoints };
}
