// The per-process stat store (Envoy Stats::ThreadLocalStoreImpl, reduced): the control side and
// every worker own one. Stats are created by full dotted Envoy name (or through scopes such as
// `cluster.<name>.`) at config time; the stats matcher decides then whether a stat is real or a
// null stat, and histogram bucket settings pick its buckets. The engine keeps the returned
// objects, so the request path only does field writes. `snapshot()` produces the plain data the
// control side merges and renders (snapshot.ts).
import { CounterImpl, NullCounter, type Counter } from './counter';
import { GaugeImpl, NullGauge, type Gauge, type GaugeImportMode } from './gauge';
import { HistogramImpl, NullHistogram, type Histogram, type HistogramData, type HistogramUnit } from './histogram';
import { DEFAULT_HISTOGRAM_BUCKETS, DEFAULT_STATS_OPTIONS, type StatsOptionsSpec } from './stats-options';
import type { StatTag, StatsSnapshot, TaggedStatName } from './snapshot';
import { compileStatsMatcher, compileStringMatcher, type NamePredicate } from './string-matcher';
import { NullTextReadout, TextReadoutImpl, type TextReadout } from './text-readout';

/** Creates stats under a name prefix (Envoy Stats::Scope). */
export interface StatsScope {
  /** The prefix including its trailing dot, '' for the root. */
  readonly prefix: string;
  counter(name: string): Counter;
  gauge(name: string, importMode?: GaugeImportMode): Gauge;
  histogram(name: string, unit?: HistogramUnit): Histogram;
  textReadout(name: string): TextReadout;
  /** A counter with explicit tags: full name `<prefix><name>.<tag>.<value>...`, exported to
   *  Prometheus as `<prefix><name>{tag="value",...}` without regex extraction. */
  counterWithTags(name: string, tags: readonly StatTag[]): Counter;
  gaugeWithTags(name: string, tags: readonly StatTag[], importMode?: GaugeImportMode): Gauge;
  histogramWithTags(name: string, tags: readonly StatTag[], unit?: HistogramUnit): Histogram;
  /** A child scope: `scope('cluster.foo')` and `scope('cluster.foo.')` are the same. */
  scope(prefix: string): StatsScope;
}

function joinPrefix(prefix: string, child: string): string {
  const c = child.endsWith('.') ? child.replace(/\.+$/, '') : child;
  return c === '' ? prefix : `${prefix}${c}.`;
}

class ScopeImpl implements StatsScope {
  constructor(
    private readonly store: StatsStore,
    readonly prefix: string,
  ) {}
  counter(name: string): Counter {
    return this.store.counter(this.prefix + name);
  }
  gauge(name: string, importMode: GaugeImportMode = 'Accumulate'): Gauge {
    return this.store.gauge(this.prefix + name, importMode);
  }
  histogram(name: string, unit: HistogramUnit = 'Unspecified'): Histogram {
    return this.store.histogram(this.prefix + name, unit);
  }
  textReadout(name: string): TextReadout {
    return this.store.textReadout(this.prefix + name);
  }
  counterWithTags(name: string, tags: readonly StatTag[]): Counter {
    return this.store.counterWithTags(this.prefix + name, tags);
  }
  gaugeWithTags(name: string, tags: readonly StatTag[], importMode: GaugeImportMode = 'Accumulate'): Gauge {
    return this.store.gaugeWithTags(this.prefix + name, tags, importMode);
  }
  histogramWithTags(name: string, tags: readonly StatTag[], unit: HistogramUnit = 'Unspecified'): Histogram {
    return this.store.histogramWithTags(this.prefix + name, tags, unit);
  }
  scope(prefix: string): StatsScope {
    return new ScopeImpl(this.store, joinPrefix(this.prefix, prefix));
  }
}

export class StatsStore implements StatsScope {
  readonly prefix = '';
  private readonly accepts: NamePredicate;
  private readonly bucketRules: { readonly match: NamePredicate; readonly buckets: readonly number[] }[];
  private readonly counters = new Map<string, CounterImpl>();
  private readonly gauges = new Map<string, GaugeImpl>();
  private readonly histograms = new Map<string, HistogramImpl>();
  private readonly textReadouts = new Map<string, TextReadoutImpl>();
  private readonly tagged = new Map<string, TaggedStatName>();
  private readonly namespaces = new Set<string>();

  constructor(options: StatsOptionsSpec = DEFAULT_STATS_OPTIONS) {
    this.accepts = compileStatsMatcher(options.statsMatcher);
    this.bucketRules = options.histogramBucketSettings.map((r) => ({ match: compileStringMatcher(r.match), buckets: Object.freeze(r.buckets.slice()) }));
  }

