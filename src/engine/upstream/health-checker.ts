// Active health checking of one cluster's hosts (Envoy HealthCheckerImplBase and the HTTP, TCP
// and gRPC checkers in source/extensions/health_checkers/). One session per host: first check
// after initial_jitter, then every interval chosen as Envoy does (no_traffic_interval until the
// cluster has made a connection, unhealthy_interval for failed hosts, the *_edge_interval while a
// transition is pending) plus interval_jitter and interval_jitter_percent. A session is
// unhealthy_threshold NETWORK failures (refused, reset, timeout) or one ACTIVE failure (a
// non-expected, non-retriable status, gRPC NOT_SERVING) away from FAILED_ACTIVE_HC, and
// healthy_threshold successes (one for the very first check) away from clearing it. HTTP:
// `x-envoy-degraded` marks the host degraded, `x-envoy-immediate-health-check-fail` fails it
// at once and excludes it. Each check uses a fresh connection (reuse_connection is not
// honoured), bound to the cluster's upstream_bind_config source address.
// Events are logged and, with event_log_path, appended as Envoy HealthCheckEvent JSON lines.
// Runs on the worker that owns the cluster runtime; with N worker processes each worker
// checks every host itself (N times the probe rate; Envoy checks once, on its main thread).
import { appendFile } from 'node:fs';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import type { Logger } from 'pino';
import type { AddressConfig } from '../../config/model/address';
import type { HealthCheckConfig } from '../../config/model/cluster';
import type { Counter } from '../../stats/counter';
import type { Gauge } from '../../stats/gauge';
import type { StatsScope } from '../../stats/stats-store';
import { clampTimer } from './outlier-detector';
import { HealthFlag, type Host } from './upstream-host';

type Outcome = { ok: true; degraded: boolean } | { ok: false; type: 'ACTIVE' | 'NETWORK'; retriable: boolean; immediate: boolean };

export interface HealthCheckHostSource {
  readonly clusterName: string;
  readonly bindAddress: string | undefined;
  hosts(): readonly Host[];
  /** True once the cluster opened any upstream connection (upstream_cx_total used). */
  hadTraffic(): boolean;
  /** A host's active-HC verdict changed: rebuild the LB, close connections if configured. */
  onHealthTransition(host: Host, nowHealthy: boolean): void;
  /** Monotonic ms clock (slow start reads host.lastHcPassTimeMs against it). */
  now?(): number;
}

interface HcStats {
  attempt: Counter;
  success: Counter;
  failure: Counter;
  networkFailure: Counter;
  verifyCluster: Counter;
  healthy: Gauge;
  degraded: Gauge;
}

class Session {
  numHealthy = 0;
  numUnhealthy = 0;
  firstCheck = true;
  timer: NodeJS.Timeout | undefined;
  inFlight: { cancel(): void } | undefined;
  stopped = false;
  constructor(readonly host: Host) {}
}

export class HealthChecker {
  private readonly sessions = new Map<Host, Session>();
  private readonly stats: HcStats;

  constructor(
    readonly config: HealthCheckConfig,
    private readonly source: HealthCheckHostSource,
    scope: StatsScope,
    private readonly log: Logger,
  ) {
    const s = scope.scope('health_check.');
    this.stats = {
      attempt: s.counter('attempt'),
      success: s.counter('success'),
      failure: s.counter('failure'),
      networkFailure: s.counter('network_failure'),
      verifyCluster: s.counter('verify_cluster'),
      healthy: s.gauge('healthy', 'NeverImport'),
      degraded: s.gauge('degraded', 'NeverImport'),
    };
  }

  /** Starts sessions for new hosts and stops those of hosts that left. */
  syncHosts(): void {
    const hosts = this.source.hosts();
    const live = new Set(hosts);
    for (const [h, s] of this.sessions) {
      if (!live.has(h)) {
        this.stop(s);
        this.sessions.delete(h);
      }
    }
    for (const h of hosts) {
      if (this.sessions.has(h)) continue;
      const s = new Session(h);
      this.sessions.set(h, s);
      const jitter = this.config.initialJitterMs > 0 ? Math.floor(Math.random() * this.config.initialJitterMs) : 0;
      s.timer = setTimeout(() => this.run(s), jitter);
      s.timer.unref();
    }
    this.publishGauges();
  }

  destroy(): void {
    for (const s of this.sessions.values()) this.stop(s);
    this.sessions.clear();
  }

  private stop(s: Session): void {
    s.stopped = true;
    if (s.timer) clearTimeout(s.timer);
    s.inFlight?.cancel();
  }

