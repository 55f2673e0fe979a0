// Parse half of envoy.filters.network.http_connection_manager: HttpConnectionManager proto ->
// HttpConnectionManagerConfig (plain data, control side). The worker's create half
// (engine/http/hcm-factory.ts) builds codecs, filter chains and access loggers from it.
// An inline route_config is translated here with the same translator RDS uses and carried as
// the model, so the worker compiles it once per filter chain (one code path for both sources).
// Defaults follow Envoy's http_connection_manager.proto: stream_idle_timeout 5 min,
// drain_timeout 5 s, max_request_headers_kb 60, max_headers_count 100, generate_request_id true,
// server_name "envoy" with OVERWRITE, connection idle_timeout 1 h.
import { parseHcmTracing } from '../../../../tracing/tracing-config';
import type { ErrorSink } from '../../../../common/result';
import type { ExtensionInstanceConfig } from '../../../../config/model/listener';
import type { RouteConfigurationConfig } from '../../../../config/model/route';
import type { ApiConfigSourceConfig } from '../../../../config/model/config-source';
import { durationMs, oneofCase, wrapped, type Msg } from '../../../../config/translate/proto-util';
import { translateRouteConfiguration } from '../../../../config/translate/route/route-config';
import { translateResourceSource } from '../../../../config/translate/config-source';
import type { ExtensionParser, ParseContext } from '../../../registry';

export type HcmCodecType = 'AUTO' | 'HTTP1' | 'HTTP2' | 'HTTP3';
export type HeadersWithUnderscoresAction = 'ALLOW' | 'REJECT_REQUEST' | 'DROP_HEADER';
export type ServerHeaderTransformation = 'OVERWRITE' | 'APPEND_IF_ABSENT' | 'PASS_THROUGH';
export type PathWithEscapedSlashesAction = 'IMPLEMENTATION_SPECIFIC_DEFAULT' | 'KEEP_UNCHANGED' | 'REJECT_REQUEST' | 'UNESCAPE_AND_REDIRECT' | 'UNESCAPE_AND_FORWARD';
export type ForwardClientCertDetails = 'SANITIZE' | 'FORWARD_ONLY' | 'APPEND_FORWARD' | 'SANITIZE_SET' | 'ALWAYS_FORWARD_ONLY';

/** One http_filters entry, parsed by its own parse half. */
export interface HttpFilterInstanceConfig extends ExtensionInstanceConfig {
  /** Filter is present but disabled unless a route enables it (HttpFilter.disabled). */
  readonly disabled: boolean;
}

/** HttpConnectionManager.UpgradeConfig. */
export interface HcmUpgradeConfig {
  /** Lower-cased, e.g. 'websocket', 'connect'. */
  readonly upgradeType: string;
  readonly enabled: boolean;
  /** Filters for upgraded streams; undefined = the HCM's chain. */
  readonly filters?: readonly HttpFilterInstanceConfig[];
}

export type HcmRouteSource =
  /** apiSource: rds.config_source is an api_config_source (its own RDS stream); unset = ADS. */
  | { readonly kind: 'rds'; readonly routeConfigName: string; readonly apiSource?: ApiConfigSourceConfig }
  | { readonly kind: 'inline'; readonly routeConfigName: string; readonly routeConfig: RouteConfigurationConfig }
  | { readonly kind: 'scoped' };

