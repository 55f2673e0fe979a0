// Config history (beyond Envoy): the last N xDS updates per type, each with its time, version,
// nonce, the names it added/updated/removed, ACK or NACK with every per-resource reason, and how
// long the apply took. Fed by the control side after each response; read by the admin's
// /config_history. Envoy only keeps the last error per resource (config_dump error_state); an
// operator chasing "why did this NACK two pushes ago" needs the sequence.
import type { ResourceFailure } from './type-store';
import type { XdsKind } from './config-store';

export interface ConfigHistoryEntry {
  /** ISO-8601 time the response was applied. */
  readonly time: string;
  readonly type: XdsKind;
  readonly version: string;
  readonly nonce: string;
  readonly added: readonly string[];
  readonly updated: readonly string[];
  readonly removed: readonly string[];
  /** Resources re-sent with the bytes already held (no change). */
  readonly unchanged: number;
  readonly result: 'ACK' | 'NACK';
  readonly errors: readonly ResourceFailure[];
  readonly apply_ms: number;
}

export class ConfigHistory {
  private readonly rings = new Map<XdsKind, ConfigHistoryEntry[]>();
  private seq = 0;

  constructor(private readonly size: number) {}

  record(entry: ConfigHistoryEntry): void {
    let ring = this.rings.get(entry.type);
    if (!ring) {
      ring = [];
      this.rings.set(entry.type, ring);
    }
    ring.push(entry);
    if (ring.length > this.size) ring.splice(0, ring.length - this.size);
    this.seq++;
  }

  /** Updates recorded since start (including those that fell out of the rings). */
  get total(): number {
    return this.seq;
  }

  /** Newest first; one type or all types merged by time. */
  entries(type?: XdsKind): ConfigHistoryEntry[] {
    if (type) return [...(this.rings.get(type) ?? [])].reverse();
    const all: ConfigHistoryEntry[] = [];
    for (const ring of this.rings.values()) all.push(...ring);
    // Stable sort by time keeps same-millisecond entries in arrival order; reverse for newest first.
    return all.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0)).reverse();
  }
}