  /** False when the stats matcher turns `fullName` into a null stat. */
  accepted(fullName: string): boolean {
    return this.accepts(fullName);
  }

  counter(name: string): Counter {
    const have = this.counters.get(name);
    if (have) return have;
    if (!this.accepts(name)) return new NullCounter(name);
    const c = new CounterImpl(name);
    this.counters.set(name, c);
    return c;
  }

  gauge(name: string, importMode: GaugeImportMode = 'Accumulate'): Gauge {
    const have = this.gauges.get(name);
    if (have) return have;
    if (!this.accepts(name)) return new NullGauge(name, importMode);
    const g = new GaugeImpl(name, importMode);
    this.gauges.set(name, g);
    return g;
  }

  histogram(name: string, unit: HistogramUnit = 'Unspecified'): Histogram {
    const have = this.histograms.get(name);
    if (have) return have;
    if (!this.accepts(name)) return new NullHistogram(name, unit);
    const h = new HistogramImpl(name, unit, this.bucketsFor(name));
    this.histograms.set(name, h);
    return h;
  }

  textReadout(name: string): TextReadout {
    const have = this.textReadouts.get(name);
    if (have) return have;
    if (!this.accepts(name)) return new NullTextReadout(name);
    const t = new TextReadoutImpl(name);
    this.textReadouts.set(name, t);
    return t;
  }

  counterWithTags(name: string, tags: readonly StatTag[]): Counter {
    const full = this.noteTagged(name, tags);
    return this.counter(full);
  }

  gaugeWithTags(name: string, tags: readonly StatTag[], importMode: GaugeImportMode = 'Accumulate'): Gauge {
    return this.gauge(this.noteTagged(name, tags), importMode);
  }

  histogramWithTags(name: string, tags: readonly StatTag[], unit: HistogramUnit = 'Unspecified'): Histogram {
    return this.histogram(this.noteTagged(name, tags), unit);
  }

  scope(prefix: string): StatsScope {
    return new ScopeImpl(this, joinPrefix('', prefix));
  }

  /** Registers a custom stat namespace (Envoy CustomStatNamespaces; Istio's stats filter uses
   *  `istiocustom`): its stats are exported to Prometheus without the `envoy_` prefix. */
  registerCustomNamespace(ns: string): void {
    this.namespaces.add(ns);
  }

  /** /reset_counters. */
  resetCounters(): void {
    for (const c of this.counters.values()) c.reset();
  }

  /** Ends a histogram flush interval (call on every stats flush, stats_flush_interval). */
  latchHistogramIntervals(): void {
    for (const h of this.histograms.values()) h.latchInterval();
  }

  /** Number of real (non-null) stats of every type. */
  get size(): number {
    return this.counters.size + this.gauges.size + this.histograms.size + this.textReadouts.size;
  }

  snapshot(): StatsSnapshot {
    const cn: string[] = [];
    const cv: number[] = [];
    const cu: boolean[] = [];
    for (const c of this.counters.values()) {
      cn.push(c.name);
      cv.push(c.value);
      cu.push(c.used);
    }
    const gn: string[] = [];
    const gv: number[] = [];
    const gu: boolean[] = [];
    const gi: boolean[] = [];
    for (const g of this.gauges.values()) {
      gn.push(g.name);
      gv.push(g.value);
      gu.push(g.used);
      gi.push(g.importMode === 'NeverImport');
    }
    const tn: string[] = [];
    const tv: string[] = [];
    const tu: boolean[] = [];
    for (const t of this.textReadouts.values()) {
      tn.push(t.name);
      tv.push(t.value);
      tu.push(t.used);
    }
    const hs: HistogramData[] = [];
    for (const h of this.histograms.values()) hs.push(h.data());
    return {
      counters: { names: cn, values: cv, used: cu },
      gauges: { names: gn, values: gv, used: gu, neverImport: gi },
      textReadouts: { names: tn, values: tv, used: tu },
      histograms: hs,
      tagged: [...this.tagged.values()],
      customNamespaces: [...this.namespaces],
    };
  }

  private bucketsFor(name: string): readonly number[] {
    for (const r of this.bucketRules) if (r.match(name)) return r.buckets;
    return DEFAULT_HISTOGRAM_BUCKETS;
  }

  private noteTagged(name: string, tags: readonly StatTag[]): string {
    let full = name;
    for (const t of tags) full += `.${t.name}.${t.value}`;
    if (tags.length > 0 && !this.tagged.has(full) && this.accepts(full)) {
      this.tagged.set(full, { fullName: full, extractedName: name, tags: tags.map((t) => ({ name: t.name, value: t.value })) });
    }
    return full;
  }
}
