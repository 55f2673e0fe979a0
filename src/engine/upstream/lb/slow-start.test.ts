// Slow start (Envoy EdfLoadBalancerBase slow_start_config) over real picks with an injected
// monotonic clock: a host joining a round-robin cluster ramps from min_weight_percent to its full
// share over the window, following max((t / window) ^ (1 / aggression), min_weight) per Envoy's
// applySlowStartFactor; hosts that turn healthy through active HC start their window then; the
// expected shares are computed here from that formula.
import { createLoadBalancer } from './create-load-balancer';
import type { HostHealth, LbHost, LbOptions, LoadBalancer, SlowStartOptions } from './lb-types';
import { buildPrioritySet } from './priority-set';
import { SeededRandomGenerator } from './random-generator';
import { SlowStart } from './slow-start';

interface TestHost extends LbHost {
  health: HostHealth;
  weight: number;
  activeRequests: number;
}

function host(key: string, extra: Partial<TestHost> = {}): TestHost {
  return { addressKey: key, hostname: '', weight: 1, health: 'healthy', priority: 0, localityKey: '', localityWeight: 0, activeRequests: 0, ...extra };
}

class Clock {
  now = 1_000_000;
  readonly fn = () => this.now;
}

/** Envoy's slow start weight multiplier for a host `t` ms into a `window` ms window. */
function envoyFactor(t: number, o: SlowStartOptions): number {
  if (t >= o.windowMs) return 1;
  const tf = Math.max(1, Math.floor(t)) / o.windowMs;
  const a = o.aggression;
  return Math.max(a === 1 ? tf : Math.pow(tf, 1 / a), o.minWeightPercent / 100);
}

/**
 * `picks` picks spread evenly from the clock's current time over `spanMs`: the new host's share,
 * and the share Envoy's formula gives (mean of w / (w + others) over the same instants).
 */
function measure(lb: LoadBalancer, clock: Clock, fresh: LbHost, joinedAt: number, others: number, o: SlowStartOptions, picks: number, spanMs: number): { got: number; want: number } {
  let hit = 0;
  let want = 0;
  const step = spanMs / picks;
  for (let i = 0; i < picks; i++) {
    const w = envoyFactor(clock.now - joinedAt, o);
    want += w / (w + others);
    if (lb.chooseHost(null) === fresh) hit++;
    clock.now += step;
  }
  return { got: hit / picks, want: want / picks };
}

const SS: SlowStartOptions = { windowMs: 10_000, aggression: 1, minWeightPercent: 10 };

function rrWith(slowStart: SlowStartOptions | undefined, hosts: LbHost[], clock: Clock, policy: LbOptions['policy'] = 'ROUND_ROBIN'): LoadBalancer {
  return createLoadBalancer({ policy, ...(slowStart ? { slowStart } : {}) }, buildPrioritySet(hosts), new SeededRandomGenerator(7), { clock: clock.fn });
}

describe('slow start weight (applySlowStartFactor)', () => {
  it('ramps linearly at aggression 1, as a root at higher aggression, floored at min_weight_percent', () => {
    const clock = new Clock();
    const h = host('10.0.0.1:80', { lastHcPassTimeMs: clock.now });
    const lin = new SlowStart(SS, clock.fn);
    const agg = new SlowStart({ ...SS, aggression: 2 }, clock.fn);
    const floor = new SlowStart({ ...SS, minWeightPercent: 30 }, clock.fn);
    clock.now += 500; // 5% of the window: below the 10% floor
    expect(lin.scale(10, h)).toBeCloseTo(1.0, 9);
    expect(agg.scale(10, h)).toBeCloseTo(10 * Math.sqrt(0.05), 9);
    expect(floor.scale(10, h)).toBeCloseTo(3.0, 9);
    clock.now += 4500; // half the window
    expect(lin.scale(10, h)).toBeCloseTo(5.0, 9);
    expect(agg.scale(10, h)).toBeCloseTo(10 * Math.sqrt(0.5), 9);
    clock.now += 5000; // window over: full weight
    expect(lin.scale(10, h)).toBe(10);
    // Only healthy hosts are scaled (Envoy checks coarseHealth() == Healthy).
    expect(lin.scale(10, host('10.0.0.2:80', { health: 'degraded', lastHcPassTimeMs: clock.now - 1 }))).toBe(10);
  });
});

