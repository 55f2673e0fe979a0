// SnapshotBuilder (STYLE 2 step 7): turns store changes into publications for the workers.
// A change to the active set (listeners, clusters, routes, secrets) schedules one new
// ConfigSnapshot, debounced so a burst of responses (istiod pushes CDS, EDS, LDS, RDS back to
// back) becomes one generation. An EDS change of an already active cluster does not rebuild
// anything: it goes out as a per-service endpoint delta on its own short timer, so it is never
// held behind a large CDS/LDS apply (Envoy posts host set updates per cluster to workers:
// cluster_manager_impl.cc postThreadLocalClusterUpdate).
import type { EndpointSetConfig } from '../config/model/cluster';
import type { ConfigSnapshot } from '../config/model/snapshot';
import type { ConfigStore, StoreChange } from './config-store';

export interface EndpointUpdate {
  readonly serviceName: string;
  /** The new assignment; an empty one when the resource was removed. */
  readonly set: EndpointSetConfig;
}

export type Publication =
  | { readonly kind: 'snapshot'; readonly snapshot: ConfigSnapshot }
  | { readonly kind: 'endpoints'; readonly generation: number; readonly updates: readonly EndpointUpdate[]; readonly versions: Readonly<Record<string, string>> };

export interface SnapshotBuilderOptions {
  /** Quiet time after the last change before a snapshot is built. */
  readonly debounceMs?: number;
  /** A continuous stream of changes still publishes at least this often. */
  readonly maxDelayMs?: number;
  /**
   * Delay for endpoint deltas, to batch several EDS responses into one delta. 0 (default): each
   * response's endpoint changes go out when it is noted, before its ACK, with no timer to wait
   * for behind a busy event loop (one response already batches its resources).
   */
  readonly endpointDelayMs?: number;
  /** Generation of the last snapshot already published (the static one). */
  readonly generation?: number;
}

export class SnapshotBuilder {
  private gen: number;
  private fullPending = false;
  private firstPendingAt = 0;
  private fullTimer: NodeJS.Timeout | undefined;
  private readonly endpointsPending = new Set<string>();
  private endpointTimer: NodeJS.Timeout | undefined;
  private readonly debounceMs: number;
  private readonly maxDelayMs: number;
  private readonly endpointDelayMs: number;

  constructor(
    private readonly store: ConfigStore,
    private readonly sink: (p: Publication) => void,
    options: SnapshotBuilderOptions = {},
  ) {
    this.gen = options.generation ?? 0;
    this.debounceMs = options.debounceMs ?? 20;
    this.maxDelayMs = options.maxDelayMs ?? 250;
    this.endpointDelayMs = options.endpointDelayMs ?? 0;
  }

  /** Generation of the last snapshot built. */
  get generation(): number {
    return this.gen;
  }

  get pending(): boolean {
    return this.fullPending || this.endpointsPending.size > 0;
  }

  note(change: StoreChange): void {
    if (change.full) this.scheduleFull();
    let any = false;
    for (const s of change.endpoints) {
      if (!this.store.isServiceActive(s)) continue; // warming clusters get theirs in the snapshot
      this.endpointsPending.add(s);
      any = true;
    }
    if (any && this.endpointDelayMs <= 0) this.flushEndpoints();
    else if (any && !this.endpointTimer) {
      this.endpointTimer = setTimeout(() => this.flushEndpoints(), this.endpointDelayMs);
    }
  }

  /** Builds and publishes now whatever is pending (used at shutdown of a burst and in tests). */
  flush(): void {
    if (this.fullPending) this.flushFull();
    else if (this.endpointsPending.size > 0) this.flushEndpoints();
  }

  /** Builds a snapshot of the current active set with the next generation and publishes it. */
  publishNow(): ConfigSnapshot {
    this.cancelFull();
    // A full snapshot carries every current endpoint: pending deltas are folded in.
    this.cancelEndpoints();
    const parts = this.store.parts();
    const snapshot: ConfigSnapshot = { generation: ++this.gen, ...parts };
    this.sink({ kind: 'snapshot', snapshot });
    return snapshot;
  }

  close(): void {
    this.cancelFull();
    this.cancelEndpoints();
  }

  private scheduleFull(): void {
    const now = Date.now();
    if (!this.fullPending) {
      this.fullPending = true;
      this.firstPendingAt = now;
    }
    if (this.fullTimer) clearTimeout(this.fullTimer);
    const wait = Math.max(0, Math.min(this.debounceMs, this.firstPendingAt + this.maxDelayMs - now));
    this.fullTimer = setTimeout(() => this.flushFull(), wait);
  }

  private flushFull(): void {
    this.publishNow();
  }

  private cancelFull(): void {
    if (this.fullTimer) clearTimeout(this.fullTimer);
    this.fullTimer = undefined;
    this.fullPending = false;
  }

  private cancelEndpoints(): void {
    if (this.endpointTimer) clearTimeout(this.endpointTimer);
    this.endpointTimer = undefined;
    this.endpointsPending.clear();
  }

  private flushEndpoints(): void {
    this.endpointTimer = undefined;
    if (this.endpointsPending.size === 0) return;
    const updates: EndpointUpdate[] = [];
    for (const s of this.endpointsPending) updates.push({ serviceName: s, set: this.store.endpointsFor(s) });
    this.endpointsPending.clear();
    this.sink({ kind: 'endpoints', generation: this.gen, updates, versions: this.versions() });
  }

  private versions(): Record<string, string> {
    const v: Record<string, string> = {};
    for (const k of ['lds', 'rds', 'cds', 'eds', 'sds'] as const) {
      const x = this.store.typeStore(k).versionInfo;
      if (x) v[k] = x;
    }
    return v;
  }
}
