// pilot-agent's real bootstrap (Istio's default golden) run as pilot-agent runs it, with ports
// moved to 0 and the xds-grpc pipe pointed at a fake ADS server: admin comes up, both static
// listeners (15090, 15021) bind, the proxy stays INITIALIZING until CDS and LDS arrived over
// delta ADS (node on the first request only), then both readiness checks pilot-agent makes pass,
// and the Istio stats inclusion list applies (server.* kept, other stats dropped).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, startProxy } from '../support/proxy-process';
import { FakeAdsServer } from '../support/fake-ads-server';
import { lookupType } from '../../src/gen/proto-root';
import { fromProtoJson } from '../../src/config/bootstrap/proto-json';

function resource(typeName: string, json: { name: string }): { name: string; value: Uint8Array } {
  const t = lookupType(typeName);
  return { name: json.name, value: t.encode(fromProtoJson(t, json)).finish() };
}

const CDS = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
const LDS = 'type.googleapis.com/envoy.config.listener.v3.Listener';

const GOLDEN = join(REPO, '..', 'shared', 'corpus', 'istio', 'bootstrap', 'golden', 'default_golden.json');

it('runs the default Istio bootstrap with pilot-agent flags', async () => {
  const b = JSON.parse(readFileSync(GOLDEN, 'utf8'));
  b.admin.address.socket_address.port_value = 0;
  for (const l of b.static_resources.listeners) l.address.socket_address.port_value = 0;
  b.admin.profile_path = '/tmp/meshproxy-test.prof';
  const ads = await FakeAdsServer.start();
  ads.autoRespond = false; // hold CDS/LDS back to see INITIALIZING first
  const xds = b.static_resources.clusters.find((c: { name: string }) => c.name === 'xds-grpc');
  xds.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.pipe.path = ads.target.replace(/^unix:\/\//, '');
  const p = await startProxy(b, ['--drain-time-s', '45', '--drain-strategy', 'immediate', '--local-address-ip-version', 'v4', '--file-flush-interval-msec', '1000', '--disable-hot-restart', '--allow-unknown-static-fields', '-l', 'warning', '--component-log-level', 'misc:error', '--skip-deprecated-logs']);
  try {
    const s15090 = await p.listener('0.0.0.0_15090');
    const s15021 = await p.listener('0.0.0.0_15021');
    expect(s15090.port).toBeGreaterThan(0);
    expect(s15021.port).toBeGreaterThan(0);
    const initializing = await p.get('/stats?usedonly&filter=^(server\\.state|listener_manager\\.workers_started)');
    expect(initializing.body).toMatch(/^server\.state: 3$/m);
    // The proxy asks for CDS first (wildcard, node on the first request), then LDS.
    const cdsReq = await ads.waitForRequest((r) => r.typeUrl === CDS);
    expect(cdsReq.delta).toBe(true);
    expect(cdsReq.request.node?.id).toBe(b.node.id);
    ads.setResources(CDS, [resource('envoy.config.cluster.v3.Cluster', { name: 'outbound|80||svc.default.svc.cluster.local', type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: 'x', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 9 } } } }] }] } } as never)], '2025-07-13T19:30:58Z/6');
    ads.push(CDS);
    await ads.waitForRequest((r) => r.typeUrl === LDS);
    ads.setResources(LDS, [resource('envoy.config.listener.v3.Listener', { name: '127.0.0.1_0', address: { socket_address: { address: '127.0.0.1', port_value: 0 } }, filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 'svc', cluster: 'outbound|80||svc.default.svc.cluster.local' } }] }] } as never)], '2025-07-13T19:30:58Z/6');
    ads.push(LDS);
    let ready = { body: '' };
    for (let i = 0; i < 100 && !/^server\.state: 0$/m.test(ready.body); i++) {
      await new Promise((r) => setTimeout(r, 50));
      ready = await p.get('/stats?usedonly&filter=^(server\\.state|listener_manager\\.workers_started)');
    }
    expect(ready.body).toMatch(/^server\.state: 0$/m);
    const xdsReady = await p.get('/stats?usedonly&filter=^(cluster_manager\\.cds|listener_manager\\.lds)\\.(update_success|update_rejected)$');
    expect(xdsReady.body).toMatch(/^cluster_manager\.cds\.update_success: [1-9]/m);
    expect(xdsReady.body).toMatch(/^listener_manager\.lds\.update_success: [1-9]/m);
    expect(ready.body).toMatch(/^listener_manager\.workers_started: 1$/m);
    const all = await p.get('/stats');
    // The inclusion list keeps server.* and cluster.xds-grpc, drops listener.* stats.
    expect(all.body).toMatch(/^server\.concurrency: \d+$/m);
    expect(all.body).not.toMatch(/^listener\./m);
    const info = JSON.parse((await p.get('/server_info')).body);
    expect(info.state).toBe('LIVE');
    expect(info.node.id).toBe(b.node.id);
    expect(info.command_line_options.drain_strategy).toBe('Immediate');
  } finally {
    expect(await p.stop()).toBe(0);
    await ads.stop();
  }
}, 30_000);
