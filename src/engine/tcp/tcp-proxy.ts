// Create half of envoy.filters.network.tcp_proxy: picks a cluster (or weighted cluster), a host,
// connects with up to max_connect_attempts tries, then relays bytes both ways with backpressure
// bounded by the per-connection buffer limit, half-close in each direction, and an idle
// timeout. A connect failure (or no cluster / no healthy host) closes the downstream, as Envoy.
import { TcpAccessLog } from '../../extensions/access-loggers/tcp-access-log';
import * as tls from 'node:tls';
import { nativeTcpRelay, type TcpRelayCounts, type TcpRelayHandle, type TcpRelayResult, type TcpRelaySeam } from '../../platform/tcp-relay';
import type * as net from 'node:net';
import type { Logger } from 'pino';
import type { TcpProxyConfig } from '../../extensions/filters/network/tcp-proxy/config';
import type { Counter } from '../../stats/counter';
import type { Gauge } from '../../stats/gauge';
import type { StatsScope } from '../../stats/stats-store';
import type { DownstreamConnection, FilterFactoryContext, NetworkFilterFactory } from '../api/network-filter';
import type { ClusterRuntime, Host } from '../upstream/cluster-runtime';

interface TcpProxyStats {
  readonly downstreamCxTotal: Counter;
  readonly downstreamCxNoRoute: Counter;
  readonly downstreamCxRxBytesTotal: Counter;
  readonly downstreamCxTxBytesTotal: Counter;
  readonly downstreamCxRxBytesBuffered: Gauge;
  readonly downstreamFlowControlPausedReadingTotal: Counter;
  readonly downstreamFlowControlResumedReadingTotal: Counter;
  readonly idleTimeout: Counter;
  readonly upstreamFlushTotal: Counter;
  readonly maxDownstreamConnectionDuration: Counter;
}

function stats(scope: StatsScope): TcpProxyStats {
  return {
    downstreamCxTotal: scope.counter('downstream_cx_total'),
    downstreamCxNoRoute: scope.counter('downstream_cx_no_route'),
    downstreamCxRxBytesTotal: scope.counter('downstream_cx_rx_bytes_total'),
    downstreamCxTxBytesTotal: scope.counter('downstream_cx_tx_bytes_total'),
    downstreamCxRxBytesBuffered: scope.gauge('downstream_cx_rx_bytes_buffered'),
    downstreamFlowControlPausedReadingTotal: scope.counter('downstream_flow_control_paused_reading_total'),
    downstreamFlowControlResumedReadingTotal: scope.counter('downstream_flow_control_resumed_reading_total'),
    idleTimeout: scope.counter('idle_timeout'),
    upstreamFlushTotal: scope.counter('upstream_flush_total'),
    maxDownstreamConnectionDuration: scope.counter('max_downstream_connection_duration'),
  };
}

export class TcpProxyFactory implements NetworkFilterFactory {
  readonly name = 'envoy.filters.network.tcp_proxy';
  readonly terminal = true;
  readonly stats: TcpProxyStats;
  private readonly totalWeight: number;

  constructor(
    readonly config: TcpProxyConfig,
    ctx: FilterFactoryContext,
  ) {
    this.stats = stats(ctx.stats.scope(`tcp.${config.statPrefix}.`));
    this.log = ctx.log;
    this.accessLog = new TcpAccessLog(config.accessLogs);
    this.totalWeight = config.route.kind === 'weighted' ? config.route.clusters.reduce((s, c) => s + c.weight, 0) : 0;
  }

  readonly log: Logger;
  /** access_log of this tcp_proxy (Envoy writes one entry per connection, at close). */
  readonly accessLog: TcpAccessLog;
  /** Zero-copy relay for plaintext connections (null: JS relay only). */
  readonly relay: TcpRelaySeam | null = spliceRelay();
  /** Running zero-copy relays, whose byte counts are added to stats on a coarse tick. */
  readonly relays = new Set<TcpProxySession>();
  private relayTick: NodeJS.Timeout | undefined;

