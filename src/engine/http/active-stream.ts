// One HTTP request/response exchange inside the HTTP connection manager (Envoy's
// ConnectionManagerImpl::ActiveStream with its FilterManager): request header mutation as
// Envoy's ConnectionManagerUtility does (x-forwarded-for/-proto, x-request-id, x-envoy-internal,
// via, te), route selection on the table current at stream start, the tracing span when the
// HCM traces (started at request headers, finished with Envoy's tags at stream end; the router
// injects its context upstream), the HTTP filter chain
// (decode in order, encode in reverse, STOP/continueDecoding, local replies from any filter;
// the router last), response header finishing (date, server, connection), stats and the
// access log. The downstream codec (HTTP/1.1 or HTTP/2) drives it through the decode* methods
// and writes what it encodes through the DownstreamCodec interface.
import { randomUUID } from 'node:crypto';
import type { AccessLogRecord } from '../../extensions/access-loggers/access-log-record';
import type { Span } from '../../tracing/span';
import type { Tracer } from '../../tracing/tracer';
import type { DownstreamConnection } from '../api/network-filter';
import { CONTINUE, STOP, type FilterStatus, type HttpFilter, type HttpStreamCallbacks } from './filter-api';
import { HeaderMap } from './header-map';
import type { HcmRuntime } from './hcm-runtime';
import { httpToGrpcStatus } from './local-reply';
import type { DownstreamTlsInfo, HeaderFormatContext, RouteRequest } from './route/route-request';
import { perFilterConfigFor, type RouteMatch } from './route/route-table';
import { StreamDurationTimer, streamDurationMs, type StreamDurationOwner } from './stream-duration';
import { mutateForwardedFor, type XffResult } from './xff';

/** What the stream needs from its downstream codec. */
export interface DownstreamCodec {
  readonly protocol: string;
  writeHeaders(stream: ActiveStream, status: number, headers: HeaderMap, endStream: boolean): void;
  /** Returns false when the downstream is above its write buffer limit (wait for onDownstreamDrain). */
  writeData(stream: ActiveStream, chunk: Buffer, endStream: boolean): boolean;
  writeTrailers(stream: ActiveStream, trailers: HeaderMap): void;
  /** Abort the response (H1: close the connection; H2: RST_STREAM). */
  resetStream(stream: ActiveStream): void;
  pauseReading(stream: ActiveStream): void;
  resumeReading(stream: ActiveStream): void;
  /** The stream is finished in both directions (or reset). */
  streamDone(stream: ActiveStream): void;
}

/** Implemented by the router: told when the downstream can take more response bytes. */
export interface DownstreamWatermarkListener {
  onDownstreamDrain(): void;
}

let dateCacheSec = 0;
let dateCache = '';
/** RFC 7231 IMF-fixdate, recomputed at most once a second. */
export function httpDate(nowMs: number): string {
  const sec = (nowMs / 1000) | 0;
  if (sec !== dateCacheSec) {
    dateCacheSec = sec;
    dateCache = new Date(sec * 1000).toUTCString();
  }
  return dateCache;
}

const TWO_53 = 2 ** 53;

/** Reused result of the XFF computation (filled and read synchronously in decodeHeaders). */
const XFF: XffResult = { remoteIp: '', remotePort: 0, internal: false, edge: false };

/** x-envoy-* request headers Envoy strips from external requests (cleanInternalHeaders). */
const EXTERNAL_STRIPPED = [
  'x-envoy-retriable-status-codes',
  'x-envoy-retriable-header-names',
  'x-envoy-retry-on',
  'x-envoy-retry-grpc-on',
  'x-envoy-max-retries',
  'x-envoy-upstream-alt-stat-name',
  'x-envoy-upstream-rq-timeout-ms',
  'x-envoy-upstream-rq-per-try-timeout-ms',
  'x-envoy-upstream-rq-timeout-alt-response',
  'x-envoy-expected-rq-timeout-ms',
  'x-envoy-force-trace',
  'x-envoy-ip-tags',
  'x-envoy-original-url',
  'x-envoy-hedge-on-per-try-timeout',
  'x-envoy-internal',
];
/** Also stripped when we are the first hop (edge). */
const EDGE_STRIPPED = ['x-envoy-decorator-operation', 'x-envoy-downstream-service-cluster', 'x-envoy-downstream-service-node'];

