// Istio conformance of the stats subsystem: the stats_config pilot-agent writes into
// envoy-rev.json (corpus default_golden.json) drives tag extraction and the stats matcher the
// way Envoy applies them, and our /stats text satisfies pilot-agent's readiness parser for the
// test vectors in the corpus (istio/agent/admin_api_contract.yaml, from probe_test.go).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import protojson from 'protobufjs/ext/protojson.js';
import { parse as parseYaml } from 'yaml';
import { lookupType } from '../gen/proto-root';
import { translateStatsConfig } from '../config/translate/stats-config';
import type { StatsConfig } from '../config/model/stats';
import type { Msg } from '../config/translate/proto-util';
import type { StatsOptionsSpec } from './stats-options';
import { TagProducer } from './tag-producer';
import { StatsStore } from './stats-store';
import { mergeSnapshots } from './snapshot';
import { renderStatsText } from './render-text';
import { parseStatsParams, type StatsParams } from './stats-params';
import { PrometheusRenderer } from './render-prometheus';

const CORPUS = join(__dirname, '..', '..', '..', 'shared', 'corpus');

function istioStatsConfig(golden: string): StatsConfig {
  const boot = JSON.parse(readFileSync(join(CORPUS, 'istio', 'bootstrap', 'golden', golden), 'utf8'));
  const msg = protojson.fromJson(lookupType('envoy.config.metrics.v3.StatsConfig'), boot.stats_config) as Msg;
  const r = translateStatsConfig(msg);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}

function params(q: string): StatsParams {
  const r = parseStatsParams(q);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}

// The model is what the control side hands to stats/: it must fit the stats-side shape.
const config: StatsOptionsSpec = istioStatsConfig('default_golden.json');
const producer = new TagProducer(config);

function tagsOf(name: string): [string, Record<string, string>] {
  const e = producer.produceTags(name);
  return [e.extractedName, Object.fromEntries(e.tags.map((t) => [t.name, t.value]))];
}

describe('Istio default bootstrap stats_config: tag extraction', () => {
  it('is Istio’s list, without Envoy default tags', () => {
    expect(config.useAllDefaultTags).toBe(false);
    expect(config.statsTags.map((t) => t.tagName)).toEqual(
      expect.arrayContaining(['cluster_name', 'http_conn_manager_prefix', 'listener_address', 'response_code', 'response_code_class']),
    );
  });

  it('tags cluster stats by the `;`-terminated cluster name', () => {
    expect(tagsOf('cluster.outbound|9080||reviews.default.svc.cluster.local;.upstream_rq_total')).toEqual([
      'cluster.upstream_rq_total',
      { cluster_name: 'outbound|9080||reviews.default.svc.cluster.local' },
    ]);
    expect(tagsOf('cluster.outbound|9080||reviews.default.svc.cluster.local;.upstream_rq_503')).toEqual([
      'cluster.upstream_rq',
      { cluster_name: 'outbound|9080||reviews.default.svc.cluster.local', response_code: '503' },
    ]);
    expect(tagsOf('cluster.xds-grpc;.upstream_cx_total')).toEqual(['cluster.upstream_cx_total', { cluster_name: 'xds-grpc' }]);
  });

  it('tags HTTP connection manager stats', () => {
    expect(tagsOf('http.10.0.0.1_8080;.downstream_rq_2xx')).toEqual([
      'http.downstream_rq',
      { http_conn_manager_prefix: '10.0.0.1_8080', response_code_class: '2xx' },
    ]);
    // Istio's regex wants the `;` that 1.26+ stat prefixes end with; without it Envoy extracts
    // only the response code class and the prefix stays in the metric name.
    expect(tagsOf('http.10.0.0.1_8080.downstream_rq_2xx')).toEqual(['http.10.0.0.1_8080.downstream_rq', { response_code_class: '2xx' }]);
    expect(tagsOf('http.inbound_0.0.0.0_8080;.rbac.allowed')).toEqual([
      'http.rbac',
      { http_conn_manager_prefix: 'inbound_0.0.0.0_8080', authz_enforce_result: 'allowed' },
    ]);
  });

  it('tags listener stats by address and the listener HTTP prefix', () => {
    expect(tagsOf('listener.0.0.0.0_15006.downstream_cx_total')).toEqual(['listener.downstream_cx_total', { listener_address: '0.0.0.0_15006' }]);
    expect(tagsOf('listener.[__1]_15006.downstream_cx_total')).toEqual(['listener.downstream_cx_total', { listener_address: '[__1]_15006' }]);
    expect(tagsOf('listener.10.0.0.1_8080.http.10.0.0.1_8080.downstream_rq_5xx')).toEqual([
      'listener.http.downstream_rq',
      { response_code_class: '5xx', http_conn_manager_listener_prefix: '10.0.0.1_8080', listener_address: '10.0.0.1_8080' },
    ]);
    expect(tagsOf('server.main_thread.watchdog_miss')).toEqual(['server.watchdog_miss', { thread_name: 'main_thread' }]);
    expect(tagsOf('tcp.outbound_tcp.downstream_cx_total')).toEqual(['tcp.downstream_cx_total', { tcp_prefix: 'outbound_tcp' }]);
  });

  it('also reads the legacy-regex golden', () => {
    const legacy = new TagProducer(istioStatsConfig('legacy_stats_tags_regex_golden.json'));
    expect(legacy.produceTags('listener.0.0.0.0_15001.downstream_cx_total').tags).toEqual([{ name: 'listener_address', value: '0.0.0.0_15001' }]);
  });
});

