// The engine of one worker event loop: materializes each ConfigSnapshot into a runtime
// (ClusterManager + ActiveListeners), swaps the current reference, and diffs listeners —
// unchanged listeners are kept, changed ones are replaced and the old one drains for the drain
// time, removed ones drain. Used in-process (--concurrency 1) and in worker processes.
import type * as net from 'node:net';
import type { Logger } from 'pino';
import type { ConfigSnapshot } from '../config/model/snapshot';
import type { ConnectionRuntime } from '../engine/api/network-filter';
import { ActiveListener, type ListenerHost } from '../engine/listener/active-listener';
import { ClusterManager, type LocalClusterSettings } from '../engine/upstream/cluster-manager';
import { compileRouteTable, type RouteTable } from '../engine/http/route/route-table';
import type { StatsStore } from '../stats/stats-store';
import { addressToString } from '../config/model/address';
import { reportClusterStatuses, type WorkerClusterStatus } from './cluster-status';
import type { EndpointDelta } from './protocol';

export interface BoundListener {
  readonly name: string;
  /** Bound address ("ip:port" or pipe path), or undefined when bind_to_port is false. */
  readonly address: string | undefined;
  /** bind_to_port false: the configured address (Envoy's /listeners prints it for such listeners). */
  readonly configuredAddress?: string;
  /**
   * additional_addresses, for listeners that do not bind (configured addresses). Bound listeners
   * leave it out: ActiveListener binds only the main address today.
   */
  readonly additionalAddresses?: readonly string[];
}

export interface OriginalDstLookup {
  (socket: net.Socket): { address: string; port: number } | null;
}

export class WorkerEngine implements ListenerHost {
  private runtime: ConnectionRuntime | undefined;
  private readonly listeners = new Map<string, ActiveListener>();
  private readonly listenerKeys = new Map<string, string>();
  private connSeq = 0;
  private routeCache = new Map<string, { key: string; table: RouteTable }>();
  /** EDS service name -> names of the clusters of the current snapshot that load it. */
  /** (A single name rather than a one-element list: 10,000 clusters, one service each.) */
  private edsIndex = new Map<string, string | string[]>();

  constructor(
    private readonly stats: StatsStore,
    private readonly log: Logger,
    private readonly drainTimeMs: number,
    private readonly origDst: OriginalDstLookup,
    /** Bootstrap local cluster and node locality for zone-aware routing. */
    private readonly localCluster: LocalClusterSettings = {},
  ) {}

  currentRuntime(): ConnectionRuntime {
    return this.runtime!;
  }

  nextConnectionId(): number {
    return ++this.connSeq;
  }

  originalDestination(socket: net.Socket): { address: string; port: number } | null {
    return this.origDst(socket);
  }

  findListenerFor(ip: string, port: number, except: ActiveListener): ActiveListener | undefined {
    let wildcard: ActiveListener | undefined;
    for (const l of this.listeners.values()) {
      if (l === except) continue;
      const a = l.config.address;
      if (a.kind !== 'socket' || a.port !== port) continue;
      if (a.address === ip) return l;
      if (a.address === '0.0.0.0' || a.address === '::') wildcard ??= l;
    }
    return wildcard;
  }

