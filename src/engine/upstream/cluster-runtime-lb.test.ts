// ClusterRuntime / ClusterManager with configs translated from Envoy JSON:
// - update_merge_window on EDS updates: a burst of weight-only updates is applied once when the
//   window ends; membership changes apply at once (and take the held-back update with them);
//   0 disables merging; the first update after a quiet window applies at once.
// - slow start restarts when a host passes active health checking again (real TCP checks
//   against loopback servers; the LB clock is injected).
// - zone-aware routing through a ClusterManager with a local cluster and the node's locality,
//   with the cluster.<name>.lb_zone_* counters in the stats store.
import * as net from 'node:net';
import pino from 'pino';
import { translateClusterJson } from '../../../test/support/translate-cluster';
import type { ClusterConfig, EndpointSetConfig } from '../../config/model/cluster';
import { StatsStore } from '../../stats/stats-store';
import { ClusterManager } from './cluster-manager';
import { ClusterRuntime, type Host } from './cluster-runtime';

const log = pino({ level: 'silent' });

function cfg(json: object): ClusterConfig {
  const { c, errors } = translateClusterJson(json);
  if (!c) throw new Error(JSON.stringify(errors));
  return c;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(5);
  }
}

const runtimes: ClusterRuntime[] = [];
afterEach(() => {
  for (const r of runtimes.splice(0)) r.destroy();
});

// ---- update_merge_window ----------------------------------------------------------------

function edsCluster(extra: object = {}): ClusterConfig {
  return cfg({ name: 'm', type: 'EDS', connect_timeout: '1s', eds_cluster_config: { eds_config: { ads: {} } }, ...extra });
}

/** A ClusterLoadAssignment of 127.0.0.1 hosts on `ports` with the given weights. */
function assignment(ports: readonly number[], weights: readonly number[] = ports.map(() => 1)): EndpointSetConfig {
  return {
    clusterName: 'm',
    localities: [
      {
        locality: { region: '', zone: '', subZone: '' },
        priority: 0,
        endpoints: ports.map((port, i) => ({ address: { kind: 'socket', protocol: 'TCP', address: '127.0.0.1', port, ipv4Compat: false }, hostname: '', healthStatus: 'UNKNOWN', loadBalancingWeight: weights[i]!, metadata: {} })),
      },
    ],
    overprovisioningFactor: 140,
    dropOverloads: [],
  };
}

/** Records every distinct (hostSetVersion, weight of the first host) the runtime goes through. */
function watchWeights(rt: ClusterRuntime): { seen: number[]; stop(): void } {
  const seen: number[] = [];
  let version = rt.hostSetVersion;
  const t = setInterval(() => {
    if (rt.hostSetVersion !== version) {
      version = rt.hostSetVersion;
      seen.push(rt.allHosts()[0]!.weight);
    }
  }, 2);
  t.unref();
  return { seen, stop: () => clearInterval(t) };
}

