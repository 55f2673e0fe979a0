// EDS endpoint deltas with several workers, process level: the built proxy with --concurrency 2
// (two node:cluster worker processes sharing the listener) gets an EDS update over ADS that
// removes endpoint A and adds C to an active cluster. The update travels as a per-cluster host
// delta to every worker: afterwards, requests over many new downstream connections (which the
// workers share) reach B and C and never A, the proxy's connections to C come from both worker
// processes (seen with `ss -tnp`), and admin /clusters lists B and C but not A.
import { closeServers } from '../support/wait';
import { execFileSync, spawnSync } from 'node:child_process';
import * as http from 'node:http';
import type * as net from 'node:net';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL } from '../../src/xds/type-urls';
import { FakeAdsServer, protoResource } from '../support/fake-ads-server';
import { startProxy, type ProxyProcess } from '../support/proxy-process';
import { freePort, loadBootstrap, until } from '../support/xds-load-config';

const T = 'type.googleapis.com/';
const hasSs = spawnSync('sh', ['-c', 'command -v ss'], { encoding: 'utf8' }).status === 0;
if (!hasSs) console.warn('ss not installed (Debian package iproute2): the per-worker connection check of the EDS multi-worker test is skipped');

function listener(port: number): { name: string; value: Uint8Array } {
  return protoResource('envoy.config.listener.v3.Listener', {
    name: 'multi-http',
    address: { socket_address: { address: '127.0.0.1', port_value: port } },
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': `${T}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`,
              stat_prefix: 'multi',
              route_config: { name: 'local', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'multi-svc' } }] }] },
              http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': `${T}envoy.extensions.filters.http.router.v3.Router` } }],
            },
          },
        ],
      },
    ],
  });
}

function endpoints(ports: readonly number[]): { name: string; value: Uint8Array } {
  return protoResource('envoy.config.endpoint.v3.ClusterLoadAssignment', {
    cluster_name: 'multi-svc',
    endpoints: [{ lb_endpoints: ports.map((p) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: p } } } })) }],
  });
}

/** One request on a new downstream connection: the upstream's name, or the failure. */
function once(port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/', agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(res.statusCode === 200 ? body : `status ${res.statusCode}: ${body}`));
    });
    req.on('error', (e) => resolve(`error ${e.message}`));
    req.end();
  });
}

async function spread(port: number, n: number, parallel = 8): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let left = n;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (left-- > 0) {
        const r = await once(port);
        counts.set(r, (counts.get(r) ?? 0) + 1);
      }
    }),
  );
  return counts;
}

/** PIDs owning established TCP connections to 127.0.0.1:port. */
function pidsConnectedTo(port: number): Set<number> {
  const out = execFileSync('ss', ['-Htnp', 'state', 'established', `( dport = :${port} )`], { encoding: 'utf8' });
  return new Set([...out.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])));
}

describe('EDS deltas with two worker processes', () => {
  let ads: FakeAdsServer | undefined;
  let proxy: ProxyProcess | undefined;
  const upstreams: http.Server[] = [];

  afterAll(async () => {
    await proxy?.stop();
    await ads?.stop();
    await closeServers(upstreams);
  });

  it('an endpoint added and one removed are live in both workers', async () => {
    const ports: number[] = [];
    for (const name of ['A', 'B', 'C']) {
      const s = http.createServer((_req, res) => res.end(name));
      s.keepAliveTimeout = 60_000;
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      upstreams.push(s);
      ports.push((s.address() as net.AddressInfo).port);
    }
    const [a, b, c] = ports as [number, number, number];
    const port = await freePort();
    ads = await FakeAdsServer.start();
    ads.setResources(LISTENER_TYPE_URL, [listener(port)], 'l1');
    ads.setResources(CLUSTER_TYPE_URL, [protoResource('envoy.config.cluster.v3.Cluster', { name: 'multi-svc', type: 'EDS', connect_timeout: '1s', eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } } })], 'c1');
    ads.setResources(ENDPOINT_TYPE_URL, [endpoints([a, b])], 'e1');
    proxy = await startProxy(loadBootstrap(ads), ['--concurrency', '2']);
    const p = proxy;
    await p.listener('multi-http');
    await until(async () => ['A', 'B'].includes(await once(port)), 'initial config');
    const workers = execFileSync('ps', ['-o', 'pid=', '--ppid', String(p.child.pid)], { encoding: 'utf8' }).split('\n').map((l) => Number(l.trim())).filter((n) => n > 0);
    expect(workers).toHaveLength(2);

    const before = await spread(port, 60);
    expect([...before.keys()].sort()).toEqual(['A', 'B']);

    // A out, C in: one EDS change, no CDS/LDS change.
    ads.setResources(ENDPOINT_TYPE_URL, [endpoints([b, c])], 'e2');
    ads.push(ENDPOINT_TYPE_URL);
    await ads.waitForRequest((r) => r.typeUrl === ENDPOINT_TYPE_URL && r.request.versionInfo === 'e2' && !r.request.errorDetail);
    // Applied asynchronously on each worker: wait until new connections stop reaching A.
    await until(async () => !(await spread(port, 20)).has('A'), 'the EDS change on every worker');

    const after = await spread(port, 200);
    expect([...after.keys()].sort()).toEqual(['B', 'C']);
    expect(after.get('C')).toBeGreaterThan(40);

    // Both worker processes hold connections to C: each applied the delta.
    if (hasSs) {
      const pids = pidsConnectedTo(c);
      expect([...pids].filter((pid) => workers.includes(pid)).sort()).toEqual([...workers].sort());
    }

    const clusters = (await p.get('/clusters')).body;
    expect(clusters).toContain(`multi-svc::127.0.0.1:${b}::health_flags::healthy`);
    expect(clusters).toContain(`multi-svc::127.0.0.1:${c}::health_flags::healthy`);
    expect(clusters).not.toContain(`multi-svc::127.0.0.1:${a}::`);
    const stats = (await p.get('/stats')).body;
    expect(Number(/^cluster\.multi-svc\.membership_total: (\d+)$/m.exec(stats)?.[1])).toBe(2);
  }, 40_000);
});
