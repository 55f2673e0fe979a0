// OTLP/gRPC export to a real grpc-js server on loopback implementing TraceService/Export with
// the same descriptors: the request carries service.name, ids as bytes, parent = incoming W3C span.
import * as grpc from '@grpc/grpc-js';
import { OTLP_EXPORT_PATH, otlpRoot } from './otlp-proto';
import { OtlpGrpcExporter } from './otlp-exporter';
import { Tracer } from './tracer';
import type { TracingConfig } from './tracing-config';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type J = Record<string, any>;

test('spans reach an OTLP gRPC collector with W3C parentage and Envoy tags as attributes', async () => {
  const root = otlpRoot();
  const Req = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
  const Res = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');
  const got: J[] = [];
  const server = new grpc.Server();
  server.addService(
    { Export: { path: OTLP_EXPORT_PATH, requestStream: false, responseStream: false, requestSerialize: (m: J) => Buffer.from(Req.encode(m).finish()), requestDeserialize: (b: Buffer) => Req.toObject(Req.decode(b), { longs: String, bytes: String }), responseSerialize: (m: J) => Buffer.from(Res.encode(m).finish()), responseDeserialize: (b: Buffer) => Res.decode(b) } },
    { Export: (call: grpc.ServerUnaryCall<J, J>, cb: grpc.sendUnaryData<J>) => { got.push(call.request); cb(null, {}); } },
  );
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  const cfg: TracingConfig = { clientSampling: 100, randomSampling: 100, overallSampling: 100, verbose: false, maxPathTagLength: 256, spawnUpstreamSpan: false, provider: { kind: 'opentelemetry', transport: { kind: 'grpc', cluster: 'otel', authority: 'otel', timeoutMs: 2000 }, serviceName: 'pod.ns', inject: ['w3c'] } };
  const node = { nodeId: 'n', zone: '', serviceName: 'pod.ns', localIp: '10.0.0.1' };
  const exp = new OtlpGrpcExporter({ config: cfg.provider as never, node, resolve: () => ({ host: '127.0.0.1', port }), minFlushSpans: 1, flushIntervalMs: 60_000 });
  const h = new Map([['x-request-id', 'abcdef01'], ['traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01']]);
  const span = new Tracer(cfg, node, exp).startSpan({ get: (n) => h.get(n), set: (n, v) => void h.set(n, v) }, { kind: 'SERVER', operationName: 'op', method: 'GET', url: 'http://a/', protocol: 'HTTP/1.1', peerAddress: '1.2.3.4' });
  span.finish({ statusCode: 500, requestSize: 0, responseSize: 0, responseFlags: '', upstreamCluster: 'c' });
  await exp.close();
  await new Promise<void>((r) => server.tryShutdown(() => r()));
  expect(exp.stats).toMatchObject({ spansSent: 1, reportsFailed: 0 });
  const rs = got[0].resourceSpans[0];
  expect(rs.resource.attributes).toEqual([{ key: 'service.name', value: { stringValue: 'pod.ns' } }]);
  const s = rs.scopeSpans[0].spans[0];
  expect(Buffer.from(s.traceId, 'base64').toString('hex')).toBe('0af7651916cd43dd8448eb211c80319c');
  expect(Buffer.from(s.parentSpanId, 'base64').toString('hex')).toBe('b7ad6b7169203331');
  expect(Buffer.from(s.spanId, 'base64').toString('hex')).toBe(span.id);
  expect(s.kind).toBe(2);
  expect(s.status).toEqual({ code: 2 });
  expect(s.attributes).toEqual(expect.arrayContaining([{ key: 'http.status_code', value: { stringValue: '500' } }, { key: 'component', value: { stringValue: 'proxy' } }]));
});