export class ActiveStream implements HttpStreamCallbacks, RouteRequest, AccessLogRecord, HeaderFormatContext, StreamDurationOwner {
  method = '';
  path = '';
  authority = '';
  scheme = 'http';
  requestHeaders: HeaderMap;
  readonly random: number;
  route: RouteMatch | null = null;
  isGrpc = false;
  /** HTTP/1 minor version of the request (0 or 1); 1 for HTTP/2. */
  minorVersion = 1;
  isHead = false;
  /** Tunnel (upgrade or CONNECT) stream: bodies are raw bytes both ways. */
  upgradeType = '';

  filters: HttpFilter[] = [];
  private decodeIndex = 0;
  private stoppedAt = -1;
  private pendingData: Buffer[] | null = null;
  private pendingEnd = false;
  private pendingTrailers: HeaderMap | null = null;
  /** Decoding reached the router (headers passed through every filter). */
  private decodedHeaders = false;

  requestComplete = false;
  responseStarted = false;
  responseComplete = false;
  done = false;
  responseCode = 0;
  responseHeaders: HeaderMap | null = null;
  responseTrailers: HeaderMap | null = null;
  responseFlags = '';
  responseCodeDetails = '';
  connectionTerminationDetails = '';
  upstreamTransportFailureReason = '';
  bytesReceived = 0;
  bytesSent = 0;
  upstreamHost = '';
  upstreamCluster = '';
  upstreamLocalAddress = '';
  attemptCount = 0;
  isHealthCheck = false;
  /** Close the connection after this response (H1). */
  closeConnection = false;
  watermarkListener: DownstreamWatermarkListener | null = null;
  /** The request's span when the HCM traces; the router injects it into the upstream headers. */
  span: Span | null = null;
  /** Ingress: route decorator operation echoed in x-envoy-decorator-operation on the response. */
  private decoratedOperation = '';

  readonly startTimeMs: number;
  private readonly startHr: number;
  private requestEndHr = -1;
  private responseStartHr = -1;
  private endHr = -1;
  /** Opaque per-codec slot (the H2 stream object). */
  codecStream: unknown = null;
  /** The downstream remote address after XFF handling (the connection's peer until then). */
  private remoteIp = '';
  private remotePort = 0;
  /** max_stream_duration timer, only for streams with a limit. */
  private durationTimer: StreamDurationTimer | null = null;

  constructor(
    readonly hcm: HcmRuntime,
    readonly connection: DownstreamConnection,
    readonly codec: DownstreamCodec,
    headers: HeaderMap,
  ) {
    this.requestHeaders = headers;
    this.startTimeMs = Date.now();
    this.startHr = performance.now();
    this.random = Math.floor(Math.random() * TWO_53);
    const st = hcm.stats;
    st.downstreamRqTotal.inc();
    st.downstreamRqActive.inc();
  }

  get runtime() {
    return this.connection.runtime;
  }

  get protocol(): string {
    return this.codec.protocol === 'HTTP/1.1' && this.minorVersion === 0 ? 'HTTP/1.0' : this.codec.protocol;
  }

  // ---- RouteRequest / header lookups ----------------------------------------------------

  header(name: string): string | undefined {
    return this.requestHeaders.getAll(name);
  }

  perFilterConfig(filterName: string): unknown {
    if (this.route === null) return undefined;
    const c = perFilterConfigFor(this.route, filterName);
    return c === undefined ? undefined : this.hcm.parsePerFilter(filterName, c);
  }

  setResponseFlag(flag: string): void {
    this.responseFlags = this.responseFlags === '' ? flag : `${this.responseFlags},${flag}`;
  }

  // ---- request path ----------------------------------------------------------------------

