// One listener on a worker: its socket (unless bind_to_port is false), filter chain matcher
// and per-chain filter factories, accepted connections, and draining. A connection picks its
// chain and the runtime current at accept time and keeps both until it closes.
//
//   accept -> [original_dst] -> listener filters (tls/http inspector, bytes put back)
//          -> chain match (port, IP, SNI, transport, ALPN, source) -> [TLS handshake] -> filters
//
// TPROXY mode (istiod's virtualInbound): `transparent` puts IP_TRANSPARENT on the listening socket
// so connections TPROXY steers to it for foreign destinations are accepted; their original
// destination is simply the local address. original_src puts the client's IP and the mark on the
// DownstreamConnection for the upstream side.
import * as net from 'node:net';
import type * as tls from 'node:tls';
import type { Logger } from 'pino';
import type { FilterChainConfig, ListenerConfig } from '../../config/model/listener';
import { createNetworkFilter } from '../../extensions/factories';
import type { Counter } from '../../stats/counter';
import type { Gauge } from '../../stats/gauge';
import type { StatsScope } from '../../stats/stats-store';
import type { ConnectionRuntime, DownstreamConnection, NetworkFilterFactory } from '../api/network-filter';
import type { DownstreamTlsContextConfig } from '../../config/model/tls';
import type { InspectionResult } from '../../extensions/filters/listener/inspector';
import { findOriginalSrc } from '../../extensions/filters/listener/original-src/config';
import { setSocketTransparent } from '../../platform/original-dst';
import { DownstreamTlsProvider, sslStats } from '../tls/downstream-tls';
import { isTlsTransport } from '../tls/upstream-tls';
import { FilterChainMatcher } from './filter-chain-matcher';
import { ListenerFilterRunner } from './listener-filter-runner';

/**
 * Per-chain drain state a connection sees as `conn.listener`: draining when its listener drains
 * or when an in-place listener update removed or changed its chain (Envoy drains only those
 * chains' connections). `config` is the listener's (HTTP reads traffic_direction from it).
 */
export class FilterChainState {
  draining = false;
  readonly connections = new Set<net.Socket>();
  constructor(private readonly listener: ActiveListener) {}
  get drainingNotice(): boolean {
    return this.draining || this.listener.drainingNotice;
  }
  get config(): ListenerConfig {
    return this.listener.config;
  }
}

export interface ActiveFilterChain {
  readonly config: FilterChainConfig;
  readonly state: FilterChainState;
  readonly filters: readonly NetworkFilterFactory[];
  /** Set when the chain terminates TLS (DownstreamTlsContext). */
  readonly tls?: DownstreamTlsProvider;
  /** Chains whose transport socket we cannot serve refuse connections. */
  readonly unsupported?: string;
}

interface ListenerStats {
  readonly downstreamCxTotal: Counter;
  readonly downstreamCxActive: Gauge;
  readonly serverTotalConnections: Gauge;
  readonly downstreamCxDestroy: Counter;
  readonly noFilterChainMatch: Counter;
}

/** Services the listener needs from its worker. */
export interface ListenerHost {
  /** The runtime current now (read once per accepted connection). */
  currentRuntime(): ConnectionRuntime;
  /** use_original_dst hand-off: the listener for an original destination, if any. */
  findListenerFor(ip: string, port: number, except: ActiveListener): ActiveListener | undefined;
  /** Original destination of a redirected socket, or null. */
  originalDestination(socket: net.Socket): { address: string; port: number } | null;
  nextConnectionId(): number;
}

let warnedTls = false;
const NO_INSPECTION: InspectionResult = {};

export class ActiveListener {
  matcher: FilterChainMatcher<ActiveFilterChain>;
  readonly stats: ListenerStats;
  private inspection: ListenerFilterRunner | undefined;
  /** Every chain of the current config (default last), for in-place updates. */
  private chains: ActiveFilterChain[] = [];
  private readonly buildChain: (c: FilterChainConfig) => ActiveFilterChain;
  private readonly scope: StatsScope;
  private server: net.Server | undefined;
  private readonly connections = new Set<net.Socket>();
  private draining = false;
  private drainTimer: NodeJS.Timeout | undefined;
  boundAddress: net.AddressInfo | string | undefined;
  /** original_src: SO_MARK for upstream sockets bound to the client's IP; undefined without the filter. */
  private readonly originalSrcMark: number | undefined;

