// Issue #3's "under load" proof, process level: the built proxy on a sidecar-shaped bootstrap
// (LDS/CDS over SotW ADS on the xds-grpc Unix pipe, served by the fake ADS server) carries a
// bounded keep-alive HTTP load through an HCM+RDS listener and a Connection: close HTTP load
// through a tcp_proxy listener, both to an EDS cluster of two loopback upstreams. While the
// load runs: a new CDS/EDS/RDS version every 100 ms (alternating endpoint sets that always
// contain a live host, a changing route response header), one LDS update that changes only the
// listeners' filter chains, one that changes the listeners themselves (same addresses), and a
// control-plane disconnect followed by the proxy's reconnect. Asserts zero failed requests,
// every pushed version ACKed, and the last config live; logs request counts and p99 latency.
import { closeServers } from '../support/wait';
import * as http from 'node:http';
import * as net from 'node:net';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL } from '../../src/xds/type-urls';
import { FakeAdsServer } from '../support/fake-ads-server';
import { freePort, getFinal as get, loadBootstrap, until, XdsLoadScenario } from '../support/xds-load-config';
import { startProxy, type ProxyProcess } from '../support/proxy-process';

// ---- load ----

interface LoadResult {
  ok: number;
  failures: string[];
  /** [start ms, latency ms] per successful request. */
  samples: [number, number][];
}

/**
 * `conns` concurrent client loops until `stopAt`: keep-alive (one Agent socket per loop) or a
 * fresh connection per request (Connection: close). A failure is any error, a non-200 status
 * or a body that is not one of the live upstreams' names.
 */
function runLoad(port: number, conns: number, keepAlive: boolean, live: ReadonlySet<string>, stopAt: () => boolean, maxRequests: number, t0: number): Promise<LoadResult> {
  const result: LoadResult = { ok: 0, failures: [], samples: [] };
  const agent = new http.Agent({ keepAlive, maxSockets: conns });
  let issued = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const start = performance.now();
      const req = http.request({ host: '127.0.0.1', port, path: '/load', agent, headers: keepAlive ? {} : { connection: 'close' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => {
          if (res.statusCode === 200 && live.has(body)) {
            result.ok++;
            result.samples.push([Date.now(), performance.now() - start]);
          } else result.failures.push(`${res.statusCode} ${body.slice(0, 80)} at +${Date.now() - t0} ms`);
          resolve();
        });
        res.on('error', (e) => {
          result.failures.push(`response error ${e.message}`);
          resolve();
        });
      });
      req.setTimeout(5000, () => req.destroy(new Error('request timeout')));
      req.on('error', (e) => {
        result.failures.push(`request error ${e.message} at +${Date.now() - t0} ms`);
        resolve();
      });
      req.end();
    });
  const loop = async () => {
    while (!stopAt() && issued < maxRequests) {
      issued++;
      await one();
    }
  };
  return Promise.all(Array.from({ length: conns }, loop)).then(() => {
    agent.destroy();
    return result;
  });
}

function p99(samples: readonly [number, number][], from: number, to: number): number {
  const l = samples.filter(([t]) => t >= from && t <= to).map(([, ms]) => ms).sort((a, b) => a - b);
  return l.length === 0 ? NaN : l[Math.min(l.length - 1, Math.floor(l.length * 0.99))]!;
}

// ---- the test ----

describe('xDS pushes under load (process)', () => {
  let ads: FakeAdsServer;
  let proxy: ProxyProcess | undefined;
  const upstreams: http.Server[] = [];

  afterAll(async () => {
    await proxy?.stop();
    await ads?.stop();
    await closeServers(upstreams);
  });

  it('serves every request through CDS/EDS/RDS pushes every 100 ms, two LDS updates and an ADS reconnect', async () => {
    const names = ['upstream-a', 'upstream-b'];
    const ports: number[] = [];
    for (const n of names) {
      const s = http.createServer((_req, res) => res.end(n));
      s.keepAliveTimeout = 30_000;
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      upstreams.push(s);
      ports.push((s.address() as net.AddressInfo).port);
    }
    const upPorts = ports as unknown as [number, number];
    const live = new Set(names);
    const httpPort = await freePort();
    const tcpPort = await freePort();

    ads = await FakeAdsServer.start();
    const scenario = new XdsLoadScenario(ads, httpPort, tcpPort, upPorts);
    proxy = await startProxy(loadBootstrap(ads), ['--drain-time-s', '1']);
    const p = proxy;
    await scenario.ready(p);
    const { acked, allAcked } = scenario;

    // Load: 6 keep-alive HTTP loops, 3 connection-per-request loops through tcp_proxy.
    let stop = false;
    const loadStart = Date.now();
    const events = scenario.events;
    const httpLoad = runLoad(httpPort, 6, true, live, () => stop, 40_000, loadStart);
    const tcpLoad = runLoad(tcpPort, 3, false, live, () => stop, 10_000, loadStart);

    try {
      await scenario.run(loadStart, 800);
    } finally {
      stop = true;
    }
    const pushEnd = Date.now();
    const [h, t] = await Promise.all([httpLoad, tcpLoad]);

    await until(allAcked, 'every pushed version ACKed');
    const last = scenario.version;
    // The last version of each type reached the proxy on the current stream and was ACKed.
    const current = Math.max(...ads.openStreamIds);
    for (const typeUrl of [CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, ROUTE_TYPE_URL]) {
      expect(ads.responses.some((s) => s.streamId === current && s.typeUrl === typeUrl && s.version === last && acked(s))).toBe(true);
    }
    expect(ads.responses.some((s) => s.streamId === current && s.typeUrl === LISTENER_TYPE_URL && s.version === 'l2' && acked(s))).toBe(true);
    expect(ads.requests.some((r) => r.request.errorDetail && r.request.errorDetail.message)).toBe(false);

    const final = await get(httpPort);
    expect(final.status).toBe(200);
    expect(final.headers['x-route-version']).toBe(last);
    expect(live.has(final.body)).toBe(true);

    // New connections reached the updated listeners and filter chains.
    const stats = (await p.get('/stats')).body;
    const counter = (name: string) => Number(new RegExp(`^${name.replace(/\./g, '\\.')}: (\\d+)$`, 'm').exec(stats)?.[1] ?? 0);
    expect(counter('listener.load_http_l2.downstream_cx_total')).toBeGreaterThan(0);
    expect(counter('listener.load_tcp_l2.downstream_cx_total')).toBeGreaterThan(0);
    expect(counter('http.load_http_v1.downstream_rq_total')).toBeGreaterThan(0);
    expect(counter('tcp.load_tcp_v1.downstream_cx_total')).toBeGreaterThan(0);

    const report = {
      pushes: scenario.tick,
      events,
      seconds: (pushEnd - loadStart) / 1000,
      http: { ok: h.ok, failed: h.failures.length, p99Ms: Number(p99(h.samples, loadStart, pushEnd).toFixed(1)) },
      tcp: { ok: t.ok, failed: t.failures.length, p99Ms: Number(p99(t.samples, loadStart, pushEnd).toFixed(1)) },
    };
    process.stdout.write(`xds-under-load: ${JSON.stringify(report)}\n`);
    // Failures carry their time since the load started, to line up with the events.
    expect({ events, http: h.failures.slice(0, 10), tcp: t.failures.slice(0, 10) }).toEqual({ events, http: [], tcp: [] });
    expect(h.ok).toBeGreaterThan(100);
    expect(t.ok).toBeGreaterThan(20);
  }, 60_000);
});