  /**
   * Request headers complete: mutate them as Envoy's HCM does, pick the route, build the filter
   * chain and run decodeHeaders. `method`, `path`, `authority` must be set by the codec.
   */
  decodeHeaders(endStream: boolean): void {
    const hcm = this.hcm;
    const cfg = hcm.config;
    const h = this.requestHeaders;
    this.isHead = this.method === 'HEAD';
    if (endStream) this.markRequestComplete();
    const ct = h.get('content-type');
    this.isGrpc = ct !== undefined && ct.startsWith('application/grpc');

    if (this.authority === '' && this.method !== 'CONNECT') {
      if (this.minorVersion === 0 && cfg.http1.defaultHostForHttp10 !== '') this.authority = cfg.http1.defaultHostForHttp10;
      else return this.sendLocalReply(400, 'missing host header', 'missing_host_header');
    }
    if (cfg.headersWithUnderscoresAction !== 'ALLOW' && !this.checkUnderscores()) return;
    if (this.path !== '' && !this.normalizePath()) return;

    // x-forwarded-for, the trusted client address, x-envoy-internal and x-envoy-external-address
    // (ConnectionManagerUtility::mutateRequestHeaders; see xff.ts).
    const conn = this.connection;
    const x = XFF;
    mutateForwardedFor(cfg, conn.remoteIp, conn.remotePort, hcm.localIp, h, x);
    this.remoteIp = x.remoteIp;
    this.remotePort = x.remotePort;
    const internal = x.internal;
    if (cfg.useRemoteAddress) {
      // An untrusted previous hop's x-forwarded-proto is replaced by what we saw.
      if (cfg.xffNumTrustedHops === 0 || !h.has('x-forwarded-proto')) h.set('x-forwarded-proto', this.scheme);
      else this.scheme = h.get('x-forwarded-proto')!.toLowerCase();
    } else {
      const xfp = h.get('x-forwarded-proto');
      if (xfp === undefined) h.add('x-forwarded-proto', this.scheme);
      else this.scheme = xfp.toLowerCase();
    }
    if (internal) h.set('x-envoy-internal', 'true');
    else {
      // All of them are x-envoy-*: most requests carry none, and one pass tells.
      if (h.hasNamePrefix('x-envoy-')) {
        if (x.edge) for (let i = 0; i < EDGE_STRIPPED.length; i++) h.remove(EDGE_STRIPPED[i]!);
        for (let i = 0; i < EXTERNAL_STRIPPED.length; i++) h.remove(EXTERNAL_STRIPPED[i]!);
      }
      for (let i = 0; i < hcm.internalOnlyHeaders.length; i++) h.remove(hcm.internalOnlyHeaders[i]!);
    }
    if (x.edge) h.set('x-envoy-external-address', x.remoteIp);
    // te: only "trailers" may pass (Envoy strips every other TE value).
    const te = h.get('te');
    if (te !== undefined && te.toLowerCase() !== 'trailers') h.remove('te');
    if (cfg.generateRequestId) {
      const rid = h.get('x-request-id');
      if (rid === undefined || rid === '' || (cfg.useRemoteAddress && !internal && !cfg.preserveExternalRequestId)) h.set('x-request-id', randomUUID());
    }
    if (cfg.via !== '') {
      const via = h.get('via');
      h.set('via', via === undefined ? cfg.via : `${via}, ${cfg.via}`);
    }
    this.isHealthCheck = false;

    const table = hcm.routeTable(this.connection);
    this.route = table === null ? null : table.route(this);
    const maxMs = streamDurationMs(this.route?.route.routeAction ?? null, cfg.maxStreamDurationMs, h, this.isGrpc);
    if (maxMs >= 0) (this.durationTimer = new StreamDurationTimer(this)).arm(Math.max(0, maxMs - (performance.now() - this.startHr)));
    if (hcm.tracer !== null) this.startTrace(hcm.tracer);
    this.filters = hcm.createFilters(this.route);
    this.runDecodeHeaders(0, endStream);
  }