  private publishGauges(): void {
    let healthy = 0;
    let degraded = 0;
    for (const h of this.sessions.keys()) {
      if (h.activeHcHealthy) healthy++;
      if (h.hasFlag(HealthFlag.DEGRADED_ACTIVE_HC)) degraded++;
    }
    this.stats.healthy.set(healthy);
    this.stats.degraded.set(degraded);
  }

  private run(s: Session): void {
    if (s.stopped) return;
    this.stats.attempt.inc();
    s.inFlight = probe(this.config, s.host, this.source.bindAddress, this.source.clusterName, (o) => {
      s.inFlight = undefined;
      if (s.stopped) return;
      const pending = o.ok ? this.onSuccess(s, o.degraded) : this.onFailure(s, o);
      s.firstCheck = false;
      this.publishGauges();
      s.timer = setTimeout(() => this.run(s), this.nextInterval(s.host, pending));
      s.timer.unref();
    });
  }

  /** Returns true while a transition is pending (edge interval applies). */
  private onSuccess(s: Session, degraded: boolean): boolean {
    const h = s.host;
    this.stats.success.inc();
    s.numUnhealthy = 0;
    let pending = false;
    if (h.hasFlag(HealthFlag.FAILED_ACTIVE_HC)) {
      // Envoy stamps every pass while the host is failed, so the stamp is the pass that made it
      // healthy (set before the LB hears of it): slow start's window begins there.
      h.lastHcPassTimeMs = this.source.now ? this.source.now() : performance.now();
      if (s.firstCheck || ++s.numHealthy >= this.config.healthyThreshold) {
        s.numHealthy = 0;
        h.setFlag(HealthFlag.PENDING_ACTIVE_HC, false);
        h.setFlag(HealthFlag.EXCLUDED_VIA_IMMEDIATE_HC_FAIL, false);
        h.setFlag(HealthFlag.FAILED_ACTIVE_HC, false);
        this.event(h, { add_healthy_event: { first_check: s.firstCheck } }, 'health check: host healthy');
        this.source.onHealthTransition(h, true);
      } else {
        pending = true;
      }
    }
    if (degraded !== h.hasFlag(HealthFlag.DEGRADED_ACTIVE_HC)) {
      h.setFlag(HealthFlag.DEGRADED_ACTIVE_HC, degraded);
      this.event(h, degraded ? { degraded_healthy_host: {} } : { no_longer_degraded_host: {} }, degraded ? 'health check: host degraded' : 'health check: host no longer degraded');
      this.source.onHealthTransition(h, true);
    } else if (this.config.alwaysLogHealthCheckSuccess) {
      this.event(h, { successful_health_check_event: {} }, 'health check: success');
    }
    return pending;
  }

  private onFailure(s: Session, o: Extract<Outcome, { ok: false }>): boolean {
    const h = s.host;
    this.stats.failure.inc();
    if (o.type === 'NETWORK') this.stats.networkFailure.inc();
    s.numHealthy = 0;
    if (o.immediate) h.setFlag(HealthFlag.EXCLUDED_VIA_IMMEDIATE_HC_FAIL, true);
    if (!h.hasFlag(HealthFlag.FAILED_ACTIVE_HC)) {
      // Envoy setUnhealthy: ACTIVE non-retriable failures are immediate, the rest count.
      if ((o.type !== 'NETWORK' && !o.retriable) || o.immediate || ++s.numUnhealthy >= this.config.unhealthyThreshold) {
        s.numUnhealthy = 0;
        h.setFlag(HealthFlag.FAILED_ACTIVE_HC, true);
        this.event(h, { eject_unhealthy_event: { failure_type: o.type } }, 'health check: host unhealthy');
        this.source.onHealthTransition(h, false);
        return false;
      }
      return true;
    }
    if (o.immediate) this.source.onHealthTransition(h, false);
    if (this.config.alwaysLogHealthCheckFailures) this.event(h, { health_check_failure_event: { failure_type: o.type, first_check: s.firstCheck } }, 'health check: failure');
    return false;
  }

