// Traffic routed by the real Istio 1.26 sidecar route tables: the built proxy gets, over ADS from
// the fake control plane, the corpus's outbound HTTP listeners (0.0.0.0_80, 0.0.0.0_15010 and
// the backend VIP listener; http_inspector + the raw_buffer http/1.1|h2c chain + the
// PassthroughFilterChain default, istiod's full HTTP filter list including istio.alpn) moved to
// 127.0.0.1:0, the corpus RDS resources verbatim, and STATIC clusters of the same names in front
// of loopback upstreams that answer with their cluster's name. Real Host headers from the route
// tables' domain lists must reach the clusters the routes name; unknown hosts fall to the
// allow_any virtual host (PassthroughCluster). Requires a build (dist/).
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import type * as net from 'node:net';
import { join } from 'node:path';
import { fromProtoJson } from '../../src/config/bootstrap/proto-json';
import { lookupType } from '../../src/gen/proto-root';
import { CLUSTER_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL } from '../../src/xds/type-urls';
import { CORPUS_DIR, FakeAdsServer, loadCorpusResponse } from '../support/fake-ads-server';
import { pipeCluster } from '../support/fake-sds-server';
import { startProxy, type ProxyProcess } from '../support/proxy-process';

const DIR = 'derived/xds-from-dumps/istio-1.26.2-sidecar-frontend';
const LISTENERS = ['0.0.0.0_80', '0.0.0.0_15010', '10.96.173.1_8080'];

interface Route {
  match: { prefix?: string };
  route?: { cluster?: string };
}
interface VirtualHost {
  name: string;
  domains: string[];
  routes: Route[];
}
interface RouteConfig {
  name: string;
  virtual_hosts: VirtualHost[];
}
interface ListenerJson {
  name: string;
  address: object;
  bind_to_port?: boolean;
  filter_chains: { filters: { name: string; typed_config: { rds?: { route_config_name: string } } }[] }[];
}

const rds = JSON.parse(readFileSync(join(CORPUS_DIR, DIR, 'rds.json'), 'utf8')) as { resources: RouteConfig[] };
const lds = JSON.parse(readFileSync(join(CORPUS_DIR, DIR, 'lds.json'), 'utf8')) as { resources: ListenerJson[] };

function encode(typeName: string, json: { name: string }): { name: string; value: Uint8Array } {
  const t = lookupType(typeName);
  return { name: json.name, value: t.encode(fromProtoJson(t, json)).finish() };
}

function routeNameOf(l: ListenerJson): string {
  for (const fc of l.filter_chains) for (const f of fc.filters) if (f.typed_config.rds) return f.typed_config.rds.route_config_name;
  throw new Error(`${l.name}: no RDS HCM`);
}

/** The cluster the route table sends `/` on `vh` to (every Istio default route is prefix "/"). */
function clusterOf(vh: VirtualHost): string {
  const r = vh.routes.find((x) => x.match.prefix === '/');
  if (!r?.route?.cluster) throw new Error(`${vh.name}: no prefix / route`);
  return r.route.cluster;
}

const upstreams = new Map<string, http.Server>();
let ads: FakeAdsServer;
let proxy: ProxyProcess;
const ports = new Map<string, number>();
const listenerRoutes = LISTENERS.map((name) => {
  const l = lds.resources.find((x) => x.name === name);
  if (!l) throw new Error(`corpus has no listener ${name}`);
  const rc = rds.resources.find((r) => r.name === routeNameOf(l));
  if (!rc) throw new Error(`corpus has no route config ${routeNameOf(l)}`);
  return { listener: l, routes: rc };
});