  constructor(
    public config: ListenerConfig,
    private readonly host: ListenerHost,
    scope: StatsScope,
    private readonly log: Logger,
  ) {
    const ctx = { stats: scope, log };
    this.scope = scope;
    const ls = scope.scope(`listener.${config.statPrefix}.`);
    const ssl = sslStats(ls);
    this.buildChain = (c: FilterChainConfig): ActiveFilterChain => {
      const ts = c.transportSocket;
      const filters = c.filters.map((f) => createNetworkFilter(f, ctx));
      const state = new FilterChainState(this);
      if (!isTlsTransport(ts)) return { config: c, state, filters };
      const tlsCfg = ts!.config as DownstreamTlsContextConfig | undefined;
      if (tlsCfg?.kind !== 'downstream') return { config: c, state, filters, unsupported: `transport socket '${ts!.name}'` };
      return { config: c, state, filters, tls: new DownstreamTlsProvider(tlsCfg, ssl) };
    };
    this.matcher = this.compileChains(config, new Map());
    this.originalSrcMark = findOriginalSrc(config.listenerFilters)?.mark;
    this.stats = {
      downstreamCxTotal: ls.counter('downstream_cx_total'),
      downstreamCxActive: ls.gauge('downstream_cx_active'),
      // server.total_connections: every worker adds its open downstream connections (summed on scrape).
      serverTotalConnections: scope.gauge('server.total_connections'),
      downstreamCxDestroy: ls.counter('downstream_cx_destroy'),
      noFilterChainMatch: ls.counter('no_filter_chain_match'),
    };
  }

  /** Builds the matcher for `config`, reusing chains whose config is unchanged (by JSON key). */
  private compileChains(config: ListenerConfig, reuse: ReadonlyMap<string, ActiveFilterChain>): FilterChainMatcher<ActiveFilterChain> {
    const chains: ActiveFilterChain[] = [];
    const get = (c: FilterChainConfig): ActiveFilterChain => {
      const chain = reuse.get(JSON.stringify(c)) ?? this.buildChain(c);
      chains.push(chain);
      return chain;
    };
    const matcher = new FilterChainMatcher(
      config.filterChains.map((c) => ({ config: c, chain: get(c) })),
      config.defaultFilterChain ? get(config.defaultFilterChain) : undefined,
    );
    this.chains = chains;
    // Inspectors only run when some chain matches on what they find (SNI, transport, ALPN).
    const needs = matcher.needsInspection();
    const runner = new ListenerFilterRunner(config.listenerFilters, this.scope, config.listenerFiltersTimeoutMs, config.continueOnListenerFiltersTimeout);
    this.inspection = !runner.empty && (needs.serverName || needs.transport || needs.alpn) ? runner : undefined;
    return matcher;
  }

  /** True when `next` differs from the current config only in its filter chains. */
  canUpdateChainsInPlace(next: ListenerConfig): boolean {
    const strip = (c: ListenerConfig) => JSON.stringify({ ...c, filterChains: [], defaultFilterChain: undefined });
    return strip(next) === strip(this.config);
  }

  /**
   * Envoy's in-place filter chain update: the listener and its socket stay; unchanged chains
   * (same config) are kept with their connections; new chains serve new connections; the
   * connections of removed or changed chains drain (HTTP gets Connection: close / GOAWAY) and
   * are closed after `drainMs`.
   */
  updateChainsInPlace(next: ListenerConfig, drainMs: number): { kept: number; drained: number } {
    const old = new Map(this.chains.map((c) => [JSON.stringify(c.config), c]));
    const before = this.chains;
    this.matcher = this.compileChains(next, old);
    this.config = next;
    const kept = new Set(this.chains);
    let drained = 0;
    for (const chain of before) {
      if (kept.has(chain)) continue;
      drained++;
      chain.state.draining = true;
      if (chain.state.connections.size === 0) continue;
      const t = setTimeout(() => {
        for (const s of chain.state.connections) s.destroy();
      }, drainMs);
      t.unref();
    }
    return { kept: kept.size, drained };
  }

  /**
   * Takes over the listening socket of the listener this one replaces when both listen on the
   * same address with the same socket options, as Envoy shares the listen socket across a
   * listener update: closing and re-binding would refuse (or reset, from the old backlog) the
   * connections arriving in between. Call before draining `previous`; start() then uses it.
   */
  adoptSocket(previous: ActiveListener): boolean {
    const adopted = previous.releaseSocket(this.config);
    if (!adopted) return false;
    this.server = adopted;
    return true;
  }