describe('Istio default bootstrap stats_config: stats matcher and exposition', () => {
  it('keeps the inclusion list and drops service cluster stats', () => {
    const s = new StatsStore(config);
    for (const n of [
      'server.state',
      'cluster_manager.cds.update_success',
      'listener_manager.lds.update_success',
      'cluster.xds-grpc;.upstream_cx_total',
      'vhost.inbound|http|9080.route.default.upstream_rq_total',
      'http.inbound_0.0.0.0_8080;.rbac.allowed',
    ]) {
      expect([n, s.accepted(n)]).toEqual([n, true]);
    }
    for (const n of ['cluster.outbound|9080||reviews.default.svc.cluster.local;.upstream_rq_total', 'listener.0.0.0.0_15006.downstream_cx_total']) {
      expect([n, s.accepted(n)]).toEqual([n, false]);
    }
  });

  it('renders xds-grpc cluster stats as Istio documents them', () => {
    const s = new StatsStore(config);
    s.counter('cluster.xds-grpc;.upstream_cx_total').inc(2);
    s.counter('cluster.outbound|9080||reviews.default.svc.cluster.local;.upstream_rq_total').inc(5);
    const out = new PrometheusRenderer(config).render(s.snapshot(), params(''));
    expect(out).toBe('# TYPE envoy_cluster_upstream_cx_total counter\nenvoy_cluster_upstream_cx_total{cluster_name="xds-grpc"} 2\n\n');
  });
});

// --- pilot-agent's readiness parsing (pilot/cmd/pilot-agent/status/util/stats.go, ready/probe.go) ---

interface ReadinessResult {
  ready: boolean;
  error?: string;
}

/** First line starting with the stat name wins; split on ':' into exactly two parts; uint value. */
function parseStat(body: string, name: string): number {
  for (const line of body.split('\n')) {
    if (!line.startsWith(name)) continue;
    const parts = line.split(':');
    if (parts.length !== 2) throw new Error(`envoy stat ${name} missing separator. line:${line}`);
    const v = parts[1]!.trim();
    if (!/^\d+$/.test(v)) throw new Error(`failed parsing Envoy stat ${name} (error: ${v})`);
    return Number(v);
  }
  return 0;
}

function checkConfig(updateBody: string): string | undefined {
  const cdsOk = parseStat(updateBody, 'cluster_manager.cds.update_success');
  const cdsRej = parseStat(updateBody, 'cluster_manager.cds.update_rejected');
  const ldsOk = parseStat(updateBody, 'listener_manager.lds.update_success');
  const ldsRej = parseStat(updateBody, 'listener_manager.lds.update_rejected');
  if (cdsOk > 0 && ldsOk > 0) return undefined;
  const counts = `cds updates: ${cdsOk} successful, ${cdsRej} rejected; lds updates: ${ldsOk} successful, ${ldsRej} rejected`;
  if (cdsOk + cdsRej + ldsOk + ldsRej === 0) return `config not received from XDS server (is Istiod running?): ${counts}`;
  if (cdsRej > 0 || ldsRej > 0) return `config received from XDS server, but was rejected: ${counts}`;
  return `config not fully received from XDS server: ${counts}`;
}

