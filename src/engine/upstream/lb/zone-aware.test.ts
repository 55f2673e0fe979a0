// Zone-aware routing (Envoy ZoneAwareLoadBalancerBase) over real picks: the share of picks per
// upstream zone matches what Envoy's formula gives for the local cluster's and the upstream's
// spread over zones (computed below from the host counts, in Envoy's 1/10000 units), for equal
// and unequal spreads, for ROUND_ROBIN, LEAST_REQUEST and RANDOM; and the cases where Envoy does
// not route by zone (cluster too small, local cluster not in our zone, routing_enabled, local
// cluster in panic, fail_traffic_on_panic), with Envoy's lb_zone_* counters.
import { createLoadBalancer } from './create-load-balancer';
import { newZoneRoutingStats, PlainCounter, type HostHealth, type LbHost, type LbPolicyKind, type LocalPrioritySource, type ZoneAwareOptions, type ZoneRoutingStats } from './lb-types';
import { buildPrioritySet, type HostSet } from './priority-set';
import { SeededRandomGenerator } from './random-generator';

const OWN = 'r/a/';
type Spread = Record<string, number>;

let seq = 0;
function hosts(spread: Spread, health: HostHealth = 'healthy'): LbHost[] {
  const out: LbHost[] = [];
  for (const [zone, n] of Object.entries(spread)) {
    for (let i = 0; i < n; i++) {
      seq++;
      out.push({ addressKey: `10.${seq >> 8}.${seq & 255}.1:80`, hostname: '', weight: 1, health, priority: 0, localityKey: `r/${zone}/`, localityWeight: 1, activeRequests: 0 });
    }
  }
  return out;
}

class Local implements LocalPrioritySource {
  version = 1;
  private set: HostSet | undefined;
  constructor(list: LbHost[]) {
    this.replace(list);
  }
  replace(list: LbHost[]): void {
    this.set = buildPrioritySet(list, { localLocalityKey: OWN }).hostSets[0];
    this.version++;
  }
  localHostSet(): HostSet | undefined {
    return this.set;
  }
}

/**
 * Envoy's expected share per upstream zone for healthy spreads `local` and `up` (our zone "a"):
 * LocalityDirect when upstream%[a] > 0 and >= local%[a]; otherwise upstream%[a]*10000/local%[a]
 * of picks stay in "a" and the rest spread over the other zones by residual capacity.
 */
function envoyShares(local: Spread, up: Spread): Spread {
  const total = (s: Spread) => Object.values(s).reduce((a, b) => a + b, 0);
  const lt = total(local);
  const ut = total(up);
  const lp = (z: string) => Math.floor((10000 * (local[z] ?? 0)) / lt);
  const upct = (z: string) => Math.floor((10000 * (up[z] ?? 0)) / ut);
  const zones = Object.keys(up);
  const own = (up.a ?? 0) > 0;
  if (own && upct('a') >= lp('a')) return { a: 1 };
  const stay = own && lp('a') > 0 ? Math.floor((upct('a') * 10000) / lp('a')) / 10000 : 0;
  const residual: Spread = {};
  let sum = 0;
  for (const z of zones) {
    if (z === 'a') continue;
    residual[z] = Math.max(0, upct(z) - lp(z));
    sum += residual[z]!;
  }
  const out: Spread = { a: stay };
  for (const z of zones) if (z !== 'a') out[z] = ((1 - stay) * residual[z]!) / sum;
  return out;
}

function shares(pick: () => LbHost | null, n: number): Spread {
  const c: Spread = {};
  for (let i = 0; i < n; i++) {
    const h = pick();
    const z = h ? h.localityKey.split('/')[1]! : 'none';
    c[z] = (c[z] ?? 0) + 1;
  }
  for (const k of Object.keys(c)) c[k] = c[k]! / n;
  return c;
}

function expectShares(got: Spread, want: Spread, tol = 0.02): void {
  for (const z of new Set([...Object.keys(got), ...Object.keys(want)])) {
    const g = got[z] ?? 0;
    const w = want[z] ?? 0;
    if (Math.abs(g - w) > tol) throw new Error(`zone ${z}: got ${g.toFixed(3)}, want ${w.toFixed(3)} (got ${JSON.stringify(got)}, want ${JSON.stringify(want)})`);
  }
}

function lbFor(policy: LbPolicyKind, up: LbHost[], local: LocalPrioritySource, zoneStats: ZoneRoutingStats, zoneAware?: ZoneAwareOptions, seed = 5) {
  return createLoadBalancer({ policy, ...(zoneAware ? { zoneAware } : {}) }, buildPrioritySet(up, { localLocalityKey: OWN }), new SeededRandomGenerator(seed), { local, zoneStats });
}

const count = (c: unknown) => (c as PlainCounter).value;
const N = 20000;

