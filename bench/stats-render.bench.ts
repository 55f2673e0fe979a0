// Micro benchmark of the admin stats path at Istio scale: 10k clusters x 20 stats (16 counters,
// 3 gauges, 1 histogram) spread over a control-side store and two worker stores. Measures
// snapshot, structured clone (the worker -> control message), merge, /stats text and JSON, the
// readiness query, and /stats/prometheus with Envoy's default tags and with Istio's stats_tags
// (cold tag cache = first scrape, warm = later scrapes), plus counter.inc() on the hot path.
// Not a test. Run:
//   npx tsc --outDir /tmp/stats-bench --rootDir . --module commonjs --target es2022 --skipLibCheck --strict \
//     --esModuleInterop --types node bench/stats-render.bench.ts && \
//     NODE_PATH=node_modules node /tmp/stats-bench/bench/stats-render.bench.js
// from the repository root (the Istio case reads ../shared/corpus and build/proto-root.json).
// Each step runs a bounded number of repetitions (at most REPS, and stops after ~3 s).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import protojson from 'protobufjs/ext/protojson.js';
import { translateStatsConfig } from '../src/config/translate/stats-config';
import type { Msg } from '../src/config/translate/proto-util';
import { StatsStore } from '../src/stats/stats-store';
import { mergeSnapshots, type StatsSnapshot } from '../src/stats/snapshot';
import { renderStatsJson, renderStatsText } from '../src/stats/render-text';
import { PrometheusRenderer } from '../src/stats/render-prometheus';
import { parseStatsParams, type StatsParams } from '../src/stats/stats-params';
import type { StatsOptionsSpec } from '../src/stats/stats-options';

const CLUSTERS = 10_000;
const REPS = 5;
const MAX_MS = 3000;
const COUNTERS = [
  'upstream_rq_total',
  'upstream_rq_200',
  'upstream_rq_2xx',
  'upstream_rq_503',
  'upstream_rq_5xx',
  'upstream_rq_timeout',
  'upstream_rq_retry',
  'upstream_cx_total',
  'upstream_cx_destroy',
  'upstream_cx_connect_fail',
  'upstream_cx_rx_bytes_total',
  'upstream_cx_tx_bytes_total',
  'lb_healthy_panic',
  'membership_change',
  'update_attempt',
  'update_success',
];
const GAUGES = ['upstream_cx_active', 'upstream_rq_active', 'membership_healthy'];

function params(q: string): StatsParams {
  const r = parseStatsParams(q);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}

function time<T>(label: string, fn: () => T): T {
  let out!: T;
  const runs: number[] = [];
  const start = performance.now();
  for (let i = 0; i < REPS && performance.now() - start < MAX_MS; i++) {
    const t0 = performance.now();
    out = fn();
    runs.push(performance.now() - t0);
  }
  runs.sort((a, b) => a - b);
  const size = typeof out === 'string' ? ` ${(out.length / 1e6).toFixed(1)} MB` : '';
  console.log(`${label.padEnd(46)} median ${runs[runs.length >> 1]!.toFixed(1).padStart(7)} ms  min ${runs[0]!.toFixed(1).padStart(7)} ms  (${runs.length} runs)${size}`);
  return out;
}

function istioTags(): Pick<StatsOptionsSpec, 'statsTags' | 'useAllDefaultTags'> | undefined {
  try {
    // Run from the repository root: the corpus sits beside it, the proto root under build/.
    const boot = JSON.parse(readFileSync(join(process.cwd(), '..', 'shared', 'corpus', 'istio', 'bootstrap', 'golden', 'default_golden.json'), 'utf8'));
    const root = protobuf.Root.fromJSON(JSON.parse(readFileSync(join(process.cwd(), 'build', 'proto-root.json'), 'utf8')));
    const type = root.lookupType('envoy.config.metrics.v3.StatsConfig');
    const r = translateStatsConfig(protojson.fromJson(type, boot.stats_config) as Msg);
    return r.ok ? r.value : undefined;
  } catch {
    return undefined;
  }
}

function build(): { control: StatsStore; workers: StatsStore[] } {
  const control = new StatsStore();
  const workers = [new StatsStore(), new StatsStore()];
  control.gauge('server.state', 'NeverImport').set(0);
  control.gauge('listener_manager.workers_started', 'NeverImport').set(1);
  control.counter('cluster_manager.cds.update_success').inc();
  control.counter('listener_manager.lds.update_success').inc();
  for (let i = 0; i < CLUSTERS; i++) {
    const name = `cluster.outbound|${8000 + (i % 1000)}||svc-${i}.ns-${i % 50}.svc.cluster.local;`;
    for (const store of [control, ...workers]) {
      const sc = store.scope(name);
      if (store === control) {
        sc.counter('update_attempt').inc();
        sc.counter('update_success').inc();
        continue;
      }
      for (const c of COUNTERS) sc.counter(c).inc(i % 7);
      for (const g of GAUGES) sc.gauge(g).set(i % 3);
      const h = sc.histogram('upstream_rq_time', 'Milliseconds');
      for (let k = 0; k < 5; k++) h.record(((i + k) * 13) % 900);
    }
  }
  return { control, workers };
}

function main(): void {
  console.log(`stats render bench: ${CLUSTERS} clusters x ${COUNTERS.length + GAUGES.length + 1} stats, 1 control + 2 worker stores`);
  const t0 = performance.now();
  const { control, workers } = build();
  console.log(`${'build stores'.padEnd(46)} ${(performance.now() - t0).toFixed(0)} ms, ${workers[0]!.size} stats per worker`);

  const inc = workers[0]!.counter(`cluster.outbound|8000||svc-0.ns-0.svc.cluster.local;.upstream_rq_total`);
  const N = 50_000_000;
  const ti = performance.now();
  for (let i = 0; i < N; i++) inc.inc();
  console.log(`${'counter.inc() hot path'.padEnd(46)} ${((N / (performance.now() - ti)) * 1000 / 1e6).toFixed(0)} M/s`);

  const snaps = time('snapshot() one worker', () => workers[0]!.snapshot());
  time('structuredClone(worker snapshot)', () => structuredClone(snaps));
  const all: StatsSnapshot[] = [control.snapshot(), workers[0]!.snapshot(), workers[1]!.snapshot()];
  const merged = time('mergeSnapshots(control + 2 workers)', () => mergeSnapshots(all));
  time('/stats text', () => renderStatsText(merged, params('')));
  time('/stats?format=json', () => renderStatsJson(merged, params('format=json')));
  time('/stats?usedonly&filter=<readiness>', () => renderStatsText(merged, params('usedonly&filter=^(server\\.state|listener_manager\\.workers_started)')));
  const envoyDefaults = new PrometheusRenderer({ statsTags: [], useAllDefaultTags: true });
  time('/stats/prometheus default tags, cold cache', () => new PrometheusRenderer({ statsTags: [], useAllDefaultTags: true }).render(merged, params('')));
  envoyDefaults.render(merged, params(''));
  time('/stats/prometheus default tags, warm cache', () => envoyDefaults.render(merged, params('')));
  const istio = istioTags();
  if (istio) {
    time('/stats/prometheus Istio tags, cold cache', () => new PrometheusRenderer(istio).render(merged, params('')));
    const r = new PrometheusRenderer(istio);
    r.render(merged, params(''));
    time('/stats/prometheus Istio tags, warm cache', () => r.render(merged, params('')));
  } else {
    console.log('Istio stats_config not available (corpus or build/proto-root.json missing): skipped');
  }
}

main();
