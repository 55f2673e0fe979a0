// envoy.filters.http.router, the terminal HTTP filter (Envoy source/common/router/router.cc,
// reduced): route action handling (direct response, redirect, forward), upstream header
// finishing (rewrites, host rewrite, header edits, x-envoy-* headers), host choice through the
// cluster, an upstream attempt on the host's pool, request/response streaming with
// backpressure both ways, the route timeout (default 15 s) and per-try timeout, retries per
// retry_policy with jittered exponential back-off and previous_hosts, request mirroring (fire
// and forget), and the local replies Envoy sends when all of that fails (503 UH/UF/UC, 504 UT).
import { CoarseTimer, timer, type CoarseTimerTarget } from './timer';
import type { RouteRouterConfig } from '../../extensions/filters/http/router/config';
import type { Host } from '../upstream/cluster-runtime';
import type { ClusterRuntime, PickContext } from '../upstream/cluster-runtime';
import type { ActiveStream, DownstreamWatermarkListener } from './active-stream';
import { CONTINUE, type FilterStatus, type HttpFilter, type HttpFilterFactory, type HttpStreamCallbacks } from './filter-api';
import type { H1MessageHead } from './h1/h1-message-head';
import { HeaderMap } from './header-map';
import { countUpstreamResponse } from './hcm-stats';
import { DETAILS, FLAG, resetBody, resetDetails, resetFlag, type ResetReason } from './local-reply';
import { applyHeaderEdits } from './route/header-edits';
import type { CompiledRoute, RouteMatch } from './route/route-table';
import { clusterHttp, type ClusterHttp } from './upstream/cluster-http';
import type { UpstreamAttempt } from './upstream/h1-conn-pool';
import { sendMirror } from './upstream/mirror';
import { metadataMatchForRoute } from '../upstream/lb/metadata-match';
import type { UpstreamStream } from './upstream/upstream-stream';
import type { StatsScope } from '../../stats/stats-store';

const R_5XX = 1;
const R_GATEWAY = 2;
const R_RESET = 4;
const R_CONNECT_FAILURE = 8;
const R_RETRIABLE_4XX = 16;
const R_REFUSED_STREAM = 32;
const R_STATUS_CODES = 64;
const R_RESET_BEFORE_REQUEST = 128;

const RETRY_ON: Readonly<Record<string, number>> = {
  '5xx': R_5XX,
  'gateway-error': R_GATEWAY,
  reset: R_RESET,
  'connect-failure': R_CONNECT_FAILURE,
  'retriable-4xx': R_RETRIABLE_4XX,
  'refused-stream': R_REFUSED_STREAM,
  'retriable-status-codes': R_STATUS_CODES,
  'reset-before-request': R_RESET_BEFORE_REQUEST,
};

/** A route's retry policy in the form the router tests per response. */
class CompiledRetry {
  readonly on: number;
  readonly numRetries: number;
  readonly perTryTimeoutMs: number;
  readonly statusCodes: ReadonlySet<number>;
  readonly baseMs: number;
  readonly maxMs: number;
  readonly previousHosts: boolean;
  readonly hostAttempts: number;

  constructor(route: CompiledRoute) {
    const p = route.retryPolicy;
    let on = 0;
    for (const r of p?.retryOn ?? []) on |= RETRY_ON[r] ?? 0;
    this.on = on;
    this.numRetries = p === null ? 0 : p.numRetries;
    this.perTryTimeoutMs = p?.perTryTimeoutMs ?? 0;
    this.statusCodes = new Set(p?.retriableStatusCodes ?? []);
    this.baseMs = p?.retryBackOff?.baseIntervalMs ?? 25;
    this.maxMs = p?.retryBackOff?.maxIntervalMs ?? this.baseMs * 10;
    this.previousHosts = (p?.retryHostPredicates ?? []).some((n) => n.includes('previous_hosts') || n.includes('PreviousHostsPredicate'));
    this.hostAttempts = p?.hostSelectionRetryMaxAttempts ?? 1;
  }

