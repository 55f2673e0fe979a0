// Tracing through the built proxy: HCMs with `tracing {}` use the bootstrap's Zipkin provider
// (tracing.http, as Istio's classic zipkin setup does) whose collector cluster points at a
// loopback Zipkin stub (POST /api/v2/spans). An upstream records the headers it receives.
// Checks Envoy's behaviour: an egress (OUTBOUND listener) span is a child of the incoming B3 or
// W3C context and its context is injected upstream; an ingress span shares the caller's span
// id (Zipkin shared_span_context); no trace headers + 100% random sampling starts a new trace;
// 0% random sampling propagates x-b3-sampled: 0 and exports nothing; spans carry Envoy's tags.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { cluster } from '../support/http-harness';
import { startProxy, type ProxyProcess } from '../support/proxy-process';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ZSpan = Record<string, any>;

const spans: ZSpan[] = [];
const posts: { path: string; host: string; type: string }[] = [];
const seen: http.IncomingHttpHeaders[] = [];
let collector: http.Server;
let backend: http.Server;
let proxy: ProxyProcess;
let outbound: number;
let inbound: number;
let unsampled: number;

function listen(s: http.Server): Promise<number> {
  return new Promise((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));
}

function hcmListener(name: string, direction: string, randomSampling: number): object {
  return {
    name,
    traffic_direction: direction,
    address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              stat_prefix: name,
              tracing: { random_sampling: { value: randomSampling } },
              route_config: {
                name,
                virtual_hosts: [
                  {
                    name: 'all',
                    domains: ['*'],
                    routes: [
                      { match: { prefix: '/decorated' }, route: { cluster: 'backend' }, decorator: { operation: 'backend.ns.svc.cluster.local:80/decorated' } },
                      { match: { prefix: '/' }, route: { cluster: 'backend' } },
                    ],
                  },
                ],
              },
              http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
            },
          },
        ],
      },
    ],
  };
}

beforeAll(async () => {
  collector = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      posts.push({ path: req.url ?? '', host: req.headers.host ?? '', type: req.headers['content-type'] ?? '' });
      spans.push(...(JSON.parse(body) as ZSpan[]));
      res.writeHead(202).end();
    });
  });
  backend = http.createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    req.on('end', () => res.end('hello'));
  });
  const [cport, bport] = [await listen(collector), await listen(backend)];
  proxy = await startProxy({
    node: { id: 'sidecar~10.1.2.3~client.ns~ns.svc.cluster.local', cluster: 'client.ns', locality: { zone: 'zone-a' }, metadata: { INSTANCE_IPS: '10.1.2.3' } },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
    layered_runtime: { layers: [{ name: 'static', static_layer: { 'tracing.zipkin.min_flush_spans': 1 } }] },
    tracing: {
      http: {
        name: 'envoy.tracers.zipkin',
        typed_config: { '@type': 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig', collector_cluster: 'zipkin', collector_endpoint: '/api/v2/spans', collector_endpoint_version: 'HTTP_JSON', collector_hostname: 'zipkin.istio-system:9411' },
      },
    },
    static_resources: {
      listeners: [hcmListener('outbound', 'OUTBOUND', 100), hcmListener('inbound', 'INBOUND', 100), hcmListener('unsampled', 'OUTBOUND', 0)],
      clusters: [cluster('backend', [bport]), cluster('zipkin', [cport])],
    },
  });
  outbound = (await proxy.listener('outbound')).port;
  inbound = (await proxy.listener('inbound')).port;
  unsampled = (await proxy.listener('unsampled')).port;
}, 30_000);

afterAll(async () => {
  await proxy?.stop();
  collector?.close();
  backend?.close();
});

/** One request through the proxy; returns the headers the backend saw and the response. */
async function send(port: number, path: string, headers: Record<string, string>): Promise<{ up: http.IncomingHttpHeaders; status: number; res: http.IncomingHttpHeaders }> {
  const before = seen.length;
  const r = await new Promise<{ status: number; res: http.IncomingHttpHeaders }>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, headers: { host: 'backend.ns:80', ...headers }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, res: res.headers }));
      })
      .on('error', reject);
  });
  expect(seen.length).toBe(before + 1);
  return { up: seen[before]!, ...r };
}

