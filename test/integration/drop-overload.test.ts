// EDS drop_overloads (ClusterLoadAssignment.policy): the configured share of requests is refused
// before a host is picked — HTTP 503 "drop_overload" (flag DO), counted in upstream_rq_drop_overload.
import * as http from 'node:http';
import type * as net from 'node:net';
import { cluster, hcmBootstrap, startHarness } from '../support/http-harness';

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let b = '';
        res.on('data', (d: Buffer) => (b += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
      })
      .on('error', reject);
  });
}

it('drops all requests at 100% and about half at 50%, per the assignment policy', async () => {
  const up = http.createServer((_q, r) => r.end('ok'));
  await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
  const port = (up.address() as net.AddressInfo).port;
  const withDrop = (name: string, pct: number) => {
    const c = cluster(name, [port]) as { load_assignment: Record<string, unknown> };
    c.load_assignment.policy = { drop_overloads: [{ category: 'throttle', drop_percentage: { numerator: pct, denominator: 'HUNDRED' } }] };
    return c;
  };
  const h = await startHarness(
    hcmBootstrap({
      virtualHosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/all' }, route: { cluster: 'all' } }, { match: { prefix: '/half' }, route: { cluster: 'half' } }, { match: { prefix: '/' }, route: { cluster: 'none' } }] }],
      clusters: [withDrop('all', 100), withDrop('half', 50), cluster('none', [port])],
    }),
  );
  try {
    for (let i = 0; i < 5; i++) expect(await get(h.port(), '/all')).toEqual({ status: 503, body: 'drop_overload' });
    expect(h.counter('cluster.all.upstream_rq_drop_overload')).toBe(5);
    expect(await get(h.port(), '/')).toEqual({ status: 200, body: 'ok' });
    let dropped = 0;
    for (let i = 0; i < 200; i++) if ((await get(h.port(), '/half')).status === 503) dropped++;
    // 50% of 200: well inside 60..140 unless the drop rate is wrong.
    expect(dropped).toBeGreaterThan(60);
    expect(dropped).toBeLessThan(140);
  } finally {
    h.close();
    up.close();
  }
});
