// /stats text and JSON and /stats/prometheus rendering over merged snapshots, including a
// `promtool check metrics` run on a realistic exposition (skipped with a message when promtool
// is not installed; `make test` installs it).
import { spawnSync } from 'node:child_process';
import { StatsStore } from './stats-store';
import { mergeSnapshots } from './snapshot';
import { parseStatsParams, requiredPrefixes, DEFAULT_STATS_PARAMS, type StatsParams } from './stats-params';
import { renderStatsJson, renderStatsText } from './render-text';
import { PrometheusRenderer, PROMETHEUS_CONTENT_TYPE, escapeLabelValue, prometheusMetricName } from './render-prometheus';

function params(q: string): StatsParams {
  const r = parseStatsParams(q);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}

function sample(): StatsStore {
  const s = new StatsStore();
  s.counter('cluster.b.upstream_rq_total').inc(2);
  s.counter('cluster.a.upstream_rq_total').inc(1);
  s.counter('cluster.a.upstream_rq_retry');
  s.gauge('cluster.a.upstream_cx_active').set(3);
  s.gauge('server.state', 'NeverImport').set(0);
  s.textReadout('server.version').set('abc/1.0');
  s.histogram('cluster.a.upstream_rq_time', 'Milliseconds').record(1);
  s.histogram('cluster.b.upstream_rq_time', 'Milliseconds');
  return s;
}

describe('parseStatsParams', () => {
  it('parses Envoy query parameters and rejects bad ones', () => {
    const p = params('?usedonly&filter=^(server\\.state|listener_manager\\.workers_started)&type=Gauges');
    expect(p.usedOnly).toBe(true);
    expect(p.type).toBe('Gauges');
    expect(p.filter!('server.state')).toBe(true);
    expect(p.filter!('xserver.state')).toBe(false);
    expect(params('filter=rq_').filter!('cluster.a.upstream_rq_total')).toBe(true);
    const bad = parseStatsParams('filter=(a');
    expect(bad.ok).toBe(false);
    // RE2 has no lookahead: a request regex can never backtrack.
    expect(parseStatsParams('filter=(?=x)').ok).toBe(false);
    expect(parseStatsParams('type=counters').ok).toBe(false);
    expect(params('format=json').format).toBe('json');
    expect(params('text_readouts').textReadouts).toBe(true);
  });
});

describe('requiredPrefixes (filter pre-check)', () => {
  it('finds the literal prefixes of anchored patterns and gives up on anything else', () => {
    expect(requiredPrefixes('^(server\\.state|listener_manager\\.workers_started)')).toEqual(['server.state', 'listener_manager.workers_started']);
    expect(requiredPrefixes('^(cluster_manager\\.cds|listener_manager\\.lds)\\.(update_success|update_rejected)$')).toEqual([
      'cluster_manager.cds',
      'listener_manager.lds',
    ]);
    expect(requiredPrefixes('^cluster\\.a.*x')).toEqual(['cluster.a']);
    expect(requiredPrefixes('^abc?d')).toEqual(['ab']);
    expect(requiredPrefixes('^(ab)?c')).toBeUndefined();
    expect(requiredPrefixes('^a|b')).toBeUndefined();
    expect(requiredPrefixes('^(a)x|y')).toBeUndefined();
    expect(requiredPrefixes('^a[|]')).toEqual(['a']);
    expect(requiredPrefixes('^(?i)abc')).toBeUndefined();
    expect(requiredPrefixes('^(a(b)|c)')).toBeUndefined();
    expect(requiredPrefixes('downstream_cx_active$')).toBeUndefined();
    expect(requiredPrefixes('^.*x')).toBeUndefined();
  });

  it('never changes what the filter accepts', () => {
    const names = ['server.state', 'server.stateful', 'xserver.state', 'listener_manager.workers_started', 'listener_manager.lds.update_success', 'abd', 'ad', 'abcd'];
    for (const re of ['^(server\\.state|listener_manager\\.workers_started)', '^(listener_manager\\.lds)\\.(update_success)$', '^abc?d', '^server\\.state$']) {
      const p = params(`filter=${encodeURIComponent(re)}`);
      for (const n of names) expect([re, n, p.filter!(n)]).toEqual([re, n, new RegExp(re).test(n)]);
    }
  });
});

