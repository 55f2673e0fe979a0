// StatsStore: creation through scopes, the stats matcher's null stats, used tracking, histogram
// buckets, snapshots that survive structured clone, and merging per-process snapshots.
import { lazyStats, StatsStore } from './stats-store';
import type { Counter } from './counter';
import type { Gauge } from './gauge';
import { mergeSnapshots } from './snapshot';
import { DEFAULT_HISTOGRAM_BUCKETS, DEFAULT_STATS_OPTIONS, type StatsOptionsSpec } from './stats-options';
import { CounterImpl, NullCounter } from './counter';
import { quantilesOf, binOf, binBounds } from './log-linear-bins';

function opts(over: Partial<StatsOptionsSpec>): StatsOptionsSpec {
  return { ...DEFAULT_STATS_OPTIONS, ...over };
}

describe('StatsStore', () => {
  it('creates stats once per name and through scopes', () => {
    const s = new StatsStore();
    const c = s.counter('cluster.a.upstream_rq_total');
    expect(s.scope('cluster.a').counter('upstream_rq_total')).toBe(c);
    expect(s.scope('cluster.a.').scope('b').counter('x').name).toBe('cluster.a.b.x');
    c.inc();
    c.inc(4);
    expect(c.value).toBe(5);
    expect(c).toBeInstanceOf(CounterImpl);
  });

  it('groupScope stats: same names, values, reset and matcher as scope(), one stat per name', () => {
    const s = new StatsStore(opts({ statsMatcher: { kind: 'exclusion', patterns: [{ kind: 'suffix', value: '.rejected_one', ignoreCase: false }] } }));
    const g = s.groupScope('cluster.outbound|80||a.ns.svc');
    const c = g.counter('upstream_cx_total');
    const cb = g.scope('circuit_breakers.default').gauge('cx_open', 'NeverImport');
    expect(c.name).toBe('cluster.outbound|80||a.ns.svc.upstream_cx_total');
    expect(cb.name).toBe('cluster.outbound|80||a.ns.svc.circuit_breakers.default.cx_open');
    expect(g.prefix).toBe('cluster.outbound|80||a.ns.svc.');
    // A rebuilt cluster runtime asks again: views of the same stats (one value), values kept.
    c.inc(3);
    const again = s.groupScope('cluster.outbound|80||a.ns.svc.');
    const c2 = again.counter('upstream_cx_total');
    expect([c2.name, c2.value, c2.used]).toEqual([c.name, 3, true]);
    c2.inc(2);
    expect(c.value).toBe(5);
    const cb2 = again.scope('circuit_breakers.default.').gauge('cx_open', 'NeverImport');
    cb2.set(7);
    expect([cb.value, cb.importMode, cb2.name]).toEqual([7, 'NeverImport', cb.name]);
    // Plain scopes and full names find the grouped stat, and a plain stat made first is kept.
    const viaScope = s.scope('cluster.outbound|80||a.ns.svc').counter('upstream_cx_total');
    const viaName = s.counter('cluster.outbound|80||a.ns.svc.upstream_cx_total');
    viaScope.inc();
    viaName.inc();
    expect([c.value, viaScope.name, viaName.name]).toEqual([7, c.name, c.name]);
    const plain = s.counter('cluster.outbound|80||b.upstream_cx_total');
    expect(s.groupScope('cluster.outbound|80||b').counter('upstream_cx_total')).toBe(plain);
    expect(g.counter('rejected_one')).toBeInstanceOf(Object);
    g.counter('rejected_one').inc();
    expect(g.counter('rejected_one').value).toBe(0);
    cb.set(1);
    const snap = s.snapshot();
    const ci = snap.counters.names.indexOf('cluster.outbound|80||a.ns.svc.upstream_cx_total');
    expect(snap.counters.values[ci]).toBe(7);
    expect(snap.counters.names.filter((n) => n.endsWith('upstream_cx_total')).sort()).toEqual(['cluster.outbound|80||a.ns.svc.upstream_cx_total', 'cluster.outbound|80||b.upstream_cx_total']);
    expect(snap.counters.names).not.toContain('cluster.outbound|80||a.ns.svc.rejected_one');
    const gi = snap.gauges.names.indexOf('cluster.outbound|80||a.ns.svc.circuit_breakers.default.cx_open');
    expect([snap.gauges.values[gi], snap.gauges.used[gi], snap.gauges.neverImport[gi]]).toEqual([1, true, true]);
    expect(s.size).toBe(3);
    s.resetCounters();
    expect(c.value).toBe(0);
    expect(c.used).toBe(true);
  });

  it('lazyStats: every stat exists (0, unused) from the start; a field is one kept view made on first read', () => {
    const s = new StatsStore(opts({ statsMatcher: { kind: 'inclusion', patterns: [{ kind: 'suffix', value: 'kept_total', ignoreCase: false }] } }));
    const spec = { kept: ['counter', 'kept_total'], dropped: ['counter', 'dropped_total'], active: ['gauge', 'active', 'NeverImport'] } as const;
    const st = lazyStats<{ kept: Counter; dropped: Counter; active: Gauge }>(s.groupScope('cluster.a'), spec);
    expect(s.snapshot().counters.names).toEqual(['cluster.a.kept_total']);
    expect((st as unknown as { h?: unknown[] }).h).toBeUndefined();
    st.kept.inc();
    st.dropped.inc();
    expect(st.kept).toBe(st.kept);
    expect([st.kept.value, st.dropped.value, st.dropped.name]).toEqual([1, 0, 'cluster.a.dropped_total']);
    expect(st.active.importMode).toBe('NeverImport');
    expect(s.size).toBe(1);
    // A second record over the same group (a rebuilt runtime) sees the same values.
    expect(lazyStats<{ kept: Counter }>(s.groupScope('cluster.a'), spec).kept.value).toBe(1);
  });

  it('tracks used on first write, including gauge.set to the same value', () => {
    const s = new StatsStore();
    const g = s.gauge('server.state', 'NeverImport');
    const c = s.counter('cluster_manager.cds.update_rejected');
    expect(g.used).toBe(false);
    g.set(0);
    expect(g.used).toBe(true);
    expect(g.value).toBe(0);
    expect(c.used).toBe(false);
    const snap = s.snapshot();
    expect(snap.gauges.used[snap.gauges.names.indexOf('server.state')]).toBe(true);
    expect(snap.counters.used[snap.counters.names.indexOf('cluster_manager.cds.update_rejected')]).toBe(false);
  });

  it('makes null stats for names the stats matcher rejects', () => {
    const s = new StatsStore(
      opts({
        statsMatcher: {
          kind: 'inclusion',
          patterns: [
            { kind: 'prefix', value: 'server', ignoreCase: false },
            { kind: 'suffix', value: 'rbac.allowed', ignoreCase: false },
            { kind: 'safe_regex', value: 'vhost\\..*\\.route\\..*', ignoreCase: false },
          ],
        },
      }),
    );
    expect(s.counter('server.x')).toBeInstanceOf(CounterImpl);
    expect(s.counter('http.in.rbac.allowed')).toBeInstanceOf(CounterImpl);
    expect(s.counter('vhost.v.route.r.upstream_rq_total')).toBeInstanceOf(CounterImpl);
    const rejected = s.counter('cluster.outbound|80||x.upstream_rq_total');
    expect(rejected).toBeInstanceOf(NullCounter);
    rejected.inc();
    expect(rejected.value).toBe(0);
    // A full-match regex: a name that only contains the pattern's text is rejected.
    expect(s.counter('xvhost.v.route')).toBeInstanceOf(NullCounter);
    expect([...s.snapshot().counters.names].sort()).toEqual(['http.in.rbac.allowed', 'server.x', 'vhost.v.route.r.upstream_rq_total']);

    const none = new StatsStore(opts({ statsMatcher: { kind: 'reject_all', patterns: [] } }));
    none.gauge('server.state').set(1);
    expect(none.size).toBe(0);
    const excl = new StatsStore(opts({ statsMatcher: { kind: 'exclusion', patterns: [{ kind: 'prefix', value: 'CLUSTER.', ignoreCase: true }] } }));
    expect(excl.histogram('cluster.a.upstream_rq_time').used).toBe(false);
    expect(excl.size).toBe(0);
    expect(excl.accepted('listener.x')).toBe(true);
  });

  it('buckets histogram samples, with bucket settings overriding the defaults', () => {
    const s = new StatsStore(
      opts({ histogramBucketSettings: [{ match: { kind: 'prefix', value: 'custom.', ignoreCase: false }, buckets: [1, 10, 100] }] }),
    );
    const d = s.histogram('cluster.a.upstream_rq_time', 'Milliseconds');
    const c = s.histogram('custom.latency');
    for (const v of [0.2, 1, 7, 7000]) {
      d.record(v);
      c.record(v);
    }
    const snap = s.snapshot();
    const hd = snap.histograms.find((h) => h.name === 'cluster.a.upstream_rq_time')!;
    expect(hd.bounds).toEqual(DEFAULT_HISTOGRAM_BUCKETS);
    expect(hd.bucketCounts[0]).toBe(1); // 0.2 <= 0.5
    expect(hd.bucketCounts[1]).toBe(1); // 1 <= 1
    expect(hd.bucketCounts[3]).toBe(1); // 7 <= 10
    expect(hd.bucketCounts[12]).toBe(1); // 7000 <= 10000
    expect(hd.sum).toBeCloseTo(7008.2);
    expect(hd.count).toBe(4);
    const hc = snap.histograms.find((h) => h.name === 'custom.latency')!;
    expect(hc.bounds).toEqual([1, 10, 100]);
    expect(hc.bucketCounts).toEqual([2, 1, 0, 1]);
  });

  it('computes quantiles from log-linear bins like Envoy (one sample of 1 -> P50 1.05)', () => {
    expect(binBounds(binOf(1))).toEqual([1, expect.closeTo(0.1, 12)]);
    expect(binBounds(binOf(1000))[0]).toBeCloseTo(1000);
    expect(binBounds(binOf(0.0042))[0]).toBeCloseTo(0.0042);
    const s = new StatsStore();
    const h = s.histogram('h');
    h.record(1);
    const q = quantilesOf(s.snapshot().histograms[0]!.bins);
    expect(q[0]).toBeCloseTo(1);
    expect(q[2]).toBeCloseTo(1.05);
    expect(q[9]).toBeCloseTo(1.1);
    expect(quantilesOf([])[0]).toBeNaN();
  });

  it('keeps the last completed interval apart from cumulative bins', () => {
    const s = new StatsStore();
    const h = s.histogram('h');
    h.record(5);
    let d = s.snapshot().histograms[0]!;
    expect(d.intervalBins).toEqual([]);
    expect(d.bins.length).toBe(2);
    s.latchHistogramIntervals();
    h.record(50);
    d = s.snapshot().histograms[0]!;
    expect(quantilesOf(d.intervalBins)[0]).toBeCloseTo(5);
    expect(d.bins.length).toBe(4);
  });

  it('produces structured-clone-safe snapshots and resets counters', () => {
    const s = new StatsStore();
    s.counter('a').inc(3);
    s.gauge('b').set(2);
    s.textReadout('server.version').set('1.0');
    s.histogram('h').record(3);
    s.counterWithTags('istiocustom.istio_requests_total', [{ name: 'reporter', value: 'destination' }]).inc();
    s.registerCustomNamespace('istiocustom');
    const snap = s.snapshot();
    expect(structuredClone(snap)).toEqual(snap);
    expect(snap.tagged).toEqual([
      {
        fullName: 'istiocustom.istio_requests_total.reporter.destination',
        extractedName: 'istiocustom.istio_requests_total',
        tags: [{ name: 'reporter', value: 'destination' }],
      },
    ]);
    s.resetCounters();
    expect(s.counter('a').value).toBe(0);
    expect(s.counter('a').used).toBe(true);
  });
});

