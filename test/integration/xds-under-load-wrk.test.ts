// Issue #3's "under load" proof with wrk as the load generator: the built proxy on a
// sidecar-shaped bootstrap (LDS/CDS over SotW ADS on the xds-grpc pipe) carries a bounded wrk
// run (1 thread, 8 keep-alive connections, 6 s, no Lua) through its HCM+RDS listener to an EDS
// cluster of two loopback upstreams, while the fake control plane pushes CDS/EDS/RDS every
// 100 ms, changes the listeners' filter chains, then the listeners themselves, and drops the ADS
// stream (the proxy reconnects). Asserts wrk saw no non-2xx/3xx responses and no socket errors
// (connect, read, write, timeout), every version was ACKed, and the whole scenario happened while
// wrk ran. Needs wrk (Debian package wrk, installed by scripts/system-deps.sh as root); skipped
// with that reason when it is missing.
import { closeServers } from '../support/wait';
import { spawn, spawnSync } from 'node:child_process';
import * as http from 'node:http';
import type * as net from 'node:net';
import { FakeAdsServer } from '../support/fake-ads-server';
import { startProxy, type ProxyProcess } from '../support/proxy-process';
import { freePort, getFinal, loadBootstrap, until, XdsLoadScenario } from '../support/xds-load-config';

const hasWrk = spawnSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' }).status === 0;
if (!hasWrk) console.warn('wrk not installed (Debian package wrk; scripts/system-deps.sh installs it when run as root): skipping the wrk xDS-under-load test');
const maybe = hasWrk ? it : it.skip;

const WRK_SECONDS = 6;

interface WrkResult {
  requests: number;
  non2xx3xx: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
  output: string;
}

/** wrk's summary: wrk prints the socket-error and non-2xx/3xx lines only when they are not zero. */
function parseWrk(output: string): WrkResult {
  const requests = /(\d+) requests in [\d.]+\w+/.exec(output);
  if (!requests) throw new Error(`unexpected wrk output:\n${output}`);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const non = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  return {
    requests: Number(requests[1]),
    non2xx3xx: non ? Number(non[1]) : 0,
    socketErrors: sock ? { connect: Number(sock[1]), read: Number(sock[2]), write: Number(sock[3]), timeout: Number(sock[4]) } : { connect: 0, read: 0, write: 0, timeout: 0 },
    output,
  };
}

function runWrk(url: string): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const p = spawn('wrk', ['-t1', '-c8', `-d${WRK_SECONDS}s`, '--timeout', '3s', url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    // Bounded: wrk stops itself after -d; kill it if it does not.
    const guard = setTimeout(() => p.kill('SIGKILL'), (WRK_SECONDS + 10) * 1000);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(guard);
      if (code !== 0) reject(new Error(`wrk exited with ${code}:\n${out}`));
      else resolve(parseWrk(out));
    });
  });
}

describe('xDS pushes under a wrk load (process)', () => {
  let ads: FakeAdsServer | undefined;
  let proxy: ProxyProcess | undefined;
  const upstreams: http.Server[] = [];

  afterAll(async () => {
    await proxy?.stop();
    await ads?.stop();
    await closeServers(upstreams);
  });

  maybe('wrk sees no failed request through pushes every 100 ms, two LDS updates and an ADS reconnect', async () => {
    const names = ['upstream-a', 'upstream-b'];
    const ports: number[] = [];
    const served = new Map<string, number>();
    for (const n of names) {
      const s = http.createServer((_req, res) => {
        served.set(n, (served.get(n) ?? 0) + 1);
        res.end(n);
      });
      s.keepAliveTimeout = 30_000;
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      upstreams.push(s);
      ports.push((s.address() as net.AddressInfo).port);
    }
    const httpPort = await freePort();
    const tcpPort = await freePort();
    ads = await FakeAdsServer.start();
    const scenario = new XdsLoadScenario(ads, httpPort, tcpPort, ports as unknown as [number, number]);
    proxy = await startProxy(loadBootstrap(ads), ['--drain-time-s', '1']);
    await scenario.ready(proxy);

    const loadStart = Date.now();
    const wrk = runWrk(`http://127.0.0.1:${httpPort}/load`);
    await scenario.run(loadStart, 700);
    const scenarioMs = Date.now() - loadStart;
    const result = await wrk;
    const wrkMs = Date.now() - loadStart;
    process.stdout.write(`xds-under-load-wrk: ${JSON.stringify({ pushes: scenario.tick, events: scenario.events, scenarioMs, requests: result.requests, non2xx3xx: result.non2xx3xx, socketErrors: result.socketErrors, served: Object.fromEntries(served) })}\n`);

    // The whole scenario, reconnect included, ran while wrk was loading the proxy.
    expect(scenarioMs).toBeLessThan(WRK_SECONDS * 1000);
    expect(wrkMs).toBeGreaterThanOrEqual(WRK_SECONDS * 1000);
    expect({ events: scenario.events, non2xx3xx: result.non2xx3xx, socketErrors: result.socketErrors }).toEqual({
      events: scenario.events,
      non2xx3xx: 0,
      socketErrors: { connect: 0, read: 0, write: 0, timeout: 0 },
    });
    expect(result.requests).toBeGreaterThan(1000);
    // Both upstreams took load (the endpoint sets alternate), and every version was ACKed.
    expect(served.get('upstream-a')).toBeGreaterThan(0);
    expect(served.get('upstream-b')).toBeGreaterThan(0);
    await until(scenario.allAcked, 'every pushed version ACKed');
    expect(ads.requests.some((r) => r.request.errorDetail && r.request.errorDetail.message)).toBe(false);
    const final = await getFinal(httpPort);
    expect(final.status).toBe(200);
    expect(final.headers['x-route-version']).toBe(scenario.version);
    // wrk's connections crossed the listener update: the new listener's stats counted them.
    const stats = (await proxy.get('/stats')).body;
    expect(Number(/^listener\.load_http_l2\.downstream_cx_total: (\d+)$/m.exec(stats)?.[1] ?? 0)).toBeGreaterThan(0);
  }, 60_000);
});
