// The control side's merge of per-worker /clusters reports: sums, any-worker health flags,
// config from the first worker, clusters/hosts only some workers know; and a worker's report
// from a real ClusterRuntime (counters the data path bumps, flags, thresholds, locality).
import pino from 'pino';
import type { ClusterConfig } from '../config/model/cluster';
import { ClusterRuntime } from '../engine/upstream/cluster-runtime';
import { HealthFlag } from '../engine/upstream/upstream-host';
import { StatsStore } from '../stats/stats-store';
import { reportCluster, type WorkerClusterStatus, type WorkerHostStatus } from './cluster-status';
import { mergeClusterStatuses } from './cluster-status-merge';

function host(address: string, stats: Partial<WorkerHostStatus['stats']>, health: Partial<WorkerHostStatus['health']> = {}, weight = 1): WorkerHostStatus {
  return {
    address,
    weight,
    priority: 0,
    stats: { cx_connect_fail: 0, cx_total: 0, rq_error: 0, rq_success: 0, rq_timeout: 0, rq_total: 0, cx_active: 0, rq_active: 0, ...stats },
    health: { edsHealthStatus: 'HEALTHY', ...health },
  };
}

function cluster(name: string, hosts: WorkerHostStatus[], maxConnections = 1024): WorkerClusterStatus {
  return { name, observabilityName: name, circuitBreakers: [{ priority: 'DEFAULT', maxConnections, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 }], hosts };
}

test('counters and gauges sum; a flag set on any worker is set; config from the first worker', () => {
  const w0 = [cluster('a', [host('10.0.0.1:80', { cx_total: 3, rq_total: 5, cx_active: 1 }, {}, 7), host('10.0.0.2:80', { cx_connect_fail: 1 })], 100)];
  const w1 = [cluster('a', [host('10.0.0.1:80', { cx_total: 4, rq_total: 1, rq_active: 2 }, { failedOutlierCheck: true }, 9), host('10.0.0.2:80', { cx_connect_fail: 2 }, { failedActiveHealthCheck: true })], 200)];
  const [a] = mergeClusterStatuses([w0, w1]);
  expect(a!.circuitBreakers[0]!.maxConnections).toBe(100);
  expect(a!.hosts.map((h) => h.address)).toEqual(['10.0.0.1:80', '10.0.0.2:80']);
  expect(a!.hosts[0]).toMatchObject({ weight: 7, stats: { cx_total: 7, rq_total: 6, cx_active: 1, rq_active: 2 }, health: { edsHealthStatus: 'HEALTHY', failedOutlierCheck: true } });
  expect(a!.hosts[1]).toMatchObject({ stats: { cx_connect_fail: 3 }, health: { failedActiveHealthCheck: true } });
  // Inputs are not modified.
  expect(w0[0]!.hosts[0]!.stats.cx_total).toBe(3);
  expect(w0[0]!.hosts[0]!.health.failedOutlierCheck).toBeUndefined();
});

test('clusters and hosts known to only some workers are appended in first-seen order', () => {
  const merged = mergeClusterStatuses([[cluster('a', [host('1.1.1.1:1', { cx_total: 1 })])], [cluster('b', []), cluster('a', [host('2.2.2.2:2', { cx_total: 2 }), host('1.1.1.1:1', { cx_total: 1 })])]]);
  expect(merged.map((c) => c.name)).toEqual(['a', 'b']);
  expect(merged[0]!.hosts.map((h) => [h.address, h.stats.cx_total])).toEqual([
    ['1.1.1.1:1', 2],
    ['2.2.2.2:2', 2],
  ]);
  expect(mergeClusterStatuses([])).toEqual([]);
});

test('a worker report from a live ClusterRuntime', () => {
  const cfg = {
    name: 'svc',
    statName: 'svc-stats',
    type: 'STATIC',
    lbPolicy: 'ROUND_ROBIN',
    connectTimeoutMs: 1000,
    perConnectionBufferLimitBytes: 1 << 20,
    dnsLookupFamily: 'AUTO',
    dnsRefreshRateMs: 5000,
    respectDnsTtl: false,
    circuitBreakers: [{ priority: 'HIGH', maxConnections: 5, maxPendingRequests: 6, maxRequests: 7, maxRetries: 8, trackRemaining: false }],
    metadata: {},
    upstreamHttpProtocol: 'HTTP1',
    cleanupIntervalMs: 5000,
    loadAssignment: {
      clusterName: 'svc',
      overprovisioningFactor: 140,
      dropOverloads: [],
      localities: [
        { locality: { region: 'r', zone: 'z', subZone: 's' }, priority: 1, endpoints: [{ address: { kind: 'socket', protocol: 'TCP', address: '127.0.0.2', port: 9 }, hostname: 'h2', healthStatus: 'DRAINING', loadBalancingWeight: 2, metadata: {} }] },
        { locality: { region: '', zone: '', subZone: '' }, priority: 0, endpoints: [{ address: { kind: 'socket', protocol: 'TCP', address: '127.0.0.1', port: 9 }, hostname: '', healthStatus: 'UNKNOWN', loadBalancingWeight: 1, metadata: {} }] },
      ],
    },
  } as unknown as ClusterConfig;
  const rt = new ClusterRuntime(cfg, new StatsStore(), pino({ level: 'silent' }));
  try {
    const [h1, h2] = rt.allHosts().slice().sort((a, b) => a.priority - b.priority);
    rt.requestStarted(h1!);
    rt.reportHttpStatus(h1!, 200);
    rt.requestStarted(h1!);
    rt.reportHttpStatus(h1!, 503);
    rt.reportResult(h1!, 'local_timeout');
    rt.requestFinished(h1!);
    h2!.setFlag(HealthFlag.FAILED_OUTLIER_CHECK, true);
    const r = reportCluster(rt);
    expect(r).toMatchObject({ name: 'svc', observabilityName: 'svc-stats', circuitBreakers: [{ priority: 'DEFAULT', maxConnections: 1024, maxRetries: 3 }, { priority: 'HIGH', maxConnections: 5, maxPendingRequests: 6, maxRequests: 7, maxRetries: 8 }] });
    expect(r.outlier).toBeUndefined();
    expect(r.hosts.map((h) => h.address)).toEqual(['127.0.0.1:9', '127.0.0.2:9']);
    expect(r.hosts[0]).toMatchObject({ priority: 0, weight: 1, stats: { rq_total: 2, rq_success: 1, rq_error: 1, rq_timeout: 1, rq_active: 1, cx_total: 0 }, health: { edsHealthStatus: 'HEALTHY', failedOutlierCheck: false } });
    expect(r.hosts[0]!.locality).toBeUndefined();
    expect(r.hosts[1]).toMatchObject({ hostname: 'h2', priority: 1, weight: 2, locality: { region: 'r', zone: 'z', subZone: 's' }, health: { edsHealthStatus: 'DRAINING', failedOutlierCheck: true } });
    // Structured-clone safe: it crosses the worker IPC channel as is.
    expect(structuredClone(r)).toEqual(r);
  } finally {
    rt.destroy();
  }
});
