// /clusters and /listeners on the built proxy process show the workers' live state, with one
// and with two workers (node:cluster processes): a tcp_proxy listener in front of a STATIC
// cluster of two loopback echo hosts with active TCP health checks; after a bounded number of
// connections through the listener, /clusters?format=json lists both hosts with cx_total and
// rq_total summed over workers equal to the connections made (and cx_active back to 0), the JSON
// is a strict envoy.admin.v3.Clusters (no unknown fields, parses with our proto root), the text
// form has Envoy's `<cluster>::<host>::<stat>::<value>` lines; a killed host shows
// failed_active_health_check / health_flags::/failed_active_hc; /listeners shows the bound port
// (and the configured address of a bind_to_port: false listener).
import * as net from 'node:net';
import { findUnknownFields, fromProtoJson } from '../../src/config/bootstrap/proto-json';
import { lookupType } from '../../src/gen/proto-root';
import { startProxy, type ProxyProcess } from '../support/proxy-process';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type J = Record<string, any>;

const CONNECTIONS = 12;

function echoServer(): Promise<{ server: net.Server; port: number; sockets: Set<net.Socket> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.pipe(s);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as net.AddressInfo).port, sockets })));
}

function bootstrap(ports: readonly number[]): object {
  const tcpProxy = { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 'live', cluster: 'up' } };
  return {
    node: { id: 'test~127.0.0.1~t.default~default.svc.cluster.local', cluster: 'test' },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
    static_resources: {
      listeners: [
        { name: 'tcp', address: { socket_address: { address: '127.0.0.1', port_value: 0 } }, filter_chains: [{ filters: [tcpProxy] }] },
        // Never bound: /listeners prints its configured address, as Envoy does.
        { name: 'virtual', address: { socket_address: { address: '0.0.0.0', port_value: 15001 } }, bind_to_port: false, filter_chains: [{ filters: [tcpProxy] }] },
      ],
      clusters: [
        {
          name: 'up',
          type: 'STATIC',
          connect_timeout: '1s',
          circuit_breakers: { thresholds: [{ max_connections: 100, max_pending_requests: 200, max_requests: 300, max_retries: 4 }] },
          health_checks: [{ timeout: '0.5s', interval: '0.1s', no_traffic_interval: '0.1s', unhealthy_threshold: 1, healthy_threshold: 1, tcp_health_check: {} }],
          load_assignment: { cluster_name: 'up', endpoints: [{ lb_endpoints: ports.map((p) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: p } } } })) }] },
        },
      ],
    },
  };
}

/** One connection through the proxy: send, read the echo back, close. */
function roundTrip(port: number, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`no echo (got '${got}')`));
    }, 5000);
    s.on('connect', () => s.write(payload));
    s.on('data', (d) => {
      got += d.toString();
      if (got.length >= payload.length) s.end();
    });
    s.on('close', () => {
      clearTimeout(t);
      resolve(got);
    });
    s.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

