// Listener lifecycle on a worker (in-process WorkerEngine, real sockets): a removed listener
// stops accepting at once, its open connections keep working for the drain time and are then
// closed; an unchanged listener survives a new snapshot untouched (same socket, connections
// intact); a changed listener is replaced and the old one drains.
import * as net from 'node:net';
import pino from 'pino';
import type { ConfigSnapshot } from '../../src/config/model/snapshot';
import type { ListenerConfig } from '../../src/config/model/listener';
import type { ClusterConfig } from '../../src/config/model/cluster';
import { StatsStore } from '../../src/stats/stats-store';
import { WorkerEngine } from '../../src/worker/worker-engine';

const log = pino({ level: 'silent' });

function listener(name: string, port: number, statPrefix = 'drain'): ListenerConfig {
  return {
    name,
    address: { kind: 'socket', protocol: 'TCP', address: '127.0.0.1', port, ipv4Compat: false },
    additionalAddresses: [],
    statPrefix: `127.0.0.1_${port}`,
    bindToPort: true,
    useOriginalDst: false,
    transparent: false,
    freebind: false,
    trafficDirection: 'INBOUND',
    listenerFilters: [],
    listenerFiltersTimeoutMs: 15000,
    continueOnListenerFiltersTimeout: false,
    filterChains: [
      {
        name: 'tcp',
        match: { prefixRanges: [], directSourcePrefixRanges: [], sourceType: 'ANY', sourcePrefixRanges: [], sourcePorts: [], serverNames: [], transportProtocol: '', applicationProtocols: [] },
        filters: [{ name: 'envoy.filters.network.tcp_proxy', typeUrl: 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', config: { statPrefix, route: { kind: 'cluster', cluster: 'echo' }, idleTimeoutMs: 0, maxConnectAttempts: 1, accessLogs: [] } }],
      },
    ],
    perConnectionBufferLimitBytes: 1 << 20,
    drainType: 'DEFAULT',
    ignoreGlobalConnLimit: false,
  };
}

function cluster(port: number): ClusterConfig {
  return {
    name: 'echo',
    statName: 'echo',
    type: 'STATIC',
    lbPolicy: 'ROUND_ROBIN',
    connectTimeoutMs: 1000,
    perConnectionBufferLimitBytes: 1 << 20,
    loadAssignment: { clusterName: 'echo', localities: [{ locality: { region: '', zone: '', subZone: '' }, priority: 0, endpoints: [{ address: { kind: 'socket', protocol: 'TCP', address: '127.0.0.1', port, ipv4Compat: false }, hostname: '', healthStatus: 'UNKNOWN', loadBalancingWeight: 1, metadata: {} }] }], overprovisioningFactor: 140, dropOverloads: [] },
    dnsLookupFamily: 'AUTO',
    dnsRefreshRateMs: 5000,
    respectDnsTtl: false,
    circuitBreakers: [],
    metadata: {},
    upstreamHttpProtocol: 'HTTP1',
    cleanupIntervalMs: 5000,
  } as ClusterConfig;
}

const snap = (generation: number, listeners: ListenerConfig[], echoPort: number): ConfigSnapshot => ({ generation, listeners, routeConfigs: [], clusters: [cluster(echoPort)], endpoints: {}, secrets: [], versions: {} });

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return p;
}

/** A client connection through the proxy that can do request/response round trips. */
async function client(port: number, localAddress?: string): Promise<{ sock: net.Socket; ask(s: string): Promise<string>; closed: Promise<number> }> {
  const sock = net.connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) });
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', () => resolve());
    sock.once('error', reject);
  });
  const t0 = Date.now();
  const closed = new Promise<number>((r) => sock.once('close', () => r(Date.now() - t0)));
  sock.on('error', () => {});
  return {
    sock,
    closed,
    ask: (s) =>
      new Promise((resolve) => {
        sock.once('data', (d) => resolve(d.toString()));
        sock.write(s);
      }),
  };
}

