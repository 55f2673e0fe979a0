// Priority load, panic and degraded-load arithmetic against Envoy's formulas
// (load_balancer_impl.cc recalculatePerPriorityState / recalculatePerPriorityPanic), plus the
// failover behaviour seen through a real load balancer.
import { createLoadBalancer } from './create-load-balancer';
import type { HostHealth, LbHost } from './lb-types';
import { choosePriority, computePriorityLoad } from './priority-load';
import { buildPrioritySet } from './priority-set';
import { SeededRandomGenerator } from './random-generator';

class TestHost implements LbHost {
  activeRequests = 0;
  constructor(
    readonly addressKey: string,
    readonly priority = 0,
    readonly health: HostHealth = 'healthy',
    readonly weight = 1,
    readonly localityKey = '',
    readonly localityWeight = 0,
    readonly hostname = '',
  ) {}
}

let port = 1000;
/** `n` hosts at priority p: the first `healthy` healthy, then `degraded` degraded, then `rest`. */
function level(p: number, n: number, healthy: number, degraded = 0, rest: HostHealth = 'unhealthy'): TestHost[] {
  const out: TestHost[] = [];
  for (let i = 0; i < n; i++) {
    const health: HostHealth = i < healthy ? 'healthy' : i < healthy + degraded ? 'degraded' : rest;
    out.push(new TestHost(`10.0.${p}.${i}:${port++}`, p, health));
  }
  return out;
}

const loads = (hosts: TestHost[], panic = 50, factor?: number) => {
  const l = computePriorityLoad(buildPrioritySet(hosts, factor === undefined ? {} : { overprovisioningFactor: factor }), panic);
  return { healthy: [...l.healthyLoad], degraded: [...l.degradedLoad], panic: [...l.panic] };
};

describe('priority load (Envoy overprovisioning formula)', () => {
  test('P0 with 50% healthy gets min(100, 50*1.4) = 70%, P1 the remaining 30%', () => {
    expect(loads([...level(0, 10, 5), ...level(1, 10, 10)])).toEqual({ healthy: [70, 30], degraded: [0, 0], panic: [0, 0] });
  });

  test('P0 with 80% healthy keeps 100% (80*1.4 capped at 100)', () => {
    expect(loads([...level(0, 10, 8), ...level(1, 10, 10)]).healthy).toEqual([100, 0]);
  });

  test('P0 30% and P1 100% healthy: 42/58, no panic because total availability is 100', () => {
    expect(loads([...level(0, 10, 3), ...level(1, 10, 10)])).toEqual({ healthy: [42, 58], degraded: [0, 0], panic: [0, 0] });
  });

  test("Envoy's worked example: health 10/20/10, degraded 20/10/0 -> healthy 16/28/14, degraded 28/14/0", () => {
    const hosts = [...level(0, 10, 1, 2), ...level(1, 10, 2, 1), ...level(2, 10, 1, 0)];
    expect(loads(hosts, 0, 100)).toEqual({ healthy: [16, 28, 14], degraded: [28, 14, 0], panic: [0, 0, 0] });
  });

  test('excluded hosts do not count in the health percentage', () => {
    expect(loads([...level(0, 10, 5, 0, 'excluded'), ...level(1, 4, 4)]).healthy).toEqual([100, 0]);
  });

  test('both priorities below the panic threshold -> total panic, load by host count', () => {
    expect(loads([...level(0, 10, 3), ...level(1, 30, 6)])).toEqual({ healthy: [25, 75], degraded: [0, 0], panic: [1, 1] });
  });

  test('panic threshold 0 and no healthy host: P0 takes 100% and nothing is in panic', () => {
    expect(loads([...level(0, 4, 0), ...level(1, 4, 0)], 0)).toEqual({ healthy: [100, 0], degraded: [0, 0], panic: [0, 0] });
  });

  test('weighted_priority_health uses weights instead of counts', () => {
    const p0 = [new TestHost('a:1', 0, 'healthy', 1), new TestHost('b:1', 0, 'unhealthy', 3)];
    const p1 = [new TestHost('c:1', 1, 'healthy', 1)];
    const l = computePriorityLoad(buildPrioritySet([...p0, ...p1], { weightedPriorityHealth: true }), 50);
    expect([...l.health]).toEqual([35, 100]); // 140 * 1/4
    expect([...l.healthyLoad]).toEqual([35, 65]);
  });

  test('choosePriority walks healthy loads then degraded loads', () => {
    const l = computePriorityLoad(buildPrioritySet([...level(0, 10, 5, 5)]), 50);
    expect([...l.healthyLoad, ...l.degradedLoad]).toEqual([70, 30]);
    expect(choosePriority(l, 1)).toBe(0);
    expect(choosePriority(l, 70)).toBe(0);
    expect(choosePriority(l, 71)).toBe(1); // P0, degraded
    expect(choosePriority(l, 100)).toBe(1);
  });
});

describe('failover through the load balancers', () => {
  test.each(['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'MAGLEV'] as const)(
    '%s splits 70/30 between P0 (50%% healthy) and P1 within 2 points over 50k picks',
    (policy) => {
      const hosts = [...level(0, 10, 5), ...level(1, 10, 10)];
      const lb = createLoadBalancer({ policy }, buildPrioritySet(hosts), new SeededRandomGenerator(11));
      let p0 = 0;
      let unhealthy = 0;
      const N = 50_000;
      for (let i = 0; i < N; i++) {
        const h = lb.chooseHost(null)!;
        if (h.health !== 'healthy') unhealthy++;
        if (h.priority === 0) p0++;
      }
      expect(unhealthy).toBe(0);
      expect(Math.abs(p0 / N - 0.7)).toBeLessThan(0.02);
      expect(lb.stats.lbHealthyPanic).toBe(0);
    },
  );

  test('panic mode (P0 only, 40% healthy < 50%) routes to all hosts and counts lb_healthy_panic', () => {
    const hosts = level(0, 10, 4);
    const lb = createLoadBalancer({ policy: 'ROUND_ROBIN' }, buildPrioritySet(hosts), new SeededRandomGenerator(3));
    const seen = new Set<LbHost>();
    for (let i = 0; i < 100; i++) seen.add(lb.chooseHost(null)!);
    expect(seen.size).toBe(10); // unhealthy hosts included
    expect(lb.stats.lbHealthyPanic).toBe(100);
  });

  test('panic threshold 0 disables panic: only the healthy hosts are used', () => {
    const hosts = level(0, 10, 4);
    const lb = createLoadBalancer({ policy: 'RANDOM', healthyPanicThresholdPct: 0 }, buildPrioritySet(hosts), new SeededRandomGenerator(3));
    for (let i = 0; i < 200; i++) expect(lb.chooseHost(null)!.health).toBe('healthy');
    expect(lb.stats.lbHealthyPanic).toBe(0);
  });

  test('no host at all -> null, for every policy', () => {
    for (const policy of ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'MAGLEV'] as const) {
      const lb = createLoadBalancer({ policy }, buildPrioritySet([]));
      expect(lb.chooseHost(null)).toBeNull();
    }
  });

  test('degraded hosts take the load healthy hosts cannot: 5 healthy + 5 degraded -> 30% to degraded (±2 points)', () => {
    const lb = createLoadBalancer({ policy: 'ROUND_ROBIN' }, buildPrioritySet(level(0, 10, 5, 5)), new SeededRandomGenerator(5));
    let degraded = 0;
    const N = 50_000;
    for (let i = 0; i < N; i++) if (lb.chooseHost(null)!.health === 'degraded') degraded++;
    expect(Math.abs(degraded / N - 0.3)).toBeLessThan(0.02);
  });
});