  /** Envoy RetryStateImpl::wouldRetryFromHeaders. */
  retriableStatus(status: number): boolean {
    const on = this.on;
    if ((on & R_5XX) !== 0 && status >= 500) return true;
    if ((on & R_GATEWAY) !== 0 && (status === 502 || status === 503 || status === 504)) return true;
    if ((on & R_RETRIABLE_4XX) !== 0 && status === 409) return true;
    return (on & R_STATUS_CODES) !== 0 && this.statusCodes.has(status);
  }

  /** Envoy RetryStateImpl::wouldRetryFromReset. */
  retriableReset(reason: ResetReason): boolean {
    const on = this.on;
    if (reason === 'overflow') return false;
    if (reason === 'connection_failure' || reason === 'connection_timeout') {
      if ((on & (R_CONNECT_FAILURE | R_5XX | R_GATEWAY | R_RESET | R_RESET_BEFORE_REQUEST)) !== 0) return true;
    }
    if (reason === 'remote_refused_stream_reset' && (on & R_REFUSED_STREAM) !== 0) return true;
    return (on & (R_5XX | R_GATEWAY | R_RESET)) !== 0;
  }
}

const NO_RETRY_ROUTE = new WeakMap<CompiledRoute, CompiledRetry>();
function retryFor(route: CompiledRoute): CompiledRetry {
  let r = NO_RETRY_ROUTE.get(route);
  if (r === undefined) {
    r = new CompiledRetry(route);
    NO_RETRY_ROUTE.set(route, r);
  }
  return r;
}

const HOP_BY_HOP_REQUEST = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'expect', 'upgrade'];
const EMPTY = Buffer.alloc(0);
const T_GLOBAL = 0;
const T_PER_TRY = 1;
/** Envoy's per_request_buffer_limit default for retry buffering: the connection buffer limit. */
const DEFAULT_RETRY_BUFFER_BYTES = 1024 * 1024;

/** Made once per filter chain. */
export class RouterFactory implements HttpFilterFactory {
  readonly name = 'envoy.filters.http.router';
  constructor(
    readonly config: RouteRouterConfig,
    readonly rootStats: StatsScope,
  ) {}
  create(): HttpFilter {
    return new Router(this);
  }
}

function originalDstHost(s: ActiveStream, cluster: ClusterRuntime): Host | undefined {
  const od = cluster.config.originalDst;
  let ip = s.connection.destinationIp;
  let port = od?.upstreamPortOverride ?? s.connection.destinationPort;
  if (od?.useHttpHeader) {
    const v = s.requestHeaders.get(od.httpHeaderName || 'x-envoy-original-dst-host');
    if (v === undefined) return undefined;
    const c = v.lastIndexOf(':');
    ip = v.slice(0, c).replace(/^\[|\]$/g, '');
    port = Number(v.slice(c + 1));
  }
  if (ip.startsWith('::ffff:') && ip.includes('.')) ip = ip.slice(7);
  const key = ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
  // The cluster keeps one tracked Host per original destination (cleaned up when unused).
  return cluster.chooseHost({ originalDst: key } as PickContext);
}

/** Reused pick context for subset clusters (the LBs keep no reference to it). */
const SUBSET_PICK: PickContext = { hasHash: false, hashHi: 0, hashLo: 0, attempt: 0, metadataMatch: null };

export class Router implements HttpFilter, UpstreamAttempt, DownstreamWatermarkListener, CoarseTimerTarget {
  private s!: ActiveStream;
  private match!: RouteMatch;
  private cluster!: ClusterRuntime;
  private http!: ClusterHttp;
  private retry!: CompiledRetry;
  private up: UpstreamStream | null = null;
  private upHost: Host | null = null;
  /** Host of the attempt in flight, for requestStarted/requestFinished pairing. */
  private attemptHost: Host | null = null;
  /** Holds a max_requests circuit-breaker slot. */
  private slotHeld = false;
  private triedHosts: string[] | null = null;
  private body: Buffer[] = [];
  private bodyBytes = 0;
  private trailers: HeaderMap | null = null;
  /** Keep the request body for a retry (false once it outgrew the buffer limit). */
  private bufferForRetry = false;
  private retriesDone = 0;
  private upstreamPath = '';
  private upstreamAuthority = '';
  private tunnel = false;
  /** Route timeout and per-try timeout on the shared coarse tick (made on first use). */
  private globalTimer: CoarseTimer | null = null;
  private perTryTimer: CoarseTimer | null = null;
  private backoffTimer: NodeJS.Timeout | null = null;
  private attemptStartMs = 0;
  private responseHeadersSent = false;
  private responseEnded = false;
  private upPaused = false;
  private downPaused = false;
  private destroyed = false;
  private timeoutMs = 0;
  /** Bodies of requests being mirrored, collected until the request completes. */
  private mirrorBody: Buffer[] | null = null;

