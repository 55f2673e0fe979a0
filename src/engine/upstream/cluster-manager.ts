// The worker's set of ClusterRuntimes for one snapshot. Built by materialize: clusters whose
// config is unchanged are carried over from the previous manager (keeping hosts, DNS state and
// counters), changed ones are rebuilt and take over the old runtime's hosts by key (health,
// outlier state, counts, sockets), removed ones are destroyed. Aggregate clusters resolve their
// children through the manager current at the time. With a local cluster (bootstrap
// cluster_manager.local_cluster_name) and the node's locality, every cluster's LB gets the local
// cluster's priority-0 host set for zone-aware routing, resolved through the current manager.
import type { Logger } from 'pino';
import type { ClusterConfig, EndpointSetConfig } from '../../config/model/cluster';
import type { SecretConfig } from '../../config/model/secret';
import type { StatsScope } from '../../stats/stats-store';
import type { LocalPrioritySource } from './lb/lb-types';
import type { HostSet } from './lb/priority-set';
import { ClusterRuntime, localityKey, type ClusterRuntimeOptions } from './cluster-runtime';

/** Process-wide facts zone-aware routing needs (bootstrap node.locality, local_cluster_name). */
export interface LocalClusterSettings {
  readonly clusterName?: string;
  readonly locality?: { readonly region: string; readonly zone: string; readonly subZone: string };
}

/** The local cluster as seen by the LBs, looked up in whichever manager is current. */
class LocalClusterRef implements LocalPrioritySource {
  manager: ClusterManager | undefined;

  constructor(readonly name: string) {}

  get version(): number {
    return this.manager?.get(this.name)?.hostSetVersion ?? 0;
  }

  localHostSet(): HostSet | undefined {
    return this.manager?.get(this.name)?.currentPrioritySet().hostSets[0];
  }
}

export class ClusterManager {
  private readonly clusters = new Map<string, ClusterRuntime>();
  private readonly localRef: LocalClusterRef | undefined;

  constructor(
    configs: readonly ClusterConfig[],
    endpoints: ReadonlyMap<string, EndpointSetConfig>,
    previous: ClusterManager | undefined,
    scope: StatsScope,
    log: Logger,
    secrets: ReadonlyMap<string, SecretConfig> = new Map(),
    local: LocalClusterSettings = {},
  ) {
    // Reused runtimes keep the reference they were built with, so it moves to this manager.
    const name = local.clusterName;
    this.localRef = name ? (previous?.localRef?.name === name ? previous.localRef : new LocalClusterRef(name)) : undefined;
    if (this.localRef) this.localRef.manager = this;
    const runtimeOptions: ClusterRuntimeOptions = {
      ...(local.locality ? { localLocalityKey: localityKey(local.locality) } : {}),
      ...(this.localRef ? { local: this.localRef } : {}),
    };
    for (const cfg of configs) {
      const old = previous?.clusters.get(cfg.name);
      const reuse = old && sameConfig(old.config, cfg);
      const rt = reuse ? old : new ClusterRuntime(cfg, scope, log, runtimeOptions);
      if (old && !reuse) rt.adopt(old);
      if (cfg.type === 'EDS') {
        const eps = endpoints.get(cfg.edsServiceName ?? cfg.name);
        if (eps) rt.setEndpoints(eps);
      }
      rt.secrets = secrets;
      this.clusters.set(cfg.name, rt);
    }
    const resolve = (name: string) => this.clusters.get(name);
    for (const rt of this.clusters.values()) rt.setClusterResolver(resolve);
    if (previous) {
      for (const [name, rt] of previous.clusters) if (this.clusters.get(name) !== rt) rt.destroy();
    }
  }

  get(name: string): ClusterRuntime | undefined {
    return this.clusters.get(name);
  }

  all(): IterableIterator<ClusterRuntime> {
    return this.clusters.values();
  }

  /** Applies an EDS-only change without a new snapshot. */
  updateEndpoints(serviceName: string, set: EndpointSetConfig): boolean {
    let hit = false;
    for (const rt of this.clusters.values()) {
      if (rt.config.type === 'EDS' && (rt.config.edsServiceName ?? rt.config.name) === serviceName) {
        rt.setEndpoints(set);
        hit = true;
      }
    }
    return hit;
  }

  destroy(): void {
    for (const rt of this.clusters.values()) rt.destroy();
  }
}

function sameConfig(a: ClusterConfig, b: ClusterConfig): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}
