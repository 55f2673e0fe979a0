// Per-cluster HTTP state on a worker: the connection pools by host key and the cluster's
// upstream HTTP stats. Kept beside (not inside) ClusterRuntime, keyed by it weakly, so pools live
// exactly as long as the cluster runtime does and carry over when a snapshot keeps the cluster.
// TODO(hcm): move into ClusterRuntime once the upstream rework lands (owned elsewhere).
import type { StatsScope } from '../../../stats/stats-store';
import type { ClusterRuntime, Host } from '../../upstream/cluster-runtime';
import { upstreamHttpStats, type UpstreamHttpStats } from '../hcm-stats';
import { H1ConnPool } from './h1-conn-pool';
import { H2ConnPool } from './h2-conn-pool';

export class ClusterHttp {
  readonly stats: UpstreamHttpStats;
  private readonly h1 = new Map<string, H1ConnPool>();
  private readonly h2 = new Map<string, H2ConnPool>();

  constructor(
    readonly cluster: ClusterRuntime,
    root: StatsScope,
  ) {
    this.stats = upstreamHttpStats(root, cluster.config.statName);
  }

  /** Whether requests to this cluster go over HTTP/2 (downstream protocol for USE_DOWNSTREAM). */
  useH2(downstreamIsH2: boolean): boolean {
    const p = this.cluster.config.upstreamHttpProtocol;
    return p === 'HTTP2' || (p === 'USE_DOWNSTREAM' && downstreamIsH2);
  }

  h1Pool(host: Host): H1ConnPool {
    let p = this.h1.get(host.key);
    // A drained pool (its host left) is not reused, even if the address comes back.
    if (p === undefined || p.draining) {
      p = new H1ConnPool(this.cluster, host, this.stats);
      this.h1.set(host.key, p);
    }
    return p;
  }

  h2Pool(host: Host): H2ConnPool {
    let p = this.h2.get(host.key);
    if (p === undefined || p.draining) {
      p = new H2ConnPool(this.cluster, host, this.stats);
      this.h2.set(host.key, p);
    }
    return p;
  }
}

const byCluster = new WeakMap<ClusterRuntime, ClusterHttp>();

export function clusterHttp(cluster: ClusterRuntime, root: StatsScope): ClusterHttp {
  let c = byCluster.get(cluster);
  if (c === undefined) {
    c = new ClusterHttp(cluster, root);
    byCluster.set(cluster, c);
  }
  return c;
}
