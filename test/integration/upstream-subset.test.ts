// lb_subset_config end to end through the HTTP connection manager and router (in-process
// harness: real bootstrap translation, WorkerEngine, loopback sockets). Four upstreams on
// 127.0.0.2-5 carry envoy.lb metadata (version v1/v2 x stage prod/canary); routes select
// subsets by metadata_match (route action and weighted cluster entry). Requests for v2 land only
// on the v2 hosts; a version no host has falls back to the default subset (v1); stats count it.
// The same bootstrap then runs in the built proxy process (bin/meshproxy), checked via admin /stats.
import * as http from 'node:http';
import type * as net from 'node:net';
import { cluster, hcmBootstrap, startHarness, type HttpHarness } from '../support/http-harness';
import { startProxy } from '../support/proxy-process';

interface Upstream {
  readonly ip: string;
  readonly port: number;
  readonly server: http.Server;
}

const HOSTS = [
  { ip: '127.0.0.2', version: 'v1', stage: 'prod' },
  { ip: '127.0.0.3', version: 'v1', stage: 'canary' },
  { ip: '127.0.0.4', version: 'v2', stage: 'prod' },
  { ip: '127.0.0.5', version: 'v2', stage: 'canary' },
];

async function upstreamOn(ip: string): Promise<Upstream> {
  const server = http.createServer((_req, res) => res.end(ip));
  await new Promise<void>((r) => server.listen(0, ip, r));
  return { ip, port: (server.address() as net.AddressInfo).port, server };
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** `n` sequential requests; the set of upstream IPs that answered (or status codes). */
async function answers(port: number, path: string, n = 8): Promise<string[]> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const r = await get(port, path);
    seen.add(r.status === 200 ? r.body : `status ${r.status}`);
  }
  return [...seen].sort();
}

const lbMatch = (fields: Record<string, string>) => ({ filter_metadata: { 'envoy.lb': fields } });

let upstreams: Upstream[] = [];
let h: HttpHarness;

function subsetBootstrap(): object {
  const endpoints = [
    {
      lb_endpoints: HOSTS.map((x, i) => ({
        endpoint: { address: { socket_address: { address: x.ip, port_value: upstreams[i]!.port } } },
        metadata: { filter_metadata: { 'envoy.lb': { version: x.version, stage: x.stage } } },
      })),
    },
  ];
  const subsets = {
    ...(cluster('subsets', []) as Record<string, unknown>),
    load_assignment: { cluster_name: 'subsets', endpoints },
    lb_subset_config: {
      fallback_policy: 'DEFAULT_SUBSET',
      default_subset: { version: 'v1' },
      subset_selectors: [{ keys: ['version'] }, { keys: ['version', 'stage'] }],
    },
  };
  const noFallback = {
    ...subsets,
    name: 'strict',
    load_assignment: { cluster_name: 'strict', endpoints },
    lb_subset_config: { subset_selectors: [{ keys: ['version'] }] },
  };
  return hcmBootstrap({
      clusters: [subsets, noFallback],
      virtualHosts: [
        {
          name: 'vh',
          domains: ['*'],
          routes: [
            { match: { prefix: '/v2' }, route: { cluster: 'subsets', metadata_match: lbMatch({ version: 'v2' }) } },
            { match: { prefix: '/v3' }, route: { cluster: 'subsets', metadata_match: lbMatch({ version: 'v3' }) } },
            {
              match: { prefix: '/weighted' },
              route: {
                metadata_match: lbMatch({ version: 'v1', stage: 'prod' }),
                weighted_clusters: { clusters: [{ name: 'subsets', weight: 100, metadata_match: lbMatch({ stage: 'canary' }) }] },
              },
            },
            { match: { prefix: '/strict' }, route: { cluster: 'strict', metadata_match: lbMatch({ version: 'v3' }) } },
            { match: { prefix: '/' }, route: { cluster: 'subsets' } },
          ],
        },
      ],
  });
}

beforeAll(async () => {
  upstreams = await Promise.all(HOSTS.map((x) => upstreamOn(x.ip)));
  h = await startHarness(subsetBootstrap());
});

afterAll(async () => {
  h?.close();
  await Promise.all(upstreams.map((u) => new Promise<void>((r) => u.server.close(() => r()))));
});

test('route metadata_match version=v2: requests land only on the v2 hosts', async () => {
  const before = h.counter('cluster.subsets.lb_subsets_selected');
  expect(await answers(h.port(), '/v2')).toEqual(['127.0.0.4', '127.0.0.5']);
  expect(h.counter('cluster.subsets.lb_subsets_selected') - before).toBe(8);
  expect(h.stats.gauge('cluster.subsets.lb_subsets_active').value).toBe(6);
});

test('no host with version=v3, and no metadata_match at all: the default subset (v1) serves', async () => {
  const before = h.counter('cluster.subsets.lb_subsets_fallback');
  expect(await answers(h.port(), '/v3')).toEqual(['127.0.0.2', '127.0.0.3']);
  expect(await answers(h.port(), '/other')).toEqual(['127.0.0.2', '127.0.0.3']);
  expect(h.counter('cluster.subsets.lb_subsets_fallback') - before).toBe(16);
});

test('a weighted cluster entry metadata_match overrides the route criteria key by key', async () => {
  expect(await answers(h.port(), '/weighted', 4)).toEqual(['127.0.0.3']); // v1 + canary
});

test('NO_FALLBACK cluster: no matching subset is a 503 no healthy upstream', async () => {
  expect(await answers(h.port(), '/strict', 2)).toEqual(['status 503']);
  expect(h.counter('cluster.strict.upstream_cx_none_healthy')).toBe(2);
});

test('the built proxy process: v2 requests reach only v2 hosts, v3 falls back to v1; admin /stats shows the subset stats', async () => {
  const proxy = await startProxy({ ...subsetBootstrap(), admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } } });
  try {
    const { port } = await proxy.listener('http');
    expect(await answers(port, '/v2')).toEqual(['127.0.0.4', '127.0.0.5']);
    expect(await answers(port, '/v3', 4)).toEqual(['127.0.0.2', '127.0.0.3']);
    const stats = (await proxy.get('/stats')).body;
    expect(stats).toMatch(/^cluster\.subsets\.lb_subsets_selected: 8$/m);
    expect(stats).toMatch(/^cluster\.subsets\.lb_subsets_fallback: 4$/m);
    expect(stats).toMatch(/^cluster\.subsets\.lb_subsets_active: 6$/m);
  } finally {
    await proxy.stop();
  }
}, 30_000);
