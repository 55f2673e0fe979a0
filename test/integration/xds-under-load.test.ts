// Issue #3's "under load" proof, process level: the built proxy on a sidecar-shaped bootstrap
// (LDS/CDS over SotW ADS on the xds-grpc Unix pipe, served by the fake ADS server) carries a
// bounded keep-alive HTTP load through an HCM+RDS listener and a Connection: close HTTP load
// through a tcp_proxy listener, both to an EDS cluster of two loopback upstreams. While the
// load runs: a new CDS/EDS/RDS version every 100 ms (alternating endpoint sets that always
// contain a live host, a changing route response header), one LDS update that changes only the
// listeners' filter chains, one that changes the listeners themselves (same addresses), and a
// control-plane disconnect followed by the proxy's reconnect. Asserts zero failed requests,
// every pushed version ACKed, and the last config live; logs request counts and p99 latency.
import * as http from 'node:http';
import * as net from 'node:net';
import { lookupType } from '../../src/gen/proto-root';
import { fromProtoJson } from '../../src/config/bootstrap/proto-json';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL } from '../../src/xds/type-urls';
import { FakeAdsServer, type FakeResource, type RecordedRequest } from '../support/fake-ads-server';
import { pipeCluster } from '../support/fake-sds-server';
import { startProxy, type ProxyProcess } from '../support/proxy-process';

const T = 'type.googleapis.com/';

function resource(typeName: string, json: Record<string, unknown>): FakeResource {
  const t = lookupType(typeName);
  const name = String(json.name ?? json.cluster_name);
  return { name, value: t.encode(fromProtoJson(t, json)).finish() };
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

// ---- resources ----

/** Listener generation: 0 initial, 1 filter-chain-only change, 2 listener-level change. */
function listeners(httpPort: number, tcpPort: number, gen: number): FakeResource[] {
  const hcm = {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': `${T}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`,
      stat_prefix: gen >= 1 ? 'load_http_v1' : 'load_http_v0',
      rds: { route_config_name: 'load-routes', config_source: { ads: {}, resource_api_version: 'V3' } },
      http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': `${T}envoy.extensions.filters.http.router.v3.Router` } }],
    },
  };
  const tcp = {
    name: 'envoy.filters.network.tcp_proxy',
    typed_config: { '@type': `${T}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`, stat_prefix: gen >= 1 ? 'load_tcp_v1' : 'load_tcp_v0', cluster: 'load-svc' },
  };
  const listenerExtra = gen >= 2 ? { per_connection_buffer_limit_bytes: 65536 } : {};
  return [
    resource('envoy.config.listener.v3.Listener', {
      name: 'load-http',
      stat_prefix: gen >= 2 ? 'load_http_l2' : 'load_http_l0',
      address: { socket_address: { address: '127.0.0.1', port_value: httpPort } },
      filter_chains: [{ filters: [hcm] }],
      ...listenerExtra,
    }),
    resource('envoy.config.listener.v3.Listener', {
      name: 'load-tcp',
      stat_prefix: gen >= 2 ? 'load_tcp_l2' : 'load_tcp_l0',
      address: { socket_address: { address: '127.0.0.1', port_value: tcpPort } },
      filter_chains: [{ filters: [tcp] }],
      ...listenerExtra,
    }),
  ];
}

function clusters(tick: number): FakeResource[] {
  return [
    resource('envoy.config.cluster.v3.Cluster', {
      name: 'load-svc',
      type: 'EDS',
      // A real change per version (the cluster is rebuilt; pools of unchanged hosts must survive).
      connect_timeout: tick % 2 === 0 ? '1s' : '1.5s',
      eds_cluster_config: { service_name: 'load-svc', eds_config: { ads: {}, resource_api_version: 'V3' } },
    }),
  ];
}

function endpoints(tick: number, ports: readonly [number, number]): FakeResource[] {
  // Alternating sets, each with at least one live host: {A,B}, {A}, {A,B}, {B}, ...
  const sets = [[ports[0], ports[1]], [ports[0]], [ports[0], ports[1]], [ports[1]]];
  const set = sets[tick % sets.length]!;
  return [
    resource('envoy.config.endpoint.v3.ClusterLoadAssignment', {
      cluster_name: 'load-svc',
      endpoints: [{ lb_endpoints: set.map((p) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: p } } } })) }],
    }),
  ];
}

