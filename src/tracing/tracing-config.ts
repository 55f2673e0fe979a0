// Tracing config model (plain, structured-clone-safe data) and its parse half: the HCM's
// `tracing` block (sampling percentages, provider) and the provider configs
// envoy.config.trace.v3.ZipkinConfig / OpenTelemetryConfig. Control side parses once; the
// worker's HTTP connection manager hands the model to tracer.ts. Defaults follow Envoy
// (random_sampling 100%, client_sampling 100%, overall_sampling 100%, Zipkin
// shared_span_context true, collector_endpoint_version HTTP_JSON).
import type { ErrorSink } from '../common/result';
import { num, oneofCase, unpackAny, wrapped, type Msg } from '../config/translate/proto-util';

export type PropagationFormat = 'b3' | 'b3-single' | 'w3c';

export interface ZipkinProviderConfig {
  readonly kind: 'zipkin';
  readonly collectorCluster: string;
  /** Path on the collector, e.g. /api/v2/spans. */
  readonly collectorEndpoint: string;
  /** Host header for the collector (collector_hostname, default the cluster name). */
  readonly collectorHostname: string;
  readonly traceId128bit: boolean;
  readonly sharedSpanContext: boolean;
  readonly endpointVersion: 'HTTP_JSON' | 'HTTP_PROTO' | 'GRPC';
  readonly splitSpansForRequest: boolean;
  /** Headers injected upstream: B3 always, W3C too with USE_B3_WITH_W3C_PROPAGATION. */
  readonly inject: readonly PropagationFormat[];
}

export interface OpenTelemetryProviderConfig {
  readonly kind: 'opentelemetry';
  /** gRPC export (envoy_grpc cluster) or HTTP export (http_service). */
  readonly transport: { readonly kind: 'grpc'; readonly cluster: string; readonly authority: string; readonly timeoutMs: number } | { readonly kind: 'http'; readonly cluster: string; readonly uri: string; readonly timeoutMs: number };
  readonly serviceName: string;
  readonly inject: readonly PropagationFormat[];
}

export type TracingProviderConfig = ZipkinProviderConfig | OpenTelemetryProviderConfig;

export interface TracingConfig {
  /** Percentages 0..100. */
  readonly clientSampling: number;
  readonly randomSampling: number;
  readonly overallSampling: number;
  readonly verbose: boolean;
  readonly maxPathTagLength: number;
  readonly spawnUpstreamSpan: boolean;
  readonly provider: TracingProviderConfig | undefined;
}

const ZIPKIN_URL = 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig';
const OTEL_URL = 'type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig';
const VERSIONS = ['DEPRECATED_AND_UNAVAILABLE_DO_NOT_USE', 'HTTP_JSON', 'HTTP_PROTO', 'GRPC'] as const;

function percent(p: Msg | null | undefined, fallback: number): number {
  return p ? Number(p.value ?? 0) : fallback;
}

/** envoy.config.trace.v3.ZipkinConfig (decoded message) -> model. */
export function parseZipkinConfig(m: Msg, errors: ErrorSink, path: string): ZipkinProviderConfig | undefined {
  const cluster: string = m.collectorCluster ?? '';
  const endpoint: string = m.collectorEndpoint ?? '';
  if (!cluster) errors.add(`${path}.collector_cluster`, 'value length must be at least 1 characters');
  if (!endpoint) errors.add(`${path}.collector_endpoint`, 'value length must be at least 1 characters');
  const version = VERSIONS[num(m.collectorEndpointVersion)] ?? 'DEPRECATED_AND_UNAVAILABLE_DO_NOT_USE';
  if (version === 'DEPRECATED_AND_UNAVAILABLE_DO_NOT_USE') errors.add(`${path}.collector_endpoint_version`, 'HTTP_JSON_V1 is no longer supported; use HTTP_JSON');
  if (version === 'HTTP_PROTO' || version === 'GRPC') errors.add(`${path}.collector_endpoint_version`, `${version} export is not supported by meshproxy; use HTTP_JSON`);
  if (!cluster || !endpoint || (version !== 'HTTP_JSON')) return undefined;
  const w3c = num((m as Msg).traceContextOption) === 1;
  return {
    kind: 'zipkin',
    collectorCluster: cluster,
    collectorEndpoint: endpoint,
    collectorHostname: m.collectorHostname || cluster,
    traceId128bit: m.traceId128bit === true,
    sharedSpanContext: wrapped<boolean>(m.sharedSpanContext) ?? true,
    endpointVersion: version,
    splitSpansForRequest: m.splitSpansForRequest === true,
    inject: w3c ? ['b3', 'w3c'] : ['b3'],
  };
}