function checkServer(stateBody: string): string | undefined {
  if (!stateBody.includes('server.state')) return 'server.state is not yet updated';
  if (!stateBody.includes('listener_manager.workers_started')) return 'listener_manager.workers_started is not yet updated';
  if (parseStat(stateBody, 'server.state') !== 0) return 'server is not live';
  if (parseStat(stateBody, 'listener_manager.workers_started') !== 1) return 'workers have not yet started';
  return undefined;
}

function probe(updateBody: string, stateBody: string): ReadinessResult {
  const e = checkConfig(updateBody) ?? checkServer(stateBody);
  return e === undefined ? { ready: true } : { ready: false, error: e };
}

const READY_UPDATES = 'usedonly&filter=^(cluster_manager\\.cds|listener_manager\\.lds)\\.(update_success|update_rejected)$';
const READY_STATE = 'usedonly&filter=^(server\\.state|listener_manager\\.workers_started)';

describe('pilot-agent readiness against /stats', () => {
  const contract = parseYaml(readFileSync(join(CORPUS, 'istio', 'agent', 'admin_api_contract.yaml'), 'utf8'));
  const vectors: { stats: string; ready: boolean; error?: string }[] = contract.test_vectors.readiness;

  it('our parser model reproduces the corpus vectors', () => {
    expect(vectors.length).toBeGreaterThan(5);
    for (const v of vectors) {
      const r = probe(v.stats, v.stats);
      expect([v.stats, r.ready]).toEqual([v.stats, v.ready]);
      if (v.error) expect(r.error).toBe(v.error);
    }
  });

  function server(workers: number) {
    const control = new StatsStore(config);
    const ws = Array.from({ length: workers }, () => new StatsStore(config));
    const state = control.gauge('server.state', 'NeverImport');
    const started = control.gauge('listener_manager.workers_started', 'NeverImport');
    const cdsOk = control.counter('cluster_manager.cds.update_success');
    const cdsRej = control.counter('cluster_manager.cds.update_rejected');
    const ldsOk = control.counter('listener_manager.lds.update_success');
    control.counter('listener_manager.lds.update_rejected');
    // Neighbours that share prefixes with the probed names must not confuse the parser.
    control.counter('cluster_manager.cds.update_attempt').inc(3);
    control.gauge('server.stats_recent_lookups').set(10);
    control.counter('listener_manager.lds.update_success_extra').inc();
    for (const w of ws) w.gauge('server.state', 'NeverImport'); // created on workers, never written there
    state.set(2); // PRE_INITIALIZING from the start
    const render = (q: string) => renderStatsText(mergeSnapshots([control.snapshot(), ...ws.map((w) => structuredClone(w.snapshot()))]), params(q));
    const check = () => probe(render(READY_UPDATES), render(READY_STATE));
    return { state, started, cdsOk, cdsRej, ldsOk, render, check };
  }

  it('goes ready once CDS and LDS were applied, workers started and the server is LIVE', () => {
    const s = server(2);
    expect(s.check()).toEqual({ ready: false, error: 'config not received from XDS server (is Istiod running?): cds updates: 0 successful, 0 rejected; lds updates: 0 successful, 0 rejected' });
    s.ldsOk.inc();
    expect(s.check().error).toBe('config not fully received from XDS server: cds updates: 0 successful, 0 rejected; lds updates: 1 successful, 0 rejected');
    s.cdsRej.inc();
    expect(s.check().error).toBe('config received from XDS server, but was rejected: cds updates: 0 successful, 1 rejected; lds updates: 1 successful, 0 rejected');
    s.cdsOk.inc();
    s.state.set(3); // INITIALIZING
    expect(s.check()).toEqual({ ready: false, error: 'listener_manager.workers_started is not yet updated' });
    s.started.set(0);
    expect(s.check()).toEqual({ ready: false, error: 'server is not live' });
    s.state.set(0);
    expect(s.check()).toEqual({ ready: false, error: 'workers have not yet started' });
    s.started.set(1);
    expect(s.check()).toEqual({ ready: true });
    // server.state is 0 and still printed under usedonly: it was set, not merely created.
    expect(s.render(READY_STATE)).toBe('listener_manager.workers_started: 1\nserver.state: 0\n');
    expect(s.render(READY_UPDATES)).toBe(
      'cluster_manager.cds.update_rejected: 1\ncluster_manager.cds.update_success: 1\nlistener_manager.lds.update_success: 1\n',
    );
  });
});
