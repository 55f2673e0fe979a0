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
import { runInSlices, runToEnd } from '../../common/time-slices';
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

export interface ClusterManagerBuild {
  readonly configs: readonly ClusterConfig[];
  readonly endpoints: ReadonlyMap<string, EndpointSetConfig>;
  readonly previous: ClusterManager | undefined;
  readonly scope: StatsScope;
  readonly log: Logger;
  readonly secrets?: ReadonlyMap<string, SecretConfig>;
  readonly local?: LocalClusterSettings;
}

export class ClusterManager {
  private readonly clusters = new Map<string, ClusterRuntime>();
  /** During a build: runtimes built new -> the runtime they replace (if any). */
  private readonly fresh = new Map<ClusterRuntime, ClusterRuntime | undefined>();
  private previous: ClusterManager | undefined;
  private localRef: LocalClusterRef | undefined;

  constructor(
    configs: readonly ClusterConfig[],
    endpoints: ReadonlyMap<string, EndpointSetConfig>,
    previous: ClusterManager | undefined,
    scope: StatsScope,
    log: Logger,
    secrets: ReadonlyMap<string, SecretConfig> = new Map(),
    local: LocalClusterSettings = {},
  ) {
    runToEnd(this.build({ configs, endpoints, previous, scope, log, secrets, local }));
    this.finish(new Map());
  }

  /**
   * Builds a manager in time slices (common/time-slices), so
   * 10,000 changed clusters do not hold the worker's loop for the whole build: connections and
   * EDS deltas for the current runtime are served in between (replaced runtimes keep serving the
   * hosts their replacements share). The caller swaps right after finish().
   */
  static async create(b: ClusterManagerBuild): Promise<ClusterManager> {
    const cm = new ClusterManager([], new Map(), undefined, b.scope, b.log);
    await runInSlices(cm.build(b));
    return cm;
  }

  /**
   * One step per cluster. Only added and changed clusters cost a new runtime; unchanged ones
   * are carried over, and their hosts are rebuilt only when their endpoint set is another one.
   */
  private *build(b: ClusterManagerBuild): Generator<void, void> {
    const { previous } = b;
    this.previous = previous;
    const secrets = b.secrets ?? new Map<string, SecretConfig>();
    // Zone-aware routing: reused runtimes keep the local-cluster reference they were built with,
    // so one reference carries over; it moves to this manager at the swap (finish).
    const local = b.local ?? {};
    const name = local.clusterName;
    this.localRef = name ? (previous?.localRef?.name === name ? previous.localRef : new LocalClusterRef(name)) : undefined;
    const runtimeOptions: ClusterRuntimeOptions = {
      ...(local.locality ? { localLocalityKey: localityKey(local.locality) } : {}),
      ...(this.localRef ? { local: this.localRef } : {}),
    };
    for (const cfg of b.configs) {
      const old = previous?.clusters.get(cfg.name);
      const reuse = old && sameConfig(old.config, cfg);
      const rt = reuse ? old : new ClusterRuntime(cfg, b.scope, b.log, runtimeOptions);
      if (old && !reuse) rt.adopt(old, false);
      if (!reuse) this.fresh.set(rt, old);
      if (cfg.type === 'EDS') {
        const eps = b.endpoints.get(cfg.edsServiceName ?? cfg.name);
        if (eps && rt.endpointSet !== eps) rt.setEndpoints(eps);
      }
      rt.secrets = secrets;
      this.clusters.set(cfg.name, rt);
      yield; // the driver yields only when the slice is used up (JSON compares in worker processes count)
    }
    const resolve = (name: string) => this.clusters.get(name);
    for (const rt of this.clusters.values()) rt.setClusterResolver(resolve);
  }

  /**
   * Ends a build, right before the swap. `latest` holds EDS sets (by service) that arrived during
   * the build, newer than the snapshot's: carried-over runtimes took them already; a replacement
   * re-takes the hosts of the runtime it replaces (which applied them), a new cluster takes the
   * set. Replaced runtimes give up their hosts; removed ones are destroyed.
   */
  finish(latest: ReadonlyMap<string, EndpointSetConfig>): void {
    for (const [rt, old] of this.fresh) {
      const set = rt.config.type === 'EDS' ? latest.get(rt.config.edsServiceName ?? rt.config.name) : undefined;
      if (set && old) rt.adopt(old, false, true);
      else if (set) rt.setEndpoints(set);
      old?.releaseHosts();
    }
    this.fresh.clear();
    if (this.localRef) this.localRef.manager = this;
    const previous = this.previous;
    this.previous = undefined;
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
  // In-process snapshots share unchanged config objects; worker processes get copies.
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}
