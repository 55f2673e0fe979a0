// ClusterRuntime with configs translated from Envoy JSON: the real LBs over 127.0.0.x hosts,
// priority failover by the overprovisioning formula, STRICT_DNS (localhost and a failing name),
// max_connections overflow on real sockets, HTTP and TCP active health checks against real
// servers, outlier ejection on refused connects, ORIGINAL_DST hosts, aggregate clusters, and
// host state carried across EDS updates.
import * as http from 'node:http';
import * as net from 'node:net';
import pino from 'pino';
import { ErrorSink } from '../../common/result';
import { fromProtoJson } from '../../config/bootstrap/proto-json';
import type { ClusterConfig, EndpointSetConfig } from '../../config/model/cluster';
import { translateCluster } from '../../config/translate/cluster';
import { translateLoadAssignment } from '../../config/translate/endpoint';
import { createExtensionTranslator } from '../../config/translate/extension';
import { builtinParsers } from '../../extensions/parsers';
import { lookupType } from '../../gen/proto-root';
import { StatsStore } from '../../stats/stats-store';
import { ClusterRuntime, type Host } from './cluster-runtime';

const log = pino({ level: 'silent' });
const ext = createExtensionTranslator(builtinParsers());

function cfg(json: object): ClusterConfig {
  const errors = ErrorSink.create();
  const c = translateCluster(fromProtoJson(lookupType('envoy.config.cluster.v3.Cluster'), json), ext, errors);
  if (!c) throw new Error(JSON.stringify(errors.errors));
  return c;
}

function cla(json: object): EndpointSetConfig {
  const errors = ErrorSink.create();
  const set = translateLoadAssignment(fromProtoJson(lookupType('envoy.config.endpoint.v3.ClusterLoadAssignment'), json), errors, false);
  expect(errors.errors).toEqual([]);
  return set;
}

const ep = (ip: string, port: number, extra: object = {}) => ({ endpoint: { address: { socket_address: { address: ip, port_value: port } } }, ...extra });

function staticCluster(name: string, endpoints: object[], extra: object = {}): object {
  return { name, type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: name, endpoints }, ...extra };
}