describe('a host joining a round-robin cluster with slow_start_config', () => {
  it('gets a reduced share that ramps up over the window, as Envoy computes it', () => {
    const clock = new Clock();
    const old = [host('10.0.0.1:80'), host('10.0.0.2:80'), host('10.0.0.3:80')];
    const lb = rrWith(SS, old, clock);
    clock.now += 60_000; // the original hosts' own windows are long over
    const fresh = host('10.0.0.4:80');
    lb.refresh(buildPrioritySet([...old, fresh]));
    const joinedAt = clock.now;
    const shares: number[] = [];
    for (let sec = 0; sec < 10; sec++) {
      const { got, want } = measure(lb, clock, fresh, joinedAt, 3, SS, 2000, 1000);
      expect(Math.abs(got - want)).toBeLessThan(0.03);
      shares.push(got);
    }
    // First second: ~0.1 / 3.1 of the picks; a steady host gets 1/4.
    expect(shares[0]!).toBeLessThan(0.06);
    for (let i = 1; i < shares.length; i++) expect(shares[i]!).toBeGreaterThan(shares[i - 1]! - 0.01);
    expect(shares[9]!).toBeGreaterThan(0.2);
    // After the window: plain round robin, exactly one pick in four.
    const after = measure(lb, clock, fresh, joinedAt, 3, SS, 4000, 1000);
    expect(after.got).toBeCloseTo(0.25, 2);
  });

  it('ramps faster with a higher aggression and never drops below min_weight_percent', () => {
    const run = (o: SlowStartOptions) => {
      const clock = new Clock();
      const old = [host('10.0.0.1:80'), host('10.0.0.2:80'), host('10.0.0.3:80')];
      const lb = rrWith(o, old, clock);
      clock.now += 60_000;
      const fresh = host('10.0.0.4:80');
      lb.refresh(buildPrioritySet([...old, fresh]));
      return measure(lb, clock, fresh, clock.now, 3, o, 3000, 2000); // first 20% of the window
    };
    const linear = run(SS);
    const aggressive = run({ ...SS, aggression: 4 });
    const floored = run({ ...SS, minWeightPercent: 50 });
    for (const r of [linear, aggressive, floored]) expect(Math.abs(r.got - r.want)).toBeLessThan(0.03);
    expect(aggressive.got).toBeGreaterThan(linear.got + 0.08);
    expect(floored.got).toBeGreaterThan(linear.got + 0.05);
  });

  it('is off without slow_start_config (the new host gets its full share at once)', () => {
    const clock = new Clock();
    const old = [host('10.0.0.1:80'), host('10.0.0.2:80'), host('10.0.0.3:80')];
    const lb = rrWith(undefined, old, clock);
    clock.now += 60_000;
    const fresh = host('10.0.0.4:80');
    lb.refresh(buildPrioritySet([...old, fresh]));
    let hit = 0;
    for (let i = 0; i < 400; i++) if (lb.chooseHost(null) === fresh) hit++;
    expect(hit).toBe(100);
  });

  it('applies to LEAST_REQUEST too (weight / (active + 1) then the slow start factor)', () => {
    const clock = new Clock();
    const old = [host('10.0.0.1:80'), host('10.0.0.2:80'), host('10.0.0.3:80')];
    const lb = rrWith(SS, old, clock, 'LEAST_REQUEST');
    clock.now += 60_000;
    const fresh = host('10.0.0.4:80');
    lb.refresh(buildPrioritySet([...old, fresh]));
    const early = measure(lb, clock, fresh, clock.now, 3, SS, 2000, 1000);
    expect(Math.abs(early.got - early.want)).toBeLessThan(0.03);
    expect(early.got).toBeLessThan(0.06);
  });

  it('starts the window when a host passes its first active health check, not when it joined', () => {
    const clock = new Clock();
    const old = [host('10.0.0.1:80'), host('10.0.0.2:80'), host('10.0.0.3:80')];
    const lb = rrWith(SS, old, clock);
    clock.now += 60_000;
    // Joins failing active HC (Envoy: FAILED_ACTIVE_HC): unhealthy, no window yet.
    const fresh = host('10.0.0.4:80', { health: 'unhealthy' });
    lb.refresh(buildPrioritySet([...old, fresh]));
    expect(fresh.lastHcPassTimeMs).toBeUndefined();
    clock.now += 30_000; // longer than the window
    // The health checker stamps the passing check, then the cluster rebuilds the LB.
    fresh.lastHcPassTimeMs = clock.now;
    fresh.health = 'healthy';
    lb.refresh(buildPrioritySet([...old, fresh]));
    const early = measure(lb, clock, fresh, clock.now, 3, SS, 2000, 1000);
    expect(Math.abs(early.got - early.want)).toBeLessThan(0.03);
    expect(early.got).toBeLessThan(0.06);
  });
});