async function spanWithId(id: string, timeoutMs = 5000): Promise<ZSpan> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = spans.find((x) => x.id === id);
    if (s !== undefined) return s;
    if (Date.now() > deadline) throw new Error(`span ${id} not received; got ${JSON.stringify(spans.map((x) => x.id))}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const TRACE = '463ac35c9f6413ad';
const CALLER = 'a2fb4a1d1a96d312';

test('B3 on an egress listener: upstream gets the same trace and a child span; the collector gets it with Envoy tags', async () => {
  const { up, status } = await send(outbound, '/items?x=1', { 'x-b3-traceid': TRACE, 'x-b3-spanid': CALLER, 'x-b3-sampled': '1', 'x-request-id': '0a1b2c3d-0000-4000-8000-000000000001', 'user-agent': 'tracing-test' });
  expect(status).toBe(200);
  expect(up['x-b3-traceid']).toBe(TRACE);
  expect(up['x-b3-parentspanid']).toBe(CALLER);
  expect(up['x-b3-sampled']).toBe('1');
  const id = up['x-b3-spanid'] as string;
  expect(id).toMatch(/^[0-9a-f]{16}$/);
  expect(id).not.toBe(CALLER);
  const s = await spanWithId(id);
  expect(s).toMatchObject({ traceId: TRACE, id, parentId: CALLER, kind: 'CLIENT', name: 'egress backend.ns:80', localEndpoint: { serviceName: 'client.ns', ipv4: '10.1.2.3' } });
  expect(s.shared).toBeUndefined();
  expect(s.duration).toBeGreaterThan(0);
  expect(s.tags).toMatchObject({
    component: 'proxy',
    node_id: 'sidecar~10.1.2.3~client.ns~ns.svc.cluster.local',
    zone: 'zone-a',
    'guid:x-request-id': '0a1b2c3d-0000-4000-8000-000000000001',
    'http.url': 'http://backend.ns:80/items?x=1',
    'http.method': 'GET',
    'http.protocol': 'HTTP/1.1',
    'http.status_code': '200',
    user_agent: 'tracing-test',
    upstream_cluster: 'backend',
    response_flags: '-',
    request_size: '0',
    response_size: '5',
    'peer.address': '127.0.0.1',
  });
  expect(s.tags.upstream_address).toMatch(/^127\.0\.0\.1:\d+$/);
  expect(s.tags.error).toBeUndefined();
  const post = posts.find((p) => p.path === '/api/v2/spans');
  expect(post).toEqual({ path: '/api/v2/spans', host: 'zipkin.istio-system:9411', type: 'application/json' });
});

test('W3C traceparent on an egress listener: the child keeps the 128-bit trace id and the traceparent parent', async () => {
  const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
  const parent = '00f067aa0ba902b7';
  const { up } = await send(outbound, '/w3c', { traceparent: `00-${trace}-${parent}-01` });
  expect(up['x-b3-traceid']).toBe(trace);
  expect(up['x-b3-parentspanid']).toBe(parent);
  expect(up['x-b3-sampled']).toBe('1');
  const id = up['x-b3-spanid'] as string;
  expect(id).not.toBe(parent);
  expect(up['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  const s = await spanWithId(id);
  expect(s).toMatchObject({ traceId: trace, id, parentId: parent, kind: 'CLIENT' });
  expect(s.tags['guid:x-request-id']).toBe(up['x-request-id']);
});

test('no trace headers and 100% random sampling: a new sampled trace starts', async () => {
  const { up } = await send(outbound, '/fresh', {});
  const trace = up['x-b3-traceid'] as string;
  const id = up['x-b3-spanid'] as string;
  expect(trace).toMatch(/^[0-9a-f]{16}$/);
  expect(id).toBe(trace); // a root span's id is the low 64 bits of its trace id
  expect(up['x-b3-parentspanid']).toBeUndefined();
  expect(up['x-b3-sampled']).toBe('1');
  const s = await spanWithId(id);
  expect(s.traceId).toBe(trace);
  expect(s.parentId).toBeUndefined();
  expect(s.tags['http.status_code']).toBe('200');
});

test('ingress listener: the span shares the caller span id (Zipkin shared_span_context); the route decorator names it and is echoed', async () => {
  const caller = 'b7ad6b7169203331';
  const { up, res } = await send(inbound, '/decorated', { 'x-b3-traceid': TRACE, 'x-b3-spanid': caller, 'x-b3-parentspanid': CALLER, 'x-b3-sampled': '1' });
  expect(up['x-b3-traceid']).toBe(TRACE);
  expect(up['x-b3-spanid']).toBe(caller);
  expect(up['x-b3-parentspanid']).toBe(CALLER);
  expect(res['x-envoy-decorator-operation']).toBe('backend.ns.svc.cluster.local:80/decorated');
  const deadline = Date.now() + 5000;
  let s: ZSpan | undefined;
  while (s === undefined && Date.now() < deadline) {
    s = spans.find((x) => x.id === caller && x.kind === 'SERVER');
    if (s === undefined) await new Promise((r) => setTimeout(r, 20));
  }
  expect(s).toMatchObject({ traceId: TRACE, id: caller, parentId: CALLER, kind: 'SERVER', shared: true, name: 'backend.ns.svc.cluster.local:80/decorated' });
});

test('egress with a decorator propagates x-envoy-decorator-operation upstream', async () => {
  const { up } = await send(outbound, '/decorated', {});
  expect(up['x-envoy-decorator-operation']).toBe('backend.ns.svc.cluster.local:80/decorated');
  const s = await spanWithId(up['x-b3-spanid'] as string);
  expect(s.name).toBe('backend.ns.svc.cluster.local:80/decorated');
});

test('0% random sampling: context still propagates with x-b3-sampled 0, nothing is exported; an incoming sampled flag wins', async () => {
  const { up } = await send(unsampled, '/quiet', {});
  expect(up['x-b3-sampled']).toBe('0');
  const quietId = up['x-b3-spanid'] as string;
  expect(quietId).toMatch(/^[0-9a-f]{16}$/);
  const { up: up2 } = await send(unsampled, '/loud', { 'x-b3-traceid': TRACE, 'x-b3-spanid': CALLER, 'x-b3-sampled': '1' });
  expect(up2['x-b3-sampled']).toBe('1');
  // The sampled span is flushed after the unsampled one would have been: its arrival bounds the wait.
  await spanWithId(up2['x-b3-spanid'] as string);
  expect(spans.find((x) => x.id === quietId)).toBeUndefined();
});

test('an HCM with its own tracing provider (no bootstrap tracer) exports to that provider', async () => {
  const spans2: ZSpan[] = [];
  const collector2 = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      spans2.push(...(JSON.parse(body) as ZSpan[]));
      res.writeHead(202).end();
    });
  });
  const backend2 = http.createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  const [c2, b2] = [await listen(collector2), await listen(backend2)];
  const l = hcmListener('own', 'OUTBOUND', 100) as { filter_chains: { filters: { typed_config: { tracing: Record<string, unknown> } }[] }[] };
  l.filter_chains[0]!.filters[0]!.typed_config.tracing = {
    random_sampling: { value: 100 },
    provider: { name: 'envoy.tracers.zipkin', typed_config: { '@type': 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig', collector_cluster: 'zipkin2', collector_endpoint: '/api/v2/spans', collector_endpoint_version: 'HTTP_JSON' } },
  };
  const p2 = await startProxy({
    node: { id: 'sidecar~10.9.9.9~own.ns~ns.svc.cluster.local', cluster: 'own.ns' },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
    layered_runtime: { layers: [{ name: 'static', static_layer: { 'tracing.zipkin.min_flush_spans': 1 } }] },
    static_resources: { listeners: [l], clusters: [cluster('backend', [b2]), cluster('zipkin2', [c2])] },
  });
  try {
    const port = (await p2.listener('own')).port;
    const { up } = await send(port, '/x', { 'x-b3-traceid': TRACE, 'x-b3-spanid': CALLER, 'x-b3-sampled': '1' });
    const id = up['x-b3-spanid'] as string;
    const deadline = Date.now() + 5000;
    while (!spans2.some((s) => s.id === id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(spans2.find((s) => s.id === id)).toMatchObject({ traceId: TRACE, parentId: CALLER, kind: 'CLIENT' });
  } finally {
    await p2.stop();
    collector2.close();
    backend2.close();
  }
}, 30_000);