  /**
   * Envoy's ActiveStream::traceRequest: span named by the route decorator, else "ingress" /
   * "egress <host>"; egress propagates the decorator operation upstream in
   * x-envoy-decorator-operation, ingress takes that header (and strips it) as its span name.
   */
  private startTrace(tracer: Tracer): void {
    const hcm = this.hcm;
    const conn = this.connection;
    if (hcm.tracingSink !== undefined) hcm.tracingSink.clusters = conn.runtime.clusters;
    const egress = hcm.tracingEgress(conn);
    const h = this.requestHeaders;
    const decorator = this.route === null ? undefined : this.route.route.config.decorator;
    let name = decorator !== undefined ? decorator.operation : egress ? `egress ${this.authority}` : 'ingress';
    if (egress) {
      if (decorator !== undefined && decorator.propagate) h.set('x-envoy-decorator-operation', decorator.operation);
    } else {
      if (decorator !== undefined && decorator.propagate) this.decoratedOperation = decorator.operation;
      const op = h.get('x-envoy-decorator-operation');
      if (op !== undefined) {
        if (op !== '') {
          name = op;
          this.decoratedOperation = '';
        }
        h.remove('x-envoy-decorator-operation');
      }
    }
    this.span = tracer.startSpan(h, {
      kind: egress ? 'CLIENT' : 'SERVER',
      operationName: name,
      method: this.method,
      url: `${this.scheme}://${this.authority}${this.path}`,
      protocol: this.protocol,
      peerAddress: conn.remoteIp,
      startTimeMs: this.startTimeMs,
    });
  }

  /** Envoy's finalizeDownstreamSpan tags, then the span goes to the exporter if sampled. */
  private finishTrace(span: Span): void {
    if (this.upstreamHost !== '') span.setTag('upstream_address', this.upstreamHost);
    if (this.isGrpc) {
      const gs = this.responseTrailers?.get('grpc-status') ?? this.responseHeaders?.get('grpc-status');
      if (gs !== undefined) span.setTag('grpc.status_code', gs);
    }
    span.finish({ statusCode: this.responseCode, requestSize: this.bytesReceived, responseSize: this.bytesSent, responseFlags: this.responseFlags, upstreamCluster: this.upstreamCluster });
  }

  private runDecodeHeaders(from: number, endStream: boolean): void {
    const filters = this.filters;
    for (let i = from; i < filters.length; i++) {
      const f = filters[i]!;
      this.decodeIndex = i;
      if (f.decodeHeaders === undefined) continue;
      const status: FilterStatus = f.decodeHeaders(this, endStream);
      if (this.done || this.responseStarted) return;
      if (status === STOP) {
        this.stoppedAt = i;
        return;
      }
    }
    this.decodedHeaders = true;
  }

  /** Request body bytes (or tunnel bytes) from the codec. */
  decodeData(chunk: Buffer, endStream: boolean): void {
    if (this.done) return;
    this.bytesReceived += chunk.length;
    if (endStream) this.markRequestComplete();
    if (!this.decodedHeaders) {
      if (this.stoppedAt >= 0) {
        (this.pendingData ??= []).push(chunk);
        if (endStream) this.pendingEnd = true;
      }
      return;
    }
    const filters = this.filters;
    for (let i = 0; i < filters.length; i++) {
      const f = filters[i]!;
      if (f.decodeData !== undefined) {
        f.decodeData(this, chunk, endStream);
        if (this.done) return;
      }
    }
  }

  decodeTrailers(trailers: HeaderMap): void {
    if (this.done) return;
    this.markRequestComplete();
    if (!this.decodedHeaders) {
      if (this.stoppedAt >= 0) this.pendingTrailers = trailers;
      return;
    }
    const filters = this.filters;
    for (let i = 0; i < filters.length; i++) {
      const f = filters[i]!;
      if (f.decodeTrailers !== undefined) {
        f.decodeTrailers(this, trailers);
        if (this.done) return;
      }
    }
  }

  continueDecoding(): void {
    if (this.done || this.stoppedAt < 0) return;
    const from = this.stoppedAt + 1;
    this.stoppedAt = -1;
    const data = this.pendingData;
    const end = this.pendingEnd;
    const trailers = this.pendingTrailers;
    this.pendingData = null;
    this.pendingTrailers = null;
    const headersEnd = this.requestComplete && data === null && trailers === null;
    this.runDecodeHeaders(from, headersEnd);
    if (!this.decodedHeaders) return;
    if (data !== null) {
      for (let i = 0; i < data.length; i++) {
        this.bytesReceived -= data[i]!.length;
        this.decodeData(data[i]!, end && i === data.length - 1 && trailers === null);
      }
    }
    if (trailers !== null) this.decodeTrailers(trailers);
  }

