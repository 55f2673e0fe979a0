// Timers of the HTTP data path (HCM connections and streams, router attempts). Two kinds:
//
// - timer(fn, ms): an unreferenced one-shot node timer, for the rare ones (retry backoff).
// - CoarseTimer: one shared tick drives every idle/request/route timeout on the worker instead of
//   a setTimeout per stream (STYLE.md 3.6; undici util/timers.js does the same). Arming is a
//   deadline store plus, at most, a push onto an array; disarming is an O(1) swap-remove;
//   re-arming an armed timer (idle refresh on every read) only moves its deadline. A timer never
//   fires early and at most TICK_MS late. Deadlines further than SLOW_MS away sit on a slow list
//   that is looked at once per SLOW_MS, so thousands of idle keep-alive connections cost nothing
//   per tick; each list's interval runs only while the list is non-empty (an idle worker with no
//   armed timer wakes up for none of them). Nothing here keeps a worker alive (unref).
export function timer(fn: () => void, ms: number): NodeJS.Timeout {
  const t = setTimeout(fn, ms);
  t.unref();
  return t;
}

/** Who a CoarseTimer calls back, with the timer's `kind` (so one owner can hold several). */
export interface CoarseTimerTarget {
  onCoarseTimer(kind: number): void;
}

const TICK_MS = 10;
const SLOW_MS = 1000;

const NONE = 0;
const FAST = 1;
const SLOW = 2;
/** Collected by a tick, callback not yet run (a disarm before then cancels it, as clearTimeout). */
const DUE = 3;

export class CoarseTimer {
  /** Deadline on performance.now()'s clock; 0 = disarmed. */
  at = 0;
  /** Which list holds the timer and where. */
  list = NONE;
  idx = -1;

  constructor(
    readonly target: CoarseTimerTarget,
    readonly kind: number,
  ) {}

  get armed(): boolean {
    return this.at !== 0;
  }

  /** (Re)arms the timer to fire `ms` from now. */
  arm(ms: number): void {
    const now = performance.now();
    this.at = now + ms;
    if (ms <= SLOW_MS) {
      if (this.list === FAST) return;
      if (this.list === SLOW) removeFrom(slow, this);
      else if (this.list === DUE) this.list = NONE;
      addTo(fast, FAST, this);
      if (fastInterval === null) startFast();
    } else if (this.list === NONE || this.list === DUE) {
      addTo(slow, SLOW, this);
      if (slowInterval === null) startSlow();
    }
    // A far deadline while on the fast list: the fast tick moves it back to the slow one.
  }

  disarm(): void {
    this.at = 0;
    if (this.list === FAST) removeFrom(fast, this);
    else if (this.list === SLOW) removeFrom(slow, this);
    else this.list = NONE;
  }
}

const fast: CoarseTimer[] = [];
const slow: CoarseTimer[] = [];
let fastInterval: NodeJS.Timeout | null = null;
let slowInterval: NodeJS.Timeout | null = null;

function addTo(list: CoarseTimer[], which: number, t: CoarseTimer): void {
  t.list = which;
  t.idx = list.length;
  list.push(t);
}

function removeFrom(list: CoarseTimer[], t: CoarseTimer): void {
  const last = list.pop()!;
  if (last !== t) {
    list[t.idx] = last;
    last.idx = t.idx;
  }
  t.list = NONE;
  t.idx = -1;
}

function startFast(): void {
  fastInterval = setInterval(fastTick, TICK_MS);
  fastInterval.unref();
}

function startSlow(): void {
  slowInterval = setInterval(slowTick, SLOW_MS);
  slowInterval.unref();
}

/** Timers due now, collected first: a callback may arm or disarm others while we walk. */
const due: CoarseTimer[] = [];

function fastTick(): void {
  const now = performance.now();
  for (let i = fast.length - 1; i >= 0; i--) {
    if (i >= fast.length) continue;
    const t = fast[i]!;
    if (t.at <= now) {
      removeFrom(fast, t);
      t.list = DUE;
      due.push(t);
    } else if (t.at - now > 2 * SLOW_MS) {
      removeFrom(fast, t);
      addTo(slow, SLOW, t);
      if (slowInterval === null) startSlow();
    }
  }
  fire();
  if (fast.length === 0 && fastInterval !== null) {
    clearInterval(fastInterval);
    fastInterval = null;
  }
}

function slowTick(): void {
  const now = performance.now();
  for (let i = slow.length - 1; i >= 0; i--) {
    if (i >= slow.length) continue;
    const t = slow[i]!;
    if (t.at - now <= 2 * SLOW_MS) {
      removeFrom(slow, t);
      addTo(fast, FAST, t);
    }
  }
  if (fast.length > 0 && fastInterval === null) startFast();
  if (slow.length === 0 && slowInterval !== null) {
    clearInterval(slowInterval);
    slowInterval = null;
  }
}

function fire(): void {
  for (let i = 0; i < due.length; i++) {
    const t = due[i]!;
    if (t.list !== DUE) continue; // disarmed or re-armed by an earlier callback
    t.list = NONE;
    t.at = 0;
    t.target.onCoarseTimer(t.kind);
  }
  due.length = 0;
}
