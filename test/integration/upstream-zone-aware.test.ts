// Zone-aware routing through the built proxy (process, 2 workers): bootstrap
// cluster_manager.local_cluster_name names a static cluster of this service's instances (2 of 4
// in our zone "a", from node.locality) and the upstream cluster has 8 loopback upstreams (2 in
// "a", 3 in "b", 3 in "c"). Envoy's formula: local 50% vs upstream 25% in "a" -> half the
// requests stay in "a", the rest split by residual capacity (b: 37.5 - 25, c: 37.5 - 25) ->
// 25% / 25%. Plain round robin would give 25% / 37.5% / 37.5%. Bounded: 800 requests.
import * as http from 'node:http';
import type * as net from 'node:net';
import { hcmBootstrap } from '../support/http-harness';
import { startProxy, type ProxyProcess } from '../support/proxy-process';

function zoned(name: string, zones: Record<string, number[]>): object {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: {
      cluster_name: name,
      endpoints: Object.entries(zones).map(([zone, ports]) => ({ locality: { region: 'r', zone }, lb_endpoints: ports.map((p) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: p } } } })) })),
    },
  };
}

function get(port: number, agent: http.Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.setTimeout(3000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

describe('zone-aware routing (process)', () => {
  let proxy: ProxyProcess | undefined;
  const servers: http.Server[] = [];

  afterAll(async () => {
    await proxy?.stop();
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  });

  it('splits requests over zones as Envoy does for the local cluster spread', async () => {
    const zones: Record<string, number[]> = { a: [], b: [], c: [] };
    for (const [zone, n] of [['a', 2], ['b', 3], ['c', 3]] as const) {
      for (let i = 0; i < n; i++) {
        const s = http.createServer((_q, r) => r.end(zone));
        await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
        servers.push(s);
        zones[zone]!.push((s.address() as net.AddressInfo).port);
      }
    }
    // The local cluster's members are never contacted: only their localities count.
    const self = zoned('self', { a: [1, 2], b: [3], c: [4] });
    const boot = hcmBootstrap({ virtualHosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'up' } }] }], clusters: [self, zoned('up', zones)] }) as Record<string, unknown>;
    boot.node = { id: 'zone-test', cluster: 'self', locality: { region: 'r', zone: 'a' } };
    boot.cluster_manager = { local_cluster_name: 'self' };
    boot.admin = { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } };
    proxy = await startProxy(boot, ['--concurrency', '2']);
    const { port } = await proxy.listener('http');
    const counts: Record<string, number> = {};
    const loop = async (agent: http.Agent) => {
      for (let i = 0; i < 200; i++) {
        const z = await get(port, agent);
        counts[z] = (counts[z] ?? 0) + 1;
      }
    };
    const agents = [0, 1, 2, 3].map(() => new http.Agent({ keepAlive: false }));
    await Promise.all(agents.map(loop));
    const n = 800;
    expect((counts.a ?? 0) + (counts.b ?? 0) + (counts.c ?? 0)).toBe(n);
    expect(counts.a! / n).toBeGreaterThan(0.42);
    expect(counts.a! / n).toBeLessThan(0.58);
    expect(counts.b! / n).toBeGreaterThan(0.17);
    expect(counts.c! / n).toBeGreaterThan(0.17);
    const stats = (await proxy.get('/stats')).body;
    const stat = (name: string) => Number(new RegExp(`^cluster\\.up\\.${name}: (\\d+)$`, 'm').exec(stats)?.[1] ?? NaN);
    expect(stat('lb_zone_routing_sampled') + stat('lb_zone_routing_cross_zone')).toBe(n);
    expect(stat('lb_zone_routing_all_directly')).toBe(0);
  }, 30_000);
});