  constructor(private readonly f: RouterFactory) {}

  decodeHeaders(cb: HttpStreamCallbacks, endStream: boolean): FilterStatus {
    const s = cb as ActiveStream;
    this.s = s;
    const match = s.route;
    const hcmStats = s.hcm.stats;
    if (match === null) {
      hcmStats.noRoute.inc();
      s.sendLocalReply(404, '', DETAILS.ROUTE_NOT_FOUND, FLAG.NO_ROUTE);
      return CONTINUE;
    }
    this.match = match;
    const route = match.route;
    if (route.actionKind === 'direct_response') {
      hcmStats.rqDirectResponse.inc();
      const dr = route.directResponse!;
      const extra = this.responseEdits(match);
      s.sendLocalReply(dr.status, dr.body ? Buffer.from(dr.body).toString('utf8') : '', DETAILS.DIRECT_RESPONSE, undefined, extra);
      return CONTINUE;
    }
    if (route.actionKind === 'redirect') {
      hcmStats.rqRedirect.inc();
      const extra = this.responseEdits(match);
      extra.push('location', match.redirectLocation(s));
      s.sendLocalReply(route.redirect!.responseCode, '', DETAILS.DIRECT_RESPONSE, undefined, extra);
      return CONTINUE;
    }
    const ra = route.routeAction;
    if (ra === null) {
      s.sendLocalReply(404, '', DETAILS.ROUTE_NOT_FOUND, FLAG.NO_ROUTE);
      return CONTINUE;
    }
    const cluster = match.cluster === '' ? undefined : s.runtime.clusters.get(match.cluster);
    if (cluster === undefined) {
      hcmStats.noCluster.inc();
      const code = ra.clusterNotFoundResponseCode === 'NOT_FOUND' ? 404 : ra.clusterNotFoundResponseCode === 'INTERNAL_SERVER_ERROR' ? 500 : 503;
      s.sendLocalReply(code, '', DETAILS.CLUSTER_NOT_FOUND, FLAG.NO_CLUSTER_FOUND);
      return CONTINUE;
    }
    this.cluster = cluster;
    this.http = clusterHttp(cluster, this.f.rootStats);
    s.upstreamCluster = cluster.config.name;
    this.retry = retryFor(route);
    this.bufferForRetry = this.retry.numRetries > 0 && this.retry.on !== 0;
    this.tunnel = s.upgradeType !== '';
    if (this.tunnel) this.bufferForRetry = false;

    // Upstream request headers (Envoy mutates the downstream map in place; so do we).
    const h = s.requestHeaders;
    const suppress = this.f.config.suppressEnvoyHeaders;
    for (let i = 0; i < HOP_BY_HOP_REQUEST.length; i++) {
      const n = HOP_BY_HOP_REQUEST[i]!;
      if (this.tunnel && (n === 'connection' || n === 'upgrade')) continue;
      h.remove(n);
    }
    if (this.tunnel && s.method !== 'CONNECT') h.set('connection', 'Upgrade');
    h.remove('x-envoy-upstream-rq-timeout-ms');
    h.remove('x-envoy-upstream-rq-per-try-timeout-ms');
    h.remove('x-envoy-max-retries');
    h.remove('x-envoy-retry-on');
    this.timeoutMs = ra.timeoutMs;
    if (!suppress && this.timeoutMs > 0) h.set('x-envoy-expected-rq-timeout-ms', String(this.retry.perTryTimeoutMs > 0 ? Math.min(this.retry.perTryTimeoutMs, this.timeoutMs) : this.timeoutMs));
    this.upstreamPath = match.upstreamPath(s.path);
    if (this.upstreamPath !== s.path && !suppress) h.set('x-envoy-original-path', s.path);
    const hostRewrite = match.upstreamHost(s);
    this.upstreamAuthority = hostRewrite ?? s.authority;
    if (hostRewrite !== null && ra.appendXForwardedHost) {
      const xfh = h.get('x-forwarded-host');
      h.set('x-forwarded-host', xfh === undefined ? s.authority : `${xfh},${s.authority}`);
    }
    const edits = match.requestHeaderEdits;
    if (edits.length > 0) applyHeaderEdits(edits, h, s);
    if (match.virtualHost.config.includeRequestAttemptCount) h.set('x-envoy-attempt-count', '1');
    // Tracing: the upstream's parent is this request's span (B3 / W3C per provider).
    if (s.span !== null) s.span.inject(h);

    if (route.requestMirrorPolicies.length > 0) this.mirrorBody = [];
    if (endStream) this.onRequestComplete();
    this.startAttempt();
    return CONTINUE;
  }

