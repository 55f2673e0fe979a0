// A cluster on a worker: its hosts (from load_assignment, DNS or EDS), host choice, and
// upstream TCP connects with Envoy's connect timeout, source binding and stats. One
// ClusterRuntime lives as long as its config is unchanged across snapshots, so host state and
// DNS results carry over. Load balancing here is round robin over healthy hosts (the full set of
// Envoy balancers lives in ./lb and is wired by the upstream-management work).
import { lookup } from 'node:dns';
import * as net from 'node:net';
import type { Logger } from 'pino';
import { addressToString, type AddressConfig } from '../../config/model/address';
import type { ClusterConfig, EndpointSetConfig, HealthStatus } from '../../config/model/cluster';
import type { Counter } from '../../stats/counter';
import type { Gauge } from '../../stats/gauge';
import type { StatsScope } from '../../stats/stats-store';

/** One upstream host. */
export interface Host {
  readonly address: AddressConfig;
  /** "ip:port" or the pipe path; stable identity across updates. */
  readonly key: string;
  readonly hostname: string;
  readonly weight: number;
  readonly health: HealthStatus;
  readonly priority: number;
  activeConnections: number;
}

export interface ClusterStats {
  readonly upstreamCxTotal: Counter;
  readonly upstreamCxActive: Gauge;
  readonly upstreamCxConnectFail: Counter;
  readonly upstreamCxConnectTimeout: Counter;
  readonly upstreamCxNoneHealthy: Counter;
  readonly upstreamCxRxBytesTotal: Counter;
  readonly upstreamCxTxBytesTotal: Counter;
  readonly upstreamCxDestroy: Counter;
  readonly membershipTotal: Gauge;
  readonly membershipHealthy: Gauge;
  readonly updateSuccess: Counter;
  readonly updateFailure: Counter;
}

function clusterStats(scope: StatsScope): ClusterStats {
  return {
    upstreamCxTotal: scope.counter('upstream_cx_total'),
    upstreamCxActive: scope.gauge('upstream_cx_active'),
    upstreamCxConnectFail: scope.counter('upstream_cx_connect_fail'),
    upstreamCxConnectTimeout: scope.counter('upstream_cx_connect_timeout'),
    upstreamCxNoneHealthy: scope.counter('upstream_cx_none_healthy'),
    upstreamCxRxBytesTotal: scope.counter('upstream_cx_rx_bytes_total'),
    upstreamCxTxBytesTotal: scope.counter('upstream_cx_tx_bytes_total'),
    upstreamCxDestroy: scope.counter('upstream_cx_destroy'),
    membershipTotal: scope.gauge('membership_total', 'NeverImport'),
    membershipHealthy: scope.gauge('membership_healthy', 'NeverImport'),
    updateSuccess: scope.counter('update_success'),
    updateFailure: scope.counter('update_failure'),
  };
}

/** Host identity: Envoy's textual address ("ip:port", "[v6]:port" or the pipe path). */
export const addressKey = addressToString;

function hostsFrom(set: EndpointSetConfig | undefined): Host[] {
  const out: Host[] = [];
  for (const loc of set?.localities ?? []) {
    for (const ep of loc.endpoints) {
      out.push({ address: ep.address, key: addressKey(ep.address), hostname: ep.hostname, weight: ep.loadBalancingWeight, health: ep.healthStatus, priority: loc.priority, activeConnections: 0 });
    }
  }
  return out;
}

const USABLE: ReadonlySet<HealthStatus> = new Set(['UNKNOWN', 'HEALTHY', 'DEGRADED']);

export class ClusterRuntime {
  readonly stats: ClusterStats;
  private hosts: Host[] = [];
  private usable: Host[] = [];
  private rr = 0;
  private dnsTimer: NodeJS.Timeout | undefined;
  private destroyed = false;

  constructor(
    readonly config: ClusterConfig,
    scope: StatsScope,
    private readonly log: Logger,
  ) {
    this.stats = clusterStats(scope.scope(`cluster.${config.statName}.`));
    this.rr = Math.floor(Math.random() * 1024);
    if (config.type === 'STATIC') this.setHosts(hostsFrom(config.loadAssignment));
    else if (config.type === 'STRICT_DNS' || config.type === 'LOGICAL_DNS') this.resolveDns();
  }

  /** Replaces the host set (EDS update, DNS result). */
  setHosts(hosts: Host[]): void {
    // Keep the live connection counts of hosts that stay (MOSN/Envoy carry host state by key).
    const prev = new Map(this.hosts.map((h) => [h.key, h]));
    for (const h of hosts) {
      const old = prev.get(h.key);
      if (old) h.activeConnections = old.activeConnections;
    }
    this.hosts = hosts;
    // Lowest priority level with usable hosts (full priority/locality LB: ./lb).
    let best = Infinity;
    for (const h of hosts) if (USABLE.has(h.health) && h.priority < best) best = h.priority;
    this.usable = hosts.filter((h) => USABLE.has(h.health) && h.priority === best);
    this.stats.membershipTotal.set(hosts.length);
    this.stats.membershipHealthy.set(hosts.filter((h) => USABLE.has(h.health)).length);
  }