export interface HttpConnectionManagerConfig {
  readonly statPrefix: string;
  readonly codecType: HcmCodecType;
  readonly routeSource: HcmRouteSource;
  readonly httpFilters: readonly HttpFilterInstanceConfig[];
  /** Per-stream idle timeout, default 5 min; 0 disables. */
  readonly streamIdleTimeoutMs: number;
  /** Whole-request receive timeout; 0 (default) disables. */
  readonly requestTimeoutMs: number;
  /** Time to receive the complete request headers; 0 (default) disables. */
  readonly requestHeadersTimeoutMs: number;
  /** Grace between a drain notice (GOAWAY/Connection: close) and close; default 5 s. */
  readonly drainTimeoutMs: number;
  /** Delay between a local close and the socket close; default 1 s. */
  readonly delayedCloseTimeoutMs: number;
  /** Connection idle timeout (common_http_protocol_options.idle_timeout), default 1 h; 0 disables. */
  readonly idleTimeoutMs: number;
  readonly maxConnectionDurationMs: number;
  /** Default 100. */
  readonly maxHeadersCount: number;
  readonly maxStreamDurationMs: number;
  readonly maxRequestsPerConnection: number;
  readonly headersWithUnderscoresAction: HeadersWithUnderscoresAction;
  /** Default 60. */
  readonly maxRequestHeadersKb: number;
  readonly useRemoteAddress: boolean;
  readonly xffNumTrustedHops: number;
  readonly skipXffAppend: boolean;
  /** Default true. */
  readonly generateRequestId: boolean;
  readonly preserveExternalRequestId: boolean;
  readonly alwaysSetRequestIdInResponse: boolean;
  /** Default 'envoy'. */
  readonly serverName: string;
  readonly serverHeaderTransformation: ServerHeaderTransformation;
  readonly normalizePath: boolean;
  readonly mergeSlashes: boolean;
  readonly pathWithEscapedSlashesAction: PathWithEscapedSlashesAction;
  /** Value appended to `via` on requests and responses; '' = none. */
  readonly via: string;
  readonly upgradeConfigs: readonly HcmUpgradeConfig[];
  readonly accessLogs: readonly AccessLogInstanceConfig[];
  /** The HCM's tracing config (parsed TracingConfig from src/tracing/tracing-config.ts). */
  readonly tracing?: Readonly<Record<string, unknown>>;
  readonly forwardClientCertDetails: ForwardClientCertDetails;
  /** http_protocol_options. */
  readonly http1: { readonly acceptHttp10: boolean; readonly defaultHostForHttp10: string; readonly allowChunkedLength: boolean };
  /** http2_protocol_options.max_concurrent_streams (Envoy default 2^31-1). */
  readonly http2MaxConcurrentStreams: number;
  /** internal_address_config unset: Envoy treats loopback/RFC1918 as internal (pre-1.32 default). */
  readonly proxy100Continue: boolean;
  readonly stripMatchingHostPort: boolean;
  readonly stripAnyHostPort: boolean;
}

/** One access_log entry: logger extension plus its filter (kept as data, see access-loggers). */
export interface AccessLogInstanceConfig extends ExtensionInstanceConfig {
  readonly filter?: AccessLogFilterConfig;
}

/** envoy.config.accesslog.v3.AccessLogFilter, the common subset. */
export type AccessLogFilterConfig =
  | { readonly kind: 'status_code'; readonly op: ComparisonOp; readonly value: number }
  | { readonly kind: 'duration'; readonly op: ComparisonOp; readonly value: number }
  | { readonly kind: 'not_health_check' }
  | { readonly kind: 'traceable' }
  | { readonly kind: 'response_flag'; readonly flags: readonly string[] }
  | { readonly kind: 'runtime'; readonly numerator: number; readonly denominator: number }
  | { readonly kind: 'header'; readonly name: string; readonly present: boolean }
  | { readonly kind: 'grpc_status'; readonly statuses: readonly number[]; readonly exclude: boolean }
  | { readonly kind: 'and' | 'or'; readonly filters: readonly AccessLogFilterConfig[] };

export type ComparisonOp = 'EQ' | 'GE' | 'LE' | 'NE';

