// Beyond Envoy: when a host leaves the cluster (EDS/DNS update), the HTTP pools close their idle
// keep-alive connections to it at once (Envoy keeps them until they idle out) and do not reuse
// busy ones; new requests go to the remaining hosts.
import * as http from 'node:http';
import type * as net from 'node:net';
import { cluster, hcmBootstrap, startHarness } from '../support/http-harness';

function get(port: number, agent: http.Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
        let b = '';
        res.on('data', (d: Buffer) => (b += d.toString()));
        res.on('end', () => resolve(b));
      })
      .on('error', reject);
  });
}

it('closes pooled connections to a removed host promptly', async () => {
  const closedAt: number[] = [];
  const servers: http.Server[] = [];
  for (const name of ['one', 'two']) {
    const s = http.createServer({ keepAliveTimeout: 60_000 }, (_q, r) => r.end(name));
    if (name === 'one') s.on('connection', (c: net.Socket) => c.on('close', () => closedAt.push(Date.now())));
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    servers.push(s);
  }
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  const h = await startHarness(hcmBootstrap({ virtualHosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'app' } }] }], clusters: [cluster('app', [ports[0]!])] }));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    expect(await get(h.port(), agent)).toBe('one');
    expect(closedAt).toEqual([]); // the upstream connection is pooled (keep-alive)
    const rt = h.engine.currentRuntime().clusters.get('app')!;
    const t0 = Date.now();
    rt.setEndpoints({
      clusterName: 'app',
      localities: [{ locality: { region: '', zone: '', subZone: '' }, priority: 0, endpoints: [{ address: { kind: 'socket', protocol: 'TCP', address: '127.0.0.1', port: ports[1]!, ipv4Compat: false }, hostname: '', healthStatus: 'UNKNOWN', loadBalancingWeight: 1, metadata: {} }] }],
      overprovisioningFactor: 140,
      dropOverloads: [],
    });
    for (let i = 0; i < 50 && closedAt.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(closedAt).toHaveLength(1);
    expect(closedAt[0]! - t0).toBeLessThan(500);
    expect(await get(h.port(), agent)).toBe('two');
  } finally {
    agent.destroy();
    h.close();
    for (const s of servers) s.close();
  }
});