describe('listener drain and in-place updates on a worker', () => {
  let echo: net.Server;
  let echoPort: number;
  beforeAll(async () => {
    echo = net.createServer((s) => {
      s.on('data', (d) => s.write(d));
      s.on('error', () => {});
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    echoPort = (echo.address() as net.AddressInfo).port;
  });
  afterAll(() => new Promise((r) => echo.close(r)));

  it('removed listener: refuses new connections at once, keeps existing ones for the drain time, then closes them', async () => {
    const engine = new WorkerEngine(new StatsStore(), log, 600, () => null);
    const port = await freePort();
    await engine.apply(snap(1, [listener('l1', port)], echoPort));
    const c = await client(port);
    expect(await c.ask('ping')).toBe('ping');
    const removedAt = Date.now();
    await engine.apply(snap(2, [], echoPort));
    // New connections are refused immediately.
    await expect(client(port)).rejects.toThrow(/ECONNREFUSED/);
    // The existing connection still works inside the drain window...
    expect(await c.ask('still here')).toBe('still here');
    // ...and is closed when it ends.
    await c.closed;
    const drained = Date.now() - removedAt;
    expect(drained).toBeGreaterThanOrEqual(550);
    expect(drained).toBeLessThan(3000);
    engine.close();
  });

  it('unchanged listener survives a new snapshot with its connections; a changed one is replaced and drained', async () => {
    const engine = new WorkerEngine(new StatsStore(), log, 400, () => null);
    const port = await freePort();
    await engine.apply(snap(1, [listener('l1', port)], echoPort));
    const c = await client(port);
    await engine.apply(snap(2, [listener('l1', port)], echoPort)); // identical config
    expect(await c.ask('same')).toBe('same');
    // The connection must not be closed by the identical update.
    const early = await Promise.race([c.closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('open'), 700))]);
    expect(early).toBe('open');
    // A changed listener (new stat prefix) is replaced: new connections go to the new one while
    // the old connection drains.
    await engine.apply(snap(3, [listener('l1', port, 'drain2')], echoPort));
    const c2 = await client(port);
    expect(await c2.ask('new')).toBe('new');
    await c.closed;
    expect(await c2.ask('new still')).toBe('new still');
    c2.sock.destroy();
    engine.close();
  });

  it('filter-chain-only update is done in place: unchanged chains keep their connections, changed ones drain', async () => {
    const engine = new WorkerEngine(new StatsStore(), log, 500, () => null);
    const port = await freePort();
    const base = listener('l1', port);
    const chain = (name: string, src: string, statPrefix: string) => ({
      ...base.filterChains[0]!,
      name,
      match: { ...base.filterChains[0]!.match, sourcePrefixRanges: [{ addressPrefix: src, prefixLen: 32 }] },
      filters: [{ ...base.filterChains[0]!.filters[0]!, config: { ...(base.filterChains[0]!.filters[0]!.config as object), statPrefix } }],
    });
    const v1: ListenerConfig = { ...base, filterChains: [chain('x', '127.0.0.1', 'x'), chain('y', '127.0.0.2', 'y1')] };
    const v2: ListenerConfig = { ...base, filterChains: [chain('x', '127.0.0.1', 'x'), chain('y', '127.0.0.2', 'y2')] };
    await engine.apply(snap(1, [v1], echoPort));
    const cx = await client(port, '127.0.0.1');
    const cy = await client(port, '127.0.0.2');
    expect(await cx.ask('x')).toBe('x');
    expect(await cy.ask('y')).toBe('y');
    const t0 = Date.now();
    await engine.apply(snap(2, [v2], echoPort));
    // The listener socket stayed: new connections on both chains work at once.
    const cy2 = await client(port, '127.0.0.2');
    expect(await cy2.ask('y2')).toBe('y2');
    // The changed chain's old connection is closed after the drain time...
    await cy.closed;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
    // ...while the unchanged chain's connection lives on.
    expect(await cx.ask('still x')).toBe('still x');
    const late = await Promise.race([cx.closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('open'), 300))]);
    expect(late).toBe('open');
    cx.sock.destroy();
    cy2.sock.destroy();
    engine.close();
  });
});