  setEndpoints(set: EndpointSetConfig): void {
    this.setHosts(hostsFrom(set));
  }

  allHosts(): readonly Host[] {
    return this.hosts;
  }

  /** Next host, or undefined when none is usable. */
  chooseHost(): Host | undefined {
    const n = this.usable.length;
    if (n === 0) return undefined;
    if (n === 1) return this.usable[0];
    // Weighted round robin by expanding the cursor over cumulative weights.
    let total = 0;
    for (const h of this.usable) total += h.weight;
    let k = this.rr++ % total;
    for (const h of this.usable) {
      if (k < h.weight) return h;
      k -= h.weight;
    }
    return this.usable[0];
  }

  /**
   * Opens a TCP (or pipe) connection to `host` with the cluster's connect timeout and source
   * binding. `done` is called once: with the connected socket, or with an error kind.
   */
  connect(host: Host | AddressConfig, done: (err: 'connect_fail' | 'connect_timeout' | null, socket: net.Socket | undefined) => void): net.Socket {
    const address = 'key' in host ? host.address : host;
    const opts: net.NetConnectOpts =
      address.kind === 'pipe'
        ? { path: address.path, allowHalfOpen: true }
        : { host: address.kind === 'socket' ? address.address : '127.0.0.1', port: address.kind === 'socket' ? address.port : 0, allowHalfOpen: true, noDelay: true, ...(this.config.upstreamBindAddress ? { localAddress: this.config.upstreamBindAddress } : {}) };
    if (this.config.tcpKeepalive && address.kind === 'socket') {
      (opts as net.TcpNetConnectOpts).keepAlive = true;
      if (this.config.tcpKeepalive.timeS) (opts as net.TcpNetConnectOpts).keepAliveInitialDelay = this.config.tcpKeepalive.timeS * 1000;
    }
    const stats = this.stats;
    stats.upstreamCxTotal.inc();
    const socket = net.connect(opts);
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      stats.upstreamCxConnectTimeout.inc();
      socket.destroy();
      done('connect_timeout', undefined);
    }, this.config.connectTimeoutMs);
    const h = 'key' in host ? host : undefined;
    socket.once('connect', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stats.upstreamCxActive.add(1);
      if (h) h.activeConnections++;
      socket.once('close', () => {
        stats.upstreamCxActive.sub(1);
        stats.upstreamCxDestroy.inc();
        if (h) h.activeConnections--;
      });
      done(null, socket);
    });
    socket.once('error', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stats.upstreamCxConnectFail.inc();
      done('connect_fail', undefined);
    });
    return socket;
  }

  /** STRICT_DNS: every endpoint's name resolves to all its addresses; LOGICAL_DNS: first address only. */
  private resolveDns(): void {
    if (this.destroyed) return;
    const eps = hostsFrom(this.config.loadAssignment);
    const family = this.config.dnsLookupFamily === 'V4_ONLY' ? 4 : this.config.dnsLookupFamily === 'V6_ONLY' ? 6 : 0;
    let pending = eps.length;
    const resolved: Host[] = [];
    let failed = false;
    const finish = () => {
      if (this.destroyed) return;
      if (!failed || resolved.length > 0) {
        this.setHosts(resolved);
        this.stats.updateSuccess.inc();
      } else {
        this.stats.updateFailure.inc();
      }
      this.dnsTimer = setTimeout(() => this.resolveDns(), this.config.dnsRefreshRateMs);
      this.dnsTimer.unref();
    };
    if (pending === 0) return finish();
    for (const ep of eps) {
      if (ep.address.kind !== 'socket' || net.isIP(ep.address.address)) {
        resolved.push(ep);
        if (--pending === 0) finish();
        continue;
      }
      const sa = ep.address;
      lookup(sa.address, { all: true, family }, (err, addrs) => {
        if (err || !addrs.length) {
          failed = true;
          this.log.warn({ cluster: this.config.name, host: sa.address, err: err?.code }, 'dns: resolution failed');
        } else {
          const list = this.config.type === 'LOGICAL_DNS' ? addrs.slice(0, 1) : addrs;
          for (const a of list) {
            const address: AddressConfig = { ...sa, address: a.address };
            resolved.push({ ...ep, address, key: addressKey(address), hostname: sa.address });
          }
        }
        if (--pending === 0) finish();
      });
    }
  }

  destroy(): void {
    this.destroyed = true;
    if (this.dnsTimer) clearTimeout(this.dnsTimer);
  }
}