beforeAll(async () => {
  const clusterNames = new Set<string>();
  for (const { routes } of listenerRoutes) for (const vh of routes.virtual_hosts) clusterNames.add(clusterOf(vh));
  const clusters = [];
  for (const name of clusterNames) {
    const srv = http.createServer((req, res) => {
      res.setHeader('x-cluster', name);
      res.end(JSON.stringify({ cluster: name, host: req.headers.host ?? req.headers[':authority'] }));
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    upstreams.set(name, srv);
    const port = (srv.address() as net.AddressInfo).port;
    clusters.push(encode('envoy.config.cluster.v3.Cluster', { name, type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] } } as never));
  }
  // The corpus listeners as istiod sent them, bound on loopback instead of virtual (bind_to_port false).
  const listeners = listenerRoutes.map(({ listener }) => {
    const copy = JSON.parse(JSON.stringify(listener)) as ListenerJson;
    copy.address = { socket_address: { address: '127.0.0.1', port_value: 0 } };
    delete copy.bind_to_port;
    return encode('envoy.config.listener.v3.Listener', copy);
  });
  ads = await FakeAdsServer.start();
  ads.setResources(CLUSTER_TYPE_URL, clusters, 'c1');
  ads.setResources(LISTENER_TYPE_URL, listeners, 'l1');
  // Every route config of the dump, verbatim (the proxy asks for the names its HCMs use).
  ads.setResources(ROUTE_TYPE_URL, loadCorpusResponse(`${DIR}/rds.json`).resources, 'r1');
  proxy = await startProxy({
    node: { id: 'sidecar~10.244.1.7~frontend-abc.demo~demo.svc.cluster.local', cluster: 'frontend.demo' },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
    dynamic_resources: {
      lds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' },
      cds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' },
      ads_config: { api_type: 'GRPC', set_node_on_first_message_only: true, transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }] },
    },
    static_resources: { clusters: [pipeCluster('xds-grpc', ads.target.replace(/^unix:\/\//, ''))] },
  });
  for (const name of LISTENERS) ports.set(name, (await proxy.listener(name)).port);
}, 30_000);

afterAll(async () => {
  await proxy?.stop();
  await ads?.stop();
  for (const s of upstreams.values()) {
    s.closeAllConnections();
    s.close();
  }
});

function get(port: number, host: string): Promise<{ status: number; cluster: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/some/path?q=1', headers: { host }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, cluster: String(res.headers['x-cluster'] ?? '') }));
    });
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function h2cGet(port: number, authority: string): Promise<{ status: number; cluster: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const st = session.request({ ':path': '/', ':authority': authority });
    st.setTimeout(5000, () => st.close(http2.constants.NGHTTP2_CANCEL));
    st.on('response', (h) => {
      st.resume();
      st.on('end', () => {
        session.close();
        resolve({ status: Number(h[':status']), cluster: String(h['x-cluster'] ?? '') });
      });
    });
    st.on('error', reject);
    st.end();
  });
}

describe('Istio 1.26 sidecar route tables over RDS', () => {
  test('the proxy asked for the route configs its corpus HCMs name', () => {
    const asked = new Set(ads.requests.filter((r) => r.typeUrl === ROUTE_TYPE_URL).flatMap((r) => r.request.resourceNames as string[]));
    for (const { routes } of listenerRoutes) expect(asked.has(routes.name)).toBe(true);
  });

  test.each(LISTENERS)('every domain of %s reaches its route cluster, with and without the port', async (name) => {
    const { routes } = listenerRoutes.find((x) => x.listener.name === name)!;
    const port = ports.get(name)!;
    const servicePort = routes.virtual_hosts[0]!.name.split(':').pop()!;
    let checked = 0;
    for (const vh of routes.virtual_hosts) {
      const want = clusterOf(vh);
      for (const d of vh.domains) {
        if (d === '*') continue;
        expect({ host: d, ...(await get(port, d)) }).toEqual({ host: d, status: 200, cluster: want });
        // ignore_port_in_host_matching: istiod sets it, so host:port matches the bare domain.
        expect({ host: `${d}:${servicePort}`, ...(await get(port, `${d}:${servicePort}`)) }).toEqual({ host: `${d}:${servicePort}`, status: 200, cluster: want });
        checked++;
      }
    }
    // A host no domain names: the '*' virtual host (allow_any -> PassthroughCluster, or the
    // service's own catch-all on a VIP listener).
    const star = routes.virtual_hosts.find((v) => v.domains.includes('*'))!;
    expect(await get(port, 'not-in-the-mesh.example.com')).toEqual({ status: 200, cluster: clusterOf(star) });
    // Port listeners carry named service hosts besides allow_any; VIP listeners only '*'.
    if (routes.virtual_hosts.length > 1) expect(checked).toBeGreaterThanOrEqual(4);
  });

  test('h2c requests are routed by :authority the same way', async () => {
    const { routes } = listenerRoutes.find((x) => x.listener.name === '0.0.0.0_80')!;
    const vh = routes.virtual_hosts.find((v) => !v.domains.includes('*'))!;
    expect(await h2cGet(ports.get('0.0.0.0_80')!, vh.domains[0]!)).toEqual({ status: 200, cluster: clusterOf(vh) });
    expect(await h2cGet(ports.get('0.0.0.0_80')!, 'elsewhere.example.com')).toEqual({ status: 200, cluster: 'PassthroughCluster' });
  });
});
