// The plain data a StatsStore hands out (`store.snapshot()`): every stat of one process in
// parallel arrays, structured-clone safe, so a worker can post it to the control side. The
// control side merges the per-process snapshots (mergeSnapshots) and the admin renders the
// result (render-text.ts, render-prometheus.ts). Merge rules follow Envoy's thread-local
// aggregation: counters add up, Accumulate gauges add up, NeverImport gauges and text readouts
// keep one process's value, histograms add bucket counts, sums and bins.
import type { HistogramData } from './histogram';
import { mergeFlatBins } from './log-linear-bins';

/** A tag (Prometheus label) of a stat. */
export interface StatTag {
  readonly name: string;
  readonly value: string;
}

/** A stat created with explicit tags (Envoy counterFromStatNameWithTags): no regex extraction. */
export interface TaggedStatName {
  readonly fullName: string;
  readonly extractedName: string;
  readonly tags: readonly StatTag[];
}

export interface NumericStats {
  readonly names: readonly string[];
  readonly values: readonly number[];
  readonly used: readonly boolean[];
}

export interface GaugeStats extends NumericStats {
  /** True for NeverImport gauges. */
  readonly neverImport: readonly boolean[];
}

export interface TextReadoutStats {
  readonly names: readonly string[];
  readonly values: readonly string[];
  readonly used: readonly boolean[];
}

export interface StatsSnapshot {
  readonly counters: NumericStats;
  readonly gauges: GaugeStats;
  readonly textReadouts: TextReadoutStats;
  readonly histograms: readonly HistogramData[];
  readonly tagged: readonly TaggedStatName[];
  /** Custom stat namespaces (e.g. `istiocustom`): exported to Prometheus without `envoy_`. */
  readonly customNamespaces: readonly string[];
}

export const EMPTY_SNAPSHOT: StatsSnapshot = Object.freeze({
  counters: { names: [], values: [], used: [] },
  gauges: { names: [], values: [], used: [], neverImport: [] },
  textReadouts: { names: [], values: [], used: [] },
  histograms: [],
  tagged: [],
  customNamespaces: [],
});

/**
 * Merges per-process snapshots into one. Put the control side's snapshot first: for
 * NeverImport gauges and text readouts the first process that wrote the stat wins.
 */
export function mergeSnapshots(list: readonly StatsSnapshot[]): StatsSnapshot {
  if (list.length === 0) return EMPTY_SNAPSHOT;
  if (list.length === 1) return list[0]!;

  // Counters.
  const cIdx = new Map<string, number>();
  const cNames: string[] = [];
  const cValues: number[] = [];
  const cUsed: boolean[] = [];
  // Gauges.
  const gIdx = new Map<string, number>();
  const gNames: string[] = [];
  const gValues: number[] = [];
  const gUsed: boolean[] = [];
  const gNever: boolean[] = [];
  // Text readouts.
  const tIdx = new Map<string, number>();
  const tNames: string[] = [];
  const tValues: string[] = [];
  const tUsed: boolean[] = [];
  // Histograms.
  const hParts = new Map<string, HistogramData[]>();
  const tagged = new Map<string, TaggedStatName>();
  const namespaces = new Set<string>();

  for (const s of list) {
    const c = s.counters;
    for (let i = 0; i < c.names.length; i++) {
      const name = c.names[i]!;
      const at = cIdx.get(name);
      if (at === undefined) {
        cIdx.set(name, cNames.length);
        cNames.push(name);
        cValues.push(c.values[i]!);
        cUsed.push(c.used[i]!);
      } else {
        cValues[at]! += c.values[i]!;
        cUsed[at] = cUsed[at]! || c.used[i]!;
      }
    }
    const g = s.gauges;
    for (let i = 0; i < g.names.length; i++) {
      const name = g.names[i]!;
      const at = gIdx.get(name);
      if (at === undefined) {
        gIdx.set(name, gNames.length);
        gNames.push(name);
        gValues.push(g.values[i]!);
        gUsed.push(g.used[i]!);
        gNever.push(g.neverImport[i]!);
      } else if (gNever[at]) {
        // Process-wide fact: keep the first written value.
        if (!gUsed[at] && g.used[i]) {
          gValues[at] = g.values[i]!;
          gUsed[at] = true;
        }
      } else {
        gValues[at]! += g.values[i]!;
        gUsed[at] = gUsed[at]! || g.used[i]!;
      }
    }
    const t = s.textReadouts;
    for (let i = 0; i < t.names.length; i++) {
      const name = t.names[i]!;
      const at = tIdx.get(name);
      if (at === undefined) {
        tIdx.set(name, tNames.length);
        tNames.push(name);
        tValues.push(t.values[i]!);
        tUsed.push(t.used[i]!);
      } else if (!tUsed[at] && t.used[i]) {
        tValues[at] = t.values[i]!;
        tUsed[at] = true;
      }
    }
    for (const h of s.histograms) {
      const parts = hParts.get(h.name);
      if (parts) parts.push(h);
      else hParts.set(h.name, [h]);
    }
    for (const tn of s.tagged) if (!tagged.has(tn.fullName)) tagged.set(tn.fullName, tn);
    for (const ns of s.customNamespaces) namespaces.add(ns);
  }

  const histograms: HistogramData[] = [];
  for (const parts of hParts.values()) histograms.push(parts.length === 1 ? parts[0]! : mergeHistograms(parts));

  return {
    counters: { names: cNames, values: cValues, used: cUsed },
    gauges: { names: gNames, values: gValues, used: gUsed, neverImport: gNever },
    textReadouts: { names: tNames, values: tValues, used: tUsed },
    histograms,
    tagged: [...tagged.values()],
    customNamespaces: [...namespaces],
  };
}

/** Adds histograms of one name. Bucket counts add up where bounds agree (they come from one
 *  config); a part with other bounds (a worker still on an older config) is re-bucketed by
 *  putting each of its buckets' counts under the first merged bound >= its own upper bound. */
export function mergeHistograms(parts: readonly HistogramData[]): HistogramData {
  const first = parts[0]!;
  const bounds = first.bounds;
  const counts = first.bucketCounts.slice();
  let sum = first.sum;
  let count = first.count;
  let used = first.used;
  for (let p = 1; p < parts.length; p++) {
    const h = parts[p]!;
    sum += h.sum;
    count += h.count;
    used = used || h.used;
    if (sameBounds(h.bounds, bounds)) {
      for (let i = 0; i < counts.length; i++) counts[i]! += h.bucketCounts[i] ?? 0;
    } else {
      for (let i = 0; i < h.bucketCounts.length; i++) {
        const upper = i < h.bounds.length ? h.bounds[i]! : Infinity;
        let j = 0;
        while (j < bounds.length && upper > bounds[j]!) j++;
        counts[j]! += h.bucketCounts[i]!;
      }
    }
  }
  return {
    name: first.name,
    unit: first.unit,
    used,
    bounds,
    bucketCounts: counts,
    sum,
    count,
    bins: mergeFlatBins(parts.map((h) => h.bins)),
    intervalBins: mergeFlatBins(parts.map((h) => h.intervalBins)),
  };
}

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
