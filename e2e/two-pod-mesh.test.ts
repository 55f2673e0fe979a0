// The mesh path as Istio runs it, in two network-namespace "pods" (192.0.2.1 and 192.0.2.2):
// istio-init's rules from meshproxy-iptables, our proxy as uid 1337 getting LDS/CDS/EDS from a
// fake istiod over delta ADS (a Unix socket, like pilot-agent's XDS) and its workload certificate
// and trust bundle from its own fake pilot-agent SDS server over sds-grpc. Config is shaped like
// istiod's: virtualOutbound (use_original_dst) hands 192.0.2.2:8080 to the bind_to_port:false
// listener 0.0.0.0_8080, whose tcp_proxy uses the EDS cluster outbound|8080||b; the endpoint's
// tlsMode: istio metadata selects ISTIO_MUTUAL (SNI, SAN spiffe://.../sa/b); B's virtualInbound
// (original_dst + tls_inspector) terminates mTLS requiring sa/a and passes to the app from
// 127.0.0.6. Unknown ports go through PassthroughCluster in plaintext to B's raw_buffer chain.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fromProtoJson } from '../src/config/bootstrap/proto-json';
import { lookupType } from '../src/gen/proto-root';
import { createMeshCa } from '../test/support/certs';
import { FakeAdsServer } from '../test/support/fake-ads-server';
import { FakeSdsServer, istioDownstreamTls, istioUpstreamTls, sidecarBootstrap } from '../test/support/fake-sds-server';
import { netnsUnavailable } from './support/netns';
import { podPair, REPO, type Pod } from './support/pod';

function skipReason(): string | null {
  const ns = netnsUnavailable();
  if (ns) return ns;
  for (const cmd of ['iptables-restore', 'curl', 'setpriv', 'openssl']) {
    if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) return `${cmd} is not installed`;
  }
  if (!existsSync(path.join(REPO, 'dist', 'main.js'))) return 'dist/ missing: run `make build` first';
  return null;
}
const reason = skipReason();
const suite = reason ? describe.skip : describe;
if (reason) console.warn(`e2e/two-pod-mesh: skipped: ${reason}`);

const T = 'type.googleapis.com/';
const LDS = `${T}envoy.config.listener.v3.Listener`;
const CDS = `${T}envoy.config.cluster.v3.Cluster`;
const EDS = `${T}envoy.config.endpoint.v3.ClusterLoadAssignment`;
const SVC = 'outbound|8080||b.default.svc.cluster.local';
const A_IP = '192.0.2.1';
const B_IP = '192.0.2.2';

const enc = (type: string, json: { name?: string; cluster_name?: string }) => {
  const t = lookupType(type);
  return { name: (json.name ?? json.cluster_name)!, value: t.encode(fromProtoJson(t, json)).finish() };
};
const tcpProxy = (statPrefix: string, cluster: string) => ({ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': `${T}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`, stat_prefix: statPrefix, cluster } });
const lf = (name: string, type: string) => ({ name, typed_config: { '@type': `${T}${type}` } });

/** What istiod would send both sidecars for this two-service mesh (TCP parts). */
function meshResources() {
  const listeners = [
    {
      name: 'virtualOutbound',
      address: { socket_address: { address: '0.0.0.0', port_value: 15001 } },
      use_original_dst: true,
      traffic_direction: 'OUTBOUND',
      filter_chains: [
        { name: 'virtualOutbound-blackhole', filter_chain_match: { destination_port: 15001 }, filters: [tcpProxy('BlackHoleCluster', 'BlackHoleCluster')] },
        { name: 'virtualOutbound-catchall-tcp', filters: [tcpProxy('PassthroughCluster', 'PassthroughCluster')] },
      ],
    },
    {
      name: '0.0.0.0_8080',
      address: { socket_address: { address: '0.0.0.0', port_value: 8080 } },
      bind_to_port: false,
      traffic_direction: 'OUTBOUND',
      filter_chains: [{ filters: [tcpProxy(SVC, SVC)] }],
      default_filter_chain: { name: 'PassthroughFilterChain', filters: [tcpProxy('PassthroughCluster', 'PassthroughCluster')] },
    },
    {
      name: 'virtualInbound',
      address: { socket_address: { address: '0.0.0.0', port_value: 15006 } },
      traffic_direction: 'INBOUND',
      continue_on_listener_filters_timeout: true,
      listener_filters: [lf('envoy.filters.listener.original_dst', 'envoy.extensions.filters.listener.original_dst.v3.OriginalDst'), lf('envoy.filters.listener.tls_inspector', 'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector')],
      filter_chains: [
        { name: 'virtualInbound-blackhole', filter_chain_match: { destination_port: 15006 }, filters: [tcpProxy('BlackHoleCluster', 'BlackHoleCluster')] },
        { name: 'virtualInbound', filter_chain_match: { transport_protocol: 'tls', application_protocols: ['istio-peer-exchange', 'istio'] }, filters: [tcpProxy('InboundPassthroughCluster', 'InboundPassthroughCluster')], transport_socket: istioDownstreamTls([`spiffe://cluster.local/ns/default/sa/a`]) },
        { name: 'virtualInbound-plaintext', filter_chain_match: { transport_protocol: 'raw_buffer' }, filters: [tcpProxy('InboundPassthroughCluster', 'InboundPassthroughCluster')] },
      ],
    },
  ];
  const clusters = [
    { name: 'PassthroughCluster', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: '2s' },
    { name: 'InboundPassthroughCluster', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: '2s', upstream_bind_config: { source_address: { address: '127.0.0.6', port_value: 0 } } },
    { name: 'BlackHoleCluster', type: 'STATIC', connect_timeout: '2s' },
    {
      name: SVC,
      type: 'EDS',
      connect_timeout: '2s',
      eds_cluster_config: { service_name: SVC, eds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' } },
      transport_socket_matches: [
        { name: 'tlsMode-istio', match: { tlsMode: 'istio' }, transport_socket: istioUpstreamTls('outbound_.8080_._.b.default.svc.cluster.local', ['spiffe://cluster.local/ns/default/sa/b']) },
        { name: 'tlsMode-disabled', match: {}, transport_socket: { name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': `${T}envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer` } } },
      ],
    },
  ];
  const endpoints = [
    {
      cluster_name: SVC,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: B_IP, port_value: 8080 } } }, metadata: { filter_metadata: { 'envoy.transport_socket_match': { tlsMode: 'istio' } } } }] }],
    },
  ];
  return {
    lds: listeners.map((l) => enc('envoy.config.listener.v3.Listener', l)),
    cds: clusters.map((c) => enc('envoy.config.cluster.v3.Cluster', c)),
    eds: endpoints.map((e) => enc('envoy.config.endpoint.v3.ClusterLoadAssignment', e)),
  };
}