describe('zone-aware routing distribution (Envoy formula)', () => {
  const cases: [string, Spread, Spread][] = [
    ['equal spreads: all traffic stays in our zone', { a: 2, b: 2, c: 2 }, { a: 3, b: 3, c: 3 }],
    ['our zone has less upstream capacity: half local, rest by residual capacity', { a: 2, b: 1, c: 1 }, { a: 2, b: 3, c: 3 }],
    ['skewed spreads: residual split 834 : 3334', { a: 4, b: 1, c: 1 }, { a: 2, b: 2, c: 4 }],
    ['no upstream hosts in our zone: only zones with residual capacity', { a: 1, b: 1 }, { b: 3, c: 3 }],
  ];
  for (const policy of ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM'] as const) {
    for (const [name, local, up] of cases) {
      it(`${policy}: ${name}`, () => {
        const stats = newZoneRoutingStats();
        const lb = lbFor(policy, hosts(up), new Local(hosts(local)), stats);
        const want = envoyShares(local, up);
        expectShares(shares(() => lb.chooseHost(null), N), want);
        if (want.a === 1) {
          expect(count(stats.allDirectly)).toBe(N);
        } else {
          expect(count(stats.allDirectly)).toBe(0);
          expect(count(stats.sampled) / N).toBeCloseTo(want.a!, 1);
          expect(count(stats.sampled) + count(stats.crossZone)).toBe(N);
        }
      });
    }
  }

  it('follows changes of the local cluster (structures regenerated on its new version)', () => {
    const stats = newZoneRoutingStats();
    const up = { a: 2, b: 3, c: 3 };
    const local = new Local(hosts({ a: 1, b: 1, c: 1 }));
    const lb = lbFor('ROUND_ROBIN', hosts(up), local, stats);
    expectShares(shares(() => lb.chooseHost(null), N), envoyShares({ a: 1, b: 1, c: 1 }, up));
    local.replace(hosts({ a: 2, b: 1, c: 1 }));
    expectShares(shares(() => lb.chooseHost(null), N), envoyShares({ a: 2, b: 1, c: 1 }, up));
    expect(count(stats.recalculateZoneStructures)).toBe(2);
  });
});

describe('when Envoy does not route by zone', () => {
  const plain = (up: Spread): Spread => {
    const t = Object.values(up).reduce((a, b) => a + b, 0);
    return Object.fromEntries(Object.entries(up).map(([z, n]) => [z, n / t]));
  };

  it('upstream smaller than min_cluster_size (default 6): plain round robin, lb_zone_cluster_too_small', () => {
    const stats = newZoneRoutingStats();
    const up = { a: 1, b: 2, c: 2 };
    const lb = lbFor('ROUND_ROBIN', hosts(up), new Local(hosts({ a: 5, b: 1 })), stats);
    expectShares(shares(() => lb.chooseHost(null), N), plain(up));
    expect(count(stats.clusterTooSmall)).toBe(1);
    // min_cluster_size 5 lets the same cluster be routed by zone.
    const lb2 = lbFor('ROUND_ROBIN', hosts(up), new Local(hosts({ a: 5, b: 1 })), newZoneRoutingStats(), { routingEnabledPct: 100, minClusterSize: 5, failTrafficOnPanic: false, forceLocalityDirectRouting: false });
    expectShares(shares(() => lb2.chooseHost(null), N), envoyShares({ a: 5, b: 1 }, up));
  });

  it('local cluster has no host in our zone: lb_local_cluster_not_ok', () => {
    const stats = newZoneRoutingStats();
    const up = { a: 2, b: 2, c: 2 };
    const lb = lbFor('ROUND_ROBIN', hosts(up), new Local(hosts({ b: 1, c: 1 })), stats);
    expectShares(shares(() => lb.chooseHost(null), N), plain(up));
    expect(count(stats.localClusterNotOk)).toBe(1);
  });

  it('routing_enabled 50%: half the picks are zone routed', () => {
    const up = { a: 2, b: 2, c: 2 };
    const lb = lbFor('ROUND_ROBIN', hosts(up), new Local(hosts({ a: 1, b: 1, c: 1 })), newZoneRoutingStats(), { routingEnabledPct: 50, minClusterSize: 6, failTrafficOnPanic: false, forceLocalityDirectRouting: false });
    // Direct routing for 50%, plain round robin (a third each) for the rest.
    expectShares(shares(() => lb.chooseHost(null), N), { a: 0.5 + 0.5 / 3, b: 0.5 / 3, c: 0.5 / 3 });
  });

  it('local cluster in panic: not routed by zone (lb_local_cluster_not_ok per pick), or no host with fail_traffic_on_panic', () => {
    const up = { a: 2, b: 2, c: 2 };
    const localList = [...hosts({ a: 1 }), ...hosts({ b: 4 }, 'unhealthy')]; // 20% healthy < 50%
    const stats = newZoneRoutingStats();
    const lb = lbFor('ROUND_ROBIN', hosts(up), new Local(localList), stats);
    expectShares(shares(() => lb.chooseHost(null), 3000), plain(up));
    expect(count(stats.localClusterNotOk)).toBe(3000);
    const failing = lbFor('ROUND_ROBIN', hosts(up), new Local(localList), newZoneRoutingStats(), { routingEnabledPct: 100, minClusterSize: 6, failTrafficOnPanic: true, forceLocalityDirectRouting: false });
    expect(failing.chooseHost(null)).toBeNull();
  });

  it('fail_traffic_on_panic: an upstream priority in panic yields no host instead of all hosts', () => {
    const up = [...hosts({ a: 1 }), ...hosts({ b: 5 }, 'unhealthy')];
    const zoneAware = { routingEnabledPct: 100, minClusterSize: 6, failTrafficOnPanic: true, forceLocalityDirectRouting: false };
    const lb = createLoadBalancer({ policy: 'ROUND_ROBIN', zoneAware }, buildPrioritySet(up), new SeededRandomGenerator(1));
    expect(lb.chooseHost(null)).toBeNull();
    const lb2 = createLoadBalancer({ policy: 'ROUND_ROBIN' }, buildPrioritySet(up), new SeededRandomGenerator(1));
    expect(lb2.chooseHost(null)).not.toBeNull();
  });

  it('without a local cluster the LB is not zone aware', () => {
    const up = { a: 2, b: 2, c: 2 };
    const lb = createLoadBalancer({ policy: 'ROUND_ROBIN' }, buildPrioritySet(hosts(up), { localLocalityKey: OWN }), new SeededRandomGenerator(1));
    expectShares(shares(() => lb.chooseHost(null), 6000), plain(up));
  });
});
