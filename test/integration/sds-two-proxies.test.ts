// Istio mTLS between two built proxy processes, each getting its workload certificate (`default`)
// and trust bundle (`ROOTCA`) from its own fake pilot-agent SDS server over sds-grpc, and its
// listeners/clusters over ADS:
//   client --tcp--> proxy A outbound tcp_proxy --ISTIO_MUTUAL (SDS certs, SAN sa/b)--> proxy B
//   inbound (require_client_certificate, SDS certs, SAN sa/a) --tcp--> app
// The good path relays both ways (so A presented sa/a from SDS and accepted B's sa/b); a cluster
// expecting another service account (sa/c) is refused on the same B. Requires a build (dist/).
//
// A's clusters keep Envoy's default max_session_keys (1), as Istio does: the second connection
// resumes the TLS session, which needs the server context's session id context (a resumed
// handshake against a client-cert-requesting server without one is aborted by OpenSSL).
import * as net from 'node:net';
import { fromProtoJson } from '../../src/config/bootstrap/proto-json';
import { lookupType } from '../../src/gen/proto-root';
import { CLUSTER_TYPE_URL, LISTENER_TYPE_URL, SECRET_TYPE_URL } from '../../src/xds/type-urls';
import { createMeshCa, type MeshCa } from '../support/certs';
import { FakeAdsServer } from '../support/fake-ads-server';
import { FakeSdsServer, istioDownstreamTls, istioUpstreamTls, sidecarBootstrap } from '../support/fake-sds-server';
import { startProxy, type ProxyProcess } from '../support/proxy-process';

const T = 'type.googleapis.com/';
const GOOD = 'outbound|9080||b.default.svc.cluster.local';
const WRONG = 'outbound|9080||c.default.svc.cluster.local';

function resource(typeName: string, json: { name: string }): { name: string; value: Uint8Array } {
  const t = lookupType(typeName);
  return { name: json.name, value: t.encode(fromProtoJson(t, json)).finish() };
}

function cluster(name: string, port: number, transportSocket?: object) {
  return resource('envoy.config.cluster.v3.Cluster', {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] },
    ...(transportSocket ? { transport_socket: transportSocket } : {}),
  } as never);
}

function tcpListener(name: string, clusterName: string, transportSocket?: object) {
  return resource('envoy.config.listener.v3.Listener', {
    name,
    address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    filter_chains: [
      {
        filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': `${T}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`, stat_prefix: clusterName, cluster: clusterName } }],
        ...(transportSocket ? { transport_socket: transportSocket } : {}),
      },
    ],
  } as never);
}

/** Plain TCP through proxy A: resolves with what came back before the close (or a 3 s cap). */
function exchange(port: number, payload: string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(payload));
    let got = '';
    const timer = setTimeout(() => s.destroy(), 3000);
    s.on('data', (d) => {
      got += d.toString();
      if (got === `app:${payload}`) s.end();
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
  });
}

let ca: MeshCa;
let app: net.Server;
const fakes: { stop(): Promise<void> }[] = [];
const proxies: ProxyProcess[] = [];
let proxyA: ProxyProcess;
let sdsA: FakeSdsServer;

beforeAll(async () => {
  ca = createMeshCa();
  const certA = ca.issue({ ns: 'default', sa: 'a', name: 'a' });
  const certB = ca.issue({ ns: 'default', sa: 'b', name: 'b' });
  app = net.createServer((s) => {
    s.on('data', (d) => s.write(`app:${d.toString()}`));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  const appPort = (app.address() as net.AddressInfo).port;

  // Proxy B: inbound, client certificates required and limited to sa/a.
  const adsB = await FakeAdsServer.start();
  const sdsB = await FakeSdsServer.start();
  fakes.push(adsB, sdsB);
  sdsB.set([{ name: 'default', cert: certB }, { name: 'ROOTCA', caPem: ca.certPem }], false);
  adsB.setResources(CLUSTER_TYPE_URL, [cluster('inbound|9080||', appPort)], 'c1');
  adsB.setResources(LISTENER_TYPE_URL, [tcpListener('virtualInbound', 'inbound|9080||', istioDownstreamTls(['spiffe://cluster.local/ns/default/sa/a']))], 'l1');
  const proxyB = await startProxy(sidecarBootstrap('sidecar~127.0.0.1~b.default~default.svc.cluster.local', adsB.target.replace(/^unix:\/\//, ''), sdsB.socketPath));
  proxies.push(proxyB);
  const portB = (await proxyB.listener('virtualInbound')).port;

  // Proxy A: outbound to B, once expecting B's identity and once another one.
  const adsA = await FakeAdsServer.start();
  sdsA = await FakeSdsServer.start();
  fakes.push(adsA, sdsA);
  sdsA.set([{ name: 'default', cert: certA }, { name: 'ROOTCA', caPem: ca.certPem }], false);
  adsA.setResources(
    CLUSTER_TYPE_URL,
    [
      cluster(GOOD, portB, istioUpstreamTls('outbound_.9080_._.b.default.svc.cluster.local', ['spiffe://cluster.local/ns/default/sa/b'])),
      cluster(WRONG, portB, istioUpstreamTls('outbound_.9080_._.c.default.svc.cluster.local', ['spiffe://cluster.local/ns/default/sa/c'])),
    ],
    'c1',
  );
  adsA.setResources(LISTENER_TYPE_URL, [tcpListener('out-b', GOOD), tcpListener('out-c', WRONG)], 'l1');
  proxyA = await startProxy(sidecarBootstrap('sidecar~127.0.0.1~a.default~default.svc.cluster.local', adsA.target.replace(/^unix:\/\//, ''), sdsA.socketPath));
  proxies.push(proxyA);
}, 40_000);

afterAll(async () => {
  for (const p of proxies) await p.stop();
  for (const f of fakes) await f.stop();
  app?.close();
});

test('A -> B over ISTIO_MUTUAL with SDS certificates on both sides; a wrong server SAN is refused', async () => {
  const outB = (await proxyA.listener('out-b')).port;
  const outC = (await proxyA.listener('out-c')).port;
  // One SDS stream on A serves both clusters' default/ROOTCA.
  const streams = new Set(sdsA.requests.filter((r) => r.typeUrl === SECRET_TYPE_URL).map((r) => r.streamId));
  expect(streams.size).toBe(1);
  expect([...sdsA.requests[0]!.request.resourceNames].sort()).toEqual(['ROOTCA', 'default']);
  // Five connections: from the second on, A resumes its TLS session with B.
  for (let i = 0; i < 5; i++) expect(await exchange(outB, `hello${i}`)).toBe(`app:hello${i}`);
  expect(await exchange(outC, 'nope')).toBe('');
  const stats = await proxyA.get('/stats?filter=upstream_cx_connect_fail');
  const wrongFails = new RegExp(`^cluster\\.${WRONG.replace(/[|.]/g, '\\$&')}\\.upstream_cx_connect_fail: (\\d+)$`, 'm').exec(stats.body);
  expect(Number(wrongFails?.[1] ?? 0)).toBeGreaterThanOrEqual(1);
  const goodFails = new RegExp(`^cluster\\.${GOOD.replace(/[|.]/g, '\\$&')}\\.upstream_cx_connect_fail: (\\d+)$`, 'm').exec(stats.body);
  expect(Number(goodFails?.[1] ?? 0)).toBe(0);
}, 20_000);