async function clustersJson(p: ProxyProcess): Promise<J> {
  const r = await p.get('/clusters?format=json');
  expect(r.status).toBe(200);
  return JSON.parse(r.body) as J;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function hostsOf(doc: J, cluster: string): J[] {
  return (doc.cluster_statuses as J[]).find((c) => c.name === cluster)?.host_statuses ?? [];
}

function stat(h: J, name: string): number {
  const s = (h.stats as J[]).find((x) => x.name === name);
  return Number(s?.value ?? 0);
}

describe.each([1, 2])('--concurrency %i', (concurrency) => {
  let proxy: ProxyProcess;
  let ups: Awaited<ReturnType<typeof echoServer>>[];
  let port: number;

  beforeAll(async () => {
    ups = [await echoServer(), await echoServer()];
    proxy = await startProxy(bootstrap(ups.map((u) => u.port)), ['--concurrency', String(concurrency)]);
    port = (await proxy.listener('tcp')).port;
  });

  afterAll(async () => {
    await proxy?.stop();
    for (const u of ups ?? []) {
      for (const s of u.sockets) s.destroy();
      if (u.server.listening) u.server.close();
    }
  });

  test('/clusters?format=json: both hosts, cx_total/rq_total summed over workers, strict envoy.admin.v3.Clusters', async () => {
    // New hosts start failing active HC until their first check passes (Envoy does the same).
    await until('both hosts healthy', async () => {
      const hs = hostsOf(await clustersJson(proxy), 'up');
      return hs.length === 2 && hs.every((h) => !h.health_status.failed_active_health_check) ? true : undefined;
    });
    for (let i = 0; i < CONNECTIONS; i++) expect(await roundTrip(port, `ping-${i}`)).toBe(`ping-${i}`);

    const doc = await until('connections closed on the upstream side', async () => {
      const d = await clustersJson(proxy);
      return hostsOf(d, 'up').every((h) => stat(h, 'cx_active') === 0 && stat(h, 'rq_active') === 0) ? d : undefined;
    });
    const up = (doc.cluster_statuses as J[]).find((c) => c.name === 'up')!;
    expect(up.added_via_api).toBeUndefined(); // false: a static bootstrap cluster (proto3 JSON omits it)
    expect(up.observability_name).toBe('up');
    expect(up.circuit_breakers.thresholds).toEqual([
      { max_connections: 100, max_pending_requests: 200, max_requests: 300, max_retries: 4 },
      { priority: 'HIGH', max_connections: 1024, max_pending_requests: 1024, max_requests: 1024, max_retries: 3 },
    ]);
    const hosts = hostsOf(doc, 'up');
    expect(hosts.map((h) => h.address.socket_address).sort((a: J, b: J) => a.port_value - b.port_value)).toEqual(
      ups.map((u) => ({ address: '127.0.0.1', port_value: u.port })).sort((a, b) => a.port_value - b.port_value),
    );
    // Every connection went to one host of one worker; the sum is exact.
    expect(hosts.reduce((n, h) => n + stat(h, 'cx_total'), 0)).toBe(CONNECTIONS);
    expect(hosts.reduce((n, h) => n + stat(h, 'rq_total'), 0)).toBe(CONNECTIONS);
    // Round robin per worker: with 12 connections every host of every worker's rotation got some.
    for (const h of hosts) {
      expect(stat(h, 'cx_total')).toBeGreaterThan(0);
      expect(stat(h, 'cx_connect_fail')).toBe(0);
      expect(h.health_status).toEqual({ eds_health_status: 'HEALTHY' });
      expect(h.weight).toBe(1);
      expect(h.stats.map((s: J) => `${s.type ?? 'COUNTER'}:${s.name}`)).toEqual(['COUNTER:cx_connect_fail', 'COUNTER:cx_total', 'COUNTER:rq_error', 'COUNTER:rq_success', 'COUNTER:rq_timeout', 'COUNTER:rq_total', 'GAUGE:cx_active', 'GAUGE:rq_active']);
    }
    // Strict: only envoy.admin.v3.Clusters fields, and it decodes with our proto root.
    const type = lookupType('envoy.admin.v3.Clusters');
    expect(findUnknownFields(type, doc)).toEqual([]);
    expect(() => fromProtoJson(type, doc)).not.toThrow();
  });

  test('/clusters text: Envoy lines per cluster and host', async () => {
    const r = await proxy.get('/clusters');
    expect(r.status).toBe(200);
    const lines = r.body.split('\n');
    expect(lines).toEqual(expect.arrayContaining(['up::default_priority::max_connections::100', 'up::default_priority::max_retries::4', 'up::high_priority::max_requests::1024', 'up::added_via_api::false']));
    let total = 0;
    for (const u of ups) {
      const a = `up::127.0.0.1:${u.port}`;
      const cx = lines.find((l) => l.startsWith(`${a}::cx_total::`));
      expect(cx).toMatch(/::cx_total::\d+$/);
      total += Number(cx!.split('::').pop());
      expect(lines).toEqual(expect.arrayContaining([`${a}::cx_active::0`, `${a}::cx_connect_fail::0`, `${a}::rq_active::0`, `${a}::health_flags::healthy`, `${a}::weight::1`, `${a}::priority::0`, `${a}::hostname::`, `${a}::success_rate::-1`]));
    }
    expect(total).toBe(CONNECTIONS);
    // Host stat lines come sorted by name, as Envoy prints them.
    const first = `up::127.0.0.1:${ups[0]!.port}::`;
    expect(lines.filter((l) => l.startsWith(first)).slice(0, 8).map((l) => l.split('::')[2])).toEqual(['cx_active', 'cx_connect_fail', 'cx_total', 'rq_active', 'rq_error', 'rq_success', 'rq_timeout', 'rq_total']);
  });

  test('/listeners: bound port (json and text), configured address of an unbound listener', async () => {
    const j = await proxy.get('/listeners?format=json');
    expect(j.status).toBe(200);
    const doc = JSON.parse(j.body) as J;
    expect(findUnknownFields(lookupType('envoy.admin.v3.Listeners'), doc)).toEqual([]);
    const byName = new Map((doc.listener_statuses as J[]).map((l) => [l.name, l]));
    expect(byName.get('tcp')?.local_address).toEqual({ socket_address: { address: '127.0.0.1', port_value: port } });
    expect(byName.get('virtual')?.local_address).toEqual({ socket_address: { address: '0.0.0.0', port_value: 15001 } });
    const t = await proxy.get('/listeners');
    expect(t.body.split('\n')).toEqual(expect.arrayContaining([`tcp::127.0.0.1:${port}`, 'virtual::0.0.0.0:15001']));
  });

  test('a killed host shows failed_active_health_check (json) and /failed_active_hc (text)', async () => {
    const dead = ups[1]!;
    for (const s of dead.sockets) s.destroy();
    await new Promise<void>((r) => dead.server.close(() => r()));
    const h = await until('failed active health check on the killed host', async () => {
      const x = hostsOf(await clustersJson(proxy), 'up').find((y) => y.address.socket_address.port_value === dead.port);
      return x?.health_status.failed_active_health_check === true ? x : undefined;
    });
    expect(h.health_status.eds_health_status).toBe('HEALTHY');
    const alive = hostsOf(await clustersJson(proxy), 'up').find((y) => y.address.socket_address.port_value === ups[0]!.port)!;
    expect(alive.health_status.failed_active_health_check).toBeUndefined();
    const text = (await proxy.get('/clusters')).body.split('\n');
    expect(text).toContain(`up::127.0.0.1:${dead.port}::health_flags::/failed_active_hc`);
    expect(text).toContain(`up::127.0.0.1:${ups[0]!.port}::health_flags::healthy`);
  });
});