describe('update_merge_window', () => {
  it('applies a burst of weight-only updates once, when the window ends', async () => {
    const rt = new ClusterRuntime(edsCluster({ common_lb_config: { update_merge_window: '0.3s' } }), new StatsStore(), log);
    runtimes.push(rt);
    rt.setEndpoints(assignment([1001, 1002])); // first update: at once
    expect(rt.allHosts().map((h) => h.weight)).toEqual([1, 1]);
    const w = watchWeights(rt);
    const t0 = Date.now();
    let elapsed: number;
    try {
      for (const weight of [2, 3, 4, 5]) {
        rt.setEndpoints(assignment([1001, 1002], [weight, 1]));
        await sleep(20);
      }
      expect(rt.allHosts()[0]!.weight).toBe(1); // held back
      await until(() => rt.allHosts()[0]!.weight === 5);
      elapsed = Date.now() - t0;
      await sleep(350);
    } finally {
      w.stop();
    }
    expect(w.seen).toEqual([5]); // one application, with the latest weights; 2..4 never applied
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(1000);
  });

  it('does not delay hosts added or removed, and drops the held-back update they supersede', async () => {
    const rt = new ClusterRuntime(edsCluster({ common_lb_config: { update_merge_window: '0.3s' } }), new StatsStore(), log);
    runtimes.push(rt);
    rt.setEndpoints(assignment([1001, 1002]));
    rt.setEndpoints(assignment([1001, 1002], [7, 1])); // held back
    expect(rt.allHosts()[0]!.weight).toBe(1);
    rt.setEndpoints(assignment([1001, 1002, 1003], [7, 1, 1])); // membership change: at once
    expect(rt.allHosts().map((h) => [h.key, h.weight])).toEqual([['127.0.0.1:1001', 7], ['127.0.0.1:1002', 1], ['127.0.0.1:1003', 1]]);
    const v = rt.hostSetVersion;
    rt.setEndpoints(assignment([1002, 1003])); // removal: at once
    expect(rt.allHosts().map((h) => h.key)).toEqual(['127.0.0.1:1002', '127.0.0.1:1003']);
    expect(rt.hostSetVersion).not.toBe(v);
    const after = rt.hostSetVersion;
    await sleep(400);
    expect(rt.hostSetVersion).toBe(after); // nothing stale applied when the window ends
    // A host moving to another priority is a membership change too.
    const moved = assignment([1002, 1003]);
    rt.setEndpoints({ ...moved, localities: [{ ...moved.localities[0]!, priority: 1 }] });
    expect(rt.allHosts().map((h) => h.priority)).toEqual([1, 1]);
  });

  it('0 disables merging: every weight update applies at once', () => {
    const rt = new ClusterRuntime(edsCluster({ common_lb_config: { update_merge_window: '0s' } }), new StatsStore(), log);
    runtimes.push(rt);
    rt.setEndpoints(assignment([1001, 1002]));
    for (const weight of [2, 3, 4]) {
      rt.setEndpoints(assignment([1001, 1002], [weight, 1]));
      expect(rt.allHosts()[0]!.weight).toBe(weight);
    }
  });

  it('defaults to 1 s; an update after a quiet window applies at once; health-only changes merge too', async () => {
    const def = new ClusterRuntime(edsCluster(), new StatsStore(), log);
    runtimes.push(def);
    def.setEndpoints(assignment([1001, 1002]));
    const drained = assignment([1001, 1002]);
    def.setEndpoints({ ...drained, localities: [{ ...drained.localities[0]!, endpoints: drained.localities[0]!.endpoints.map((e, i) => (i === 0 ? { ...e, healthStatus: 'DRAINING' } : e)) }] });
    await sleep(300);
    expect(def.allHosts()[0]!.health).toBe('healthy'); // still within Envoy's default 1 s window
    await until(() => def.allHosts()[0]!.health === 'excluded', 2000);

    const rt = new ClusterRuntime(edsCluster({ common_lb_config: { update_merge_window: '0.1s' } }), new StatsStore(), log);
    runtimes.push(rt);
    rt.setEndpoints(assignment([1001, 1002]));
    await sleep(150);
    rt.setEndpoints(assignment([1001, 1002], [9, 1]));
    expect(rt.allHosts()[0]!.weight).toBe(9);
  });
});

// ---- slow start after an active health check pass -----------------------------------------

/** A TCP health check target answering "pong" to "ping" while `up`. */
async function pingServer(): Promise<{ port: number; setUp(v: boolean): void; close(): Promise<void> }> {
  let up = true;
  const srv = net.createServer((s) => s.on('data', (d) => (up && d.toString() === 'ping' ? s.write('pong') : s.destroy())));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { port: (srv.address() as net.AddressInfo).port, setUp: (v) => (up = v), close: () => new Promise((r) => srv.close(() => r())) };
}