describe('renderStatsText', () => {
  it('writes text readouts, then counters and gauges sorted by name, then histograms', () => {
    expect(renderStatsText(sample().snapshot(), DEFAULT_STATS_PARAMS)).toBe(
      [
        'server.version: "abc/1.0"',
        'cluster.a.upstream_cx_active: 3',
        'cluster.a.upstream_rq_retry: 0',
        'cluster.a.upstream_rq_total: 1',
        'cluster.b.upstream_rq_total: 2',
        'server.state: 0',
        'cluster.a.upstream_rq_time: P0(nan,1) P25(nan,1.025) P50(nan,1.05) P75(nan,1.075) P90(nan,1.09) P95(nan,1.095) P99(nan,1.099) P99.5(nan,1.0995) P99.9(nan,1.0999) P100(nan,1.1)',
        'cluster.b.upstream_rq_time: No recorded values',
        '',
      ].join('\n'),
    );
  });

  it('honours usedonly, filter and type', () => {
    const snap = sample().snapshot();
    expect(renderStatsText(snap, params('usedonly&filter=rq_'))).toBe(
      'cluster.a.upstream_rq_total: 1\ncluster.b.upstream_rq_total: 2\ncluster.a.upstream_rq_time: P0(nan,1) P25(nan,1.025) P50(nan,1.05) P75(nan,1.075) P90(nan,1.09) P95(nan,1.095) P99(nan,1.099) P99.5(nan,1.0995) P99.9(nan,1.0999) P100(nan,1.1)\n',
    );
    expect(renderStatsText(snap, params('type=Counters&filter=cluster\\.a'))).toBe('cluster.a.upstream_rq_retry: 0\ncluster.a.upstream_rq_total: 1\n');
    expect(renderStatsText(snap, params('type=TextReadouts'))).toBe('server.version: "abc/1.0"\n');
    expect(renderStatsText(snap, params('usedonly&filter=^server\\.state$'))).toBe('server.state: 0\n');
  });
});

describe('renderStatsJson', () => {
  it('uses Envoy JSON shape with a histograms element', () => {
    const j = JSON.parse(renderStatsJson(sample().snapshot(), DEFAULT_STATS_PARAMS));
    expect(j.stats[0]).toEqual({ name: 'server.version', value: 'abc/1.0' });
    expect(j.stats[1]).toEqual({ name: 'cluster.a.upstream_cx_active', value: 3 });
    const h = j.stats[j.stats.length - 1].histograms;
    expect(h.supported_quantiles).toEqual([0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100]);
    expect(h.computed_quantiles[0].name).toBe('cluster.a.upstream_rq_time');
    expect(h.computed_quantiles[0].values[2]).toEqual({ interval: null, cumulative: 1.05 });
    expect(h.computed_quantiles[1].values[0]).toEqual({ interval: null, cumulative: null });
    expect(JSON.parse(renderStatsJson(sample().snapshot(), params('type=Counters'))).stats).toHaveLength(3);
  });
});

