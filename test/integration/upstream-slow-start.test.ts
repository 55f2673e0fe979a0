// Slow start through the built proxy (process): an EDS cluster with round_robin_lb_config.
// slow_start_config (window 4 s) of three loopback upstreams, served by the fake ADS server. Once
// the first window is over, EDS adds a fourth upstream; in the first second it gets a share
// well below its steady 1/4 (Envoy's weight is max(t / window, 10%) against 1 for the others:
// 2.5%..5.9%), and after the window the plain round-robin quarter. Request counts are bounded.
import { closeServers } from '../support/wait';
import * as http from 'node:http';
import type * as net from 'node:net';
import { lookupType } from '../../src/gen/proto-root';
import { fromProtoJson } from '../../src/config/bootstrap/proto-json';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL } from '../../src/xds/type-urls';
import { FakeAdsServer, type FakeResource } from '../support/fake-ads-server';
import { pipeCluster } from '../support/fake-sds-server';
import { startProxy, type ProxyProcess } from '../support/proxy-process';

const T = 'type.googleapis.com/';

function resource(typeName: string, json: Record<string, unknown>): FakeResource {
  const t = lookupType(typeName);
  return { name: String(json.name ?? json.cluster_name), value: t.encode(fromProtoJson(t, json)).finish() };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function get(port: number, agent: http.Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(`${res.statusCode} ${body}`));
    });
    req.setTimeout(3000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Up to `max` requests from 4 keep-alive loops for at most `ms`; counts per response. */
async function load(port: number, ms: number, max: number): Promise<Map<string, number>> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const counts = new Map<string, number>();
  const end = Date.now() + ms;
  let issued = 0;
  const loop = async () => {
    while (Date.now() < end && issued < max) {
      issued++;
      const r = await get(port, agent);
      counts.set(r, (counts.get(r) ?? 0) + 1);
    }
  };
  await Promise.all([loop(), loop(), loop(), loop()]);
  agent.destroy();
  return counts;
}

describe('slow start (process, EDS over ADS)', () => {
  let ads: FakeAdsServer | undefined;
  let proxy: ProxyProcess | undefined;
  const upstreams: http.Server[] = [];

  afterAll(async () => {
    await proxy?.stop();
    await ads?.stop();
    await closeServers(upstreams);
  });

  it('a host added by EDS gets a reduced share early in the window and its full share after it', async () => {
    const ports: number[] = [];
    for (const name of ['u0', 'u1', 'u2', 'u3']) {
      const s = http.createServer((_q, r) => r.end(name));
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      upstreams.push(s);
      ports.push((s.address() as net.AddressInfo).port);
    }
    const cla = (n: number) => [
      resource('envoy.config.endpoint.v3.ClusterLoadAssignment', {
        cluster_name: 'svc',
        endpoints: [{ lb_endpoints: ports.slice(0, n).map((p) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: p } } } })) }],
      }),
    ];
    ads = await FakeAdsServer.start();
    ads.setResources(
      CLUSTER_TYPE_URL,
      [
        resource('envoy.config.cluster.v3.Cluster', {
          name: 'svc',
          type: 'EDS',
          connect_timeout: '1s',
          eds_cluster_config: { service_name: 'svc', eds_config: { ads: {}, resource_api_version: 'V3' } },
          round_robin_lb_config: { slow_start_config: { slow_start_window: '4s' } },
        }),
      ],
      'c1',
    );
    ads.setResources(ENDPOINT_TYPE_URL, cla(3), 'e1');
    ads.setResources(
      LISTENER_TYPE_URL,
      [
        resource('envoy.config.listener.v3.Listener', {
          name: 'http',
          address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type': `${T}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`,
                    stat_prefix: 'http',
                    route_config: { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'svc' } }] }] },
                    http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': `${T}envoy.extensions.filters.http.router.v3.Router` } }],
                  },
                },
              ],
            },
          ],
        }),
      ],
      'l1',
    );
    proxy = await startProxy({
      node: { id: 'sidecar~127.0.0.1~slow.default~default.svc.cluster.local', cluster: 'slow.default' },
      admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
      dynamic_resources: {
        lds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' },
        cds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' },
        ads_config: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }] },
      },
      static_resources: { clusters: [pipeCluster('xds-grpc', ads.target.replace(/^unix:\/\//, ''))] },
    });
    const { port } = await proxy.listener('http');
    const agent = new http.Agent({ keepAlive: true });
    for (let i = 0; i < 200 && !(await get(port, agent).catch(() => '')).startsWith('200 u'); i++) await sleep(25);
    agent.destroy();
    await sleep(4500); // the first three hosts' own window is over

    ads.setResources(ENDPOINT_TYPE_URL, cla(4), 'e2');
    ads.push(ENDPOINT_TYPE_URL);
    const newHost = `127.0.0.1:${ports[3]}`;
    for (let i = 0; i < 200 && !(await proxy.get('/clusters')).body.includes(newHost); i++) await sleep(10);
    const early = await load(port, 1000, 1200);
    const earlyTotal = [...early.values()].reduce((a, b) => a + b, 0);
    const earlyShare = (early.get('200 u3') ?? 0) / earlyTotal;

    await sleep(4000); // past the new host's window
    const late = await load(port, 1500, 1200);
    const lateTotal = [...late.values()].reduce((a, b) => a + b, 0);
    const lateShare = (late.get('200 u3') ?? 0) / lateTotal;
    // eslint-disable-next-line no-console
    console.log(`slow start: new host share ${(earlyShare * 100).toFixed(1)}% of ${earlyTotal} requests in its first second, ${(lateShare * 100).toFixed(1)}% of ${lateTotal} after the window`);
    expect([...early.keys()].every((k) => k.startsWith('200 u'))).toBe(true);
    expect(earlyTotal).toBeGreaterThan(100);
    expect(earlyShare).toBeLessThan(0.1);
    expect(lateShare).toBeGreaterThan(0.2);
    expect(lateShare).toBeLessThan(0.3);
  }, 30_000);
});