  /** Envoy ActiveHealthCheckSession::interval(). */
  private nextInterval(h: Host, pending: boolean): number {
    const c = this.config;
    const unhealthy = h.hasFlag(HealthFlag.FAILED_ACTIVE_HC);
    let base: number;
    if (!this.source.hadTraffic()) {
      base = !unhealthy && c.noTrafficHealthyIntervalMs !== undefined ? c.noTrafficHealthyIntervalMs : c.noTrafficIntervalMs;
    } else if (pending) {
      base = unhealthy ? (c.healthyEdgeIntervalMs ?? c.intervalMs) : (c.unhealthyEdgeIntervalMs ?? c.unhealthyIntervalMs ?? c.intervalMs);
    } else {
      base = unhealthy ? (c.unhealthyIntervalMs ?? c.intervalMs) : c.intervalMs;
    }
    if (c.intervalJitterPercent > 0) base += Math.floor(Math.random() * ((c.intervalJitterPercent * base) / 100));
    if (c.intervalJitterMs > 0) base += Math.floor(Math.random() * c.intervalJitterMs);
    return clampTimer(base);
  }

  private event(h: Host, body: Record<string, unknown>, msg: string): void {
    this.log.info({ cluster: this.source.clusterName, host: h.key }, msg);
    if (!this.config.eventLogPath) return;
    const a = h.address;
    const ev = {
      health_checker_type: this.config.kind,
      host: a.kind === 'socket' ? { socket_address: { protocol: 'TCP', address: a.address, port_value: a.port } } : { pipe: { path: a.kind === 'pipe' ? a.path : '' } },
      cluster_name: this.source.clusterName,
      ...body,
      timestamp: new Date().toISOString(),
    };
    appendFile(this.config.eventLogPath, `${JSON.stringify(ev)}\n`, () => {});
  }
}

// ---- probes -----------------------------------------------------------------------------

function target(h: Host): AddressConfig {
  const a = h.address;
  return a.kind === 'socket' && h.healthCheckPort ? { ...a, port: h.healthCheckPort } : a;
}

function connectOpts(a: AddressConfig, bind: string | undefined): net.NetConnectOpts {
  if (a.kind === 'pipe') return { path: a.path };
  const host = a.kind === 'socket' ? a.address : '127.0.0.1';
  return { host, port: a.kind === 'socket' ? a.port : 0, ...(bind ? { localAddress: bind } : {}) };
}

function inRanges(code: number, ranges: readonly (readonly [number, number])[]): boolean {
  for (const [s, e] of ranges) if (code >= s && code < e) return true;
  return false;
}

const NETWORK: Outcome = { ok: false, type: 'NETWORK', retriable: true, immediate: false };

/** Runs one check; `done` is called exactly once unless cancelled. */
function probe(c: HealthCheckConfig, h: Host, bind: string | undefined, cluster: string, done: (o: Outcome) => void): { cancel(): void } {
  let finished = false;
  let cleanup: () => void = () => {};
  const finish = (o: Outcome) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    cleanup();
    done(o);
  };
  const timer = setTimeout(() => finish(NETWORK), c.timeoutMs);
  const a = target(h);
  if (c.kind === 'GRPC' || (c.kind === 'HTTP' && c.http!.http2)) {
    cleanup = h2Probe(c, a, bind, cluster, finish);
  } else {
    cleanup = socketProbe(c, a, bind, cluster, finish);
  }
  return {
    cancel: () => {
      finished = true;
      clearTimeout(timer);
      cleanup();
    },
  };
}

function hostHeader(c: HealthCheckConfig, cluster: string): string {
  // Envoy: the configured host, else the cluster name.
  return c.http?.host || c.grpc?.authority || cluster;
}

function socketProbe(c: HealthCheckConfig, a: AddressConfig, bind: string | undefined, cluster: string, finish: (o: Outcome) => void): () => void {
  const sock = net.connect(connectOpts(a, bind));
  let buf = Buffer.alloc(0);
  sock.on('error', () => finish(NETWORK));
  sock.on('close', () => finish(NETWORK));
  if (c.kind === 'TCP') {
    const send = Buffer.from(c.tcp!.sendHex, 'hex');
    const expect = c.tcp!.receiveHex.map((x) => Buffer.from(x, 'hex'));
    sock.on('connect', () => {
      if (send.length) sock.write(send);
      if (expect.length === 0) finish({ ok: true, degraded: false });
    });
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      // Envoy's fuzzy match: every block appears, in order, not necessarily contiguous.
      let at = 0;
      for (const e of expect) {
        const i = buf.indexOf(e, at);
        if (i < 0) return;
        at = i + e.length;
      }
      finish({ ok: true, degraded: false });
    });
  } else {
    const hc = c.http!;
    sock.on('connect', () => {
      const remove = new Set(hc.requestHeadersToRemove);
      let head = `${hc.method} ${hc.path} HTTP/1.1\r\n`;
      const base: [string, string][] = [
        ['host', hostHeader(c, cluster)],
        ['user-agent', 'Envoy/HC'],
        ['connection', 'close'],
      ];
      for (const [k, v] of base) if (!remove.has(k) && !hc.requestHeadersToAdd.some((x) => x.key === k && !x.append)) head += `${k}: ${v}\r\n`;
      for (const x of hc.requestHeadersToAdd) if (!remove.has(x.key)) head += `${x.key}: ${x.value}\r\n`;
      sock.write(`${head}content-length: 0\r\n\r\n`);
    });
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buf.length > 65536) finish({ ok: false, type: 'ACTIVE', retriable: false, immediate: false });
        return;
      }
      const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
      if (!m) return finish({ ok: false, type: 'ACTIVE', retriable: false, immediate: false });
      const code = Number(m[1]);
      const names = new Set(lines.slice(1).map((l) => l.slice(0, l.indexOf(':')).trim().toLowerCase()));
      if (names.has('x-envoy-immediate-health-check-fail')) return finish({ ok: false, type: 'ACTIVE', retriable: false, immediate: true });
      if (inRanges(code, hc.expectedStatuses)) return finish({ ok: true, degraded: names.has('x-envoy-degraded') });
      finish({ ok: false, type: 'ACTIVE', retriable: inRanges(code, hc.retriableStatuses), immediate: false });
    });
  }
  return () => sock.destroy();
}

