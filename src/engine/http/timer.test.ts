// Unit tests of the HTTP data path's shared coarse tick (timer.ts): never early, at most a tick
// or so late, disarm and re-arm semantics, cancellation by an earlier callback of the same tick,
// and deadlines that start on the slow list.
import { CoarseTimer, type CoarseTimerTarget } from './timer';

class Rec implements CoarseTimerTarget {
  fired: { kind: number; at: number }[] = [];
  onCoarseTimer(kind: number): void {
    this.fired.push({ kind, at: performance.now() });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('fires once, not before its deadline', async () => {
  const r = new Rec();
  const t = new CoarseTimer(r, 7);
  const t0 = performance.now();
  t.arm(30);
  expect(t.armed).toBe(true);
  await sleep(120);
  expect(r.fired).toHaveLength(1);
  expect(r.fired[0]!.kind).toBe(7);
  expect(r.fired[0]!.at - t0).toBeGreaterThanOrEqual(30);
  expect(t.armed).toBe(false);
});

test('disarm cancels; re-arming moves the deadline', async () => {
  const r = new Rec();
  const a = new CoarseTimer(r, 1);
  const b = new CoarseTimer(r, 2);
  a.arm(20);
  b.arm(20);
  a.disarm();
  const t0 = performance.now();
  b.arm(80);
  await sleep(50);
  expect(r.fired).toHaveLength(0);
  await sleep(100);
  expect(r.fired.map((f) => f.kind)).toEqual([2]);
  expect(r.fired[0]!.at - t0).toBeGreaterThanOrEqual(80);
});

test('a callback that disarms another due timer cancels it (as clearTimeout would)', async () => {
  const log: string[] = [];
  const b = new CoarseTimer({ onCoarseTimer: () => log.push('b') }, 0);
  const a = new CoarseTimer({ onCoarseTimer: () => (log.push('a'), b.disarm()) }, 0);
  b.arm(10);
  a.arm(10);
  await sleep(60);
  // Whichever ran first, the other must not run after being disarmed by it.
  expect(log.length).toBeGreaterThanOrEqual(1);
  if (log[0] === 'a') expect(log).toEqual(['a']);
  else expect(log).toEqual(['b', 'a']);
});

test('a far deadline (slow list) still fires, and can be pulled in by a shorter re-arm', async () => {
  const r = new Rec();
  const far = new CoarseTimer(r, 1);
  const pulled = new CoarseTimer(r, 2);
  const t0 = performance.now();
  far.arm(1100);
  pulled.arm(60_000);
  pulled.arm(20);
  await sleep(100);
  expect(r.fired.map((f) => f.kind)).toEqual([2]);
  await sleep(1400);
  expect(r.fired.map((f) => f.kind)).toEqual([2, 1]);
  expect(r.fired[1]!.at - t0).toBeGreaterThanOrEqual(1100);
});
