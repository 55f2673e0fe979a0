// Pick distributions of ROUND_ROBIN, LEAST_REQUEST and RANDOM (tolerances in the test names),
// EDF scheduler behaviour, and locality-weighted selection inside a priority.
import { createLoadBalancer } from './create-load-balancer';
import { EdfScheduler } from './edf-scheduler';
import type { HostHealth, LbHost, LbOptions, LoadBalancer } from './lb-types';
import { buildPrioritySet } from './priority-set';
import { SeededRandomGenerator } from './random-generator';

class TestHost implements LbHost {
  activeRequests = 0;
  constructor(
    readonly addressKey: string,
    readonly weight = 1,
    readonly health: HostHealth = 'healthy',
    readonly localityKey = '',
    readonly localityWeight = 0,
    readonly priority = 0,
    readonly hostname = '',
  ) {}
}

const hostsWithWeights = (...w: number[]) => w.map((x, i) => new TestHost(`10.0.0.${i}:80`, x));

function lbFor(options: LbOptions, hosts: LbHost[], seed = 1): LoadBalancer {
  return createLoadBalancer(options, buildPrioritySet(hosts), new SeededRandomGenerator(seed));
}

function shares(lb: LoadBalancer, hosts: LbHost[], picks: number): number[] {
  const counts = new Map<LbHost, number>();
  for (let i = 0; i < picks; i++) {
    const h = lb.chooseHost(null)!;
    counts.set(h, (counts.get(h) ?? 0) + 1);
  }
  return hosts.map((h) => (counts.get(h) ?? 0) / picks);
}

describe('EDF scheduler', () => {
  // Envoy: "very similar" state, near-ties may order differently (the 1e-13 weight epsilon),
  // so compare how often each entry is served next, not the exact order.
  test('createWithPicks(P) continues where P picks from an empty scheduler would (per-entry counts ±1 over 200 picks)', () => {
    const weights = [25, 75, 10, 33];
    const fresh = EdfScheduler.createWithPicks([0, 1, 2, 3], (i) => weights[i]!, 0);
    for (let i = 0; i < 23; i++) fresh.pickAndAdd();
    const jumped = EdfScheduler.createWithPicks([0, 1, 2, 3], (i) => weights[i]!, 23);
    const a = [0, 0, 0, 0], b = [0, 0, 0, 0];
    for (let i = 0; i < 200; i++) {
      a[fresh.pickAndAdd()!]!++;
      b[jumped.pickAndAdd()!]!++;
    }
    for (let i = 0; i < 4; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(1);
  });

  test('weights 1:2:3 are served exactly 1000/2000/3000 times in 6000 picks (±1)', () => {
    const s = EdfScheduler.createWithPicks(['a', 'b', 'c'], (e) => ({ a: 1, b: 2, c: 3 })[e]!, 12345);
    const c: Record<string, number> = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 6000; i++) c[s.pickAndAdd()!]!++;
    expect(Math.abs(c.a! - 1000)).toBeLessThanOrEqual(1);
    expect(Math.abs(c.b! - 2000)).toBeLessThanOrEqual(1);
    expect(Math.abs(c.c! - 3000)).toBeLessThanOrEqual(1);
  });
});

describe('ROUND_ROBIN', () => {
  test('equal weights: strict rotation from a random start (every host exactly once per cycle)', () => {
    const hosts = hostsWithWeights(1, 1, 1, 1, 1);
    const lb = lbFor({ policy: 'ROUND_ROBIN' }, hosts, 7);
    const first = hosts.indexOf(lb.chooseHost(null)!);
    for (let i = 1; i < 50; i++) expect(lb.chooseHost(null)).toBe(hosts[(first + i) % 5]);
    // Another seed starts elsewhere (Envoy seeds the cursor randomly per LB).
    const starts = new Set([1, 2, 3, 4, 5, 6].map((s) => lbFor({ policy: 'ROUND_ROBIN' }, hosts, s).chooseHost(null)));
    expect(starts.size).toBeGreaterThan(1);
  });

  test('weights 1:2:3:4 honoured within 0.1 point over 100k picks (EDF)', () => {
    const hosts = hostsWithWeights(1, 2, 3, 4);
    const s = shares(lbFor({ policy: 'ROUND_ROBIN' }, hosts), hosts, 100_000);
    [0.1, 0.2, 0.3, 0.4].forEach((x, i) => expect(Math.abs(s[i]! - x)).toBeLessThan(0.001));
  });

  test('EDF interleaves smoothly: weight 1 vs 4 never gives the light host two picks in a row', () => {
    const hosts = hostsWithWeights(1, 4);
    const lb = lbFor({ policy: 'ROUND_ROBIN' }, hosts);
    let prev: LbHost | null = null;
    for (let i = 0; i < 1000; i++) {
      const h = lb.chooseHost(null);
      if (h === hosts[0]) expect(prev).not.toBe(hosts[0]);
      prev = h;
    }
  });

  test('refresh keeps the rotation cursor (Envoy keeps rr indexes per host source)', () => {
    const hosts = hostsWithWeights(1, 1, 1);
    const lb = lbFor({ policy: 'ROUND_ROBIN' }, hosts);
    const a = lb.chooseHost(null)!;
    lb.refresh(buildPrioritySet(hosts));
    expect(lb.chooseHost(null)).toBe(hosts[(hosts.indexOf(a) + 1) % 3]);
  });
});