  private markRequestComplete(): void {
    if (this.requestComplete) return;
    this.requestComplete = true;
    this.requestEndHr = performance.now();
    if (this.responseComplete) this.finish();
  }

  /** Header names with '_' (headers_with_underscores_action). False when the stream was answered. */
  private checkUnderscores(): boolean {
    const h = this.requestHeaders;
    for (let j = h.size - 1; j >= 0; j--) {
      if (h.nameAt(j).includes('_')) {
        if (this.hcm.config.headersWithUnderscoresAction === 'REJECT_REQUEST') {
          this.hcm.stats.downstreamRqRxReset.inc();
          this.sendLocalReply(400, '', 'unexpected_underscore');
          return false;
        }
        h.remove(h.lowerNameAt(j));
      }
    }
    return true;
  }

  /** normalize_path / merge_slashes / escaped slashes (Envoy PathUtil). False when answered. */
  private normalizePath(): boolean {
    const cfg = this.hcm.config;
    let p = this.path;
    if (p.charCodeAt(0) !== 47 /* / */) return true; // '*' or authority-form
    const q = p.indexOf('?');
    let pathPart = q < 0 ? p : p.slice(0, q);
    const query = q < 0 ? '' : p.slice(q);
    const action = cfg.pathWithEscapedSlashesAction;
    if (action !== 'IMPLEMENTATION_SPECIFIC_DEFAULT' && action !== 'KEEP_UNCHANGED' && /%2f|%5c/i.test(pathPart)) {
      if (action === 'REJECT_REQUEST') {
        this.sendLocalReply(400, '', 'path_normalization_failed');
        return false;
      }
      const unescaped = pathPart.replace(/%2f/gi, '/').replace(/%5c/gi, '\\');
      if (action === 'UNESCAPE_AND_REDIRECT') {
        this.sendLocalReply(307, '', 'path_normalization_failed', undefined, ['location', unescaped + query]);
        return false;
      }
      pathPart = unescaped;
    }
    if (cfg.normalizePath) pathPart = removeDotSegments(pathPart.replace(/\\/g, '/'));
    if (cfg.mergeSlashes) pathPart = pathPart.replace(/\/{2,}/g, '/');
    p = pathPart + query;
    this.path = p;
    return true;
  }

  // ---- response path ---------------------------------------------------------------------

  /** Response headers from the router (or a local reply): encoder filters in reverse, then the codec. */
  encodeHeaders(status: number, headers: HeaderMap, endStream: boolean): void {
    if (this.done || this.responseStarted) return;
    this.responseStarted = true;
    this.responseCode = status;
    this.responseHeaders = headers;
    this.responseStartHr = performance.now();
    const filters = this.filters;
    for (let i = Math.min(this.decodeIndex, filters.length - 1); i >= 0; i--) {
      const f = filters[i]!;
      if (f.encodeHeaders !== undefined) f.encodeHeaders(this, status, headers, endStream);
    }
    const cfg = this.hcm.config;
    headers.set('date', httpDate(this.startTimeMs));
    const xform = cfg.serverHeaderTransformation;
    if (xform === 'OVERWRITE') headers.set('server', cfg.serverName);
    else if (xform === 'APPEND_IF_ABSENT' && !headers.has('server')) headers.add('server', cfg.serverName);
    if (cfg.alwaysSetRequestIdInResponse) {
      const rid = this.requestHeaders.get('x-request-id');
      if (rid !== undefined) headers.set('x-request-id', rid);
    }
    if (cfg.via !== '') {
      const via = headers.get('via');
      headers.set('via', via === undefined ? cfg.via : `${via}, ${cfg.via}`);
    }
    if (this.decoratedOperation !== '') headers.set('x-envoy-decorator-operation', this.decoratedOperation);
    const k = (status / 100) | 0;
    if (k >= 1 && k <= 5) this.hcm.stats.downstreamRqXx[k]!.inc();
    if (endStream) this.markResponseComplete();
    this.codec.writeHeaders(this, status, headers, endStream);
    if (endStream) this.maybeFinish();
  }

