// Entry point of a worker process (node:cluster worker): builds a WorkerEngine and serves the
// control side's messages. Listen sockets are shared through node:cluster.
import { LogRoot, type EnvoyLevel } from '../log/logger';
import { StatsStore } from '../stats/stats-store';
import { setAccessLogFlushIntervalMs } from '../extensions/access-loggers/log-sink';
import { publishTracingEnvironment } from '../tracing/tracing-environment';
import type { ControlToWorker, WorkerInit, WorkerToControl } from './protocol';
import { originalDstLookup } from './original-dst-lookup';
import { WorkerEngine } from './worker-engine';
import { fromWire } from './snapshot-wire';
import type { ConfigSnapshot } from '../config/model/snapshot';

export function runWorker(): void {
  const init = JSON.parse(process.env.MESHPROXY_WORKER_INIT ?? '{}') as WorkerInit;
  const logs = new LogRoot({
    level: init.logLevel as EnvoyLevel,
    componentLevels: new Map(Object.entries(init.componentLevels ?? {}) as [string, EnvoyLevel][]),
    ...(init.logFormat ? { textFormat: init.logFormat } : {}),
    bindings: { worker: init.index },
  });
  const log = logs.component('main');
  publishTracingEnvironment(init.tracing);
  setAccessLogFlushIntervalMs(init.fileFlushIntervalMs);
  const stats = new StatsStore(init.statsOptions);
  const engine = new WorkerEngine(stats, logs.component('upstream'), init.drainTimeMs, originalDstLookup(log), init.localCluster);
  const send = (m: WorkerToControl) => process.send?.(m);
  // The last snapshot received: the next one names what it kept from this one.
  let previous: ConfigSnapshot | undefined;
  process.on('message', (m: ControlToWorker) => {
    switch (m.t) {
      case 'snapshot': {
        let snap: ConfigSnapshot;
        try {
          snap = fromWire(previous, m.snap);
        } catch (err) {
          send({ t: 'applied', generation: m.snap.generation, bound: [], error: (err as Error).message });
          break;
        }
        previous = snap;
        engine.apply(snap).then(
          (bound) => send({ t: 'applied', generation: m.snap.generation, bound }),
          (err: Error) => send({ t: 'applied', generation: m.snap.generation, bound: [], error: err.message }),
        );
        break;
      }
      case 'endpoints':
        send({ t: 'endpoints-applied', seq: m.seq, clusters: engine.updateEndpoints(m.updates) });
        break;
      case 'stats':
        send({ t: 'stats', id: m.id, snapshot: stats.snapshot() });
        break;
      case 'cluster-status':
        send({ t: 'cluster-status', id: m.id, clusters: engine.clusterStatuses() });
        break;
      case 'drain':
        engine.drainListeners(m.inboundOnly);
        break;
      case 'shutdown':
        engine.close();
        process.exit(0);
    }
  });
  process.on('disconnect', () => process.exit(0));
}
