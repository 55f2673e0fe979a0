// Tracer + Zipkin exporter against a real Zipkin-format collector stub on loopback
// (HTTP server receiving POST /api/v2/spans): span ids and parent ids must follow the incoming
// B3 / B3-single / W3C headers, upstream headers must carry the span's context, Envoy's tags
// must be present, and batching must flush by count and by interval.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Tracer, type SpanRequest } from './tracer';
import type { TraceHeaders } from './trace-context';
import type { TracingConfig, ZipkinProviderConfig } from './tracing-config';
import { ZipkinExporter } from './zipkin-exporter';

class Headers implements TraceHeaders {
  readonly m = new Map<string, string>();
  constructor(init: Record<string, string> = {}) {
    for (const [k, v] of Object.entries(init)) this.m.set(k, v);
  }
  get(n: string): string | undefined {
    return this.m.get(n);
  }
  set(n: string, v: string): void {
    this.m.set(n, v);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ZSpan = Record<string, any>;

let collector: http.Server;
let port: number;
const received: { path: string; host: string; spans: ZSpan[] }[] = [];
let waiters: (() => void)[] = [];

beforeAll(async () => {
  collector = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      received.push({ path: req.url ?? '', host: req.headers.host ?? '', spans: JSON.parse(body) as ZSpan[] });
      res.writeHead(202).end();
      const w = waiters;
      waiters = [];
      w.forEach((f) => f());
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
  port = (collector.address() as AddressInfo).port;
});
afterAll(() => collector.close());
beforeEach(() => (received.length = 0));

function nextReport(timeoutMs = 3000): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no report')), timeoutMs);
    waiters.push(() => {
      clearTimeout(t);
      resolve();
    });
  });
}

const zipkin: ZipkinProviderConfig = { kind: 'zipkin', collectorCluster: 'zipkin', collectorEndpoint: '/api/v2/spans', collectorHostname: 'zipkin.istio-system:9411', traceId128bit: false, sharedSpanContext: true, endpointVersion: 'HTTP_JSON', splitSpansForRequest: false, inject: ['b3'] };
const cfg = (p: Partial<TracingConfig> = {}, z: Partial<ZipkinProviderConfig> = {}): TracingConfig => ({ clientSampling: 100, randomSampling: 100, overallSampling: 100, verbose: false, maxPathTagLength: 256, spawnUpstreamSpan: false, provider: { ...zipkin, ...z }, ...p });
const node = { nodeId: 'sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local', zone: 'z1', serviceName: 'pod.ns', localIp: '10.0.0.1' };
const req = (kind: 'SERVER' | 'CLIENT' = 'SERVER'): SpanRequest => ({ kind, operationName: 'svc.ns.svc.cluster.local:80/*', method: 'GET', url: 'http://svc/path?q=1', protocol: 'HTTP/1.1', peerAddress: '10.0.0.9' });
const result = { statusCode: 200, requestSize: 0, responseSize: 12, responseFlags: '', upstreamCluster: 'outbound|80||svc.ns.svc.cluster.local' };

function setup(c: TracingConfig = cfg(), minFlushSpans = 1): { tracer: Tracer; exp: ZipkinExporter } {
  const exp = new ZipkinExporter({ config: c.provider as ZipkinProviderConfig, node, resolve: (cl) => (cl === 'zipkin' ? { host: '127.0.0.1', port } : undefined), minFlushSpans, flushIntervalMs: 60_000 });
  return { tracer: new Tracer(c, node, exp), exp };
}

test('B3 multi: ingress span shares the caller span id and keeps its parent; upstream headers carry our span', async () => {
  const { tracer, exp } = setup();
  const inbound = new Headers({ 'x-request-id': 'abcdef01-0000-4000-8000-000000000000', 'x-b3-traceid': '463ac35c9f6413ad', 'x-b3-spanid': 'a2fb4a1d1a96d312', 'x-b3-parentspanid': '0020000000000001', 'x-b3-sampled': '1', 'user-agent': 'curl/8' });
  const span = tracer.startSpan(inbound, req());
  const upstream = new Headers();
  span.inject(upstream);
  expect(upstream.m.get('x-b3-traceid')).toBe('463ac35c9f6413ad');
  expect(upstream.m.get('x-b3-spanid')).toBe('a2fb4a1d1a96d312');
  expect(upstream.m.get('x-b3-sampled')).toBe('1');
  const got = nextReport();
  span.finish(result);
  await got;
  const [s] = received[0].spans;
  expect(received[0].path).toBe('/api/v2/spans');
  expect(received[0].host).toBe('zipkin.istio-system:9411');
  expect(s).toMatchObject({ traceId: '463ac35c9f6413ad', id: 'a2fb4a1d1a96d312', parentId: '0020000000000001', kind: 'SERVER', shared: true, name: 'svc.ns.svc.cluster.local:80/*', localEndpoint: { serviceName: 'pod.ns', ipv4: '10.0.0.1' } });
  expect(s.tags).toMatchObject({ component: 'proxy', node_id: node.nodeId, zone: 'z1', 'guid:x-request-id': 'abcdef01-0000-4000-8000-000000000000', 'http.url': 'http://svc/path?q=1', 'http.method': 'GET', downstream_cluster: '-', user_agent: 'curl/8', 'http.protocol': 'HTTP/1.1', request_size: '0', response_size: '12', upstream_cluster: 'outbound|80||svc.ns.svc.cluster.local', 'http.status_code': '200', response_flags: '-' });
  expect(s.duration).toBeGreaterThan(0);
  await exp.close();
});