  trackRelay(s: TcpProxySession, on: boolean): void {
    if (on) this.relays.add(s);
    else this.relays.delete(s);
    if (this.relays.size > 0 && !this.relayTick) {
      this.relayTick = setInterval(() => {
        for (const r of this.relays) r.flushRelayCounts();
      }, RELAY_STATS_TICK_MS);
      this.relayTick.unref();
    } else if (this.relays.size === 0 && this.relayTick) {
      clearInterval(this.relayTick);
      this.relayTick = undefined;
    }
  }

  pickCluster(): string {
    const r = this.config.route;
    if (r.kind === 'cluster') return r.cluster;
    let k = Math.floor(Math.random() * this.totalWeight);
    for (const c of r.clusters) {
      if (k < c.weight) return c.name;
      k -= c.weight;
    }
    return r.clusters[0]!.name;
  }

  onNewConnection(conn: DownstreamConnection): void {
    this.stats.downstreamCxTotal.inc();
    new TcpProxySession(this, conn).start();
  }
}

const RELAY_STATS_TICK_MS = 1000;

let relaySeam: TcpRelaySeam | null | undefined;
/**
 * The splice relay when the addon is usable, else null (the JS relay serves). Set
 * MESHPROXY_DISABLE_SPLICE=1 to force the JS relay (benchmarks compare both).
 */
function spliceRelay(): TcpRelaySeam | null {
  if (relaySeam === undefined) relaySeam = process.env.MESHPROXY_DISABLE_SPLICE === '1' || !nativeTcpRelay.spliceAvailable() ? null : nativeTcpRelay;
  return relaySeam;
}

