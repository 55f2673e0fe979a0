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
import { HeaderMatcher } from './route/matchers';
import type { RouteRequest } from './route/route-request';
import type { RouteActionConfig } from '../../config/model/route';
import { parseGrpcTimeout, toGrpcTimeout } from './grpc-timeout';
import type { HashCookieSink } from './route/hash-policy';
import type { CompiledRoute, RouteMatch } from './route/route-table';
import { clusterHttp, type ClusterHttp } from './upstream/cluster-http';
import type { UpstreamAttempt } from './upstream/h1-conn-pool';
import type { TransparentSource } from '../../platform/original-dst';
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
const R_RETRIABLE_HEADERS = 256;
const R_ENVOY_RATELIMITED = 512;
const R_GRPC_CANCELLED = 1024;
const R_GRPC_DEADLINE_EXCEEDED = 2048;
const R_GRPC_RESOURCE_EXHAUSTED = 4096;
const R_GRPC_UNAVAILABLE = 8192;
const R_GRPC_INTERNAL = 16384;
const R_GRPC_ANY = R_GRPC_CANCELLED | R_GRPC_DEADLINE_EXCEEDED | R_GRPC_RESOURCE_EXHAUSTED | R_GRPC_UNAVAILABLE | R_GRPC_INTERNAL;

/** Envoy RetryStateImpl::parseRetryOn (x-envoy-retry-on and retry_policy.retry_on). */
const RETRY_ON: Readonly<Record<string, number>> = {
  '5xx': R_5XX,
  'gateway-error': R_GATEWAY,
  reset: R_RESET,
  'connect-failure': R_CONNECT_FAILURE,
  'retriable-4xx': R_RETRIABLE_4XX,
  'refused-stream': R_REFUSED_STREAM,
  'retriable-status-codes': R_STATUS_CODES,
  'reset-before-request': R_RESET_BEFORE_REQUEST,
  'retriable-headers': R_RETRIABLE_HEADERS,
  'envoy-ratelimited': R_ENVOY_RATELIMITED,
};

/** Envoy RetryStateImpl::parseRetryGrpcOn (x-envoy-retry-grpc-on; retry_on takes these too). */
const RETRY_GRPC_ON: Readonly<Record<string, number>> = {
  cancelled: R_GRPC_CANCELLED,
  'deadline-exceeded': R_GRPC_DEADLINE_EXCEEDED,
  'resource-exhausted': R_GRPC_RESOURCE_EXHAUSTED,
  unavailable: R_GRPC_UNAVAILABLE,
  internal: R_GRPC_INTERNAL,
};

/** Bits of a comma-separated retry_on list; `grpcOnly` for x-envoy-retry-grpc-on. */
function parseRetryOn(list: string, grpcOnly: boolean): number {
  let on = 0;
  for (const raw of list.split(',')) {
    const t = raw.trim();
    on |= (grpcOnly ? 0 : (RETRY_ON[t] ?? 0)) | (RETRY_GRPC_ON[t] ?? 0);
  }
  return on;
}

/** grpc-status code -> the retry_on bit that retries it. */
function grpcRetryBit(status: string | undefined): number {
  switch (status) {
    case '1':
      return R_GRPC_CANCELLED;
    case '4':
      return R_GRPC_DEADLINE_EXCEEDED;
    case '8':
      return R_GRPC_RESOURCE_EXHAUSTED;
    case '13':
      return R_GRPC_INTERNAL;
    case '14':
      return R_GRPC_UNAVAILABLE;
    default:
      return 0;
  }
}

/**
 * A response header map seen as a RouteRequest so compiled HeaderMatchers can test it
 * (retriable_headers). One reused instance.
 */
class HeaderMapView implements RouteRequest {
  map: HeaderMap = new HeaderMap();
  method = '';
  authority = '';
  path = '';
  scheme = '';
  random = 0;
  header(name: string): string | undefined {
    return this.map.getAll(name);
  }
}
const VIEW = new HeaderMapView();