  /** Response body bytes. Returns false when the downstream is saturated. */
  encodeData(chunk: Buffer, endStream: boolean): boolean {
    if (this.done) return true;
    this.bytesSent += chunk.length;
    if (endStream) this.markResponseComplete();
    const ok = this.codec.writeData(this, chunk, endStream);
    if (endStream) this.maybeFinish();
    return ok;
  }

  encodeTrailers(trailers: HeaderMap): void {
    if (this.done) return;
    this.responseTrailers = trailers;
    this.markResponseComplete();
    this.codec.writeTrailers(this, trailers);
    this.maybeFinish();
  }

  private markResponseComplete(): void {
    if (this.responseComplete) return;
    this.responseComplete = true;
    this.endHr = performance.now();
  }

  private maybeFinish(): void {
    if (this.done) return;
    // A response that completes before the request was read to the end: Envoy's HTTP/1 codec
    // closes the connection afterwards (the rest of the request cannot be skipped safely).
    if (!this.requestComplete) {
      this.closeConnection = true;
      this.requestComplete = true;
    }
    this.finish();
  }

  /** Answers the request locally (see HttpStreamCallbacks.sendLocalReply). */
  sendLocalReply(status: number, body: string, details: string, flag?: string, extraHeaders?: readonly string[], grpcStatus?: number): void {
    if (this.done) return;
    if (flag !== undefined) this.setResponseFlag(flag);
    this.responseCodeDetails = details;
    if (this.responseStarted) {
      // Too late for a reply: reset the stream (Envoy resets when headers were already sent).
      this.resetStream('local_reset');
      return;
    }
    const list: string[] = [];
    if (this.isGrpc) {
      list.push('content-type', 'application/grpc', 'grpc-status', String(grpcStatus ?? httpToGrpcStatus(status)));
      if (body !== '') list.push('grpc-message', encodeURIComponent(body));
      if (extraHeaders) for (let i = 0; i < extraHeaders.length; i++) list.push(extraHeaders[i]!);
      this.encodeHeaders(200, new HeaderMap(list), true);
      return;
    }
    const buf = body === '' ? null : Buffer.from(body, 'utf8');
    list.push('content-length', String(buf === null ? 0 : buf.length));
    if (buf !== null) list.push('content-type', 'text/plain');
    if (extraHeaders) for (let i = 0; i < extraHeaders.length; i++) list.push(extraHeaders[i]!);
    const headers = new HeaderMap(list);
    if (buf === null || this.isHead) this.encodeHeaders(status, headers, true);
    else {
      this.encodeHeaders(status, headers, false);
      this.encodeData(buf, true);
    }
  }

  /** Aborts the stream (downstream reset, or an upstream failure after the response started). */
  resetStream(reason: 'local_reset' | 'remote_reset'): void {
    if (this.done) return;
    if (reason === 'remote_reset') {
      this.hcm.stats.downstreamRqRxReset.inc();
      if (!this.responseComplete) this.setResponseFlag('DC');
    } else {
      this.hcm.stats.downstreamRqTxReset.inc();
    }
    if (this.endHr < 0) this.endHr = performance.now();
    this.codec.resetStream(this);
    this.finish();
  }

  /** The downstream drained its write buffer. */
  onDownstreamDrain(): void {
    this.watermarkListener?.onDownstreamDrain();
  }

  /** Envoy onStreamMaxDurationReached: 408 before the request was fully received, else 504. */
  onStreamMaxDurationReached(): void {
    if (this.done) return;
    this.hcm.stats.downstreamRqMaxDurationReached.inc();
    this.sendLocalReply(this.requestComplete ? 504 : 408, 'downstream duration timeout', 'max_duration_timeout', undefined, undefined, 4);
  }