  private responseEdits(match: RouteMatch): string[] {
    const edits = match.responseHeaderEdits;
    if (edits.length === 0) return [];
    const m = new HeaderMap();
    applyHeaderEdits(edits, m, this.s);
    return m.list;
  }

  decodeData(_cb: HttpStreamCallbacks, chunk: Buffer, endStream: boolean): void {
    if (this.destroyed || this.s.responseComplete) return;
    if (this.mirrorBody !== null) this.mirrorBody.push(chunk);
    if (endStream) this.onRequestComplete();
    const up = this.up;
    const buffer = this.bufferForRetry || up === null;
    if (this.bufferForRetry) {
      this.bodyBytes += chunk.length;
      if (this.bodyBytes > Math.max(this.s.connection.bufferLimitBytes, DEFAULT_RETRY_BUFFER_BYTES)) {
        // Too large to replay: this request will not be retried (Envoy: retry buffer overflow).
        this.bufferForRetry = false;
        this.s.hcm.stats.rqRetrySkippedRequestNotComplete.inc();
        if (up !== null) this.body = [];
      }
    }
    if (up === null) {
      if (buffer) this.body.push(chunk);
      return;
    }
    if (this.bufferForRetry) this.body.push(chunk);
    if (!up.sendData(chunk, endStream && this.trailers === null) && !this.downPaused) {
      this.downPaused = true;
      this.s.codec.pauseReading(this.s);
    }
  }

  decodeTrailers(_cb: HttpStreamCallbacks, trailers: HeaderMap): void {
    this.trailers = trailers;
    this.onRequestComplete();
    if (this.up !== null) this.up.sendTrailers(trailers);
  }

  private onRequestComplete(): void {
    if (this.timeoutMs > 0 && (this.globalTimer === null || !this.globalTimer.armed) && !this.tunnel) (this.globalTimer ??= new CoarseTimer(this, T_GLOBAL)).arm(this.timeoutMs);
    if (this.up !== null && this.retry.perTryTimeoutMs > 0 && (this.perTryTimer === null || !this.perTryTimer.armed)) this.armPerTry();
    if (this.mirrorBody !== null && this.s !== undefined) {
      const body = this.mirrorBody;
      this.mirrorBody = null;
      const s = this.s;
      for (const p of this.match.route.requestMirrorPolicies) sendMirror(s, p, this.upstreamPath, this.upstreamAuthority, body, this.trailers, this.f.rootStats);
    }
  }

  // ---- attempts --------------------------------------------------------------------------

  private chooseHost(): Host | undefined {
    const cluster = this.cluster;
    if (cluster.config.type === 'ORIGINAL_DST') return originalDstHost(this.s, cluster);
    // lb_subset_config: the route's (or weighted cluster's) envoy.lb metadata_match picks the subset.
    let pick: PickContext | undefined;
    if (cluster.config.lbSubset !== undefined) {
      const m = this.match;
      SUBSET_PICK.metadataMatch = metadataMatchForRoute(m.route, m.route.routeAction?.metadataMatch, m.weightedCluster, m.weightedCluster?.config.metadataMatch);
      pick = SUBSET_PICK;
    }
    const tried = this.triedHosts;
    const attempts = tried !== null && this.retry.previousHosts ? Math.max(1, this.retry.hostAttempts) : 1;
    let h: Host | undefined;
    for (let i = 0; i < attempts; i++) {
      h = cluster.chooseHost(pick);
      if (h === undefined || tried === null || !tried.includes(h.key)) break;
    }
    return h;
  }