/** A socket the proxy (uid 1337) can connect to. */
function openSocket(target: string): string {
  const p = target.replace(/^unix:\/\//, '');
  chmodSync(path.dirname(p), 0o755);
  chmodSync(p, 0o777);
  return p;
}

suite('two pods with the mesh config from a fake istiod (delta ADS) and certificates over SDS', () => {
  let a: Pod;
  let b: Pod;
  let istiod: FakeAdsServer;
  const sds: FakeSdsServer[] = [];

  beforeAll(async () => {
    const ca = createMeshCa();
    chmodSync(ca.dir, 0o755);
    const certA = ca.issue({ ns: 'default', sa: 'a' });
    const certB = ca.issue({ ns: 'default', sa: 'b' });
    istiod = await FakeAdsServer.start();
    const r = meshResources();
    istiod.setResources(LDS, r.lds, 'v1');
    istiod.setResources(CDS, r.cds, 'v1');
    istiod.setResources(EDS, r.eds, 'v1');
    [a, b] = podPair(A_IP, B_IP, 24);
    await b.startApp(8080, [9090]);
    for (const [pod, cert] of [[a, certA], [b, certB]] as const) {
      const s = await FakeSdsServer.start();
      s.set([{ name: 'default', cert }, { name: 'ROOTCA', caPem: ca.certPem }], false);
      sds.push(s);
      pod.applyInit();
      const boot = sidecarBootstrap(`sidecar~${pod.ip}~${pod.name}.default~default.svc.cluster.local`, openSocket(istiod.target), openSocket(s.ads.target)) as {
        admin: { address: { socket_address: { port_value: number } } };
        dynamic_resources: { ads_config: { api_type: string } };
      };
      boot.admin.address.socket_address.port_value = 15000;
      boot.dynamic_resources.ads_config.api_type = 'DELTA_GRPC'; // Istio's default since 1.22
      await pod.startProxyWith(boot);
    }
  }, 90_000);

  afterAll(async () => {
    a?.destroy();
    b?.destroy();
    await istiod?.stop();
    for (const s of sds) await s.stop();
  });

  it('every xDS response was ACKed by both proxies, over delta', () => {
    expect(istiod.requests.length).toBeGreaterThan(0);
    expect(istiod.requests.every((r) => r.delta)).toBe(true);
    expect(istiod.requests.filter((r) => r.request.errorDetail)).toEqual([]);
    for (const s of sds) expect(s.requests.filter((r) => r.request.errorDetail)).toEqual([]);
  });

  it("A's plain curl to B:8080 rides the outbound EDS cluster with ISTIO_MUTUAL; B's app sees 127.0.0.6", () => {
    const svcStat = `cluster.${SVC}.upstream_cx_total`;
    const before = { svc: a.stat(svcStat), pass: a.stat('tcp.PassthroughCluster.downstream_cx_total') };
    const r = a.curl(`http://${B_IP}:8080/`);
    expect(r.body).toBe('b:8080 saw 127.0.0.6');
    expect(a.stat(svcStat)).toBe(before.svc + 1);
    expect(a.stat('tcp.PassthroughCluster.downstream_cx_total')).toBe(before.pass);
    // B terminated TLS and checked A's SPIFFE identity.
    const ssl = b.adminGet(`/stats?filter=${encodeURIComponent('ssl\\.handshake$')}`);
    expect(ssl).toMatch(/ssl\.handshake: [1-9]/);
  });

  it('a port istiod does not know goes through PassthroughCluster in plaintext and still reaches the app via 127.0.0.6', () => {
    const before = a.stat('tcp.PassthroughCluster.downstream_cx_total');
    expect(a.curl(`http://${B_IP}:9090/`).body).toBe('b:9090 saw 127.0.0.6');
    expect(a.stat('tcp.PassthroughCluster.downstream_cx_total')).toBe(before + 1);
  });
});