  /**
   * Applies a snapshot. Resolves once new listeners are bound; rejects if a bind fails. Applies
   * run one at a time. The cluster manager is built in slices (ClusterManager.create): the
   * current runtime keeps serving meanwhile, and EDS deltas that arrive during the build are
   * applied to it at once and, at the swap, to the clusters the build made new.
   */
  apply(snap: ConfigSnapshot): Promise<BoundListener[]> {
    const run = this.applying.then(() => this.applyOne(snap));
    this.applying = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private applying: Promise<void> = Promise.resolve();
  /** EDS deltas received while a cluster manager is being built (service -> latest set). */
  private deltasDuringBuild: Map<string, EndpointDelta['set']> | undefined;

  private async applyOne(snap: ConfigSnapshot): Promise<BoundListener[]> {
    const previous = this.runtime;
    const secrets = new Map(snap.secrets.map((s) => [s.name, s]));
    const building = new Map<string, EndpointDelta['set']>();
    this.deltasDuringBuild = building;
    let clusters: ClusterManager;
    try {
      clusters = await ClusterManager.create({ configs: snap.clusters, endpoints: new Map(Object.entries(snap.endpoints)), previous: previous?.clusters, scope: this.stats, log: this.log, secrets, local: this.localCluster });
    } finally {
      this.deltasDuringBuild = undefined;
    }
    clusters.finish(building);
    // Route tables compile once per changed RouteConfiguration; unchanged ones are reused.
    const routes = new Map<string, RouteTable>();
    const nextCache = new Map<string, { key: string; table: RouteTable }>();
    for (const rc of snap.routeConfigs) {
      const key = JSON.stringify(rc);
      const cached = this.routeCache.get(rc.name);
      const table = cached && cached.key === key ? cached.table : compileRouteTable(rc);
      routes.set(rc.name, table);
      nextCache.set(rc.name, { key, table });
    }
    this.routeCache = nextCache;
    const edsIndex = new Map<string, string | string[]>();
    for (const c of snap.clusters) {
      if (c.type !== 'EDS') continue;
      const service = c.edsServiceName ?? c.name;
      const have = edsIndex.get(service);
      if (have === undefined) edsIndex.set(service, c.name);
      else if (typeof have === 'string') edsIndex.set(service, [have, c.name]);
      else have.push(c.name);
    }
    this.edsIndex = edsIndex;
    this.runtime = { generation: snap.generation, clusters, routes, secrets };
    const seen = new Set<string>();
    const starts: Promise<void>[] = [];
    for (const cfg of snap.listeners) {
      seen.add(cfg.name);
      const key = JSON.stringify(cfg);
      const old = this.listeners.get(cfg.name);
      if (old && this.listenerKeys.get(cfg.name) === key) continue;
      if (old && old.canUpdateChainsInPlace(cfg)) {
        // Only filter chains changed: update in place; only removed/changed chains drain.
        const r = old.updateChainsInPlace(cfg, this.drainTimeMs);
        this.log.info({ listener: cfg.name, kept: r.kept, drained: r.drained }, 'lds: in-place filter chain update');
        this.listenerKeys.set(cfg.name, key);
        continue;
      }
      const next = new ActiveListener(cfg, this, this.stats, this.log);
      if (old) {
        // Replace: the new listener takes over the old one's socket when it binds the same way
        // (no connection refused in between); otherwise drain() closes the old socket first so
        // the new one can bind the same address. The old listener drains its connections.
        next.adoptSocket(old);
        this.log.info({ listener: cfg.name }, 'lds: update listener; draining the old one');
        void old.drain(this.drainTimeMs);
      } else {
        this.log.info({ listener: cfg.name }, 'lds: add listener');
      }
      this.listeners.set(cfg.name, next);
      this.listenerKeys.set(cfg.name, key);
      starts.push(next.start());
    }
    for (const [name, l] of this.listeners) {
      if (seen.has(name)) continue;
      this.log.info({ listener: name }, 'lds: remove listener; draining');
      this.listeners.delete(name);
      this.listenerKeys.delete(name);
      void l.drain(this.drainTimeMs);
    }
    await Promise.all(starts);
    return this.bound();
  }

  /**
   * Applies EDS-only changes to the current runtime's clusters: only the named clusters' host
   * sets are rebuilt; listeners, routes and other clusters are untouched. Returns how many
   * clusters took a new host set (services of clusters not in the runtime are ignored: a later
   * snapshot carries their endpoints).
   */
  updateEndpoints(updates: readonly EndpointDelta[]): number {
    const rt = this.runtime;
    if (!rt) return 0;
    let n = 0;
    for (const u of updates) {
      this.deltasDuringBuild?.set(u.serviceName, u.set);
      const names = this.edsIndex.get(u.serviceName) ?? [];
      for (const name of typeof names === 'string' ? [names] : names) {
        const cluster = rt.clusters.get(name);
        if (!cluster) continue;
        cluster.setEndpoints(u.set);
        n++;
      }
    }
    return n;
  }

  bound(): BoundListener[] {
    return [...this.listeners.values()].map((l) => {
      const unbound = !l.config.bindToPort;
      return {
        name: l.config.name,
        address: typeof l.boundAddress === 'string' ? l.boundAddress : l.boundAddress ? (l.boundAddress.family === 'IPv6' ? `[${l.boundAddress.address}]:${l.boundAddress.port}` : `${l.boundAddress.address}:${l.boundAddress.port}`) : undefined,
        ...(unbound ? { configuredAddress: addressToString(l.config.address) } : {}),
        ...(unbound && l.config.additionalAddresses.length > 0 ? { additionalAddresses: l.config.additionalAddresses.map(addressToString) } : {}),
      };
    });
  }

  /** Admin /clusters: this worker's live cluster and host state (empty before the first snapshot). */
  clusterStatuses(): WorkerClusterStatus[] {
    return this.runtime ? reportClusterStatuses(this.runtime.clusters) : [];
  }

  /** Drains listeners (all, or only INBOUND ones), keeping them bound for the drain window. */
  drainListeners(inboundOnly: boolean): void {
    for (const l of this.listeners.values()) if (!inboundOnly || l.config.trafficDirection === 'INBOUND') l.startDrainNotice();
  }

  close(): void {
    for (const l of this.listeners.values()) l.close();
    this.listeners.clear();
    this.runtime?.clusters.destroy();
  }
}