  private readonly startAttempt = (): void => {
    this.backoffTimer = null;
    if (this.destroyed) return;
    const s = this.s;
    const host = this.chooseHost();
    if (host === undefined) {
      this.cluster.stats.upstreamCxNoneHealthy.inc();
      this.finishWithReply(503, 'no healthy upstream', DETAILS.NO_HEALTHY_UPSTREAM, FLAG.NO_HEALTHY_UPSTREAM);
      return;
    }
    // EDS drop_overloads: a share of requests is refused before any host is picked (503 DO).
    if (!this.slotHeld && this.retriesDone === 0 && this.cluster.dropOverload()) {
      this.finishWithReply(503, 'drop_overload', DETAILS.DROP_OVERLOAD, FLAG.DROP_OVERLOAD);
      return;
    }
    // Circuit breaker: the request takes a max_requests slot for its whole life (released in
    // onDestroy); overflow answers 503 UO like Envoy.
    if (!this.slotHeld) {
      if (this.cluster.acquireRequest() === 'overflow') {
        this.finishWithReply(503, resetBody('overflow', false), resetDetails('overflow'), FLAG.UPSTREAM_OVERFLOW);
        return;
      }
      this.slotHeld = true;
    }
    this.upHost = host;
    // Per-host accounting (LEAST_REQUEST load, /clusters rq_*, outlier detection).
    this.cluster.requestStarted(host);
    this.attemptHost = host;
    (this.triedHosts ??= []).push(host.key);
    s.upstreamHost = host.key;
    s.attemptCount++;
    this.attemptStartMs = performance.now();
    const st = this.http.stats;
    st.upstreamRqTotal.inc();
    st.upstreamRqActive.inc();
    if (this.http.useH2(s.codec.protocol === 'HTTP/2')) this.http.h2Pool(host).acquire(this);
    else this.http.h1Pool(host).acquire(this);
  };

  onPoolReady(up: UpstreamStream): void {
    if (this.destroyed || this.up !== null) {
      up.reset();
      return;
    }
    this.up = up;
    const s = this.s;
    s.upstreamLocalAddress = up.localAddress;
    if (this.match.autoHostRewrite && this.upHost!.hostname !== '') this.upstreamAuthority = this.upHost!.hostname;
    const h = s.requestHeaders;
    if (this.retriesDone > 0 && this.match.virtualHost.config.includeRequestAttemptCount) h.set('x-envoy-attempt-count', String(this.retriesDone + 1));
    const body = this.body;
    const trailers = this.trailers;
    const complete = s.requestComplete;
    const headersOnly = complete && body.length === 0 && trailers === null;
    up.sendHeaders(s.method, this.upstreamPath, this.upstreamAuthority, s.scheme, h, headersOnly && !this.tunnel, this.tunnel);
    if (this.up !== up) return;
    for (let i = 0; i < body.length; i++) up.sendData(body[i]!, complete && trailers === null && i === body.length - 1);
    if (trailers !== null) up.sendTrailers(trailers);
    else if (complete && body.length === 0 && this.tunnel) up.sendData(EMPTY, true);
    if (!this.bufferForRetry) this.body = [];
    if (complete && this.retry.perTryTimeoutMs > 0) this.armPerTry();
    if (this.downPaused) {
      this.downPaused = false;
      s.codec.resumeReading(s);
    }
  }

  onPoolFailure(reason: ResetReason): void {
    if (this.destroyed) return;
    this.s.upstreamTransportFailureReason = reason === 'connection_timeout' ? 'connect timeout' : 'connection refused';
    this.attemptFailed(reason);
  }

  onUpstreamReset(reason: ResetReason): void {
    if (this.destroyed) return;
    this.up = null;
    if (this.responseHeadersSent) {
      // Mid-response: nothing to retry or reply; reset the downstream (Envoy UR/UC flags).
      this.clearTimers();
      this.http.stats.upstreamRqActive.dec();
      this.s.setResponseFlag(resetFlag(reason));
      this.s.resetStream('local_reset');
      return;
    }
    this.attemptFailed(reason);
  }