describe('PrometheusRenderer', () => {
  const defaults = new PrometheusRenderer({ statsTags: [], useAllDefaultTags: true });

  it('writes Envoy exposition: envoy_ names, tags as labels, TYPE lines, cumulative buckets', () => {
    const s = sample();
    s.histogram('cluster.a.upstream_rq_time', 'Milliseconds').record(7);
    const out = defaults.render(s.snapshot(), DEFAULT_STATS_PARAMS);
    expect(out).toContain(
      '# TYPE envoy_cluster_upstream_rq_total counter\nenvoy_cluster_upstream_rq_total{envoy_cluster_name="a"} 1\nenvoy_cluster_upstream_rq_total{envoy_cluster_name="b"} 2\n\n',
    );
    expect(out).toContain('# TYPE envoy_server_state gauge\nenvoy_server_state{} 0\n\n');
    expect(out).not.toContain('server_version');
    expect(out).toContain('# TYPE envoy_cluster_upstream_rq_time histogram\n');
    expect(out).toContain('envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="a",le="0.5"} 0\n');
    expect(out).toContain('envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="a",le="1"} 1\n');
    expect(out).toContain('envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="a",le="10"} 2\n');
    expect(out).toContain('envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="a",le="3600000"} 2\n');
    expect(out).toContain('envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="a",le="+Inf"} 2\n');
    expect(out).toContain('envoy_cluster_upstream_rq_time_sum{envoy_cluster_name="a"} 8\nenvoy_cluster_upstream_rq_time_count{envoy_cluster_name="a"} 2\n');
    expect(out).toContain('envoy_cluster_upstream_rq_time_count{envoy_cluster_name="b"} 0\n');
    // Counters first, then gauges, then histograms.
    expect(out.indexOf('counter\n')).toBeLessThan(out.indexOf('gauge\n'));
    expect(out.indexOf('gauge\n')).toBeLessThan(out.indexOf('histogram\n'));
  });

  it('honours usedonly, filter and text_readouts; escapes label values', () => {
    const s = sample();
    s.textReadout('server.hot_restart_version').set('a"b\\c\nd');
    const out = defaults.render(s.snapshot(), params('usedonly&text_readouts&filter=server'));
    expect(out).toBe(
      '# TYPE envoy_server_state gauge\nenvoy_server_state{} 0\n\n' +
        '# TYPE envoy_server_hot_restart_version gauge\nenvoy_server_hot_restart_version{text_value="a\\"b\\\\c\\nd"} 1\n\n' +
        '# TYPE envoy_server_version gauge\nenvoy_server_version{text_value="abc/1.0"} 1\n\n',
    );
    expect(escapeLabelValue('plain')).toBe('plain');
  });

  it('exports custom namespaces without envoy_ and explicit tags as labels', () => {
    const s = new StatsStore();
    s.registerCustomNamespace('istiocustom');
    s.counterWithTags('istiocustom.istio_requests_total', [
      { name: 'reporter', value: 'destination' },
      { name: 'response_code', value: '200' },
    ]).inc(3);
    s.counter('istiocustom.9bad').inc();
    const out = defaults.render(s.snapshot(), DEFAULT_STATS_PARAMS);
    expect(out).toBe('# TYPE istio_requests_total counter\nistio_requests_total{reporter="destination",response_code="200"} 3\n\n');
    expect(prometheusMetricName('a.b-c:d', [])).toBe('envoy_a_b_c_d');
  });

  it('exposes the Prometheus 0.0.4 content type', () => {
    expect(PROMETHEUS_CONTENT_TYPE).toBe('text/plain; version=0.0.4; charset=utf-8');
  });
});

describe('promtool check metrics', () => {
  const have = spawnSync('promtool', ['--version']).status === 0;
  (have ? it : it.skip)('accepts a realistic exposition with histograms (lint warnings aside)', () => {
    const control = new StatsStore();
    const worker = new StatsStore();
    control.gauge('server.state', 'NeverImport').set(0);
    control.gauge('listener_manager.workers_started', 'NeverImport').set(1);
    control.counter('cluster_manager.cds.update_success').inc();
    control.counter('listener_manager.lds.update_success').inc();
    control.textReadout('server.version').set('meshproxy/0.1.0');
    for (let i = 0; i < 50; i++) {
      const c = worker.scope(`cluster.outbound|${9000 + i}||svc${i}.default.svc.cluster.local`);
      c.counter('upstream_rq_total').inc(i);
      c.counter('upstream_rq_200').inc(i);
      c.counter('upstream_rq_5xx').inc(1);
      c.gauge('upstream_cx_active').set(i % 3);
      const h = c.histogram('upstream_rq_time', 'Milliseconds');
      for (let k = 0; k < 20; k++) h.record((k * 37) % 700);
    }
    worker.counter('listener.0.0.0.0_15006.downstream_cx_total').inc(4);
    worker.counter('listener.[__1]_15006.downstream_cx_total').inc(1);
    worker.counter('http.inbound_0.0.0.0_8080.rbac.allowed').inc(2);
    worker.counter('weird name/with"chars').inc(1);
    worker.registerCustomNamespace('istiocustom');
    worker
      .histogramWithTags('istiocustom.istio_request_duration_milliseconds', [
        { name: 'reporter', value: 'destination' },
        { name: 'source_workload', value: 'a"b' },
      ])
      .record(12);
    const snap = mergeSnapshots([control.snapshot(), worker.snapshot()]);
    const text = new PrometheusRenderer({ statsTags: [], useAllDefaultTags: true }).render(snap, params('text_readouts'));
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    const report = `${r.stdout}${r.stderr}`;
    // 0 = clean, 3 = lint findings only (Envoy writes no HELP and no _total suffixes); 1 = parse error.
    expect([0, 3]).toContain(r.status);
    expect(report).not.toMatch(/error/i);
    for (const line of report.split('\n').filter(Boolean)) {
      expect(line).toMatch(/no help text|should have "_total" suffix|abbreviated units|non-base units|use base unit/);
    }
  });
  if (!have) it('skips promtool checks: promtool not installed (Debian package "prometheus"; `make test` installs it)', () => expect(have).toBe(false));
});