function routes(version: string): FakeResource[] {
  return [
    resource('envoy.config.route.v3.RouteConfiguration', {
      name: 'load-routes',
      virtual_hosts: [
        {
          name: 'all',
          domains: ['*'],
          routes: [{ match: { prefix: '/' }, route: { cluster: 'load-svc' } }],
          response_headers_to_add: [{ header: { key: 'x-route-version', value: version }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
        },
      ],
    }),
  ];
}

// ---- load ----

interface LoadResult {
  ok: number;
  failures: string[];
  /** [start ms, latency ms] per successful request. */
  samples: [number, number][];
}

/**
 * `conns` concurrent client loops until `stopAt`: keep-alive (one Agent socket per loop) or a
 * fresh connection per request (Connection: close). A failure is any error, a non-200 status
 * or a body that is not one of the live upstreams' names.
 */
function runLoad(port: number, conns: number, keepAlive: boolean, live: ReadonlySet<string>, stopAt: () => boolean, maxRequests: number, t0: number): Promise<LoadResult> {
  const result: LoadResult = { ok: 0, failures: [], samples: [] };
  const agent = new http.Agent({ keepAlive, maxSockets: conns });
  let issued = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const start = performance.now();
      const req = http.request({ host: '127.0.0.1', port, path: '/load', agent, headers: keepAlive ? {} : { connection: 'close' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => {
          if (res.statusCode === 200 && live.has(body)) {
            result.ok++;
            result.samples.push([Date.now(), performance.now() - start]);
          } else result.failures.push(`${res.statusCode} ${body.slice(0, 80)} at +${Date.now() - t0} ms`);
          resolve();
        });
        res.on('error', (e) => {
          result.failures.push(`response error ${e.message}`);
          resolve();
        });
      });
      req.setTimeout(5000, () => req.destroy(new Error('request timeout')));
      req.on('error', (e) => {
        result.failures.push(`request error ${e.message} at +${Date.now() - t0} ms`);
        resolve();
      });
      req.end();
    });
  const loop = async () => {
    while (!stopAt() && issued < maxRequests) {
      issued++;
      await one();
    }
  };
  return Promise.all(Array.from({ length: conns }, loop)).then(() => {
    agent.destroy();
    return result;
  });
}

function p99(samples: readonly [number, number][], from: number, to: number): number {
  const l = samples.filter(([t]) => t >= from && t <= to).map(([, ms]) => ms).sort((a, b) => a - b);
  return l.length === 0 ? NaN : l[Math.min(l.length - 1, Math.floor(l.length * 0.99))]!;
}

function get(port: number): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/final', agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

// ---- the test ----

