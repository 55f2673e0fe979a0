// One listener on a worker: its socket (unless bind_to_port is false), filter chain matcher
// and per-chain filter factories, accepted connections, and draining. A connection picks its
// chain and the runtime current at accept time and keeps both until it closes.
import * as net from 'node:net';
import type { Logger } from 'pino';
import type { FilterChainConfig, ListenerConfig } from '../../config/model/listener';
import { createNetworkFilter } from '../../extensions/factories';
import type { Counter } from '../../stats/counter';
import type { Gauge } from '../../stats/gauge';
import type { StatsScope } from '../../stats/stats-store';
import type { ConnectionRuntime, DownstreamConnection, NetworkFilterFactory } from '../api/network-filter';
import { FilterChainMatcher } from './filter-chain-matcher';

export interface ActiveFilterChain {
  readonly config: FilterChainConfig;
  readonly filters: readonly NetworkFilterFactory[];
  /** Chains whose transport socket we cannot serve yet (TLS before the TLS issue) refuse connections. */
  readonly unsupported?: string;
}

interface ListenerStats {
  readonly downstreamCxTotal: Counter;
  readonly downstreamCxActive: Gauge;
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

export class ActiveListener {
  readonly matcher: FilterChainMatcher<ActiveFilterChain>;
  readonly stats: ListenerStats;
  private server: net.Server | undefined;
  private readonly connections = new Set<net.Socket>();
  private draining = false;
  private drainTimer: NodeJS.Timeout | undefined;
  boundAddress: net.AddressInfo | string | undefined;

  constructor(
    readonly config: ListenerConfig,
    private readonly host: ListenerHost,
    scope: StatsScope,
    private readonly log: Logger,
  ) {
    const ctx = { stats: scope, log };
    const build = (c: FilterChainConfig): ActiveFilterChain => {
      const ts = c.transportSocket;
      const tls = ts && !ts.name.endsWith('raw_buffer') && !ts.typeUrl.endsWith('RawBuffer');
      return { config: c, filters: c.filters.map((f) => createNetworkFilter(f, ctx)), ...(tls ? { unsupported: `transport socket '${ts.name}'` } : {}) };
    };
    this.matcher = new FilterChainMatcher(
      config.filterChains.map((c) => ({ config: c, chain: build(c) })),
      config.defaultFilterChain ? build(config.defaultFilterChain) : undefined,
    );
    const ls = scope.scope(`listener.${config.statPrefix}.`);
    this.stats = {
      downstreamCxTotal: ls.counter('downstream_cx_total'),
      downstreamCxActive: ls.gauge('downstream_cx_active'),
      downstreamCxDestroy: ls.counter('downstream_cx_destroy'),
      noFilterChainMatch: ls.counter('no_filter_chain_match'),
    };
  }

  /** Binds the socket (if bind_to_port). Resolves when listening; rejects with the bind error. */
  start(): Promise<void> {
    if (!this.config.bindToPort) return Promise.resolve();
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
        server.on('error', (err) => this.log.error({ listener: this.config.name, err: err.message }, 'listener socket error'));
        this.boundAddress = server.address() ?? undefined;
        resolve();
      });
    });
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

  /** Runs chain selection and the chain's filters for an accepted (or handed-off) socket. */
  handleConnection(socket: net.Socket, dstIp: string, dstPort: number): void {
    this.stats.downstreamCxTotal.inc();
    const remoteIp = socket.remoteAddress ?? '';
    const remotePort = socket.remotePort ?? 0;
    const chain = this.matcher.match({ destinationIp: dstIp, destinationPort: dstPort, sourceIp: remoteIp, sourcePort: remotePort, directSourceIp: remoteIp, transportProtocol: 'raw_buffer' });
    if (!chain) {
      this.stats.noFilterChainMatch.inc();
      socket.destroy();
      return;
    }
    if (chain.unsupported) {
      if (!warnedTls) {
        warnedTls = true;
        this.log.warn({ listener: this.config.name, chain: chain.config.name }, `${chain.unsupported} is not supported yet; refusing connections on that chain`);
      }
      socket.destroy();
      return;
    }
    this.connections.add(socket);
    this.stats.downstreamCxActive.add(1);
    socket.once('close', () => {
      this.connections.delete(socket);
      this.stats.downstreamCxActive.sub(1);
      this.stats.downstreamCxDestroy.inc();
    });
    const conn: DownstreamConnection = {
      id: this.host.nextConnectionId(),
      socket,
      destinationIp: dstIp,
      destinationPort: dstPort,
      remoteIp,
      remotePort,
      runtime: this.host.currentRuntime(),
      listenerStatPrefix: this.config.statPrefix,
      bufferLimitBytes: this.config.perConnectionBufferLimitBytes,
      startTimeMs: Date.now(),
    };
    const filters = chain.filters;
    for (let i = 0; i < filters.length; i++) filters[i]!.onNewConnection(conn);
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