function h2Probe(c: HealthCheckConfig, a: AddressConfig, bind: string | undefined, cluster: string, finish: (o: Outcome) => void): () => void {
  const opts = connectOpts(a, bind);
  const session = http2.connect('http://health-check', { createConnection: () => net.connect(opts) });
  session.on('error', () => finish(NETWORK));
  session.on('close', () => finish(NETWORK));
  const grpc = c.kind === 'GRPC';
  const headers: http2.OutgoingHttpHeaders = grpc
    ? { ':method': 'POST', ':path': '/grpc.health.v1.Health/Check', ':authority': hostHeader(c, cluster), 'content-type': 'application/grpc', te: 'trailers', 'user-agent': 'Envoy/HC' }
    : { ':method': c.http!.method, ':path': c.http!.path, ':authority': hostHeader(c, cluster), 'user-agent': 'Envoy/HC' };
  if (grpc) for (const m of c.grpc!.initialMetadata) headers[m.key] = m.value;
  else for (const x of c.http!.requestHeadersToAdd) if (!c.http!.requestHeadersToRemove.includes(x.key)) headers[x.key] = x.value;
  const req = session.request(headers, { endStream: !grpc });
  if (grpc) {
    // HealthCheckRequest{service = 1}: one length-delimited field, framed with the 5-byte prefix.
    const svc = Buffer.from(c.grpc!.serviceName);
    const msg = svc.length ? Buffer.concat([Buffer.from([0x0a, svc.length]), svc]) : Buffer.alloc(0);
    const frame = Buffer.alloc(5 + msg.length);
    frame.writeUInt32BE(msg.length, 1);
    msg.copy(frame, 5);
    req.end(frame);
  }
  let status = 0;
  let immediate = false;
  let degraded = false;
  let body = Buffer.alloc(0);
  let grpcStatus: string | undefined;
  req.on('response', (h) => {
    status = Number(h[':status']);
    immediate = h['x-envoy-immediate-health-check-fail'] !== undefined;
    degraded = h['x-envoy-degraded'] !== undefined;
    if (h['grpc-status'] !== undefined) grpcStatus = String(h['grpc-status']);
  });
  req.on('trailers', (t) => {
    if (t['grpc-status'] !== undefined) grpcStatus = String(t['grpc-status']);
  });
  req.on('data', (d: Buffer) => {
    if (grpc && body.length < 1024) body = Buffer.concat([body, d]);
  });
  req.on('error', () => finish(NETWORK));
  req.on('end', () => {
    if (immediate) return finish({ ok: false, type: 'ACTIVE', retriable: false, immediate: true });
    if (!grpc) {
      if (inRanges(status, c.http!.expectedStatuses)) return finish({ ok: true, degraded });
      return finish({ ok: false, type: 'ACTIVE', retriable: inRanges(status, c.http!.retriableStatuses), immediate: false });
    }
    // HealthCheckResponse{status = 1 (enum)}: SERVING is 1.
    const serving = status === 200 && grpcStatus === '0' && body.length >= 7 && body[5] === 0x08 && body[6] === 0x01;
    finish(serving ? { ok: true, degraded } : { ok: false, type: 'ACTIVE', retriable: false, immediate: false });
  });
  return () => {
    req.close();
    session.destroy();
  };
}