  /** Binds the socket (if bind_to_port). Resolves when listening; rejects with the bind error. */
  start(): Promise<void> {
    if (!this.config.bindToPort) return Promise.resolve();
    const adopted = this.server;
    if (adopted) {
      adopted.on('connection', this.onConnection);
      adopted.on('error', this.onSocketError);
      this.boundAddress = adopted.address() ?? undefined;
      return Promise.resolve();
    }
    const a = this.config.address;
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true });
    this.server = server;
    server.on('connection', this.onConnection);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      const opts: net.ListenOptions =
        a.kind === 'pipe'
          ? { path: a.path }
          : { host: a.kind === 'socket' ? a.address : '127.0.0.1', port: a.kind === 'socket' ? a.port : 0, ipv6Only: a.kind === 'socket' && a.address.includes(':') && !a.ipv4Compat, ...(this.config.tcpBacklogSize ? { backlog: this.config.tcpBacklogSize } : {}) };
      server.listen(opts, () => {
        server.off('error', reject);
        // IP_TRANSPARENT may be set after bind/listen on Linux: TPROXY checks the listener's
        // transparent flag per packet (nf_tproxy_sk_is_transparent). In a node:cluster worker
        // (SCHED_NONE) the listening handle is this process's own fd, so this works there too.
        // Like Envoy, a listener whose socket options fail (EPERM without CAP_NET_ADMIN) fails.
        if (this.config.transparent && a.kind === 'socket') {
          try {
            setSocketTransparent(server, true);
          } catch (err) {
            server.close();
            this.server = undefined;
            reject(new Error(`listener ${this.config.name}: cannot make the socket transparent: ${(err as Error).message}`, { cause: err }));
            return;
          }
        }
        server.on('error', this.onSocketError);
        this.boundAddress = server.address() ?? undefined;
        resolve();
      });
    });
  }

  private readonly onSocketError = (err: Error): void => {
    this.log.error({ listener: this.config.name, err: err.message }, 'listener socket error');
  };

  /**
   * Gives the bound socket to the listener replacing this one when `next` binds the same way
   * (address, socket options, backlog); this listener stops accepting without closing it.
   */
  private releaseSocket(next: ListenerConfig): net.Server | undefined {
    const server = this.server;
    if (!server || this.draining || !next.bindToPort || bindKey(next) !== bindKey(this.config)) return undefined;
    server.off('connection', this.onConnection);
    server.off('error', this.onSocketError);
    this.server = undefined;
    return server;
  }

  private readonly onConnection = (socket: net.Socket): void => {
    if (this.draining && !this.server) {
      socket.destroy();
      return;
    }
    let dstIp = socket.localAddress ?? '';
    let dstPort = socket.localPort ?? 0;
    const needsOriginal = this.config.useOriginalDst || this.config.listenerFilters.some((f) => f.name === 'envoy.filters.listener.original_dst' || f.name === 'envoy.listener.original_dst');
    if (needsOriginal) {
      const od = this.host.originalDestination(socket);
      if (od) {
        dstIp = od.address;
        dstPort = od.port;
      }
    }
    if (this.config.useOriginalDst) {
      const target = this.host.findListenerFor(dstIp, dstPort, this);
      if (target) {
        target.handleConnection(socket, dstIp, dstPort);
        return;
      }
    }
    this.handleConnection(socket, dstIp, dstPort);
  };

  /** Runs listener filters, chain selection and the chain's filters for an accepted (or handed-off) socket. */
  handleConnection(socket: net.Socket, dstIp: string, dstPort: number): void {
    this.stats.downstreamCxTotal.inc();
    this.track(socket);
    if (!this.inspection) return this.dispatch(socket, dstIp, dstPort, NO_INSPECTION);
    this.inspection.run(socket, dstPort, (result) => {
      if (result) this.dispatch(socket, dstIp, dstPort, result);
    });
  }

  private dispatch(socket: net.Socket, dstIp: string, dstPort: number, found: InspectionResult): void {
    const remoteIp = socket.remoteAddress ?? '';
    const remotePort = socket.remotePort ?? 0;
    const chain = this.matcher.match({
      destinationIp: dstIp,
      destinationPort: dstPort,
      sourceIp: remoteIp,
      sourcePort: remotePort,
      directSourceIp: remoteIp,
      transportProtocol: found.transportProtocol ?? 'raw_buffer',
      ...(found.serverName ? { serverName: found.serverName } : {}),
      ...(found.applicationProtocols ? { applicationProtocols: found.applicationProtocols } : {}),
    });
    if (!chain) {
      this.stats.noFilterChainMatch.inc();
      socket.destroy();
      return;
    }
    if (chain.unsupported) {
      if (!warnedTls) {
        warnedTls = true;
        this.log.warn({ listener: this.config.name, chain: chain.config.name }, `${chain.unsupported} is not supported; refusing connections on that chain`);
      }
      socket.destroy();
      return;
    }
    const runtime = this.host.currentRuntime();
    if (!chain.tls) return this.startFilters(chain, socket, socket, dstIp, dstPort, runtime);
    chain.tls.start(socket, runtime.secrets, found, (err, tlsSocket) => {
      if (err || !tlsSocket) {
        this.log.debug({ listener: this.config.name, chain: chain.config.name, err: err?.message }, 'tls: downstream handshake failed');
        return;
      }
      this.retrack(socket, tlsSocket);
      this.startFilters(chain, socket, tlsSocket, dstIp, dstPort, runtime);
    });
  }

  private startFilters(chain: ActiveFilterChain, raw: net.Socket, socket: net.Socket | tls.TLSSocket, dstIp: string, dstPort: number, runtime: ConnectionRuntime): void {
    const state = chain.state;
    state.connections.add(socket);
    socket.once('close', () => state.connections.delete(socket));
    const conn: DownstreamConnection = {
      id: this.host.nextConnectionId(),
      listener: state,
      socket,
      destinationIp: dstIp,
      destinationPort: dstPort,
      remoteIp: raw.remoteAddress ?? '',
      remotePort: raw.remotePort ?? 0,
      runtime,
      listenerStatPrefix: this.config.statPrefix,
      bufferLimitBytes: this.config.perConnectionBufferLimitBytes,
      startTimeMs: Date.now(),
      ...(this.originalSrcMark !== undefined ? originalSource(raw.remoteAddress, this.originalSrcMark) : undefined),
    };
    const filters = chain.filters;
    for (let i = 0; i < filters.length; i++) filters[i]!.onNewConnection(conn);
  }

  /** Counts the connection as active until its socket closes. */
  private track(socket: net.Socket): void {
    this.connections.add(socket);
    this.stats.downstreamCxActive.add(1);
    this.stats.serverTotalConnections.add(1);
    socket.once('close', () => this.untrack(socket));
  }

  private untrack(socket: net.Socket): void {
    if (!this.connections.delete(socket)) return;
    this.stats.downstreamCxActive.sub(1);
    this.stats.serverTotalConnections.sub(1);
    this.stats.downstreamCxDestroy.inc();
  }

  /** After TLS is up, the TLS socket is the one to watch and to destroy on drain. */
  private retrack(raw: net.Socket, t: tls.TLSSocket): void {
    this.connections.delete(raw);
    this.connections.add(t);
    t.once('close', () => {
      this.untrack(t);
      if (!raw.destroyed) raw.destroy();
    });
  }

  /**
   * Graceful drain notice (admin /drain_listeners?graceful): keep accepting during the drain
   * window; protocol-aware filters (HTTP) read `drainingNotice` to send Connection: close/GOAWAY.
   */
  startDrainNotice(): void {
    this.drainingNotice = true;
  }

  drainingNotice = false;

  get activeConnections(): number {
    return this.connections.size;
  }

  /**
   * Stops accepting and closes remaining connections after `drainMs` (Envoy's listener drain on
   * removal or replacement). Resolves when the socket is closed and no connection remains.
   */
  drain(drainMs: number): Promise<void> {
    this.draining = true;
    // Envoy's listener drain also drains its HCMs: HTTP/1 responses carry Connection: close and
    // HTTP/2 gets GOAWAY, so keep-alive clients move to the new listener before the drain timer
    // destroys what is left (otherwise a request in flight at that moment is reset).
    this.drainingNotice = true;
    const server = this.server;
    this.server = undefined;
    server?.close();
    return new Promise((resolve) => {
      const finish = () => {
        if (this.drainTimer) clearTimeout(this.drainTimer);
        for (const s of this.connections) s.destroy();
        resolve();
      };
      if (this.connections.size === 0) return finish();
      this.drainTimer = setTimeout(finish, drainMs);
      this.drainTimer.unref();
      const check = () => {
        if (this.connections.size === 0) finish();
      };
      for (const s of this.connections) s.once('close', check);
    });
  }

  /** Closes the socket now (shutdown). */
  close(): void {
    this.draining = true;
    this.server?.close();
    this.server = undefined;
    for (const s of this.connections) s.destroy();
  }
}

/** What must match for a replacing listener to reuse the bound socket. */
function bindKey(c: ListenerConfig): string {
  return JSON.stringify([c.address, c.transparent, c.freebind, c.tcpBacklogSize ?? 0]);
}

/**
 * original_src for one connection: the client's IP (a v4-mapped address from a dual-stack
 * listener as plain IPv4, so it matches the IPv4 upstream) and the mark. Nothing for a non-IP
 * peer, as Envoy's filter skips non-IP downstream addresses.
 */
function originalSource(remote: string | undefined, mark: number): { originalSource: { address: string; mark: number } } | undefined {
  if (!remote || net.isIP(remote) === 0) return undefined;
  const address = remote.startsWith('::ffff:') && net.isIPv4(remote.slice(7)) ? remote.slice(7) : remote;
  return { originalSource: { address, mark } };
}