  private attemptFailed(reason: ResetReason): void {
    this.endAttempt();
    this.up = null;
    this.clearPerTry();
    this.http.stats.upstreamRqActive.dec();
    if (reason !== 'connection_failure' && reason !== 'connection_timeout') this.http.stats.upstreamRqRxReset.inc();
    if (this.retry.retriableReset(reason) && this.canRetry()) {
      this.scheduleRetry();
      return;
    }
    if (this.retry.on !== 0 && this.retry.retriableReset(reason)) this.s.setResponseFlag(FLAG.UPSTREAM_RETRY_LIMIT_EXCEEDED);
    this.finishWithReply(503, resetBody(reason, this.retriesDone > 0), resetDetails(reason), resetFlag(reason));
  }

  private canRetry(): boolean {
    if (this.retriesDone >= this.retry.numRetries) {
      if (this.retry.numRetries > 0) this.http.stats.upstreamRqRetryLimitExceeded.inc();
      return false;
    }
    // The whole request must be replayable: buffered, or nothing of it sent yet.
    return this.bufferForRetry && !this.tunnel;
  }

  private scheduleRetry(): void {
    this.retriesDone++;
    const st = this.http.stats;
    st.upstreamRqRetry.inc();
    st.upstreamRqRetryBackoffExponential.inc();
    // Envoy JitteredExponentialBackOffStrategy: random in [0, base * (2^n - 1)), capped at max.
    const ceiling = Math.min(this.retry.baseMs * ((1 << Math.min(this.retriesDone, 20)) - 1), this.retry.maxMs);
    const delay = Math.floor(Math.random() * ceiling);
    this.backoffTimer = timer(this.startAttempt, delay);
  }

  onUpstreamHeaders(head: H1MessageHead): void {
    if (this.destroyed) return;
    const s = this.s;
    const status = head.statusCode;
    const up = this.up!;
    if (this.attemptHost !== null) this.cluster.reportHttpStatus(this.attemptHost, status);
    if (!this.tunnel && this.retry.on !== 0 && this.retry.retriableStatus(status)) {
      countUpstreamResponse(this.http.stats, status);
      if (this.canRetry()) {
        this.endAttempt();
        this.up = null;
        this.clearPerTry();
        this.http.stats.upstreamRqActive.dec();
        up.reset();
        this.scheduleRetry();
        return;
      }
      if (this.retriesDone > 0 || this.retry.numRetries > 0) s.setResponseFlag(FLAG.UPSTREAM_RETRY_LIMIT_EXCEEDED);
    } else {
      countUpstreamResponse(this.http.stats, status);
      if (this.retriesDone > 0) this.http.stats.upstreamRqRetrySuccess.inc();
    }
    this.clearPerTry();
    const headers = new HeaderMap(head.headers, head.lowerNames);
    headers.remove('connection');
    headers.remove('keep-alive');
    headers.remove('proxy-connection');
    headers.remove('transfer-encoding');
    if (status !== 101) headers.remove('upgrade');
    else headers.set('connection', 'Upgrade');
    if (!this.f.config.suppressEnvoyHeaders) headers.set('x-envoy-upstream-service-time', String(Math.floor(performance.now() - this.attemptStartMs)));
    if (this.match.virtualHost.config.includeAttemptCountInResponse) headers.set('x-envoy-attempt-count', String(this.retriesDone + 1));
    const edits = this.match.responseHeaderEdits;
    s.responseCodeDetails = DETAILS.VIA_UPSTREAM;
    if (edits.length > 0) {
      s.responseCode = status;
      applyHeaderEdits(edits, headers, s);
    }
    const tunnelUp = head.upgrade;
    const bodyless = !tunnelUp && (s.isHead || status === 204 || status === 304 || (head.contentLength === 0 && !head.chunked));
    this.responseHeadersSent = true;
    if (tunnelUp) s.upgradeType = s.upgradeType || 'tunnel';
    if (bodyless) {
      this.responseEnded = true;
      this.clearTimers();
    }
    s.watermarkListener = this;
    s.encodeHeaders(status, headers, bodyless);
  }

  onUpstreamData(chunk: Buffer): void {
    if (this.destroyed || this.responseEnded) return;
    if (!this.s.encodeData(chunk, false) && !this.upPaused && this.up !== null) {
      this.upPaused = true;
      this.up.pauseReading();
    }
  }

