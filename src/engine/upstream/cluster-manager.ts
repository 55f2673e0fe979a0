// The worker's set of ClusterRuntimes for one snapshot. Built by materialize: clusters whose
// config is unchanged are carried over from the previous manager (keeping hosts, DNS state and
// counters), changed ones are rebuilt and take over the old runtime's hosts by key (health,
// outlier state, counts, sockets), removed ones are destroyed. Aggregate clusters resolve their
// children through the manager current at the time.
import type { Logger } from 'pino';
import type { ClusterConfig, EndpointSetConfig } from '../../config/model/cluster';
import type { SecretConfig } from '../../config/model/secret';
import type { StatsScope } from '../../stats/stats-store';
import { ClusterRuntime } from './cluster-runtime';

export class ClusterManager {
  private readonly clusters = new Map<string, ClusterRuntime>();

  constructor(
    configs: readonly ClusterConfig[],
    endpoints: ReadonlyMap<string, EndpointSetConfig>,
    previous: ClusterManager | undefined,
    scope: StatsScope,
    log: Logger,
    secrets: ReadonlyMap<string, SecretConfig> = new Map(),
  ) {
    for (const cfg of configs) {
      const old = previous?.clusters.get(cfg.name);
      const reuse = old && sameConfig(old.config, cfg);
      const rt = reuse ? old : new ClusterRuntime(cfg, scope, log);
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
