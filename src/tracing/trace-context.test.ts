// Header parsing edge cases (B3 multi/single, W3C), the sampling decision and config parsing.
import { ErrorSink } from '../common/result';
import { lookupType } from '../gen/proto-root';
import { requestIdBucket, tracingDecision } from './sampling';
import { extractB3Multi, extractB3Single, extractContext, extractW3c, injectContext, type TraceHeaders } from './trace-context';
import { parseHcmTracing } from './tracing-config';

const H = (o: Record<string, string>): TraceHeaders & { o: Record<string, string> } => ({ o, get: (n) => o[n], set: (n, v) => (o[n] = v) });

test('B3 multi: valid, uppercase normalised, bad ids rejected', () => {
  expect(extractB3Multi(H({ 'x-b3-traceid': '463AC35C9F6413AD', 'x-b3-spanid': 'A2FB4A1D1A96D312' }))).toMatchObject({ traceId: '463ac35c9f6413ad', spanId: 'a2fb4a1d1a96d312', sampled: undefined });
  expect(extractB3Multi(H({ 'x-b3-traceid': '0000000000000000', 'x-b3-spanid': 'a2fb4a1d1a96d312' }))).toBeUndefined();
  expect(extractB3Multi(H({ 'x-b3-traceid': '463ac35c9f6413ad', 'x-b3-spanid': 'xyz' }))).toBeUndefined();
  expect(extractB3Multi(H({ 'x-b3-traceid': '463ac35c9f6413ad', 'x-b3-spanid': 'a2fb4a1d1a96d312', 'x-b3-flags': '1', 'x-b3-sampled': '0' }))).toMatchObject({ sampled: true, debug: true });
});

test('B3 single: with and without sampled/parent, malformed rejected', () => {
  expect(extractB3Single(H({ b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1' }))).toMatchObject({ traceId: '80f198ee56343ba864fe8b2a57d3eff7', spanId: 'e457b5a2e4d86bd1', sampled: undefined, parentId: '' });
  expect(extractB3Single(H({ b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-d' }))).toMatchObject({ sampled: true, debug: true });
  expect(extractB3Single(H({ b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-x' }))).toBeUndefined();
  expect(extractB3Single(H({ b3: '0' }))).toBeUndefined();
});

test('W3C traceparent: version 00 exact, ff invalid, zero ids invalid, flags', () => {
  expect(extractW3c(H({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00' }))).toMatchObject({ sampled: false, spanId: 'b7ad6b7169203331' });
  expect(extractW3c(H({ traceparent: 'ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }))).toBeUndefined();
  expect(extractW3c(H({ traceparent: '00-00000000000000000000000000000000-b7ad6b7169203331-01' }))).toBeUndefined();
  expect(extractW3c(H({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra' }))).toBeUndefined();
  expect(extractW3c(H({ traceparent: '01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra' }))).toMatchObject({ sampled: true });
});

test('provider preference: OpenTelemetry reads W3C first, Zipkin B3 first', () => {
  const h = H({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'x-b3-traceid': '463ac35c9f6413ad', 'x-b3-spanid': 'a2fb4a1d1a96d312' });
  expect(extractContext(h, true)?.format).toBe('w3c');
  expect(extractContext(h, false)?.format).toBe('b3');
});

test('inject b3-single and w3c pads a 64-bit trace id', () => {
  const h = H({});
  injectContext(h, ['b3-single', 'w3c'], '463ac35c9f6413ad', 'a2fb4a1d1a96d312', '0020000000000001', true, '');
  expect(h.o).toEqual({ b3: '463ac35c9f6413ad-a2fb4a1d1a96d312-1-0020000000000001', traceparent: '00-0000000000000000463ac35c9f6413ad-a2fb4a1d1a96d312-01' });
});

test('sampling: request-id bucket is stable; client, random and overall percentages', () => {
  expect(requestIdBucket('0000270f-aaaa')).toBe(9999);
  expect(requestIdBucket('00000001-aaaa')).toBe(1);
  const base = { clientSampling: 100, randomSampling: 100, overallSampling: 100, verbose: false, maxPathTagLength: 256, spawnUpstreamSpan: false, provider: undefined };
  expect(tracingDecision(H({}), base)).toBe('no_request_id');
  expect(tracingDecision(H({ 'x-request-id': '00000001' }), { ...base, randomSampling: 0.02 })).toBe('sampled');
  expect(tracingDecision(H({ 'x-request-id': '0000270f' }), { ...base, randomSampling: 50 })).toBe('not_traceable');
  expect(tracingDecision(H({ 'x-request-id': '0000270f', 'x-client-trace-id': 'c' }), { ...base, randomSampling: 0 })).toBe('client');
  expect(tracingDecision(H({ 'x-request-id': '00000001' }), { ...base, overallSampling: 0 })).toBe('not_traceable');
  expect(tracingDecision(H({ 'x-request-id': '00000001', 'x-envoy-force-trace': '1' }), { ...base, randomSampling: 0, overallSampling: 0 })).toBe('forced');
});

test('config: HCM tracing with Zipkin and OpenTelemetry providers, errors by field path', () => {
  const T = lookupType('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.Tracing');
  const Z = lookupType('envoy.config.trace.v3.ZipkinConfig');
  const O = lookupType('envoy.config.trace.v3.OpenTelemetryConfig');
  const zip = Z.encode(Z.fromObject({ collectorCluster: 'zipkin', collectorEndpoint: '/api/v2/spans', collectorEndpointVersion: 1, traceId128bit: true })).finish();
  const t = T.decode(T.encode(T.fromObject({ randomSampling: { value: 1 }, provider: { name: 'envoy.tracers.zipkin', typedConfig: { typeUrl: 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig', value: zip } } })).finish());
  const errors = ErrorSink.create();
  expect(parseHcmTracing(t as never, errors, 'tracing')).toEqual({ clientSampling: 100, randomSampling: 1, overallSampling: 100, verbose: false, maxPathTagLength: 256, spawnUpstreamSpan: false, provider: { kind: 'zipkin', collectorCluster: 'zipkin', collectorEndpoint: '/api/v2/spans', collectorHostname: 'zipkin', traceId128bit: true, sharedSpanContext: true, endpointVersion: 'HTTP_JSON', splitSpansForRequest: false, inject: ['b3'] } });
  expect(errors.errors ?? []).toHaveLength(0);
  const otel = O.encode(O.fromObject({ grpcService: { envoyGrpc: { clusterName: 'otel' } }, serviceName: 'svc' })).finish();
  const t2 = T.decode(T.encode(T.fromObject({ provider: { name: 'envoy.tracers.opentelemetry', typedConfig: { typeUrl: 'type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig', value: otel } } })).finish());
  expect(parseHcmTracing(t2 as never, ErrorSink.create(), 'tracing').provider).toEqual({ kind: 'opentelemetry', transport: { kind: 'grpc', cluster: 'otel', authority: 'otel', timeoutMs: 0 }, serviceName: 'svc', inject: ['w3c'] });
  const bad = Z.encode(Z.fromObject({ collectorEndpointVersion: 1 })).finish();
  const t3 = T.decode(T.encode(T.fromObject({ provider: { name: 'z', typedConfig: { typeUrl: 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig', value: bad } } })).finish());
  const e3 = ErrorSink.create();
  expect(parseHcmTracing(t3 as never, e3, 'tracing').provider).toBeUndefined();
  expect(JSON.stringify(e3.errors)).toContain('tracing.provider.typed_config.collector_cluster');
});
