// Histogram stats (Envoy Stats::Histogram): `record(value)` on the request path updates exact
// per-bucket counts (for Prometheus `_bucket` lines), sum and count, plus log-linear bins for the
// /stats quantile summary. Like Envoy, quantiles have an "interval" view (samples of the last
// completed flush interval, see latchInterval) and a "cumulative" one (all samples).
import { BinCounter } from './log-linear-bins';

/** Envoy Histogram::Unit. Informational here: values are recorded as given. */
export type HistogramUnit = 'Unspecified' | 'Bytes' | 'Microseconds' | 'Milliseconds' | 'Percent';

export interface Histogram {
  readonly name: string;
  readonly unit: HistogramUnit;
  readonly used: boolean;
  record(value: number): void;
}

/** Plain, structured-clone-safe state of one histogram (one process, or merged). */
export interface HistogramData {
  readonly name: string;
  readonly unit: HistogramUnit;
  readonly used: boolean;
  /** Upper bounds, ascending (Prometheus `le`). */
  readonly bounds: readonly number[];
  /** Non-cumulative counts: [i] counts samples in (bounds[i-1], bounds[i]]; the last entry is above every bound. */
  readonly bucketCounts: readonly number[];
  readonly sum: number;
  readonly count: number;
  /** Log-linear bins of all samples, flat [binId, count, ...]. */
  readonly bins: readonly number[];
  /** Log-linear bins of the last completed interval. */
  readonly intervalBins: readonly number[];
}

export class HistogramImpl implements Histogram {
  used = false;
  count = 0;
  sum = 0;
  readonly bucketCounts: number[];
  private readonly current = new BinCounter();
  private readonly cumulative = new BinCounter();
  private lastInterval: number[] = [];

  constructor(
    readonly name: string,
    readonly unit: HistogramUnit,
    readonly bounds: readonly number[],
  ) {
    this.bucketCounts = new Array<number>(bounds.length + 1).fill(0);
  }

  record(value: number): void {
    this.used = true;
    this.count++;
    this.sum += value;
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.bucketCounts[i]!++;
    this.current.record(value);
  }

  /** Ends a flush interval (Envoy merges histograms on each stats flush). */
  latchInterval(): void {
    this.lastInterval = this.current.toFlat();
    this.cumulative.addFlat(this.lastInterval);
    this.current.clear();
  }

  data(): HistogramData {
    const bins = new BinCounter();
    bins.addFlat(this.cumulative.toFlat());
    bins.addFlat(this.current.toFlat());
    return {
      name: this.name,
      unit: this.unit,
      used: this.used,
      bounds: this.bounds,
      bucketCounts: this.bucketCounts.slice(),
      sum: this.sum,
      count: this.count,
      bins: bins.toFlat(),
      intervalBins: this.lastInterval.slice(),
    };
  }
}

export class NullHistogram implements Histogram {
  readonly used = false;
  constructor(
    readonly name: string,
    readonly unit: HistogramUnit,
  ) {}
  record(): void {}
}
