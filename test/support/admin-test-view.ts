// An AdminView for admin tests: a real StatsStore, a LogRoot writing to a sink, the
// navigator corpus as ConfigDumpSource and caller-supplied cluster/listener views. Lets tests
// run the real AdminServer on 127.0.0.1:0 without the whole proxy.
import { Writable } from 'node:stream';
import type { AdminView } from '../../src/admin/admin-server';
import type { ClusterStatusView } from '../../src/admin/clusters-view';
import type { ConfigDumpSource } from '../../src/admin/config-dump-source';
import type { ListenerStatusView } from '../../src/admin/listeners-view';
import { LogRoot } from '../../src/log/logger';
import { PrometheusRenderer } from '../../src/stats/render-prometheus';
import { StatsStore } from '../../src/stats/stats-store';

export interface TestViewOptions {
  readonly configDump?: ConfigDumpSource;
  readonly clusterStatuses?: readonly ClusterStatusView[];
  readonly listenerStatuses?: readonly ListenerStatusView[];
  readonly history?: (type: string | undefined) => unknown;
}

export function testAdminView(opts: TestViewOptions = {}): { view: AdminView; stats: StatsStore; logs: LogRoot; calls: string[] } {
  const stats = new StatsStore();
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  const logs = new LogRoot({ level: 'info', componentLevels: new Map([['admin', 'info'], ['upstream', 'info']]) }, sink);
  const calls: string[] = [];
  const view: AdminView = {
    logs,
    prometheus: new PrometheusRenderer({ statsTags: [], useAllDefaultTags: true }),
    state: () => 'LIVE',
    serverInfo: () => ({ state: 'LIVE' }),
    statsSnapshot: async () => stats.snapshot(),
    listeners: () => [{ name: 'l', address: '127.0.0.1:1' }],
    clusters: () => [{ name: 'c', hosts: [{ address: '127.0.0.1:2', health: 'HEALTHY', weight: 1, cxActive: 0 }] }],
    runtime: () => ({}),
    drainListeners: (o) => calls.push(`drain ${JSON.stringify(o)}`),
    setHealthcheckFailed: (f) => calls.push(`hc ${f}`),
    resetCounters: () => calls.push('reset'),
    quit: () => calls.push('quit'),
    ...(opts.configDump ? { configDump: () => opts.configDump! } : {}),
    ...(opts.clusterStatuses ? { clusterStatuses: () => opts.clusterStatuses! } : {}),
    ...(opts.listenerStatuses ? { listenerStatuses: () => opts.listenerStatuses! } : {}),
    ...(opts.history ? { configHistory: opts.history } : {}),
  };
  return { view, stats, logs, calls };
}