function anyMatches(matchers: readonly HeaderMatcher[], view: RouteRequest): boolean {
  for (let i = 0; i < matchers.length; i++) if (matchers[i]!.match(view)) return true;
  return false;
}

/** A route's retry policy compiled once (the per-request state lives in the router). */
class CompiledRetry {
  readonly on: number;
  readonly numRetries: number;
  readonly perTryTimeoutMs: number;
  readonly statusCodes: readonly number[];
  readonly baseMs: number;
  readonly maxMs: number;
  readonly previousHosts: boolean;
  readonly hostAttempts: number;
  readonly retriableHeaders: readonly HeaderMatcher[];
  readonly retriableRequestHeaders: readonly HeaderMatcher[];

  constructor(route: CompiledRoute) {
    const p = route.retryPolicy;
    this.on = p === null ? 0 : parseRetryOn(p.retryOn.join(','), false);
    // Envoy's RetryPolicyImpl defaults num_retries to 1, also when only request headers ask to retry.
    this.numRetries = p === null ? 1 : p.numRetries;
    this.perTryTimeoutMs = p?.perTryTimeoutMs ?? 0;
    this.statusCodes = p?.retriableStatusCodes ?? [];
    this.baseMs = p?.retryBackOff?.baseIntervalMs ?? 25;
    this.maxMs = p?.retryBackOff?.maxIntervalMs ?? this.baseMs * 10;
    this.previousHosts = (p?.retryHostPredicates ?? []).some((n) => n.includes('previous_hosts') || n.includes('PreviousHostsPredicate'));
    this.hostAttempts = p?.hostSelectionRetryMaxAttempts ?? 1;
    this.retriableHeaders = (p?.retriableHeaders ?? []).map((m) => new HeaderMatcher(m));
    this.retriableRequestHeaders = (p?.retriableRequestHeaders ?? []).map((m) => new HeaderMatcher(m));
  }
}

const ROUTE_RETRY = new WeakMap<CompiledRoute, CompiledRetry>();
function retryFor(route: CompiledRoute): CompiledRetry {
  let r = ROUTE_RETRY.get(route);
  if (r === undefined) {
    r = new CompiledRetry(route);
    ROUTE_RETRY.set(route, r);
  }
  return r;
}