describe('LEAST_REQUEST', () => {
  test('P2C: a host with more active requests is picked only when both samples hit it (1/9 of 3 hosts, ±1 point)', () => {
    const hosts = hostsWithWeights(1, 1, 1);
    hosts[0]!.activeRequests = 10;
    const s = shares(lbFor({ policy: 'LEAST_REQUEST' }, hosts), hosts, 90_000);
    expect(Math.abs(s[0]! - 1 / 9)).toBeLessThan(0.01);
    expect(Math.abs(s[1]! - 4 / 9)).toBeLessThan(0.01);
  });

  test('active requests are read live at pick time: the idle host wins after load shifts', () => {
    const hosts = hostsWithWeights(1, 1);
    const lb = lbFor({ policy: 'LEAST_REQUEST', choiceCount: 4 }, hosts);
    hosts[0]!.activeRequests = 5;
    const s1 = shares(lb, hosts, 10_000);
    hosts[0]!.activeRequests = 0;
    hosts[1]!.activeRequests = 5;
    const s2 = shares(lb, hosts, 10_000);
    expect(s1[1]!).toBeGreaterThan(0.9); // 1 - (1/2)^4
    expect(s2[0]!).toBeGreaterThan(0.9);
  });

  test('FULL_SCAN always picks the least loaded host and spreads ties evenly (±2 points)', () => {
    const hosts = hostsWithWeights(1, 1, 1, 1);
    hosts[0]!.activeRequests = 3;
    hosts[1]!.activeRequests = 1;
    hosts[2]!.activeRequests = 1;
    hosts[3]!.activeRequests = 2;
    const s = shares(lbFor({ policy: 'LEAST_REQUEST', leastRequestSelection: 'FULL_SCAN' }, hosts), hosts, 20_000);
    expect(s[0]).toBe(0);
    expect(s[3]).toBe(0);
    expect(Math.abs(s[1]! - 0.5)).toBeLessThan(0.02);
  });

  test('unequal weights with no load follow weights 1:3 within 0.5 point (EDF)', () => {
    const hosts = hostsWithWeights(1, 3);
    const s = shares(lbFor({ policy: 'LEAST_REQUEST' }, hosts), hosts, 40_000);
    expect(Math.abs(s[0]! - 0.25)).toBeLessThan(0.005);
  });

  test('unequal weights: weight / (active + 1) — heavy host (w3) with 2 active behaves like w1 (50/50 ±1 point)', () => {
    const hosts = hostsWithWeights(1, 3);
    hosts[1]!.activeRequests = 2;
    const s = shares(lbFor({ policy: 'LEAST_REQUEST' }, hosts), hosts, 40_000);
    expect(Math.abs(s[0]! - 0.5)).toBeLessThan(0.01);
  });

  test('active_request_bias 0 turns weighted least request into weighted round robin (1:3 ±0.5 point)', () => {
    const hosts = hostsWithWeights(1, 3);
    hosts[1]!.activeRequests = 100;
    const s = shares(lbFor({ policy: 'LEAST_REQUEST', activeRequestBias: 0 }, hosts), hosts, 40_000);
    expect(Math.abs(s[0]! - 0.25)).toBeLessThan(0.005);
  });
});

describe('RANDOM', () => {
  test('uniform over 5 hosts within 1 point over 100k picks, weights ignored (as Envoy)', () => {
    const hosts = hostsWithWeights(1, 1, 5, 1, 1);
    const s = shares(lbFor({ policy: 'RANDOM' }, hosts), hosts, 100_000);
    for (const x of s) expect(Math.abs(x - 0.2)).toBeLessThan(0.01);
  });
});

describe('locality weighted LB', () => {
  const loc = (key: string, lw: number, n: number, healthy = n): TestHost[] =>
    Array.from({ length: n }, (_, i) => new TestHost(`${key}-${i}:80`, 1, i < healthy ? 'healthy' : 'unhealthy', key, lw));

  test.each(['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'MAGLEV'] as const)(
    '%s: localities weighted 1:3 get 25/75 of picks within 2 points',
    (policy) => {
      const a = loc('zone-a', 1, 4);
      const b = loc('zone-b', 3, 2);
      const hosts = [...a, ...b];
      const s = shares(lbFor({ policy, localityWeightedLb: true }, hosts), hosts, 40_000);
      const sa = s.slice(0, 4).reduce((x, y) => x + y, 0);
      expect(Math.abs(sa - 0.25)).toBeLessThan(0.02);
    },
  );

  test('effective locality weight = weight x min(1, 1.4 x healthy ratio): half-healthy zone-b (w1) vs zone-a (w1) -> 1 : 0.7 (±1 point)', () => {
    const a = loc('zone-a', 1, 4);
    const b = loc('zone-b', 1, 4, 2);
    const hosts = [...a, ...b];
    const s = shares(lbFor({ policy: 'ROUND_ROBIN', localityWeightedLb: true }, hosts), hosts, 34_000);
    const sb = s.slice(4).reduce((x, y) => x + y, 0);
    expect(Math.abs(sb - 0.7 / 1.7)).toBeLessThan(0.01);
    expect(s[6]! + s[7]!).toBe(0); // unhealthy hosts of zone-b are never picked
  });

  test('a locality with weight 0 gets nothing', () => {
    const hosts = [...loc('zone-a', 0, 2), ...loc('zone-b', 5, 2)];
    const s = shares(lbFor({ policy: 'ROUND_ROBIN', localityWeightedLb: true }, hosts), hosts, 1000);
    expect(s[0]! + s[1]!).toBe(0);
  });
});