describe('xDS pushes under load (process)', () => {
  let ads: FakeAdsServer;
  let proxy: ProxyProcess | undefined;
  const upstreams: http.Server[] = [];

  afterAll(async () => {
    await proxy?.stop();
    await ads?.stop();
    for (const s of upstreams) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  });

  it('serves every request through CDS/EDS/RDS pushes every 100 ms, two LDS updates and an ADS reconnect', async () => {
    const names = ['upstream-a', 'upstream-b'];
    const ports: number[] = [];
    for (const n of names) {
      const s = http.createServer((_req, res) => res.end(n));
      s.keepAliveTimeout = 30_000;
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      upstreams.push(s);
      ports.push((s.address() as net.AddressInfo).port);
    }
    const upPorts = ports as unknown as [number, number];
    const live = new Set(names);
    const httpPort = await freePort();
    const tcpPort = await freePort();

    ads = await FakeAdsServer.start();
    let tick = 0;
    const version = () => `v${tick}`;
    ads.setResources(CLUSTER_TYPE_URL, clusters(tick), version());
    ads.setResources(ENDPOINT_TYPE_URL, endpoints(tick, upPorts), version());
    ads.setResources(ROUTE_TYPE_URL, routes(version()), version());
    ads.setResources(LISTENER_TYPE_URL, listeners(httpPort, tcpPort, 0), 'l0');

    const bootstrap = {
      node: { id: 'sidecar~127.0.0.1~load.default~default.svc.cluster.local', cluster: 'load.default' },
      admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
      dynamic_resources: {
        lds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' },
        cds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' },
        ads_config: { api_type: 'GRPC', set_node_on_first_message_only: true, transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }] },
      },
      static_resources: { clusters: [pipeCluster('xds-grpc', ads.target.replace(/^unix:\/\//, ''))] },
    };
    proxy = await startProxy(bootstrap, ['--drain-time-s', '1']);
    const p = proxy;
    await p.listener('load-http');
    await p.listener('load-tcp');
    await until(async () => {
      try {
        const r = await get(httpPort);
        return r.status === 200 && r.headers['x-route-version'] === 'v0';
      } catch {
        return false;
      }
    }, 'the initial config to serve');

    // Every response sent must be ACKed: same stream, nonce and version, no error_detail.
    const acked = (s: { streamId: number; typeUrl: string; nonce: string; version: string }) =>
      ads.requests.some((r: RecordedRequest) => r.streamId === s.streamId && r.typeUrl === s.typeUrl && r.request.responseNonce === s.nonce && r.request.versionInfo === s.version && !r.request.errorDetail);
    const allAcked = () => ads.responses.every(acked);
    await until(allAcked, 'initial ACKs');

    // Load: 6 keep-alive HTTP loops, 3 connection-per-request loops through tcp_proxy.
    let stop = false;
    const loadStart = Date.now();
    const events: string[] = [];
    const httpLoad = runLoad(httpPort, 6, true, live, () => stop, 40_000, loadStart);
    const tcpLoad = runLoad(tcpPort, 3, false, live, () => stop, 10_000, loadStart);

    const push = () => {
      tick++;
      ads.setResources(CLUSTER_TYPE_URL, clusters(tick), version());
      ads.setResources(ENDPOINT_TYPE_URL, endpoints(tick, upPorts), version());
      ads.setResources(ROUTE_TYPE_URL, routes(version()), version());
      ads.push(CLUSTER_TYPE_URL);
      ads.push(ENDPOINT_TYPE_URL);
      ads.push(ROUTE_TYPE_URL);
    };
    const pushFor = async (ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        push();
        await sleep(100);
      }
    };

    try {
      await pushFor(800);
      events.push(`lds filter-chain update at +${Date.now() - loadStart} ms`);
      // LDS 1: only the filter chains change (HCM and tcp_proxy stat prefixes).
      ads.setResources(LISTENER_TYPE_URL, listeners(httpPort, tcpPort, 1), 'l1');
      ads.push(LISTENER_TYPE_URL);
      await pushFor(800);
      events.push(`lds listener update at +${Date.now() - loadStart} ms`);
      // LDS 2: the listeners themselves change (stat prefix, buffer limit), same addresses.
      ads.setResources(LISTENER_TYPE_URL, listeners(httpPort, tcpPort, 2), 'l2');
      ads.push(LISTENER_TYPE_URL);
      await pushFor(800);
      // Control-plane disconnect: let outstanding responses be ACKed, close the stream, keep
      // changing config while the proxy is away, and wait for it to come back and catch up.
      await until(allAcked, 'ACKs before the disconnect');
      const streamsBefore = ads.openStreamIds;
      events.push(`ads stream closed at +${Date.now() - loadStart} ms`);
      ads.closeStreams();
      push();
      await until(() => ads.openStreamIds.some((id) => !streamsBefore.includes(id)), 'the ADS reconnect', 15_000);
      events.push(`ads reconnected at +${Date.now() - loadStart} ms`);
      await pushFor(800);
    } finally {
      stop = true;
    }
    const pushEnd = Date.now();
    const [h, t] = await Promise.all([httpLoad, tcpLoad]);

    await until(allAcked, 'every pushed version ACKed');
    const last = version();
    // The last version of each type reached the proxy on the current stream and was ACKed.
    const current = Math.max(...ads.openStreamIds);
    for (const typeUrl of [CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, ROUTE_TYPE_URL]) {
      expect(ads.responses.some((s) => s.streamId === current && s.typeUrl === typeUrl && s.version === last && acked(s))).toBe(true);
    }
    expect(ads.responses.some((s) => s.streamId === current && s.typeUrl === LISTENER_TYPE_URL && s.version === 'l2' && acked(s))).toBe(true);
    expect(ads.requests.some((r) => r.request.errorDetail && r.request.errorDetail.message)).toBe(false);

    const final = await get(httpPort);
    expect(final.status).toBe(200);
    expect(final.headers['x-route-version']).toBe(last);
    expect(live.has(final.body)).toBe(true);

    // New connections reached the updated listeners and filter chains.
    const stats = (await p.get('/stats')).body;
    const counter = (name: string) => Number(new RegExp(`^${name.replace(/\./g, '\\.')}: (\\d+)$`, 'm').exec(stats)?.[1] ?? 0);
    expect(counter('listener.load_http_l2.downstream_cx_total')).toBeGreaterThan(0);
    expect(counter('listener.load_tcp_l2.downstream_cx_total')).toBeGreaterThan(0);
    expect(counter('http.load_http_v1.downstream_rq_total')).toBeGreaterThan(0);
    expect(counter('tcp.load_tcp_v1.downstream_cx_total')).toBeGreaterThan(0);

    const report = {
      pushes: tick,
      events,
      seconds: (pushEnd - loadStart) / 1000,
      http: { ok: h.ok, failed: h.failures.length, p99Ms: Number(p99(h.samples, loadStart, pushEnd).toFixed(1)) },
      tcp: { ok: t.ok, failed: t.failures.length, p99Ms: Number(p99(t.samples, loadStart, pushEnd).toFixed(1)) },
    };
    process.stdout.write(`xds-under-load: ${JSON.stringify(report)}\n`);
    // Failures carry their time since the load started, to line up with the events.
    expect({ events, http: h.failures.slice(0, 10), tcp: t.failures.slice(0, 10) }).toEqual({ events, http: [], tcp: [] });
    expect(h.ok).toBeGreaterThan(100);
    expect(t.ok).toBeGreaterThan(20);
  }, 60_000);
});
