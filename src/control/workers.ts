// Worker supervision: the same interface over one in-process engine (--concurrency 1, and
// tests) or N node:cluster worker processes sharing the listen sockets. The control side
// publishes a snapshot to every worker and waits for all acknowledgements (Envoy's
// runOnAllThreads completion); stats and cluster status (/clusters) are pulled from workers on
// request and merged here (cluster-status-merge.ts documents the merge rule).
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { ConfigSnapshot } from '../config/model/snapshot';
import type { StatsSnapshot } from '../stats/snapshot';
import type { StatsStore } from '../stats/stats-store';
import type { ControlToWorker, EndpointDelta, WorkerInit, WorkerToControl } from '../worker/protocol';
import type { LocalClusterSettings } from '../engine/upstream/cluster-manager';
import type { WorkerClusterStatus } from '../worker/cluster-status';
import { mergeClusterStatuses } from '../worker/cluster-status-merge';
import { toWire } from '../worker/snapshot-wire';
import { originalDstLookup } from '../worker/original-dst-lookup';
import { WorkerEngine, type BoundListener } from '../worker/worker-engine';

export interface Workers {
  readonly count: number;
  apply(snap: ConfigSnapshot): Promise<readonly BoundListener[]>;
  /** EDS-only change: per-service host sets applied to every worker's current runtime. */
  applyEndpoints(generation: number, updates: readonly EndpointDelta[]): Promise<void>;
  statsSnapshots(): Promise<StatsSnapshot[]>;
  /** Live cluster/host state of every worker, merged (workers that do not answer in time are left out). */
  clusterStatuses(): Promise<WorkerClusterStatus[]>;
  drain(inboundOnly: boolean): void;
  shutdown(): Promise<void>;
}

export class InProcessWorkers implements Workers {
  readonly count = 1;
  private readonly engine: WorkerEngine;

  constructor(private readonly stats: StatsStore, log: Logger, drainTimeMs: number, localCluster: LocalClusterSettings = {}) {
    this.engine = new WorkerEngine(stats, log, drainTimeMs, originalDstLookup(log), localCluster);
  }

  apply(snap: ConfigSnapshot): Promise<readonly BoundListener[]> {
    return this.engine.apply(snap);
  }

  async applyEndpoints(_generation: number, updates: readonly EndpointDelta[]): Promise<void> {
    this.engine.updateEndpoints(updates);
  }

  async statsSnapshots(): Promise<StatsSnapshot[]> {
    // The engine shares the control side's store in-process; nothing extra to merge.
    void this.stats;
    return [];
  }

  async clusterStatuses(): Promise<WorkerClusterStatus[]> {
    return this.engine.clusterStatuses();
  }

  drain(inboundOnly: boolean): void {
    this.engine.drainListeners(inboundOnly);
  }

  async shutdown(): Promise<void> {
    this.engine.close();
  }
}

const STATS_PULL_TIMEOUT_MS = 2000;

export class ClusterWorkers implements Workers {
  private readonly workers: Worker[] = [];
  private statsSeq = 0;
  private endpointSeq = 0;
  private stopping = false;
  /** The snapshot last sent to the workers (toWire sends only what changed since). */
  private lastSent: ConfigSnapshot | undefined;

  constructor(
    readonly count: number,
    private readonly init: Omit<WorkerInit, 'index'>,
    private readonly log: Logger,
    workerScript: string,
  ) {
    cluster.schedulingPolicy = cluster.SCHED_NONE; // the kernel spreads accepts over workers
    cluster.setupPrimary({ exec: workerScript, args: ['--meshproxy-worker'], silent: false });
    for (let i = 0; i < count; i++) this.fork(i);
  }

  private fork(index: number): void {
    const w = cluster.fork({ MESHPROXY_WORKER_INIT: JSON.stringify({ ...this.init, index }) });
    this.workers[index] = w;
    w.on('exit', (code, signal) => {
      if (this.stopping) return;
      // A worker dying is fatal for a sidecar: exit so the agent/kubelet restarts us cleanly.
      this.log.fatal({ worker: index, code, signal }, 'worker exited unexpectedly; shutting down');
      process.exit(1);
    });
  }

  private request<T extends WorkerToControl>(w: Worker, msg: ControlToWorker, match: (m: WorkerToControl) => m is T, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        w.off('message', onMsg);
        reject(new Error('worker did not answer in time'));
      }, timeoutMs);
      const onMsg = (m: WorkerToControl) => {
        if (!match(m)) return;
        clearTimeout(timer);
        w.off('message', onMsg);
        resolve(m);
      };
      w.on('message', onMsg);
      w.send(msg);
    });
  }

  async apply(snap: ConfigSnapshot): Promise<readonly BoundListener[]> {
    // Every worker gets every snapshot, in order: each resolves the names against the one before.
    const wire = toWire(this.lastSent, snap);
    this.lastSent = snap;
    const acks = await Promise.all(
      this.workers.map((w) => this.request(w, { t: 'snapshot', snap: wire }, (m): m is Extract<WorkerToControl, { t: 'applied' }> => m.t === 'applied' && m.generation === snap.generation, 60_000)),
    );
    const failed = acks.find((a) => a.error);
    if (failed) throw new Error(failed.error);
    return acks[0]?.bound ?? [];
  }

  async applyEndpoints(generation: number, updates: readonly EndpointDelta[]): Promise<void> {
    const seq = ++this.endpointSeq;
    // IPC keeps order per worker, so a delta sent after a snapshot lands on that snapshot's runtime.
    await Promise.all(
      this.workers.map((w) =>
        this.request(w, { t: 'endpoints', seq, generation, updates }, (m): m is Extract<WorkerToControl, { t: 'endpoints-applied' }> => m.t === 'endpoints-applied' && m.seq === seq, 60_000),
      ),
    );
  }

  async statsSnapshots(): Promise<StatsSnapshot[]> {
    const id = ++this.statsSeq;
    const res = await Promise.allSettled(
      this.workers.map((w) => this.request(w, { t: 'stats', id }, (m): m is Extract<WorkerToControl, { t: 'stats' }> => m.t === 'stats' && m.id === id, STATS_PULL_TIMEOUT_MS)),
    );
    return res.filter((r): r is PromiseFulfilledResult<Extract<WorkerToControl, { t: 'stats' }>> => r.status === 'fulfilled').map((r) => r.value.snapshot);
  }

  async clusterStatuses(): Promise<WorkerClusterStatus[]> {
    const id = ++this.statsSeq;
    const res = await Promise.allSettled(
      this.workers.map((w) => this.request(w, { t: 'cluster-status', id }, (m): m is Extract<WorkerToControl, { t: 'cluster-status' }> => m.t === 'cluster-status' && m.id === id, STATS_PULL_TIMEOUT_MS)),
    );
    return mergeClusterStatuses(res.filter((r): r is PromiseFulfilledResult<Extract<WorkerToControl, { t: 'cluster-status' }>> => r.status === 'fulfilled').map((r) => r.value.clusters));
  }

  drain(inboundOnly: boolean): void {
    for (const w of this.workers) w.send({ t: 'drain', inboundOnly } satisfies ControlToWorker);
  }

  async shutdown(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.isDead()) return resolve();
            const t = setTimeout(() => {
              w.kill('SIGKILL');
              resolve();
            }, 2000);
            w.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
            w.send({ t: 'shutdown' } satisfies ControlToWorker);
          }),
      ),
    );
  }
}
