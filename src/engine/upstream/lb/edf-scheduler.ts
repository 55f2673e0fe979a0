// Earliest-deadline-first scheduler (Envoy source/common/upstream/edf_scheduler.h), used for
// weighted round robin, weighted least request and locality picking inside a priority.
// Each entry is due at (time of its last pick + 1 / weight); a pick takes the entry with the
// earliest deadline (ties: the one queued first) and re-queues it with its weight read again,
// so weights that change between picks (least request's active-request scaling) take effect
// on that entry's next turn. Built at refresh time; pickAndAdd() allocates nothing.
//
// Heap layout: three parallel typed arrays indexed by heap slot, min-ordered by
// (deadline, order):
//   deadline[s]  Float64  absolute virtual time the entry is next due
//   order[s]     Float64  insertion counter (integer), FIFO tie-break
//   entry[s]     Int32    index into `entries`
// Envoy pops and re-pushes; replacing the root and sifting down yields the same pick sequence
// because (deadline, order) is a total order.

export type EdfWeightFn<T> = (entry: T) => number;

export class EdfScheduler<T> {
  private readonly deadline: Float64Array;
  private readonly order: Float64Array;
  private readonly entry: Int32Array;
  private size = 0;
  private currentTime = 0;
  private orderOffset = 0;

  private constructor(
    readonly entries: readonly T[],
    private readonly weightOf: EdfWeightFn<T>,
  ) {
    const n = entries.length;
    this.deadline = new Float64Array(n);
    this.order = new Float64Array(n);
    this.entry = new Int32Array(n);
  }

  /**
   * Envoy's EdfScheduler::createWithPicks: a scheduler whose state is (nearly) that of adding
   * `entries` in order to an empty scheduler and making `picks` picks. Envoy seeds this with a
   * random number so that every worker (and every proxy) starts at a different point of the
   * weighted rotation. Weights must be > 0.
   */
  static createWithPicks<T>(entries: readonly T[], weightOf: EdfWeightFn<T>, picks: number): EdfScheduler<T> {
    const s = new EdfScheduler(entries, weightOf);
    const n = entries.length;
    if (n === 0) return s;
    picks = (picks >>> 0) % 429496729; // Envoy: % (UINT32_MAX / 10)
    // Envoy adds 1e-13 to every weight here so that weights that are multiples of each other
    // do not land on equal deadlines through rounding (envoy PR 31592).
    let weightsSum = 0;
    for (let i = 0; i < n; i++) weightsSum += weightOf(entries[i]!) + 1e-13;
    let picksSoFar = 0;
    let maxPickTime = 0;
    for (let i = 0; i < n; i++) {
      const weight = weightOf(entries[i]!) + 1e-13;
      let floorPicks = Math.trunc((weight * picks) / weightsSum) >>> 0;
      if (floorPicks > 0 && floorPicks / weight >= picks / weightsSum) floorPicks--;
      const pickTime = floorPicks / weight;
      s.deadline[i] = (floorPicks + 1) / weight;
      s.order[i] = i;
      s.entry[i] = i;
      if (pickTime > maxPickTime) maxPickTime = pickTime;
      picksSoFar += floorPicks;
    }
    s.size = n;
    s.currentTime = maxPickTime;
    s.orderOffset = n;
    for (let i = (n >> 1) - 1; i >= 0; i--) s.siftDown(i);
    while (picksSoFar < picks) {
      s.pickAndAdd();
      picksSoFar++;
    }
    return s;
  }

  /** Number of entries scheduled. */
  get length(): number {
    return this.size;
  }

  /** Pick the entry with the earliest deadline and re-queue it with its current weight. */
  pickAndAdd(): T | undefined {
    if (this.size === 0) return undefined;
    const idx = this.entry[0]!;
    const e = this.entries[idx]!;
    this.currentTime = this.deadline[0]!;
    this.deadline[0] = this.currentTime + 1 / this.weightOf(e);
    this.order[0] = this.orderOffset++;
    this.siftDown(0);
    return e;
  }

  private less(a: number, b: number): boolean {
    const da = this.deadline[a]!, db = this.deadline[b]!;
    return da < db || (da === db && this.order[a]! < this.order[b]!);
  }

  private siftDown(slot: number): void {
    const n = this.size;
    for (;;) {
      const l = 2 * slot + 1;
      if (l >= n) return;
      const r = l + 1;
      const c = r < n && this.less(r, l) ? r : l;
      if (!this.less(c, slot)) return;
      this.swap(slot, c);
      slot = c;
    }
  }

  private swap(a: number, b: number): void {
    const d = this.deadline[a]!, o = this.order[a]!, e = this.entry[a]!;
    this.deadline[a] = this.deadline[b]!;
    this.order[a] = this.order[b]!;
    this.entry[a] = this.entry[b]!;
    this.deadline[b] = d;
    this.order[b] = o;
    this.entry[b] = e;
  }
}