  onDownstreamDrain(): void {
    if (this.upPaused) {
      this.upPaused = false;
      this.up?.resumeReading();
    }
  }

  onUpstreamDrain(): void {
    if (this.downPaused) {
      this.downPaused = false;
      this.s.codec.resumeReading(this.s);
    }
  }

  onUpstreamComplete(trailers: string[] | null): void {
    if (this.destroyed) return;
    this.endAttempt();
    const up = this.up;
    this.up = null;
    this.clearTimers();
    this.http.stats.upstreamRqActive.dec();
    up?.release();
    if (this.responseEnded) return;
    this.responseEnded = true;
    if (trailers !== null && trailers.length > 0) this.s.encodeTrailers(new HeaderMap(trailers));
    else this.s.encodeData(EMPTY, true);
  }

  // ---- timeouts and endings --------------------------------------------------------------

  /** Ends the current attempt's host accounting (once). */
  private endAttempt(result?: 'local_timeout'): void {
    const h = this.attemptHost;
    if (h === null) return;
    this.attemptHost = null;
    if (result !== undefined) this.cluster.reportResult(h, result);
    this.cluster.requestFinished(h);
  }

  private armPerTry(): void {
    (this.perTryTimer ??= new CoarseTimer(this, T_PER_TRY)).arm(this.retry.perTryTimeoutMs);
  }

  onCoarseTimer(kind: number): void {
    if (kind === T_GLOBAL) this.onGlobalTimeout();
    else this.onPerTryTimeout();
  }

  private onGlobalTimeout(): void {
    if (this.destroyed) return;
    this.endAttempt('local_timeout');
    this.http.stats.upstreamRqTimeout.inc();
    this.s.hcm.stats.downstreamRqTimeout.inc();
    this.abortUpstream();
    if (this.responseHeadersSent) {
      this.s.setResponseFlag(FLAG.UPSTREAM_REQUEST_TIMEOUT);
      this.s.resetStream('local_reset');
      return;
    }
    this.finishWithReply(504, 'upstream request timeout', DETAILS.UPSTREAM_TIMEOUT, FLAG.UPSTREAM_REQUEST_TIMEOUT);
  }

  private onPerTryTimeout(): void {
    if (this.destroyed || this.responseHeadersSent) return;
    this.endAttempt('local_timeout');
    this.http.stats.upstreamRqPerTryTimeout.inc();
    this.abortUpstream();
    if ((this.retry.on & (R_5XX | R_GATEWAY)) !== 0 && this.canRetry()) {
      this.scheduleRetry();
      return;
    }
    this.finishWithReply(504, 'upstream request timeout', DETAILS.UPSTREAM_PER_TRY_TIMEOUT, FLAG.UPSTREAM_REQUEST_TIMEOUT);
  }

  private abortUpstream(): void {
    const up = this.up;
    if (up !== null) {
      this.up = null;
      this.http.stats.upstreamRqActive.dec();
      this.http.stats.upstreamRqTxReset.inc();
      up.reset();
    }
  }

  private finishWithReply(status: number, body: string, details: string, flag: string): void {
    this.clearTimers();
    this.s.sendLocalReply(status, body, details, flag);
  }

  private clearPerTry(): void {
    if (this.perTryTimer !== null && this.perTryTimer.armed) this.perTryTimer.disarm();
  }

  private clearTimers(): void {
    this.clearPerTry();
    if (this.globalTimer !== null && this.globalTimer.armed) this.globalTimer.disarm();
    if (this.backoffTimer !== null) {
      clearTimeout(this.backoffTimer);
      this.backoffTimer = null;
    }
  }

  onDestroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.clearTimers();
    this.endAttempt();
    if (this.slotHeld) {
      this.slotHeld = false;
      this.cluster.releaseRequest();
    }
    if (this.s !== undefined && this.s.watermarkListener === this) this.s.watermarkListener = null;
    const up = this.up;
    if (up !== null) {
      this.up = null;
      this.http.stats.upstreamRqActive.dec();
      this.http.stats.upstreamRqTxReset.inc();
      up.reset();
    }
  }
}