const CODECS: readonly HcmCodecType[] = ['AUTO', 'HTTP1', 'HTTP2', 'HTTP3'];
const UNDERSCORES: readonly HeadersWithUnderscoresAction[] = ['ALLOW', 'REJECT_REQUEST', 'DROP_HEADER'];
const SERVER_XFORM: readonly ServerHeaderTransformation[] = ['OVERWRITE', 'APPEND_IF_ABSENT', 'PASS_THROUGH'];
const ESCAPED: readonly PathWithEscapedSlashesAction[] = ['IMPLEMENTATION_SPECIFIC_DEFAULT', 'KEEP_UNCHANGED', 'REJECT_REQUEST', 'UNESCAPE_AND_REDIRECT', 'UNESCAPE_AND_FORWARD'];
const FCC: readonly ForwardClientCertDetails[] = ['SANITIZE', 'FORWARD_ONLY', 'APPEND_FORWARD', 'SANITIZE_SET', 'ALWAYS_FORWARD_ONLY'];
const OPS: readonly ComparisonOp[] = ['EQ', 'GE', 'LE', 'NE'];
const GRPC_STATUSES = ['OK', 'CANCELED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];

export const DEFAULT_STREAM_IDLE_TIMEOUT_MS = 300_000;
export const DEFAULT_DRAIN_TIMEOUT_MS = 5000;
export const DEFAULT_IDLE_TIMEOUT_MS = 3_600_000;
export const DEFAULT_MAX_REQUEST_HEADERS_KB = 60;
export const DEFAULT_MAX_HEADERS_COUNT = 100;

function enumOf<T extends string>(v: unknown, list: readonly T[], fallback: T): T {
  if (typeof v === 'number') return list[v] ?? fallback;
  if (typeof v === 'string' && (list as readonly string[]).includes(v)) return v as T;
  return fallback;
}

function isRouter(name: string, typeUrl: string): boolean {
  return name === 'envoy.filters.http.router' || name === 'envoy.router' || typeUrl.endsWith('envoy.extensions.filters.http.router.v3.Router');
}

function parseFilters(list: Msg[], ctx: ParseContext, errors: ErrorSink, path: string, requireRouter: boolean): HttpFilterInstanceConfig[] {
  const out: HttpFilterInstanceConfig[] = [];
  list.forEach((f, i) => {
    const inst = ctx.parseNested('http', String(f.name ?? ''), f.typedConfig, !!f.isOptional, errors, `${path}[${i}]`);
    if (inst) out.push({ ...inst, disabled: !!f.disabled });
  });
  if (list.length > 0) {
    const last = list[list.length - 1]!;
    const lastName = String(last.name ?? '');
    if (!isRouter(lastName, String(last.typedConfig?.typeUrl ?? ''))) errors.add(`${path}[${list.length - 1}]`, `the last HTTP filter must be the router, not '${lastName}'`);
    list.slice(0, -1).forEach((f, i) => {
      if (isRouter(String(f.name ?? ''), String(f.typedConfig?.typeUrl ?? ''))) errors.add(`${path}[${i}]`, 'the router is a terminal filter and must be last');
    });
  } else if (requireRouter) {
    // Envoy (>= 1.24) no longer adds a router implicitly: an empty list has no terminal filter.
    errors.add(path, 'must contain the router filter');
  }
  return out;
}

/** envoy.config.accesslog.v3.AccessLogFilter -> model; unknown kinds are errors. */
export function translateAccessLogFilter(f: Msg, errors: ErrorSink, path: string): AccessLogFilterConfig | undefined {
  const which = oneofCase(f, 'filterSpecifier');
  const cmp = (c: Msg | null | undefined) => ({ op: enumOf(c?.op, OPS, 'EQ'), value: Number(c?.value?.defaultValue ?? 0) });
  switch (which) {
    case 'statusCodeFilter':
      return { kind: 'status_code', ...cmp(f.statusCodeFilter.comparison) };
    case 'durationFilter':
      return { kind: 'duration', ...cmp(f.durationFilter.comparison) };
    case 'notHealthCheckFilter':
      return { kind: 'not_health_check' };
    case 'traceableFilter':
      return { kind: 'traceable' };
    case 'responseFlagFilter':
      return { kind: 'response_flag', flags: ((f.responseFlagFilter.flags ?? []) as string[]).map(String) };
    case 'runtimeFilter': {
      const p = f.runtimeFilter.percentSampled ?? { numerator: 0, denominator: 0 };
      const den = [100, 10_000, 1_000_000][typeof p.denominator === 'number' ? p.denominator : ['HUNDRED', 'TEN_THOUSAND', 'MILLION'].indexOf(String(p.denominator))] ?? 100;
      return { kind: 'runtime', numerator: Number(p.numerator ?? 0), denominator: den };
    }
    case 'headerFilter': {
      const h = f.headerFilter.header ?? {};
      return { kind: 'header', name: String(h.name ?? '').toLowerCase(), present: true };
    }
    case 'grpcStatusFilter':
      return {
        kind: 'grpc_status',
        statuses: ((f.grpcStatusFilter.statuses ?? []) as unknown[]).map((s) => (typeof s === 'number' ? s : GRPC_STATUSES.indexOf(String(s)))),
        exclude: !!f.grpcStatusFilter.exclude,
      };
    case 'andFilter':
    case 'orFilter': {
      const inner = (which === 'andFilter' ? f.andFilter : f.orFilter).filters as Msg[];
      const filters: AccessLogFilterConfig[] = [];
      (inner ?? []).forEach((x, i) => {
        const t = translateAccessLogFilter(x, errors, `${path}.${which === 'andFilter' ? 'and_filter' : 'or_filter'}.filters[${i}]`);
        if (t) filters.push(t);
      });
      return { kind: which === 'andFilter' ? 'and' : 'or', filters };
    }
    default:
      errors.add(path, `access log filter '${which ?? 'unset'}' is not supported`);
      return undefined;
  }
}

/** The access_log list of an HCM or tcp_proxy. */
export function translateAccessLogs(list: Msg[] | undefined, ctx: ParseContext, errors: ErrorSink, path: string): AccessLogInstanceConfig[] {
  const out: AccessLogInstanceConfig[] = [];
  (list ?? []).forEach((al, i) => {
    const ext = ctx.parseNested('access_logger', String(al.name ?? ''), al.typedConfig, false, errors, `${path}[${i}]`);
    const filter = al.filter ? translateAccessLogFilter(al.filter, errors, `${path}[${i}].filter`) : undefined;
    if (ext) out.push({ ...ext, ...(filter ? { filter } : {}) });
  });
  return out;
}

export const httpConnectionManagerParser: ExtensionParser = {
  category: 'network',
  names: ['envoy.filters.network.http_connection_manager', 'envoy.http_connection_manager'],
  typeUrls: ['type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager'],
  terminal: true,
  parse(msg: Msg | undefined, ctx: ParseContext, errors: ErrorSink): HttpConnectionManagerConfig | undefined {
    if (!msg) {
      errors.add('', 'http_connection_manager requires a typed_config');
      return undefined;
    }
    const statPrefix = String(msg.statPrefix ?? '');
    if (!statPrefix) errors.add('stat_prefix', 'must not be empty');
    let routeSource: HcmRouteSource | undefined;
    switch (oneofCase(msg, 'routeSpecifier')) {
      case 'rds':
        if (!msg.rds.routeConfigName) errors.add('rds.route_config_name', 'must not be empty');
        {
          const source = translateResourceSource(msg.rds.configSource, errors, 'rds.config_source');
          routeSource = { kind: 'rds', routeConfigName: String(msg.rds.routeConfigName), ...(source?.kind === 'api' ? { apiSource: source.api } : {}) };
        }
        break;
      case 'routeConfig': {
        const r = translateRouteConfiguration(msg.routeConfig);
        if (!r.ok) errors.addAll(r.errors, 'route_config');
        else routeSource = { kind: 'inline', routeConfigName: r.value.name, routeConfig: r.value };
        break;
      }
      case 'scopedRoutes':
        routeSource = { kind: 'scoped' };
        break;
      default:
        errors.add('route_specifier', 'one of rds, route_config or scoped_routes is required');
    }
    const httpFilters = parseFilters((msg.httpFilters ?? []) as Msg[], ctx, errors, 'http_filters', true);
    const upgradeConfigs: HcmUpgradeConfig[] = ((msg.upgradeConfigs ?? []) as Msg[]).map((u, i) => {
      const filters = (u.filters ?? []) as Msg[];
      const enabled = wrapped<boolean>(u.enabled);
      return {
        upgradeType: String(u.upgradeType ?? '').toLowerCase(),
        enabled: enabled ?? true,
        ...(filters.length > 0 ? { filters: parseFilters(filters, ctx, errors, `upgrade_configs[${i}].filters`, false) } : {}),
      };
    });
    const cpo = (msg.commonHttpProtocolOptions ?? {}) as Msg;
    const h1 = (msg.httpProtocolOptions ?? {}) as Msg;
    const idle = durationMs(cpo.idleTimeout);
    const streamIdle = durationMs(msg.streamIdleTimeout);
    const drain = durationMs(msg.drainTimeout);
    const delayed = durationMs(msg.delayedCloseTimeout);
    const kb = wrapped<number>(msg.maxRequestHeadersKb) ?? DEFAULT_MAX_REQUEST_HEADERS_KB;
    if (kb < 1 || kb > 8192) errors.add('max_request_headers_kb', 'must be in [1, 8192]');
    const maxHeaders = wrapped<number>(cpo.maxHeadersCount) ?? DEFAULT_MAX_HEADERS_COUNT;
    if (maxHeaders < 1) errors.add('common_http_protocol_options.max_headers_count', 'must be >= 1');
    if (!routeSource) return undefined;
    const accessLogs = translateAccessLogs(msg.accessLog as Msg[] | undefined, ctx, errors, 'access_log');
    return {
      statPrefix,
      codecType: enumOf(msg.codecType, CODECS, 'AUTO'),
      routeSource,
      httpFilters,
      streamIdleTimeoutMs: streamIdle ?? DEFAULT_STREAM_IDLE_TIMEOUT_MS,
      requestTimeoutMs: durationMs(msg.requestTimeout) ?? 0,
      requestHeadersTimeoutMs: durationMs(msg.requestHeadersTimeout) ?? 0,
      drainTimeoutMs: drain ?? DEFAULT_DRAIN_TIMEOUT_MS,
      delayedCloseTimeoutMs: delayed ?? 1000,
      idleTimeoutMs: idle ?? DEFAULT_IDLE_TIMEOUT_MS,
      maxConnectionDurationMs: durationMs(cpo.maxConnectionDuration) ?? 0,
      maxHeadersCount: maxHeaders,
      maxStreamDurationMs: durationMs(cpo.maxStreamDuration) ?? 0,
      maxRequestsPerConnection: wrapped<number>(cpo.maxRequestsPerConnection) ?? 0,
      headersWithUnderscoresAction: enumOf(cpo.headersWithUnderscoresAction, UNDERSCORES, 'ALLOW'),
      maxRequestHeadersKb: kb,
      useRemoteAddress: wrapped<boolean>(msg.useRemoteAddress) ?? false,
      xffNumTrustedHops: Number(msg.xffNumTrustedHops ?? 0),
      skipXffAppend: !!msg.skipXffAppend,
      generateRequestId: wrapped<boolean>(msg.generateRequestId) ?? true,
      preserveExternalRequestId: !!msg.preserveExternalRequestId,
      alwaysSetRequestIdInResponse: !!msg.alwaysSetRequestIdInResponse,
      serverName: String(msg.serverName || 'envoy'),
      serverHeaderTransformation: enumOf(msg.serverHeaderTransformation, SERVER_XFORM, 'OVERWRITE'),
      normalizePath: wrapped<boolean>(msg.normalizePath) ?? false,
      mergeSlashes: !!msg.mergeSlashes,
      pathWithEscapedSlashesAction: enumOf(msg.pathWithEscapedSlashesAction, ESCAPED, 'IMPLEMENTATION_SPECIFIC_DEFAULT'),
      via: String(msg.via ?? ''),
      upgradeConfigs,
      accessLogs,
      // The full tracing config (sampling and the provider's own settings) is parsed here once;
      // the create half builds one Tracer from it (src/tracing/hcm-tracing.ts).
      ...(msg.tracing ? { tracing: parseHcmTracing(msg.tracing, errors, 'tracing') as unknown as Readonly<Record<string, unknown>> } : {}),
      forwardClientCertDetails: enumOf(msg.forwardClientCertDetails, FCC, 'SANITIZE'),
      http1: { acceptHttp10: !!h1.acceptHttp_10 || !!h1.acceptHttp10, defaultHostForHttp10: String(h1.defaultHostForHttp_10 ?? h1.defaultHostForHttp10 ?? ''), allowChunkedLength: !!h1.allowChunkedLength },
      http2MaxConcurrentStreams: wrapped<number>(msg.http2ProtocolOptions?.maxConcurrentStreams) ?? 2147483647,
      proxy100Continue: !!msg.proxy_100Continue || !!msg.proxy100Continue,
      stripMatchingHostPort: !!msg.stripMatchingHostPort,
      stripAnyHostPort: !!msg.stripAnyHostPort,
    };
  },
};