  private finish(): void {
    if (this.done) return;
    if (!this.requestComplete && !this.codecResetting) return;
    this.done = true;
    if (this.durationTimer !== null) this.durationTimer.disarm();
    const filters = this.filters;
    for (let i = 0; i < filters.length; i++) filters[i]!.onDestroy?.();
    const st = this.hcm.stats;
    st.downstreamRqActive.dec();
    st.downstreamRqCompleted.inc();
    const logs = this.hcm.accessLogs;
    for (let i = 0; i < logs.length; i++) logs[i]!.log(this);
    if (this.span !== null) this.finishTrace(this.span);
    this.codec.streamDone(this);
  }

  private get codecResetting(): boolean {
    return this.responseComplete || this.endHr >= 0;
  }

  // ---- AccessLogRecord -------------------------------------------------------------------

  get durationMs(): number {
    return this.endHr < 0 ? -1 : Math.floor(this.endHr - this.startHr);
  }
  get requestDurationMs(): number {
    return this.requestEndHr < 0 ? -1 : Math.floor(this.requestEndHr - this.startHr);
  }
  get responseDurationMs(): number {
    return this.responseStartHr < 0 ? -1 : Math.floor(this.responseStartHr - this.startHr);
  }
  get downstreamLocalAddress(): string {
    const c = this.connection;
    return joinHostPort(c.destinationIp, c.destinationPort);
  }
  /** Envoy's downstream remote address: the XFF-derived client (port 0) when configured so. */
  get downstreamRemoteAddress(): string {
    if (this.remoteIp === '') return this.downstreamDirectRemoteAddress;
    return joinHostPort(this.remoteIp, this.remotePort);
  }
  get downstreamDirectRemoteAddress(): string {
    const c = this.connection;
    return joinHostPort(c.remoteIp, c.remotePort);
  }
  /** The downstream remote IP without port (hash_policy source_ip). */
  get downstreamRemoteIp(): string {
    const ip = this.remoteIp !== '' ? this.remoteIp : this.connection.remoteIp;
    return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
  }
  get requestedServerName(): string {
    return '';
  }
  get routeName(): string {
    return this.route?.route.name ?? '';
  }
  get connectionId(): number {
    return this.connection.id;
  }

  // ---- HeaderFormatContext (%VAR% in header edits) ---------------------------------------

  get upstreamRemoteAddress(): string {
    return this.upstreamHost;
  }
  get tls(): DownstreamTlsInfo | null {
    return null;
  }
  requestHeader(name: string): string | undefined {
    switch (name) {
      case ':method':
        return this.method;
      case ':path':
        return this.path;
      case ':authority':
        return this.authority;
      case ':scheme':
        return this.scheme;
      default:
        return this.requestHeaders.getAll(name);
    }
  }
  responseHeader(name: string): string | undefined {
    if (name === ':status') return this.responseCode > 0 ? String(this.responseCode) : undefined;
    return this.responseHeaders?.getAll(name);
  }
  upstreamMetadata(_namespace: string, _path: readonly string[]): unknown {
    return undefined;
  }
  dynamicMetadata(_namespace: string, _path: readonly string[]): unknown {
    return undefined;
  }
  clusterMetadata(namespace: string, path: readonly string[]): unknown {
    const c = this.upstreamCluster === '' ? undefined : this.runtime.clusters.get(this.upstreamCluster);
    let v: unknown = (c?.config.metadata as Record<string, unknown> | undefined)?.[namespace];
    for (const k of path) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
    return v;
  }
  filterState(_key: string): string | undefined {
    return undefined;
  }
}

export function joinHostPort(ip: string, port: number): string {
  if (ip === '') return '';
  if (ip.startsWith('::ffff:') && ip.includes('.')) ip = ip.slice(7);
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** RFC 3986 5.2.4 remove_dot_segments. */
function removeDotSegments(path: string): string {
  if (!path.includes('.')) return path;
  const out: string[] = [];
  const segs = path.split('/');
  for (let i = 1; i < segs.length; i++) {
    const s = segs[i]!;
    if (s === '.') {
      if (i === segs.length - 1) out.push('');
    } else if (s === '..') {
      out.pop();
      if (i === segs.length - 1) out.push('');
    } else out.push(s);
  }
  return `/${out.join('/')}`;
}

export { CONTINUE, STOP };