describe('slow start with active health checking', () => {
  it('a host that fails and passes its health check again ramps up from min_weight_percent (Envoy stamps lastHcPassTime)', async () => {
    const servers = await Promise.all([pingServer(), pingServer(), pingServer(), pingServer()]);
    let now = 5_000_000;
    const c = cfg({
      name: 'ss',
      type: 'STATIC',
      connect_timeout: '1s',
      round_robin_lb_config: { slow_start_config: { slow_start_window: '10s' } },
      common_lb_config: { healthy_panic_threshold: { value: 0 } },
      load_assignment: { cluster_name: 'ss', endpoints: [{ lb_endpoints: servers.map((s) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: s.port } } } })) }] },
      health_checks: [{ timeout: '0.5s', interval: '0.03s', no_traffic_interval: '0.03s', unhealthy_threshold: 1, healthy_threshold: 1, tcp_health_check: { send: { text: '70696e67' }, receive: [{ text: '706f6e67' }] } }],
    });
    const rt = new ClusterRuntime(c, new StatsStore(), log, { clock: () => now });
    runtimes.push(rt);
    try {
      const hosts = rt.allHosts();
      await until(() => hosts.every((h) => h.health === 'healthy'));
      expect(hosts.map((h) => h.lastHcPassTimeMs)).toEqual([now, now, now, now]);
      now += 60_000; // everyone's window is over
      const share = (h: Host, n: number) => {
        let hit = 0;
        for (let i = 0; i < n; i++) if (rt.chooseHost() === h) hit++;
        return hit / n;
      };
      const flapping = hosts[3]!;
      expect(share(flapping, 4000)).toBeCloseTo(0.25, 1);
      servers[3]!.setUp(false);
      await until(() => flapping.health === 'unhealthy');
      now += 30_000;
      servers[3]!.setUp(true);
      await until(() => flapping.health === 'healthy');
      expect(flapping.lastHcPassTimeMs).toBe(now);
      // At the start of its new window: weight 1 x 10% against three hosts at 1.
      expect(share(flapping, 3100)).toBeCloseTo(0.1 / 3.1, 2);
      now += 5_000; // half way: 0.5 / 3.5
      expect(share(flapping, 3500)).toBeCloseTo(0.5 / 3.5, 1);
    } finally {
      for (const s of servers) await s.close();
    }
  });
});

// ---- zone-aware routing through the cluster manager ----------------------------------------

function zonedCluster(name: string, zones: Record<string, number>, base: number): object {
  let port = base;
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: {
      cluster_name: name,
      endpoints: Object.entries(zones).map(([zone, n]) => ({ locality: { region: 'r', zone }, lb_endpoints: Array.from({ length: n }, () => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port++ } } } })) })),
    },
  };
}

describe('zone-aware routing with a local cluster', () => {
  it('routes by the local and upstream spreads and counts lb_zone_* per cluster', () => {
    const stats = new StatsStore();
    // Local service: 2 of 4 instances in our zone a (50%); upstream: 2 of 8 in a (25%).
    const configs = [cfg(zonedCluster('self', { a: 2, b: 1, c: 1 }, 2000)), cfg(zonedCluster('up', { a: 2, b: 3, c: 3 }, 3000)), cfg({ ...zonedCluster('plain', { a: 2, b: 3, c: 3 }, 4000) })];
    const cm = new ClusterManager(configs, new Map(), undefined, stats, log, new Map(), { clusterName: 'self', locality: { region: 'r', zone: 'a', subZone: '' } });
    const noLocal = new ClusterManager([cfg(zonedCluster('up', { a: 2, b: 3, c: 3 }, 3000))], new Map(), undefined, new StatsStore(), log);
    try {
      const zoneOf = (h: Host | undefined) => (h ? h.localityKey.split('/')[1]! : 'none');
      const tally = (rt: ClusterRuntime, n: number) => {
        const c: Record<string, number> = {};
        for (let i = 0; i < n; i++) {
          const z = zoneOf(rt.chooseHost());
          c[z] = (c[z] ?? 0) + 1;
        }
        return c;
      };
      const n = 20000;
      const got = tally(cm.get('up')!, n);
      // Envoy: local% a = 5000, upstream% a = 2500 -> 2500 * 10000 / 5000 = 50% stays in a; the
      // rest by residual capacity b: 3750 - 2500, c: 3750 - 2500 -> 25% each.
      expect(got.a! / n).toBeCloseTo(0.5, 1);
      expect(got.b! / n).toBeCloseTo(0.25, 1);
      expect(got.c! / n).toBeCloseTo(0.25, 1);
      expect(stats.counter('cluster.up.lb_zone_routing_sampled').value + stats.counter('cluster.up.lb_zone_routing_cross_zone').value).toBe(n);
      expect(stats.counter('cluster.up.lb_zone_routing_sampled').value / n).toBeCloseTo(0.5, 1);
      expect(stats.counter('cluster.up.lb_zone_routing_all_directly').value).toBe(0);
      // Without a local cluster: plain round robin (2/8 in a).
      const plain = tally(noLocal.get('up')!, 8000);
      expect(plain.a).toBe(2000);
      // The local cluster in a new manager generation (config push) is still found.
      const next = new ClusterManager(configs, new Map(), cm, stats, log, new Map(), { clusterName: 'self', locality: { region: 'r', zone: 'a', subZone: '' } });
      const again = tally(next.get('up')!, n);
      expect(again.a! / n).toBeCloseTo(0.5, 1);
      next.destroy();
    } finally {
      cm.destroy();
      noLocal.destroy();
    }
  });
});