/** Header names (x-envoy-retriable-header-names) as present-matchers, compiled per request. */
function presentMatchers(names: string): HeaderMatcher[] {
  const out: HeaderMatcher[] = [];
  for (const raw of names.split(',')) {
    const name = raw.trim().toLowerCase();
    if (name !== '') out.push(new HeaderMatcher({ name, match: { kind: 'present', present: true }, invertMatch: false, treatMissingHeaderAsEmpty: false }));
  }
  return out;
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

/** Reused pick context (the LBs keep no reference to it; picks are synchronous). */
const PICK: PickContext = { hasHash: false, hashHi: 0, hashLo: 0, attempt: 0, metadataMatch: null };
/** Scratch for the request hash. */
const HASH_OUT = new Uint32Array(2);

/** Clusters whose load balancer reads the request hash (Envoy calls computeHashKey from them). */
function usesRequestHash(cluster: ClusterRuntime): boolean {
  const c = cluster.config;
  return c.lbPolicy === 'RING_HASH' || c.lbPolicy === 'MAGLEV' || c.type === 'AGGREGATE';
}

export class Router implements HttpFilter, UpstreamAttempt, DownstreamWatermarkListener, CoarseTimerTarget, HashCookieSink {
  private s!: ActiveStream;
  private match!: RouteMatch;
  private cluster!: ClusterRuntime;
  private http!: ClusterHttp;
  private retry!: CompiledRetry;
  /** Retry conditions for this request: the route's plus x-envoy-retry-on / -grpc-on. */
  private retryOn = 0;
  private numRetries = 0;
  /** x-envoy-retriable-status-codes / x-envoy-retriable-header-names of this request. */
  private extraStatusCodes: number[] | null = null;
  private extraRetriableHeaders: HeaderMatcher[] | null = null;
  private perTryTimeoutMs = 0;
  private up: UpstreamStream | null = null;
  /** The pool this attempt waits in for a connection or session (pending queue), if any. */
  private waitPool: { cancel(attempt: UpstreamAttempt): void } | null = null;
  private upHost: Host | null = null;
  /** Host of the attempt in flight, for requestStarted/requestFinished pairing. */
  private attemptHost: Host | null = null;
  /** Holds a max_requests circuit-breaker slot. */
  private slotHeld = false;
  /** Hosts this request already tried (retry_host_predicate previous_hosts). */
  private triedHosts: Host[] | null = null;
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
  /** Request hash from the route's hash_policy: 0 not computed yet, 1 none, 2 in hashHi/hashLo. */
  private hashState = 0;
  private hashHi = 0;
  private hashLo = 0;
  /** Set-Cookie values generated by cookie hash policies, added to the upstream response. */
  private setCookies: string[] | null = null;

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
    const h = s.requestHeaders;
    const retry = (this.retry = retryFor(route));
    this.initRetryState(retry, h);
    this.bufferForRetry = this.numRetries > 0 && this.retryOn !== 0;
    this.tunnel = s.upgradeType !== '';
    if (this.tunnel) this.bufferForRetry = false;

    // Upstream request headers (Envoy mutates the downstream map in place; so do we).
    const suppress = this.f.config.suppressEnvoyHeaders;
    for (let i = 0; i < HOP_BY_HOP_REQUEST.length; i++) {
      const n = HOP_BY_HOP_REQUEST[i]!;
      if (this.tunnel && (n === 'connection' || n === 'upgrade')) continue;
      h.remove(n);
    }
    if (this.tunnel && s.method !== 'CONNECT') h.set('connection', 'Upgrade');
    this.finalTimeout(ra, retry, h, s.isGrpc);
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

  /**
   * Envoy RetryStateImpl's constructor: the route policy merged with the request's
   * x-envoy-retry-on, x-envoy-retry-grpc-on, x-envoy-max-retries, x-envoy-retriable-status-codes
   * and x-envoy-retriable-header-names (the HCM strips them from external requests), then
   * retriable_request_headers may veto retrying altogether. The headers never go upstream.
   */
  private initRetryState(retry: CompiledRetry, h: HeaderMap): void {
    let on = retry.on;
    let v = h.get('x-envoy-retry-on');
    if (v !== undefined) {
      on |= parseRetryOn(v, false);
      h.remove('x-envoy-retry-on');
    }
    v = h.get('x-envoy-retry-grpc-on');
    if (v !== undefined) {
      on |= parseRetryOn(v, true);
      h.remove('x-envoy-retry-grpc-on');
    }
    if (retry.retriableRequestHeaders.length > 0 && !anyMatches(retry.retriableRequestHeaders, this.s)) on = 0;
    let n = retry.numRetries;
    v = h.get('x-envoy-max-retries');
    if (v !== undefined) {
      if (on !== 0 && /^\d+$/.test(v)) n = Number(v);
      h.remove('x-envoy-max-retries');
    }
    v = h.get('x-envoy-retriable-status-codes');
    if (v !== undefined) {
      for (const c of v.split(',')) if (/^\s*\d+\s*$/.test(c)) (this.extraStatusCodes ??= []).push(Number(c));
      h.remove('x-envoy-retriable-status-codes');
    }
    v = h.get('x-envoy-retriable-header-names');
    if (v !== undefined) {
      this.extraRetriableHeaders = presentMatchers(v);
      h.remove('x-envoy-retriable-header-names');
    }
    h.remove('x-envoy-hedge-on-per-try-timeout');
    this.retryOn = on;
    this.numRetries = n;
  }

  /**
   * Envoy FilterUtility::finalTimeout: the route timeout, or for gRPC requests on a route with
   * the legacy max_grpc_timeout the grpc-timeout header (minus grpc_timeout_offset) capped by
   * it; none of this when the route sets max_stream_duration (the HCM's stream timer applies
   * then). x-envoy-upstream-rq-timeout-ms / -per-try-timeout-ms override (or, with
   * respect_expected_rq_timeout, x-envoy-expected-rq-timeout-ms from an egress Envoy); a per-try
   * timeout not below the global one is dropped. Then x-envoy-expected-rq-timeout-ms and, for
   * max_grpc_timeout routes, grpc-timeout tell the upstream what is left.
   */
  private finalTimeout(ra: RouteActionConfig, retry: CompiledRetry, h: HeaderMap, grpc: boolean): void {
    const legacyGrpc = grpc && ra.maxStreamDuration === undefined && ra.maxGrpcTimeoutMs !== undefined;
    let global = 0;
    if (ra.maxStreamDuration === undefined) {
      if (legacyGrpc) {
        const max = ra.maxGrpcTimeoutMs!;
        let t = parseGrpcTimeout(h.get('grpc-timeout')) ?? 0;
        const offset = ra.grpcTimeoutOffsetMs;
        if (offset !== undefined && offset < t) t -= offset;
        if (max !== 0 && (t === 0 || t > max)) t = max;
        global = t;
      } else global = ra.timeoutMs;
    }
    let perTry = retry.perTryTimeoutMs;
    const expectedIn = this.f.config.respectExpectedRqTimeout ? h.get('x-envoy-expected-rq-timeout-ms') : undefined;
    const upstreamRqTimeout = h.get('x-envoy-upstream-rq-timeout-ms');
    if (expectedIn !== undefined) {
      if (/^\d+$/.test(expectedIn)) global = Number(expectedIn);
    } else if (upstreamRqTimeout !== undefined) {
      if (/^\d+$/.test(upstreamRqTimeout)) global = Number(upstreamRqTimeout);
    }
    h.remove('x-envoy-upstream-rq-timeout-ms');
    const perTryIn = h.get('x-envoy-upstream-rq-per-try-timeout-ms');
    if (perTryIn !== undefined) {
      if (/^\d+$/.test(perTryIn)) perTry = Number(perTryIn);
      h.remove('x-envoy-upstream-rq-per-try-timeout-ms');
    }
    if (global !== 0 && perTry >= global) perTry = 0;
    this.timeoutMs = global;
    this.perTryTimeoutMs = perTry;
    // FilterUtility::setTimeoutHeaders at elapsed 0.
    let expected = perTry === 0 ? global : perTry;
    if (expected > 0) {
      if (global > 0) expected = Math.min(expected, global);
      if (!this.f.config.suppressEnvoyHeaders) h.set('x-envoy-expected-rq-timeout-ms', String(expected));
      if (legacyGrpc) h.set('grpc-timeout', toGrpcTimeout(expected));
    }
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
    if (this.up !== null && this.perTryTimeoutMs > 0 && (this.perTryTimer === null || !this.perTryTimer.armed)) this.armPerTry();
    if (this.mirrorBody !== null && this.s !== undefined) {
      const body = this.mirrorBody;
      this.mirrorBody = null;
      const s = this.s;
      for (const p of this.match.route.requestMirrorPolicies) sendMirror(s, p, this.upstreamPath, this.upstreamAuthority, body, this.trailers, this.f.rootStats);
    }
  }

  /** HashCookieSink: a cookie hash policy generated a cookie for this client. */
  addDownstreamSetCookie(value: string): void {
    (this.setCookies ??= []).push(value);
  }

  // ---- attempts --------------------------------------------------------------------------

  private chooseHost(): Host | undefined {
    const cluster = this.cluster;
    if (cluster.config.type === 'ORIGINAL_DST') return originalDstHost(this.s, cluster);
    const m = this.match;
    // lb_subset_config: the route's (or weighted cluster's) envoy.lb metadata_match picks the subset.
    let pick: PickContext | undefined;
    if (cluster.config.lbSubset !== undefined) {
      PICK.metadataMatch = metadataMatchForRoute(m.route, m.route.routeAction?.metadataMatch, m.weightedCluster, m.weightedCluster?.config.metadataMatch);
      PICK.hasHash = false;
      pick = PICK;
    }
    // hash_policy: computed once per request, only for LBs that read it (as Envoy's lazy computeHashKey).
    const hp = m.route.hashPolicy;
    if (hp !== null && usesRequestHash(cluster)) {
      if (this.hashState === 0) {
        this.hashState = hp.generate(this.s, HASH_OUT, this) ? 2 : 1;
        this.hashHi = HASH_OUT[0]!;
        this.hashLo = HASH_OUT[1]!;
      }
      if (pick === undefined) PICK.metadataMatch = null;
      PICK.hasHash = this.hashState === 2;
      PICK.hashHi = this.hashHi;
      PICK.hashLo = this.hashLo;
      pick = PICK;
    }
    // previous_hosts: the cluster runs Envoy's host selection loop, handing attempt i to the LB
    // so ring hash and maglev step off the hash's primary host instead of returning it again.
    const tried = this.triedHosts;
    if (tried !== null && this.retry.previousHosts) {
      if (pick === undefined) {
        PICK.metadataMatch = null;
        PICK.hasHash = false;
        pick = PICK;
      }
      pick.previousHosts = tried;
      pick.maxHostSelectionAttempts = this.retry.hostAttempts;
      const h = cluster.chooseHost(pick);
      pick.previousHosts = undefined;
      pick.attempt = 0;
      return h;
    }
    return cluster.chooseHost(pick);
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
    (this.triedHosts ??= []).push(host);
    s.upstreamHost = host.key;
    s.attemptCount++;
    this.attemptStartMs = performance.now();
    const st = this.http.stats;
    st.upstreamRqTotal.inc();
    st.upstreamRqActive.inc();
    const pool = this.http.useH2(s.codec.protocol === 'HTTP/2') ? this.http.h2Pool(host) : this.http.h1Pool(host);
    this.waitPool = pool;
    pool.acquire(this);
  };

  /** original_src (TPROXY): upstream connections come from the downstream client's address. */
  get upstreamSource(): TransparentSource | undefined {
    return this.s.connection.originalSource;
  }

  onPoolReady(up: UpstreamStream): void {
    this.waitPool = null;
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
    if (complete && this.perTryTimeoutMs > 0) this.armPerTry();
    if (this.downPaused) {
      this.downPaused = false;
      s.codec.resumeReading(s);
    }
  }

  onPoolFailure(reason: ResetReason): void {
    this.waitPool = null;
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
    const retriable = this.retriableReset(reason);
    if (retriable && this.canRetry()) {
      this.scheduleRetry();
      return;
    }
    if (retriable) this.s.setResponseFlag(FLAG.UPSTREAM_RETRY_LIMIT_EXCEEDED);
    this.finishWithReply(503, resetBody(reason, this.retriesDone > 0), resetDetails(reason), resetFlag(reason));
  }

  private canRetry(): boolean {
    if (this.retriesDone >= this.numRetries) {
      if (this.numRetries > 0) this.http.stats.upstreamRqRetryLimitExceeded.inc();
      return false;
    }
    // The whole request must be replayable: buffered, or nothing of it sent yet.
    return this.bufferForRetry && !this.tunnel;
  }

  /** Envoy RetryStateImpl::wouldRetryFromHeaders on the upstream response head. */
  private retriableResponse(status: number, headers: HeaderMap): boolean {
    const on = this.retryOn;
    VIEW.map = headers;
    // A response from an upstream Envoy's rate limiter is retried only under envoy-ratelimited.
    if (headers.has('x-envoy-ratelimited')) return (on & R_ENVOY_RATELIMITED) !== 0;
    if ((on & R_5XX) !== 0 && status >= 500 && status < 600) return true;
    if ((on & R_GATEWAY) !== 0 && (status === 502 || status === 503 || status === 504)) return true;
    if ((on & R_RETRIABLE_4XX) !== 0 && status === 409) return true;
    if ((on & R_STATUS_CODES) !== 0 && (this.retry.statusCodes.includes(status) || (this.extraStatusCodes !== null && this.extraStatusCodes.includes(status)))) return true;
    if ((on & R_RETRIABLE_HEADERS) !== 0) {
      if (anyMatches(this.retry.retriableHeaders, VIEW)) return true;
      if (this.extraRetriableHeaders !== null && anyMatches(this.extraRetriableHeaders, VIEW)) return true;
    }
    // gRPC: a trailers-only response carries grpc-status in its headers.
    if ((on & R_GRPC_ANY) !== 0 && (on & grpcRetryBit(headers.get('grpc-status'))) !== 0) return true;
    return false;
  }

  /** Envoy RetryStateImpl::wouldRetryFromReset. */
  private retriableReset(reason: ResetReason): boolean {
    const on = this.retryOn;
    if (on === 0 || reason === 'overflow') return false;
    if (reason === 'connection_failure' || reason === 'connection_timeout') {
      if ((on & (R_CONNECT_FAILURE | R_5XX | R_GATEWAY | R_RESET | R_RESET_BEFORE_REQUEST)) !== 0) return true;
    }
    if (reason === 'remote_refused_stream_reset' && (on & R_REFUSED_STREAM) !== 0) return true;
    return (on & (R_5XX | R_GATEWAY | R_RESET)) !== 0;
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
    const headers = new HeaderMap(head.headers, head.lowerNames);
    if (!this.tunnel && this.retryOn !== 0 && this.retriableResponse(status, headers)) {
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
      if (this.retriesDone > 0 || this.numRetries > 0) s.setResponseFlag(FLAG.UPSTREAM_RETRY_LIMIT_EXCEEDED);
    } else {
      countUpstreamResponse(this.http.stats, status);
      if (this.retriesDone > 0) this.http.stats.upstreamRqRetrySuccess.inc();
    }
    this.clearPerTry();
    headers.remove('connection');
    headers.remove('keep-alive');
    headers.remove('proxy-connection');
    headers.remove('transfer-encoding');
    if (status !== 101) headers.remove('upgrade');
    else headers.set('connection', 'Upgrade');
    if (!this.f.config.suppressEnvoyHeaders) headers.set('x-envoy-upstream-service-time', String(Math.floor(performance.now() - this.attemptStartMs)));
    if (this.match.virtualHost.config.includeAttemptCountInResponse) headers.set('x-envoy-attempt-count', String(this.retriesDone + 1));
    const cookies = this.setCookies;
    if (cookies !== null) for (let i = 0; i < cookies.length; i++) headers.add('set-cookie', cookies[i]!);
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
    (this.perTryTimer ??= new CoarseTimer(this, T_PER_TRY)).arm(this.perTryTimeoutMs);
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
    if ((this.retryOn & (R_5XX | R_GATEWAY)) !== 0 && this.canRetry()) {
      this.scheduleRetry();
      return;
    }
    this.finishWithReply(504, 'upstream request timeout', DETAILS.UPSTREAM_PER_TRY_TIMEOUT, FLAG.UPSTREAM_REQUEST_TIMEOUT);
  }

  /** Leaves the pool's pending queue if this attempt is still waiting for a connection. */
  private stopWaiting(): void {
    const pool = this.waitPool;
    if (pool === null) return;
    this.waitPool = null;
    pool.cancel(this);
    this.http.stats.upstreamRqActive.dec();
  }

  private abortUpstream(): void {
    this.stopWaiting();
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
    this.abortUpstream();
  }
}
