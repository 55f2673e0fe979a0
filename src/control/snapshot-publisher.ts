// SnapshotPublisher (STYLE 2 step 8): hands the snapshot builder's publications to the workers.
// Full snapshots are applied one at a time and coalesced (while one is being applied, only the
// newest waiting snapshot is kept: it supersedes the others); endpoint deltas go out at once,
// never queued behind a snapshot apply, because message order per worker already puts them on
// the right runtime (Envoy runs cluster updates on workers the same way: posted, not awaited).
import type { Logger } from 'pino';
import type { ConfigSnapshot } from '../config/model/snapshot';
import type { Publication } from '../store/snapshot-builder';
import type { BoundListener } from '../worker/worker-engine';
import type { Workers } from './workers';

export class SnapshotPublisher {
  private sent: ConfigSnapshot | undefined;
  /**
   * Endpoint deltas since `sent`, folded in only when `current` is read: copying a 10,000-entry
   * endpoints record on every EDS delta would put that copy on the EDS path.
   */
  private sentEndpoints = new Map<string, ConfigSnapshot['endpoints'][string]>();
  private sentVersions: Record<string, string> = {};
  private waiting: ConfigSnapshot | undefined;
  private running: Promise<void> | undefined;
  private deltas = 0;
  private readonly idleWaiters: (() => void)[] = [];
  /** Generation every worker has acknowledged. */
  appliedGeneration = 0;

  constructor(
    private readonly workers: Workers,
    private readonly log: Logger,
    private readonly onApplied: (snap: ConfigSnapshot, bound: readonly BoundListener[]) => void,
  ) {}

  /** The last snapshot handed to workers, with endpoint deltas folded in (for admin views). */
  get current(): ConfigSnapshot | undefined {
    if (this.sent && this.sentEndpoints.size > 0) {
      const endpoints = { ...this.sent.endpoints };
      for (const [name, set] of this.sentEndpoints) endpoints[name] = set;
      this.sent = { ...this.sent, endpoints, versions: { ...this.sent.versions, ...this.sentVersions } };
      this.sentEndpoints.clear();
      this.sentVersions = {};
    }
    return this.sent;
  }

  private setSent(snap: ConfigSnapshot): void {
    this.sent = snap;
    this.sentEndpoints.clear();
    this.sentVersions = {};
  }

  publish(p: Publication): void {
    if (p.kind === 'snapshot') {
      this.waiting = p.snapshot;
      if (!this.running) this.running = this.drain();
      return;
    }
    if (this.sent) {
      for (const u of p.updates) this.sentEndpoints.set(u.serviceName, u.set);
      Object.assign(this.sentVersions, p.versions);
    }
    this.deltas++;
    const t0 = performance.now();
    this.workers.applyEndpoints(p.generation, p.updates).then(
      () => {
        this.log.debug({ generation: p.generation, services: p.updates.length, ms: Math.round(performance.now() - t0) }, 'eds: endpoint update applied on workers');
        this.deltaDone();
      },
      (err: Error) => {
        this.log.error({ err: err.message }, 'eds: workers failed to apply an endpoint update');
        this.deltaDone();
      },
    );
  }

  /** Applies a snapshot right away and throws if workers reject it (startup: a bind failure is fatal). */
  async applyNow(snap: ConfigSnapshot): Promise<readonly BoundListener[]> {
    await this.idle();
    this.setSent(snap);
    const bound = await this.workers.apply(snap);
    this.appliedGeneration = snap.generation;
    this.onApplied(snap, bound);
    return bound;
  }

  /** Resolves once no snapshot or delta is in flight. */
  idle(): Promise<void> {
    if (!this.running && this.deltas === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private deltaDone(): void {
    this.deltas--;
    this.wakeIdle();
  }

  private wakeIdle(): void {
    if (this.running || this.deltas > 0) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private async drain(): Promise<void> {
    while (this.waiting) {
      const snap = this.waiting;
      this.waiting = undefined;
      this.setSent(snap);
      const t0 = performance.now();
      try {
        const bound = await this.workers.apply(snap);
        this.appliedGeneration = snap.generation;
        this.log.info({ generation: snap.generation, listeners: snap.listeners.length, clusters: snap.clusters.length, ms: Math.round(performance.now() - t0) }, 'config: snapshot applied on workers');
        this.onApplied(snap, bound);
      } catch (err) {
        // Materialize must not fail on translated input; if it does the workers keep their old
        // runtime (WorkerEngine rejects before swapping listeners that failed to bind).
        this.log.error({ generation: snap.generation, err: (err as Error).message }, 'config: workers rejected a snapshot');
      }
    }
    this.running = undefined;
    this.wakeIdle();
  }
}