/** One proxied connection. Handlers are methods bound once per connection. */
class TcpProxySession {
  private upstream: net.Socket | undefined;
  private cluster: ClusterRuntime | undefined;
  private attempts = 0;
  private downPaused = false;
  private upPaused = false;
  private closed = false;
  /** For the access log: bytes from / to the downstream (JS path; the relay reports its own). */
  private rx = 0;
  private tx = 0;
  private responseFlags = '';
  private upstreamHost = '';
  private durationTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly f: TcpProxyFactory,
    private readonly conn: DownstreamConnection,
  ) {}

  start(): void {
    const down = this.conn.socket;
    down.pause();
    down.on('error', this.onDownError);
    down.on('close', this.onDownClose);
    const name = this.f.pickCluster();
    this.cluster = this.conn.runtime.clusters.get(name);
    if (!this.cluster) {
      this.f.stats.downstreamCxNoRoute.inc();
      this.responseFlags = 'NC';
      this.f.log.debug({ cluster: name }, 'tcp_proxy: unknown cluster, closing');
      down.destroy();
      return;
    }
    if (this.cluster.dropOverload()) {
      // EDS drop_overloads: the connection is closed before a host is picked (flag DO).
      this.responseFlags = 'DO';
      down.destroy();
      return;
    }
    this.connectNext();
  }

  private connectNext(): void {
    const cluster = this.cluster!;
    let host: Host | { address: { kind: 'socket'; protocol: 'TCP'; address: string; port: number; ipv4Compat: boolean } } | undefined;
    if (cluster.config.type === 'ORIGINAL_DST') {
      const port = cluster.config.originalDst?.upstreamPortOverride ?? this.conn.destinationPort;
      host = { address: { kind: 'socket', protocol: 'TCP', address: this.conn.destinationIp, port, ipv4Compat: false } };
    } else {
      host = cluster.chooseHost();
    }
    if (!host) {
      cluster.stats.upstreamCxNoneHealthy.inc();
      this.responseFlags = 'UH';
      this.conn.socket.destroy();
      return;
    }
    this.attempts++;
    const a = 'key' in host ? host.address : host.address;
    this.upstreamHost = a.kind === 'socket' ? (a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`) : a.kind === 'pipe' ? a.path : '';
    // true: the connect result is final for outlier detection (LocalOriginConnectSuccessFinal);
    // originalSource: TPROXY's original_src (connect from the client's address with its mark).
    cluster.connect('key' in host ? host : host.address, this.onConnected, true, undefined, this.conn.originalSource);
  }

  private readonly onConnected = (err: 'connect_fail' | 'connect_timeout' | null, up: net.Socket | undefined): void => {
    if (this.closed) {
      up?.destroy();
      return;
    }
    if (err || !up) {
      if (this.attempts < this.f.config.maxConnectAttempts) return this.connectNext();
      this.responseFlags = 'UF';
      this.conn.socket.destroy();
      return;
    }
    this.upstream = up;
    const down = this.conn.socket;
    if (this.f.relay && !(down instanceof tls.TLSSocket) && !(up instanceof tls.TLSSocket) && this.startSplice(down, up)) return;
    up.on('data', this.onUpData);
    up.on('end', this.onUpEnd);
    up.on('drain', this.onUpDrain);
    up.on('error', this.onUpError);
    up.on('close', this.onUpClose);
    down.on('data', this.onDownData);
    down.on('end', this.onDownEnd);
    down.on('drain', this.onDownDrain);
    const idle = this.f.config.idleTimeoutMs;
    if (idle > 0) {
      down.setTimeout(idle, this.onIdle);
      up.setTimeout(idle, this.onIdle);
    }
    if (this.f.config.maxDownstreamConnectionDurationMs) {
      this.durationTimer = setTimeout(this.onMaxDuration, this.f.config.maxDownstreamConnectionDurationMs);
    }
    down.resume();
  };

  private relay: TcpRelayHandle | undefined;
  private relayCounted: TcpRelayCounts = { bytesAtoB: 0, bytesBtoA: 0 };

  /**
   * Plaintext on both sides: hand the two sockets to the kernel relay (splice through a pipe per
   * direction). Same semantics as the JS path — half-close, idle timeout, buffer bound per
   * direction, byte stats (added on a coarse tick and at the end). False: use the JS path.
   */
  private startSplice(down: net.Socket, up: net.Socket): boolean {
    up.on('error', this.onUpError);
    up.on('close', this.onUpClose);
    try {
      this.relay = this.f.relay!.startRelay(down, up, { idleTimeoutMs: this.f.config.idleTimeoutMs, bufferBytes: this.conn.bufferLimitBytes }, this.onRelayDone);
    } catch {
      up.off('error', this.onUpError);
      up.off('close', this.onUpClose);
      return false;
    }
    this.f.trackRelay(this, true);
    if (this.f.config.maxDownstreamConnectionDurationMs) {
      this.durationTimer = setTimeout(this.onMaxDuration, this.f.config.maxDownstreamConnectionDurationMs);
    }
    return true;
  }

  /** Adds the bytes moved since the last call to Envoy's byte counters. */
  flushRelayCounts(): void {
    if (!this.relay) return;
    const c = this.relay.counts();
    const down = c.bytesAtoB - this.relayCounted.bytesAtoB;
    const upb = c.bytesBtoA - this.relayCounted.bytesBtoA;
    this.relayCounted = c;
    this.rx = c.bytesAtoB;
    this.tx = c.bytesBtoA;
    if (down > 0) {
      this.f.stats.downstreamCxRxBytesTotal.add(down);
      this.cluster!.stats.upstreamCxTxBytesTotal.add(down);
    }
    if (upb > 0) {
      this.f.stats.downstreamCxTxBytesTotal.add(upb);
      this.cluster!.stats.upstreamCxRxBytesTotal.add(upb);
    }
  }

  private readonly onRelayDone = (r: TcpRelayResult): void => {
    this.flushRelayCounts();
    this.f.trackRelay(this, false);
    this.relay = undefined;
    if (r.reason === 'idle_timeout') this.f.stats.idleTimeout.inc();
    if (this.durationTimer) clearTimeout(this.durationTimer);
  };

  private readonly onDownData = (chunk: Buffer): void => {
    const up = this.upstream!;
    this.rx += chunk.length;
    this.f.stats.downstreamCxRxBytesTotal.add(chunk.length);
    this.cluster!.stats.upstreamCxTxBytesTotal.add(chunk.length);
    if (!up.write(chunk) && up.writableLength >= this.conn.bufferLimitBytes && !this.downPaused) {
      this.downPaused = true;
      this.f.stats.downstreamFlowControlPausedReadingTotal.inc();
      this.conn.socket.pause();
    }
  };

  private readonly onUpData = (chunk: Buffer): void => {
    const down = this.conn.socket;
    this.tx += chunk.length;
    this.f.stats.downstreamCxTxBytesTotal.add(chunk.length);
    this.cluster!.stats.upstreamCxRxBytesTotal.add(chunk.length);
    if (!down.write(chunk) && down.writableLength >= this.conn.bufferLimitBytes && !this.upPaused) {
      this.upPaused = true;
      this.upstream!.pause();
    }
  };

  private readonly onUpDrain = (): void => {
    if (this.downPaused) {
      this.downPaused = false;
      this.f.stats.downstreamFlowControlResumedReadingTotal.inc();
      this.conn.socket.resume();
    }
  };

  private readonly onDownDrain = (): void => {
    if (this.upPaused) {
      this.upPaused = false;
      this.upstream?.resume();
    }
  };

  // Half-close: a FIN from one side is passed on; the connection ends when both sides have.
  private readonly onDownEnd = (): void => {
    this.upstream?.end();
  };

  private readonly onUpEnd = (): void => {
    this.conn.socket.end();
  };

  private readonly onIdle = (): void => {
    this.f.stats.idleTimeout.inc();
    this.closeBoth();
  };

  private readonly onMaxDuration = (): void => {
    this.f.stats.maxDownstreamConnectionDuration.inc();
    if (this.relay) return this.relay.abort();
    this.closeBoth();
  };

  // An error on either side resets the other (Envoy closes without flushing on resets).
  private readonly onDownError = (): void => {
    this.upstream?.destroy();
  };

  private readonly onUpError = (): void => {
    this.conn.socket.destroy();
  };

  private readonly onDownClose = (): void => {
    this.closed = true;
    if (this.f.accessLog.enabled) this.writeAccessLog();
    if (this.durationTimer) clearTimeout(this.durationTimer);
    const up = this.upstream;
    // Downstream fully closed: let buffered upstream writes flush, then close.
    if (up && !up.destroyed) {
      if (up.writableLength > 0) this.f.stats.upstreamFlushTotal.inc();
      up.end();
      if (up.readableEnded || up.writableLength === 0) up.destroySoon();
    }
  };

  private readonly onUpClose = (): void => {
    const down = this.conn.socket;
    if (!down.destroyed) {
      down.end();
      down.destroySoon();
    }
  };

  private writeAccessLog(): void {
    const c = this.conn;
    const up = this.upstream;
    const fmt = (ip: string | undefined, port: number | undefined) => (ip ? (ip.includes(':') ? `[${ip}]:${port ?? 0}` : `${ip}:${port ?? 0}`) : '');
    this.f.accessLog.log({
      startTimeMs: c.startTimeMs,
      durationMs: Date.now() - c.startTimeMs,
      bytesReceived: this.rx,
      bytesSent: this.tx,
      upstreamHost: this.upstream ? this.upstreamHost : '',
      upstreamCluster: this.cluster?.config.name ?? '',
      upstreamLocalAddress: fmt(up?.localAddress, up?.localPort),
      downstreamLocalAddress: fmt(c.destinationIp, c.destinationPort),
      downstreamRemoteAddress: fmt(c.remoteIp, c.remotePort),
      connectionId: c.id,
      responseFlags: this.responseFlags,
    });
  }

  private closeBoth(): void {
    this.conn.socket.destroy();
    this.upstream?.destroy();
  }
}