describe('mergeSnapshots', () => {
  it('sums counters, Accumulate gauges and histograms; keeps NeverImport gauges and text readouts', () => {
    const control = new StatsStore();
    const w1 = new StatsStore();
    const w2 = new StatsStore();
    control.gauge('server.state', 'NeverImport').set(0);
    control.gauge('listener_manager.workers_started', 'NeverImport').set(1);
    control.textReadout('server.version').set('v1');
    w1.gauge('server.state', 'NeverImport'); // created but never written on the worker
    w2.gauge('server.state', 'NeverImport').set(3);
    w1.counter('cluster.a.upstream_rq_total').inc(2);
    w2.counter('cluster.a.upstream_rq_total').inc(5);
    w2.counter('only.w2').inc();
    w1.gauge('cluster.a.upstream_cx_active').set(3);
    w2.gauge('cluster.a.upstream_cx_active').set(4);
    w1.histogram('cluster.a.upstream_rq_time').record(1);
    w2.histogram('cluster.a.upstream_rq_time').record(100);
    w2.histogram('cluster.a.upstream_rq_time').record(100);

    const m = mergeSnapshots([control.snapshot(), structuredClone(w1.snapshot()), structuredClone(w2.snapshot())]);
    const val = (names: readonly string[], values: readonly number[], n: string) => values[names.indexOf(n)];
    expect(val(m.counters.names, m.counters.values, 'cluster.a.upstream_rq_total')).toBe(7);
    expect(val(m.counters.names, m.counters.values, 'only.w2')).toBe(1);
    expect(val(m.gauges.names, m.gauges.values, 'cluster.a.upstream_cx_active')).toBe(7);
    expect(val(m.gauges.names, m.gauges.values, 'server.state')).toBe(0);
    expect(val(m.gauges.names, m.gauges.values, 'listener_manager.workers_started')).toBe(1);
    expect(m.textReadouts.values[m.textReadouts.names.indexOf('server.version')]).toBe('v1');
    const h = m.histograms.find((x) => x.name === 'cluster.a.upstream_rq_time')!;
    expect(h.count).toBe(3);
    expect(h.sum).toBe(201);
    expect(h.bucketCounts[1]).toBe(1);
    expect(h.bucketCounts[6]).toBe(2);
    expect(quantilesOf(h.bins)[9]).toBeCloseTo(110);
    expect(mergeSnapshots([w1.snapshot()])).toEqual(w1.snapshot());
    expect(mergeSnapshots([]).counters.names).toEqual([]);
  });

  it('re-buckets a histogram whose bounds differ', () => {
    const a = new StatsStore(opts({ histogramBucketSettings: [{ match: { kind: 'exact', value: 'h', ignoreCase: false }, buckets: [10, 100] }] }));
    const b = new StatsStore(opts({ histogramBucketSettings: [{ match: { kind: 'exact', value: 'h', ignoreCase: false }, buckets: [5, 50, 500] }] }));
    a.histogram('h').record(7);
    b.histogram('h').record(3); // bucket 5 -> 10
    b.histogram('h').record(40); // bucket 50 -> 100
    b.histogram('h').record(400); // bucket 500 -> +Inf
    const m = mergeSnapshots([a.snapshot(), b.snapshot()]).histograms[0]!;
    expect(m.bounds).toEqual([10, 100]);
    expect(m.bucketCounts).toEqual([2, 1, 1]);
  });
});