function counts(rt: ClusterRuntime, n: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const h = rt.chooseHost();
    const k = h ? h.key : 'none';
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

const runtimes: ClusterRuntime[] = [];
function runtime(c: ClusterConfig, stats = new StatsStore()): ClusterRuntime {
  const rt = new ClusterRuntime(c, stats, log);
  runtimes.push(rt);
  return rt;
}
afterEach(() => {
  for (const r of runtimes.splice(0)) r.destroy();
});

const until = async (cond: () => boolean, ms = 3000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('load balancers wired from ClusterConfig', () => {
  it('ROUND_ROBIN honours endpoint weights over full cycles (within one pick: the EDF schedule starts at a random point)', () => {
    const rt = runtime(cfg(staticCluster('rr', [{ lb_endpoints: [ep('127.0.0.1', 1, { load_balancing_weight: 1 }), ep('127.0.0.2', 1, { load_balancing_weight: 2 }), ep('127.0.0.3', 1, { load_balancing_weight: 3 })] }])));
    const m = counts(rt, 6000);
    for (const [host, want] of [['127.0.0.1:1', 1000], ['127.0.0.2:1', 2000], ['127.0.0.3:1', 3000]] as const) {
      expect(Math.abs((m.get(host) ?? 0) - want)).toBeLessThanOrEqual(1);
    }
  });

  it('typed load_balancing_policy (LeastRequest) picks the idle host', () => {
    const rt = runtime(
      cfg(
        staticCluster('lr', [{ lb_endpoints: [ep('127.0.0.1', 1), ep('127.0.0.2', 1)] }], {
          load_balancing_policy: { policies: [{ typed_extension_config: { name: 'lr', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest', choice_count: 2 } } }] },
        }),
      ),
    );
    expect(rt.config.lbPolicy).toBe('LEAST_REQUEST');
    const busy = rt.allHosts().find((h) => h.key === '127.0.0.1:1')!;
    for (let i = 0; i < 10; i++) rt.requestStarted(busy);
    const m = counts(rt, 1000);
    // P2C: the busy host wins only when both samples hit it (~25%).
    expect(m.get('127.0.0.2:1')!).toBeGreaterThan(650);
  });

  it('RING_HASH with a request hash is sticky and exports ring gauges', () => {
    const stats = new StatsStore();
    const rt = runtime(cfg(staticCluster('rh', [{ lb_endpoints: [1, 2, 3, 4].map((i) => ep(`127.0.0.${i}`, 80)) }], { lb_policy: 'RING_HASH', ring_hash_lb_config: { minimum_ring_size: 256 } })), stats);
    const ctx = { hasHash: true, hashHi: 0x12345678, hashLo: 0x9abcdef0, attempt: 0 };
    const first = rt.chooseHost(ctx)!;
    for (let i = 0; i < 50; i++) expect(rt.chooseHost(ctx)).toBe(first);
    expect(stats.gauge('cluster.rh.ring_hash_lb.size').value).toBeGreaterThanOrEqual(256);
    // previous_hosts + host_selection_retry_max_attempts steps off the primary host
    const other = rt.chooseHost({ ...ctx, previousHosts: [first], maxHostSelectionAttempts: 3 })!;
    expect(other).not.toBe(first);
  });

  it('priority failover follows the overprovisioning formula (P0 5/10 healthy -> 70/30)', () => {
    const rt = runtime(cfg({ name: 'eds', type: 'EDS', connect_timeout: '1s', eds_cluster_config: { eds_config: { ads: {} } } }));
    const p0 = Array.from({ length: 10 }, (_, i) => ep(`127.0.1.${i + 1}`, 80, { health_status: i < 5 ? 'HEALTHY' : 'UNHEALTHY' }));
    const p1 = Array.from({ length: 10 }, (_, i) => ep(`127.0.2.${i + 1}`, 80));
    rt.setEndpoints(cla({ cluster_name: 'eds', endpoints: [{ lb_endpoints: p0 }, { priority: 1, lb_endpoints: p1 }] }));
    const n = 20000;
    let inP1 = 0;
    for (const [k, v] of counts(rt, n)) if (k.startsWith('127.0.2.')) inP1 += v;
    expect(inP1 / n).toBeGreaterThan(0.28);
    expect(inP1 / n).toBeLessThan(0.32);
  });

  it('carries host state across EDS updates by key and signals removed hosts', () => {
    const rt = runtime(cfg({ name: 'eds2', type: 'EDS', connect_timeout: '1s', eds_cluster_config: { eds_config: { ads: {} } } }));
    rt.setEndpoints(cla({ endpoints: [{ lb_endpoints: [ep('127.0.0.1', 80), ep('127.0.0.2', 80)] }] }));
    const a = rt.allHosts()[0]!;
    const b = rt.allHosts()[1]!;
    rt.requestStarted(a);
    const events: string[] = [];
    b.subscribe((h, e) => events.push(`${h.key} ${e}`));
    rt.setEndpoints(cla({ endpoints: [{ lb_endpoints: [ep('127.0.0.1', 80, { load_balancing_weight: 5 }), ep('127.0.0.3', 80)] }] }));
    expect(rt.allHosts()[0]).toBe(a);
    expect(a.activeRequests).toBe(1);
    expect(a.weight).toBe(5);
    expect(events).toEqual(['127.0.0.2:80 removed']);
  });
});

describe('cluster types', () => {
  it('STRICT_DNS on localhost resolves to loopback (V4_ONLY)', async () => {
    const stats = new StatsStore();
    const rt = runtime(cfg({ name: 'dns', type: 'STRICT_DNS', dns_lookup_family: 'V4_ONLY', connect_timeout: '1s', load_assignment: { cluster_name: 'dns', endpoints: [{ lb_endpoints: [ep('localhost', 8080)] }] } }), stats);
    await until(() => rt.allHosts().length > 0);
    expect(rt.allHosts().map((h) => h.key)).toContain('127.0.0.1:8080');
    expect(rt.chooseHost()!.hostname).toBe('localhost');
    expect(stats.counter('cluster.dns.update_success').value).toBe(1);
  });

  it('a name that does not resolve counts update_failure and leaves no hosts', async () => {
    const stats = new StatsStore();
    const rt = runtime(cfg({ name: 'bad', type: 'LOGICAL_DNS', connect_timeout: '1s', load_assignment: { cluster_name: 'bad', endpoints: [{ lb_endpoints: [ep('no-such-host.invalid', 80)] }] } }), stats);
    await until(() => stats.counter('cluster.bad.update_failure').value > 0, 10_000);
    expect(rt.allHosts()).toHaveLength(0);
    expect(rt.chooseHost()).toBeUndefined();
  }, 15_000);

  it('ORIGINAL_DST creates hosts per destination, with upstream_port_override', () => {
    const rt = runtime(cfg({ name: 'od', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: '1s', original_dst_lb_config: { use_http_header: true, upstream_port_override: 9090 } }));
    expect(rt.config.originalDst).toEqual({ useHttpHeader: true, httpHeaderName: 'x-envoy-original-dst-host', upstreamPortOverride: 9090 });
    const h = rt.chooseHost({ hasHash: false, hashHi: 0, hashLo: 0, attempt: 0, originalDst: '127.0.0.9:80' })!;
    expect(h.key).toBe('127.0.0.9:9090');
    expect(rt.chooseHost({ hasHash: false, hashHi: 0, hashLo: 0, attempt: 0, originalDst: '127.0.0.9:81' })).toBe(h);
    expect(rt.chooseHost({ hasHash: false, hashHi: 0, hashLo: 0, attempt: 0, originalDst: 'not-an-ip:1' })).toBeUndefined();
  });

  it('aggregate cluster fails over to the second child when the first has no healthy hosts', () => {
    const stats = new StatsStore();
    const a = runtime(cfg(staticCluster('a', [{ lb_endpoints: [ep('127.0.0.1', 1, { health_status: 'UNHEALTHY' })] }])), stats);
    const b = runtime(cfg(staticCluster('b', [{ lb_endpoints: [ep('127.0.0.2', 1)] }])), stats);
    const agg = runtime(cfg({ name: 'agg', connect_timeout: '1s', lb_policy: 'CLUSTER_PROVIDED', cluster_type: { name: 'envoy.clusters.aggregate', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.clusters.aggregate.v3.ClusterConfig', clusters: ['a', 'b'] } } }), stats);
    const m = new Map([['a', a], ['b', b]]);
    agg.setClusterResolver((n) => m.get(n));
    for (let i = 0; i < 20; i++) expect(agg.chooseHost()!.key).toBe('127.0.0.2:1');
  });
});

describe('circuit breakers', () => {
  it('max_connections overflows exactly at the limit and releases on close', async () => {
    const srv = net.createServer((s) => s.on('error', () => {}));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    const stats = new StatsStore();
    const rt = runtime(cfg(staticCluster('cb', [{ lb_endpoints: [ep('127.0.0.1', port)] }], { circuit_breakers: { thresholds: [{ max_connections: 3, max_requests: 2, track_remaining: true }] } })), stats);
    const connect = () => new Promise<{ err: string | null; sock?: net.Socket; detail?: string }>((r) => rt.connect(rt.chooseHost()!, (err, sock, detail) => r({ err, ...(sock ? { sock } : {}), ...(detail ? { detail } : {}) })));
    const ok = await Promise.all([connect(), connect(), connect()]);
    expect(ok.map((o) => o.err)).toEqual([null, null, null]);
    expect(stats.gauge('cluster.cb.circuit_breakers.default.cx_open').value).toBe(1);
    expect(stats.gauge('cluster.cb.circuit_breakers.default.remaining_cx').value).toBe(0);
    const over = await connect();
    expect(over).toEqual({ err: 'connect_fail', detail: 'overflow' });
    expect(stats.counter('cluster.cb.upstream_cx_overflow').value).toBe(1);
    ok[0]!.sock!.destroy();
    await until(() => stats.gauge('cluster.cb.circuit_breakers.default.remaining_cx').value === 1);
    const again = await connect();
    expect(again.err).toBeNull();
    for (const o of [...ok, again]) o.sock?.destroy();
    // request slots for the router
    expect([rt.acquireRequest(), rt.acquireRequest(), rt.acquireRequest()]).toEqual(['ok', 'ok', 'overflow']);
    rt.releaseRequest();
    expect(rt.acquireRequest()).toBe('ok');
    expect(stats.counter('cluster.cb.upstream_rq_pending_overflow').value).toBe(1);
    expect([rt.acquireRetry(), rt.acquireRetry(), rt.acquireRetry(), rt.acquireRetry()]).toEqual(['ok', 'ok', 'ok', 'overflow']);
    expect(stats.counter('cluster.cb.upstream_rq_retry_overflow').value).toBe(1);
    await new Promise((r) => srv.close(r));
  });

  it('retry budget allows max(min_retry_concurrency, budget% of active requests)', () => {
    const rt = runtime(cfg(staticCluster('rb', [], { circuit_breakers: { thresholds: [{ retry_budget: { budget_percent: { value: 50 }, min_retry_concurrency: 1 } }] } })));
    for (let i = 0; i < 6; i++) rt.acquireRequest();
    const got = [];
    for (let i = 0; i < 5; i++) got.push(rt.acquireRetry());
    expect(got).toEqual(['ok', 'ok', 'ok', 'overflow', 'overflow']);
  });
});

describe('active health checks', () => {
  it('HTTP: path, host and headers sent; 503 ejects at once, 200 brings the host back; event log written', async () => {
    let status = 200;
    const seen: http.IncomingHttpHeaders[] = [];
    const srv = http.createServer((req, res) => {
      seen.push({ ...req.headers, path: req.url! });
      res.writeHead(status).end();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    const stats = new StatsStore();
    const logPath = `${require('node:os').tmpdir()}/hc-${process.pid}-${Date.now()}.log`;
    const rt = runtime(
      cfg(
        staticCluster('hc', [{ lb_endpoints: [ep('127.0.0.1', port)] }], {
          health_checks: [{ timeout: '1s', interval: '0.05s', no_traffic_interval: '0.05s', unhealthy_threshold: 2, healthy_threshold: 2, event_log_path: logPath, http_health_check: { path: '/healthz', host: 'svc.local', request_headers_to_add: [{ header: { key: 'x-probe', value: '1' } }] } }],
        }),
      ),
      stats,
    );
    const host = rt.allHosts()[0]!;
    expect(host.health).toBe('unhealthy'); // FAILED_ACTIVE_HC until the first check
    await until(() => host.health === 'healthy');
    expect(seen[0]).toMatchObject({ path: '/healthz', host: 'svc.local', 'x-probe': '1', 'user-agent': 'Envoy/HC' });
    status = 503;
    await until(() => host.health === 'unhealthy');
    expect(rt.chooseHost()).toBe(host); // single host, 0% healthy: panic routing
    status = 200;
    await until(() => host.health === 'healthy');
    expect(stats.counter('cluster.hc.health_check.failure').value).toBeGreaterThan(0);
    expect(stats.counter('cluster.hc.health_check.success').value).toBeGreaterThan(2);
    await new Promise((r) => setTimeout(r, 50));
    const events = require('node:fs').readFileSync(logPath, 'utf8').trim().split('\n').map((l: string) => JSON.parse(l));
    expect(events.map((e: Record<string, unknown>) => Object.keys(e).find((k) => k.endsWith('_event')))).toEqual(['add_healthy_event', 'eject_unhealthy_event', 'add_healthy_event']);
    expect(events[1]).toMatchObject({ health_checker_type: 'HTTP', cluster_name: 'hc', eject_unhealthy_event: { failure_type: 'ACTIVE' }, host: { socket_address: { address: '127.0.0.1', port_value: port } } });
    await new Promise((r) => srv.close(r));
  });

  it('TCP: send/receive payloads; a refused port becomes unhealthy after unhealthy_threshold', async () => {
    const srv = net.createServer((s) => s.on('data', (d) => (d.toString() === 'ping' ? s.write('po' + 'ng') : s.destroy())));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const good = (srv.address() as net.AddressInfo).port;
    const dead = net.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const deadPort = (dead.address() as net.AddressInfo).port;
    await new Promise((r) => dead.close(r));
    const rt = runtime(
      cfg(
        staticCluster('tcp', [{ lb_endpoints: [ep('127.0.0.1', good), ep('127.0.0.1', deadPort)] }], {
          health_checks: [{ timeout: '0.5s', interval: '0.05s', no_traffic_interval: '0.05s', unhealthy_threshold: 2, healthy_threshold: 1, tcp_health_check: { send: { text: '70696e67' }, receive: [{ text: '706f6e67' }] } }],
        }),
      ),
    );
    const [g, d] = rt.allHosts();
    await until(() => g!.health === 'healthy');
    await new Promise((r) => setTimeout(r, 200));
    expect(d!.health).toBe('unhealthy');
    for (let i = 0; i < 20; i++) expect(rt.chooseHost()).toBe(g);
    await new Promise((r) => srv.close(r));
  });
});

describe('outlier detection', () => {
  it('consecutive local-origin connect failures eject the host (split_external_local_origin_errors)', async () => {
    const dead = net.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const deadPort = (dead.address() as net.AddressInfo).port;
    await new Promise((r) => dead.close(r));
    const stats = new StatsStore();
    const rt = runtime(
      cfg(
        staticCluster('od', [{ lb_endpoints: [ep('127.0.0.1', deadPort), ...[2, 3, 4].map((i) => ep(`127.0.0.${i}`, 80))] }], {
          outlier_detection: { split_external_local_origin_errors: true, consecutive_local_origin_failure: 3, max_ejection_percent: 50, base_ejection_time: '0.2s', interval: '0.05s' },
        }),
      ),
      stats,
    );
    const bad = rt.allHosts()[0]!;
    for (let i = 0; i < 3; i++) await new Promise<void>((r) => rt.connect(bad, () => r()));
    expect(bad.health).toBe('unhealthy');
    expect(stats.counter('cluster.od.outlier_detection.ejections_enforced_consecutive_local_origin_failure').value).toBe(1);
    expect(stats.gauge('cluster.od.outlier_detection.ejections_active').value).toBe(1);
    for (let i = 0; i < 30; i++) expect(rt.chooseHost()).not.toBe(bad);
    await until(() => bad.health === 'healthy', 2000); // base_ejection_time x 1
    expect(stats.gauge('cluster.od.outlier_detection.ejections_active').value).toBe(0);
  });

  it('consecutive 5xx ejects; max_ejection_percent caps the number of ejected hosts', () => {
    const stats = new StatsStore();
    const rt = runtime(cfg(staticCluster('o5', [{ lb_endpoints: [1, 2, 3, 4].map((i) => ep(`127.0.0.${i}`, 80)) }], { outlier_detection: { consecutive_5xx: 2, max_ejection_percent: 25 } })), stats);
    const hs: Host[] = [...rt.allHosts()];
    for (const h of hs) for (let i = 0; i < 2; i++) rt.reportHttpStatus(h, 503);
    expect(hs.filter((h) => h.health === 'unhealthy')).toHaveLength(1);
    expect(stats.counter('cluster.o5.outlier_detection.ejections_overflow').value).toBe(3);
    expect(stats.counter('cluster.o5.outlier_detection.ejections_detected_consecutive_5xx').value).toBe(4);
  });
});

describe('ClusterRuntime memory at scale', () => {
  test('the PrioritySet and LB are built on first use, once per change, not on every host update', () => {
    const rt = runtime(cfg({ name: 'lazy', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, connect_timeout: '1s', lb_policy: 'ROUND_ROBIN' }));
    const internals = rt as unknown as { prioritySet?: unknown; lb?: unknown };
    for (let i = 1; i <= 3; i++) rt.setEndpoints(cla({ cluster_name: 'lazy', endpoints: [{ lb_endpoints: [ep('127.0.0.1', 8000 + i), ep('127.0.0.2', 8000 + i)] }] }));
    // Membership is reported at once; nothing was picked, so no LB structures exist yet.
    expect(rt.stats.membershipTotal.value).toBe(2);
    expect(internals.prioritySet).toBeUndefined();
    expect(internals.lb).toBeUndefined();
    // The first pick builds them for the latest hosts; they are kept until the next change.
    expect(rt.chooseHost()!.key).toMatch(/:8003$/);
    const ps = rt.currentPrioritySet();
    expect(ps.hostSets[0]!.hosts.map((h) => h.addressKey).sort()).toEqual(['127.0.0.1:8003', '127.0.0.2:8003']);
    expect(rt.currentPrioritySet()).toBe(ps);
    rt.setEndpoints(cla({ cluster_name: 'lazy', endpoints: [{ lb_endpoints: [ep('127.0.0.3', 9000)] }] }));
    expect(rt.currentPrioritySet()).not.toBe(ps);
    expect(rt.chooseHost()!.key).toBe('127.0.0.3:9000');
  });
});