test('egress span is a child of the incoming span (B3 single header), and non-shared ingress too', async () => {
  const { tracer, exp } = setup(cfg({}, { sharedSpanContext: false }));
  const client = tracer.startSpan(new Headers({ 'x-request-id': '11111111-2222', b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90' }), req('CLIENT'));
  const server = tracer.startSpan(new Headers({ 'x-request-id': '11111111-2222', 'x-b3-traceid': '463ac35c9f6413ad48485a3953bb6124', 'x-b3-spanid': 'a2fb4a1d1a96d312', 'x-b3-sampled': '1' }), req('SERVER'));
  let got = nextReport();
  client.finish({ ...result, statusCode: 503, responseFlags: 'UF' });
  await got;
  got = nextReport();
  server.finish(result);
  await got;
  const c = received[0].spans[0];
  const s = received[1].spans[0];
  expect(c).toMatchObject({ traceId: '80f198ee56343ba864fe8b2a57d3eff7', parentId: 'e457b5a2e4d86bd1', kind: 'CLIENT' });
  expect(c.id).not.toBe('e457b5a2e4d86bd1');
  expect(c.tags).toMatchObject({ error: 'true', response_flags: 'UF', 'http.status_code': '503' });
  expect(s).toMatchObject({ traceId: '463ac35c9f6413ad48485a3953bb6124', parentId: 'a2fb4a1d1a96d312' });
  expect(s.shared).toBeUndefined();
  await exp.close();
});

test('W3C traceparent: child span, traceparent/tracestate injected', async () => {
  const c = cfg();
  const z = c.provider as ZipkinProviderConfig;
  const { tracer, exp } = setup({ ...c, provider: { ...z, inject: ['b3', 'w3c'] } });
  const span = tracer.startSpan(new Headers({ 'x-request-id': 'deadbeef', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'congo=t61rcWkgMzE' }), req('SERVER'));
  const up = new Headers();
  span.inject(up);
  expect(up.m.get('traceparent')).toBe(`00-0af7651916cd43dd8448eb211c80319c-${span.id}-01`);
  expect(up.m.get('tracestate')).toBe('congo=t61rcWkgMzE');
  const got = nextReport();
  span.finish(result);
  await got;
  expect(received[0].spans[0]).toMatchObject({ traceId: '0af7651916cd43dd8448eb211c80319c', parentId: 'b7ad6b7169203331' });
  await exp.close();
});

test('incoming x-b3-sampled: 0 wins over local sampling: nothing exported, 0 propagated', async () => {
  const { tracer, exp } = setup();
  const span = tracer.startSpan(new Headers({ 'x-request-id': 'abcdef01', 'x-b3-traceid': '463ac35c9f6413ad', 'x-b3-spanid': 'a2fb4a1d1a96d312', 'x-b3-sampled': '0' }), req());
  const up = new Headers();
  span.inject(up);
  expect(up.m.get('x-b3-sampled')).toBe('0');
  span.finish(result);
  await exp.flush();
  expect(received).toHaveLength(0);
  await exp.close();
});

test('new trace when no context; random_sampling 0 means not sampled', async () => {
  const { tracer, exp } = setup(cfg({ randomSampling: 0 }));
  const span = tracer.startSpan(new Headers({ 'x-request-id': 'abcdef01' }), req());
  expect(span.sampled).toBe(false);
  expect(span.traceId).toMatch(/^[0-9a-f]{16}$/);
  expect(span.parentId).toBe('');
  const forced = tracer.startSpan(new Headers({ 'x-request-id': 'abcdef01', 'x-envoy-force-trace': 'true' }), req());
  expect(forced.sampled).toBe(true);
  await exp.close();
});

test('batching: min_flush_spans spans per POST, the rest on the interval', async () => {
  const c = cfg();
  const exp = new ZipkinExporter({ config: c.provider as ZipkinProviderConfig, node, resolve: () => ({ host: '127.0.0.1', port }), minFlushSpans: 3, flushIntervalMs: 200 });
  const tracer = new Tracer(c, node, exp);
  const first = nextReport();
  for (let i = 0; i < 4; i++) tracer.startSpan(new Headers({ 'x-request-id': `abcdef0${i}` }), req()).finish(result);
  await first;
  expect(received[0].spans).toHaveLength(3);
  await nextReport(2000);
  expect(received[1].spans).toHaveLength(1);
  await exp.close();
  expect(exp.stats.spansSent).toBe(4);
});

test('collector cluster without hosts: spans dropped and counted, no throw', async () => {
  const c = cfg();
  const exp = new ZipkinExporter({ config: c.provider as ZipkinProviderConfig, node, resolve: () => undefined, minFlushSpans: 1, flushIntervalMs: 60_000 });
  new Tracer(c, node, exp).startSpan(new Headers({ 'x-request-id': 'abcdef01' }), req()).finish(result);
  await exp.close();
  expect(exp.stats).toMatchObject({ spansSent: 0, spansDropped: 1, reportsFailed: 1 });
});