/** envoy.config.trace.v3.OpenTelemetryConfig (decoded message) -> model. */
export function parseOpenTelemetryConfig(m: Msg, errors: ErrorSink, path: string): OpenTelemetryProviderConfig | undefined {
  const serviceName: string = m.serviceName || 'unknown_service:envoy';
  if (m.grpcService) {
    const g = m.grpcService as Msg;
    if (oneofCase(g, 'target_specifier') !== 'envoyGrpc') {
      errors.add(`${path}.grpc_service`, 'only envoy_grpc is supported');
      return undefined;
    }
    const cluster: string = g.envoyGrpc.clusterName ?? '';
    if (!cluster) errors.add(`${path}.grpc_service.envoy_grpc.cluster_name`, 'value length must be at least 1 characters');
    const t = g.timeout ? num(g.timeout.seconds) * 1000 + Math.round(num(g.timeout.nanos) / 1e6) : 0;
    return { kind: 'opentelemetry', transport: { kind: 'grpc', cluster, authority: g.envoyGrpc.authority || cluster, timeoutMs: t }, serviceName, inject: ['w3c'] };
  }
  if (m.httpService) {
    const u = (m.httpService as Msg).httpUri as Msg | null;
    if (!u) {
      errors.add(`${path}.http_service.http_uri`, 'value is required');
      return undefined;
    }
    const t = u.timeout ? num(u.timeout.seconds) * 1000 + Math.round(num(u.timeout.nanos) / 1e6) : 0;
    return { kind: 'opentelemetry', transport: { kind: 'http', cluster: u.cluster ?? '', uri: u.uri ?? '', timeoutMs: t }, serviceName, inject: ['w3c'] };
  }
  errors.add(path, 'one of grpc_service or http_service is required');
  return undefined;
}

/** Tracer type URLs meshproxy implements (Istio may also configure Datadog, Lightstep...). */
export function isSupportedTracer(typeUrl: string): boolean {
  return typeUrl === ZIPKIN_URL || typeUrl === OTEL_URL;
}

/**
 * envoy.config.trace.v3.Tracing.Http (decoded: {name, typed_config}) -> provider model. Used
 * for the HCM's tracing.provider and for the bootstrap's tracing.http (the server-wide
 * provider Envoy falls back to when an HCM has `tracing {}` without one).
 */
export function parseTracingProvider(http: Msg, errors: ErrorSink, path: string): TracingProviderConfig | undefined {
  const u = unpackAny(http.typedConfig, errors, `${path}.typed_config`);
  if (u?.typeUrl === ZIPKIN_URL && u.message) return parseZipkinConfig(u.message, errors, `${path}.typed_config`);
  if (u?.typeUrl === OTEL_URL && u.message) return parseOpenTelemetryConfig(u.message, errors, `${path}.typed_config`);
  if (u) errors.add(`${path}.typed_config`, `tracer '${u.typeUrl}' is not supported (zipkin and opentelemetry are)`);
  return undefined;
}

/** HttpConnectionManager.Tracing (decoded) -> model. */
export function parseHcmTracing(t: Msg, errors: ErrorSink, path: string): TracingConfig {
  const provider = t.provider ? parseTracingProvider(t.provider, errors, `${path}.provider`) : undefined;
  return {
    clientSampling: percent(t.clientSampling, 100),
    randomSampling: percent(t.randomSampling, 100),
    overallSampling: percent(t.overallSampling, 100),
    verbose: t.verbose === true,
    maxPathTagLength: wrapped<number>(t.maxPathTagLength) ?? 256,
    spawnUpstreamSpan: wrapped<boolean>(t.spawnUpstreamSpan) ?? false,
    provider,
  };
}
