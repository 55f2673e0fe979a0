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
  /**
   * A child scope whose counters and gauges are stored compactly (StatGroup): for scopes created
   * once per resource by the thousand, e.g. `cluster.<name>.` (10,000 clusters x ~40 stats). Same
   * names, values and get-or-create semantics as scope(); only the memory differs.
   */
  groupScope(prefix: string): StatsScope;
}

function joinPrefix(prefix: string, child: string): string {
  const c = child.endsWith('.') ? child.replace(/\.+$/, '') : child;
  return c === '' ? prefix : `${prefix}${c}.`;
}

class ScopeImpl implements StatsScope {
  constructor(
    protected readonly store: StatsStore,
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
  groupScope(prefix: string): StatsScope {
    return this.store.groupScope(joinPrefix(this.prefix, prefix));
  }
}

// ---- compact stat groups ----
//
// A StatGroup holds the counters and gauges of one scope prefix (one cluster) as numbers, not
// objects: per kind one array of values and one of flags, indexed by the suffix's process-wide
// slot ('upstream_cx_total', 'circuit_breakers.default.cx_open'), about 16 bytes per stat. A
// Counter or Gauge asked of a group is a small view (group, slot) made on request and not kept
// by the store: callers that count keep theirs (ClusterRuntime makes its views on first use, see
// lazyStats), two views of one stat share its value, and a stat nobody has written costs no
// object. The full name is built only when asked for (snapshot, render). A stat the stats matcher
// rejects is only a flag.

const internedSuffixes = new Map<string, string>();
function intern(s: string): string {
  const have = internedSuffixes.get(s);
  if (have !== undefined) return have;
  internedSuffixes.set(s, s);
  return s;
}

/** Suffixes by slot, per kind, process-wide (every cluster group uses the same ones). */
class SlotTable {
  readonly bySuffix = new Map<string, number>();
  readonly suffixes: string[] = [];
  slotOf(suffix: string): number {
    let n = this.bySuffix.get(suffix);
    if (n === undefined) {
      n = this.suffixes.length;
      this.bySuffix.set(suffix, n);
      this.suffixes.push(suffix);
    }
    return n;
  }
}
const counterSlots = new SlotTable();
const gaugeSlots = new SlotTable();

// Flags of a group stat (0: this group has no stat in that slot).
const EXISTS = 1;
const USED = 2;
const NEVER_IMPORT = 4;
const REJECTED = 8;

// Exactly n elements (an array filled by push keeps spare capacity).
function sized(n: number): number[] {
  return new Array<number>(n).fill(0);
}
function grow(a: number[], slot: number): void {
  while (a.length <= slot) a.push(0);
}

export class StatGroup {
  // Sized to the slots known so far: an array grown one index at a time keeps spare room.
  readonly counterValues: number[] = sized(counterSlots.suffixes.length);
  readonly counterFlags: number[] = sized(counterSlots.suffixes.length);
  readonly gaugeValues: number[] = sized(gaugeSlots.suffixes.length);
  readonly gaugeFlags: number[] = sized(gaugeSlots.suffixes.length);
  constructor(readonly prefix: string) {}
}

/**
 * A view of one slot of a group's counter or gauge arrays: counters and gauges differ only in
 * which arrays and name table they read, and in the operations they expose.
 */
abstract class GroupSlotView {
  constructor(
    protected readonly group: StatGroup,
    protected readonly slot: number,
  ) {}
  // Two fields a view: thousands of clusters hold some, so the arrays are looked up, not kept.
  protected abstract get values(): number[];
  protected abstract get flags(): number[];
  protected abstract get suffix(): string;
  get name(): string {
    return this.group.prefix + this.suffix;
  }
  get value(): number {
    return this.values[this.slot]!;
  }
  get used(): boolean {
    return (this.flags[this.slot]! & USED) !== 0;
  }
  add(n: number): void {
    this.values[this.slot]! += n;
    this.flags[this.slot]! |= USED;
  }
}

/** A view of one group counter. */
class GroupCounter extends GroupSlotView implements Counter {
  protected get values(): number[] {
    return this.group.counterValues;
  }
  protected get flags(): number[] {
    return this.group.counterFlags;
  }
  protected get suffix(): string {
    return counterSlots.suffixes[this.slot]!;
  }
  inc(n = 1): void {
    this.add(n);
  }
}

/** A view of one group gauge; its import mode is a flag of the slot. */
class GroupGauge extends GroupSlotView implements Gauge {
  protected get values(): number[] {
    return this.group.gaugeValues;
  }
  protected get flags(): number[] {
    return this.group.gaugeFlags;
  }
  protected get suffix(): string {
    return gaugeSlots.suffixes[this.slot]!;
  }
  get importMode(): GaugeImportMode {
    return this.flags[this.slot]! & NEVER_IMPORT ? 'NeverImport' : 'Accumulate';
  }
  set(v: number): void {
    this.values[this.slot] = v;
    this.flags[this.slot]! |= USED;
  }
  sub(n: number): void {
    this.add(-n);
  }
  inc(): void {
    this.add(1);
  }
  dec(): void {
    this.add(-1);
  }
}

class GroupNullCounter implements Counter {
  constructor(
    private readonly group: StatGroup,
    private readonly slot: number,
  ) {}
  get name(): string {
    return this.group.prefix + counterSlots.suffixes[this.slot]!;
  }
  get value(): number {
    return 0;
  }
  get used(): boolean {
    return false;
  }
  inc(): void {}
  add(): void {}
}

class GroupNullGauge implements Gauge {
  constructor(
    private readonly group: StatGroup,
    private readonly slot: number,
  ) {}
  get name(): string {
    return this.group.prefix + gaugeSlots.suffixes[this.slot]!;
  }
  get value(): number {
    return 0;
  }
  get used(): boolean {
    return false;
  }
  get importMode(): GaugeImportMode {
    return this.group.gaugeFlags[this.slot]! & NEVER_IMPORT ? 'NeverImport' : 'Accumulate';
  }
  set(): void {}
  add(): void {}
  sub(): void {}
  inc(): void {}
  dec(): void {}
}

type StatSpec = readonly ['counter', string] | readonly ['gauge', string, GaugeImportMode?];

/**
 * A stats record whose fields are made on first read: `lazyStats(scope, { total: ['counter',
 * 'upstream_cx_total'] })` makes every stat at once (so it exists, 0 and unused, for /stats)
 * but keeps no Counter/Gauge object until a field is read; then the view is kept in the record.
 * For per-cluster stats (10,000 clusters x ~40 stats, most never written). One class per spec.
 */
export function lazyStats<T>(scope: StatsScope, spec: { readonly [K in keyof T]: StatSpec }): T {
  let ctor = lazyClasses.get(spec);
  if (!ctor) lazyClasses.set(spec, (ctor = lazyClass(spec)));
  for (const k in spec) make(scope, spec[k]);
  return new ctor(scope) as T;
}
const make = (scope: StatsScope, s: StatSpec): Counter | Gauge => (s[0] === 'counter' ? scope.counter(s[1]) : scope.gauge(s[1], s[2]));
const lazyClasses = new WeakMap<object, new (scope: StatsScope) => unknown>();
function lazyClass(spec: Record<string, StatSpec>): new (scope: StatsScope) => unknown {
  class Lazy {
    h: (Counter | Gauge | undefined)[] | undefined;
    constructor(readonly scope: StatsScope) {}
  }
  const keys = Object.keys(spec);
  keys.forEach((k, i) => {
    const s = spec[k]!;
    Object.defineProperty(Lazy.prototype, k, {
      get(this: Lazy) {
        const h = (this.h ??= new Array<Counter | Gauge | undefined>(keys.length));
        return (h[i] ??= make(this.scope, s));
      },
    });
  });
  return Lazy;
}

/** A scope over a StatGroup; `sub` is the part of the prefix below the group's ('' at its root). */
class GroupScopeImpl extends ScopeImpl {
  constructor(
    store: StatsStore,
    private readonly group: StatGroup,
    private readonly sub: string,
  ) {
    super(store, sub === '' ? group.prefix : group.prefix + sub);
  }
  override counter(name: string): Counter {
    return this.store.groupCounter(this.group, intern(this.sub + name));
  }
  override gauge(name: string, importMode: GaugeImportMode = 'Accumulate'): Gauge {
    return this.store.groupGauge(this.group, intern(this.sub + name), importMode);
  }
  override scope(prefix: string): StatsScope {
    return new GroupScopeImpl(this.store, this.group, intern(joinPrefix(this.sub, prefix)));
  }
  override groupScope(prefix: string): StatsScope {
    return this.scope(prefix);
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
  /** Compact groups by prefix (groupScope). */
  private readonly groups = new Map<string, StatGroup>();

  constructor(options: StatsOptionsSpec = DEFAULT_STATS_OPTIONS) {
    this.accepts = compileStatsMatcher(options.statsMatcher);
    this.bucketRules = options.histogramBucketSettings.map((r) => ({ match: compileStringMatcher(r.match), buckets: Object.freeze(r.buckets.slice()) }));
  }

  /** False when the stats matcher turns `fullName` into a null stat. */
  accepted(fullName: string): boolean {
    return this.accepts(fullName);
  }

  counter(name: string): Counter {
    const have = this.counters.get(name) ?? this.grouped(name, (g, suffix) => this.groupCounter(g, suffix, false));
    if (have) return have;
    if (!this.accepts(name)) return new NullCounter(name);
    const c = new CounterImpl(name);
    this.counters.set(name, c);
    return c;
  }

  gauge(name: string, importMode: GaugeImportMode = 'Accumulate'): Gauge {
    const have = this.gauges.get(name) ?? this.grouped(name, (g, suffix) => this.groupGauge(g, suffix, importMode, false));
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

  groupScope(prefix: string): StatsScope {
    const p = joinPrefix('', prefix);
    let g = this.groups.get(p);
    if (!g) this.groups.set(p, (g = new StatGroup(p)));
    return new GroupScopeImpl(this, g, '');
  }

  /**
   * The group stat a full name denotes, when one exists (a stat made through scope() by a name a
   * groupScope() already holds stays one stat): tries every dot as the group boundary.
   */
  private grouped<S>(name: string, get: (g: StatGroup, suffix: string) => S | undefined): S | undefined {
    if (this.groups.size === 0) return undefined;
    for (let i = name.indexOf('.'); i >= 0; i = name.indexOf('.', i + 1)) {
      const g = this.groups.get(name.slice(0, i + 1));
      if (g) {
        const s = get(g, name.slice(i + 1));
        if (s) return s;
      }
    }
    return undefined;
  }

  /** A group's counter by suffix; create false only looks. */
  groupCounter(g: StatGroup, suffix: string): Counter;
  groupCounter(g: StatGroup, suffix: string, create: false): Counter | undefined;
  groupCounter(g: StatGroup, suffix: string, create = true): Counter | undefined {
    const slot = this.groupSlot(counterSlots, g.counterFlags, g.counterValues, this.counters, g, suffix, create, 0);
    if (typeof slot !== 'number') return slot;
    return g.counterFlags[slot]! & REJECTED ? new GroupNullCounter(g, slot) : new GroupCounter(g, slot);
  }

  /** A group's gauge by suffix; create false only looks. */
  groupGauge(g: StatGroup, suffix: string, importMode: GaugeImportMode): Gauge;
  groupGauge(g: StatGroup, suffix: string, importMode: GaugeImportMode, create: false): Gauge | undefined;
  groupGauge(g: StatGroup, suffix: string, importMode: GaugeImportMode, create = true): Gauge | undefined {
    const slot = this.groupSlot(gaugeSlots, g.gaugeFlags, g.gaugeValues, this.gauges, g, suffix, create, importMode === 'NeverImport' ? NEVER_IMPORT : 0);
    if (typeof slot !== 'number') return slot;
    return g.gaugeFlags[slot]! & REJECTED ? new GroupNullGauge(g, slot) : new GroupGauge(g, slot);
  }

  /** The slot of a group stat (made when `create`), or the plain stat of that name made through
   *  scope() before the group existed (kept), or undefined. */
  private groupSlot<P>(slots: SlotTable, flags: number[], values: number[], plainByName: ReadonlyMap<string, P>, g: StatGroup, suffix: string, create: boolean, mode: number): number | P | undefined {
    const slot = create ? slots.slotOf(intern(suffix)) : slots.bySuffix.get(suffix);
    if (slot === undefined) return undefined;
    if ((flags[slot] ?? 0) !== 0) return slot;
    if (!create) return undefined;
    const full = g.prefix + suffix;
    const plain = plainByName.get(full);
    if (plain) return plain;
    grow(flags, slot);
    if (this.accepts(full)) {
      grow(values, slot);
      flags[slot] = EXISTS | mode;
    } else {
      flags[slot] = REJECTED | mode;
    }
    return slot;
  }

  /** Registers a custom stat namespace (Envoy CustomStatNamespaces; Istio's stats filter uses
   *  `istiocustom`): its stats are exported to Prometheus without the `envoy_` prefix. */
  registerCustomNamespace(ns: string): void {
    this.namespaces.add(ns);
  }

  /** /reset_counters. */
  resetCounters(): void {
    for (const c of this.counters.values()) c.reset();
    for (const g of this.groups.values()) g.counterFlags.forEach((f, i) => f & EXISTS && (g.counterValues[i] = 0));
  }

  /** Ends a histogram flush interval (call on every stats flush, stats_flush_interval). */
  latchHistogramIntervals(): void {
    for (const h of this.histograms.values()) h.latchInterval();
  }

  /** Number of real (non-null) stats of every type. */
  get size(): number {
    let grouped = 0;
    for (const g of this.groups.values()) {
      for (const f of g.counterFlags) if (f & EXISTS) grouped++;
      for (const f of g.gaugeFlags) if (f & EXISTS) grouped++;
    }
    return this.counters.size + this.gauges.size + this.histograms.size + this.textReadouts.size + grouped;
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
    for (const g of this.groups.values()) {
      g.counterFlags.forEach((f, i) => {
        if (!(f & EXISTS)) return;
        cn.push(g.prefix + counterSlots.suffixes[i]!);
        cv.push(g.counterValues[i]!);
        cu.push((f & USED) !== 0);
      });
    }
    const gn: string[] = [];
    const gv: number[] = [];
    const gu: boolean[] = [];
    const gi: boolean[] = [];
    const pushGauge = (g: Gauge) => {
      gn.push(g.name);
      gv.push(g.value);
      gu.push(g.used);
      gi.push(g.importMode === 'NeverImport');
    };
    for (const g of this.gauges.values()) pushGauge(g);
    for (const grp of this.groups.values()) {
      grp.gaugeFlags.forEach((f, i) => {
        if (!(f & EXISTS)) return;
        gn.push(grp.prefix + gaugeSlots.suffixes[i]!);
        gv.push(grp.gaugeValues[i]!);
        gu.push((f & USED) !== 0);
        gi.push((f & NEVER_IMPORT) !== 0);
      });
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
