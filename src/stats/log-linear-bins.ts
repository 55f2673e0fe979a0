// Log-linear value bins for histogram quantiles (/stats text and JSON). Envoy keeps a
// circllhist per histogram (two significant decimal digits per bin) and derives its P0..P100
// summary from it; we do the same with a sparse Map keyed by bin id, so quantiles come out
// close to Envoy's (e.g. one sample of 1 gives P50 = 1.05, the middle of bin [1, 1.1)).
// The Prometheus buckets are counted exactly elsewhere (histogram.ts).

/** Bin id of a value: 0 for values <= 0, else (decimal exponent + 400) * 100 + two leading digits. */
export function binOf(v: number): number {
  if (!(v > 0)) return 0;
  if (!Number.isFinite(v)) v = Number.MAX_VALUE;
  let e = Math.floor(Math.log10(v));
  let m = Math.floor(v / 10 ** (e - 1));
  // Floating point can land one digit off at exact powers of ten; normalise.
  if (m >= 100) {
    e += 1;
    m = Math.floor(v / 10 ** (e - 1));
  } else if (m < 10) {
    e -= 1;
    m = Math.floor(v / 10 ** (e - 1));
  }
  return (e + 400) * 100 + m;
}

/** Lower bound and width of a bin. */
export function binBounds(id: number): [number, number] {
  if (id === 0) return [0, 0];
  const e = Math.floor(id / 100) - 400;
  const m = id % 100;
  const unit = 10 ** (e - 1);
  return [m * unit, unit];
}

/** Adds `count` samples to the bin of `id` in a flat [id, count, id, count, ...] list keyed via `index`. */
export class BinCounter {
  private readonly counts = new Map<number, number>();

  record(v: number): void {
    const id = binOf(v);
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
  }

  get empty(): boolean {
    return this.counts.size === 0;
  }

  /** Flat [id, count, ...] pairs, structured-clone safe. */
  toFlat(): number[] {
    const out: number[] = [];
    for (const [id, c] of this.counts) out.push(id, c);
    return out;
  }

  addFlat(flat: readonly number[]): void {
    for (let i = 0; i < flat.length; i += 2) this.counts.set(flat[i]!, (this.counts.get(flat[i]!) ?? 0) + flat[i + 1]!);
  }

  clear(): void {
    this.counts.clear();
  }
}

/** Sums flat bin lists into one flat list. */
export function mergeFlatBins(lists: readonly (readonly number[])[]): number[] {
  if (lists.length === 1) return lists[0]!.slice();
  const acc = new BinCounter();
  for (const l of lists) acc.addFlat(l);
  return acc.toFlat();
}

/** Envoy's supported quantiles for the /stats summary, as fractions. */
export const SUPPORTED_QUANTILES: readonly number[] = Object.freeze([0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 1]);

/**
 * Quantiles of the samples in flat bins, interpolating linearly inside the bin that holds the
 * q*n-th sample (circllhist's approach). NaN for every quantile when there are no samples.
 */
export function quantilesOf(flat: readonly number[], qs: readonly number[] = SUPPORTED_QUANTILES): number[] {
  const ids: number[] = [];
  const byId = new Map<number, number>();
  let n = 0;
  for (let i = 0; i < flat.length; i += 2) {
    const id = flat[i]!;
    const c = flat[i + 1]!;
    if (c <= 0) continue;
    if (!byId.has(id)) ids.push(id);
    byId.set(id, (byId.get(id) ?? 0) + c);
    n += c;
  }
  if (n === 0) return qs.map(() => NaN);
  ids.sort((a, b) => a - b);
  return qs.map((q) => {
    const target = q * n;
    let before = 0;
    for (const id of ids) {
      const c = byId.get(id)!;
      if (before + c >= target) {
        const [lo, width] = binBounds(id);
        return lo + (width * (target - before)) / c;
      }
      before += c;
    }
    const [lo, width] = binBounds(ids[ids.length - 1]!);
    return lo + width;
  });
}
