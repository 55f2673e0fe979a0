// TypeStore: the versioned store of one xDS resource type (STYLE 2 step 4). For every resource
// it keeps the last accepted model value, the exact bytes it arrived as (for config_dump), its
// version, when it was last updated, ACKED/NACKED and the last rejection. A response is applied
// resource by resource: valid ones are taken even when siblings fail, failed ones keep their last
// good value (Envoy's per-resource validation in the xDS protocol doc, "ACK/NACK and resource
// type instance version"), and unchanged bytes are dropped before translation so an unchanged
// re-push (istiod "may still send unchanged configurations") rebuilds nothing downstream.
import type { Result } from '../common/result';
import { runInSlices, runToEnd } from '../common/time-slices';

/** One resource of a response as the store receives it (the ADS client's AdsResource shape). */
export interface IncomingResource {
  readonly name: string;
  /** Per-resource version (delta); unset in SotW and from istiod. */
  readonly version?: string;
  /** Any value bytes as received. */
  readonly raw: Uint8Array;
  /**
   * The decoded proto message; only the translator looks inside. It may be decoded on first
   * read (the ADS client decodes lazily, so unchanged resources are never decoded); a getter
   * reports undecodable bytes by throwing an Error with `resourceError: true`.
   */
  readonly message: unknown;
}

/** One xDS response for this type. */
export interface IncomingUpdate {
  readonly versionInfo: string;
  readonly nonce: string;
  readonly resources: readonly IncomingResource[];
  /** Names the server deleted (delta removed_resources, or SotW LDS/CDS absence). */
  readonly removed: readonly string[];
}

/** proto message -> model value or field-path errors (config/translate, injected by control/). */
export type ResourceTranslator<T> = (message: unknown) => Result<T>;

export type ResourceStatus = 'ACKED' | 'NACKED';

export interface ResourceErrorState {
  readonly reason: string;
  /** Bytes of the rejected resource. */
  readonly raw: Uint8Array;
  readonly atMs: number;
  readonly versionInfo: string;
}

export interface StoredResource<T> {
  readonly name: string;
  readonly value: T;
  readonly raw: Uint8Array;
  readonly version: string;
  readonly lastUpdatedMs: number;
  readonly status: ResourceStatus;
  readonly lastError?: ResourceErrorState;
}

export interface ResourceFailure {
  readonly name: string;
  readonly reason: string;
}

export interface TypeApplyOutcome {
  readonly added: readonly string[];
  readonly updated: readonly string[];
  readonly removed: readonly string[];
  /** Resources re-sent with the bytes we already hold. */
  readonly unchanged: number;
  readonly errors: readonly ResourceFailure[];
}

/**
 * Extra checks the owner makes on a translated value before it is accepted, e.g. "a static
 * cluster cannot be updated" or "the resource name does not match". Returns a reason or undefined.
 */
export type ResourceGuard<T> = (name: string, value: T) => string | undefined;

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** A translated response waiting for TypeStore.commit(). */
export interface PreparedUpdate<T> {
  readonly update: IncomingUpdate;
  readonly added: string[];
  readonly updated: string[];
  readonly errors: ResourceFailure[];
  /** Re-sent with the bytes we hold: only their status/version may change. */
  readonly reAck: string[];
  readonly failed: { name: string; reason: string; raw: Uint8Array }[];
  readonly accepted: { name: string; value: T; raw: Uint8Array }[];
  readonly versions: Map<string, string>;
}

export class TypeStore<T> {
  private readonly entries = new Map<string, StoredResource<T>>();
  /** Names rejected before any value was accepted (still shown with their error state). */
  private readonly failedOnly = new Map<string, ResourceErrorState>();
  private accepted = '';

  constructor(
    private readonly translate: ResourceTranslator<T>,
    private readonly nameOf: (value: T) => string,
    private readonly now: () => number = Date.now,
  ) {}

  /** version_info of the last response that had no rejected resource ('' before any). */
  get versionInfo(): string {
    return this.accepted;
  }

  get size(): number {
    return this.entries.size;
  }

  get(name: string): StoredResource<T> | undefined {
    return this.entries.get(name);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  value(name: string): T | undefined {
    return this.entries.get(name)?.value;
  }

  all(): IterableIterator<StoredResource<T>> {
    return this.entries.values();
  }

  names(): IterableIterator<string> {
    return this.entries.keys();
  }

  /** Rejected resources that never had a good value. */
  failures(): ReadonlyMap<string, ResourceErrorState> {
    return this.failedOnly;
  }

  apply(update: IncomingUpdate, guard?: ResourceGuard<T>): TypeApplyOutcome {
    return this.commit(runToEnd(this.prepareSteps(update, guard)));
  }

  /**
   * The translating half of apply(), in time slices (common/time-slices): a large response
   * (10,000 clusters) does not hold other xDS types back (an EDS update is applied in between).
   * Nothing is changed until commit(), which is synchronous: a reader never sees half of a
   * response. Unchanged bytes are skipped before they are decoded or translated (Envoy skips
   * clusters whose hash is unchanged). The type must not be applied by anyone else between
   * prepare and commit (one source per type).
   */
  prepare(update: IncomingUpdate, guard?: ResourceGuard<T>): Promise<PreparedUpdate<T>> {
    return runInSlices(this.prepareSteps(update, guard));
  }

  /** Applies a prepare() result. */
  commit(p: PreparedUpdate<T>): TypeApplyOutcome {
    const now = this.now();
    const { update } = p;
    for (const name of p.reAck) {
      const old = this.entries.get(name);
      if (old && old.status !== 'ACKED') this.entries.set(name, { name: old.name, value: old.value, raw: old.raw, version: p.versions.get(name)!, lastUpdatedMs: old.lastUpdatedMs, status: 'ACKED' });
    }
    for (const f of p.failed) {
      const errorState: ResourceErrorState = { reason: f.reason, raw: f.raw, atMs: now, versionInfo: update.versionInfo };
      const old = this.entries.get(f.name);
      if (old) this.entries.set(f.name, { ...old, status: 'NACKED', lastError: errorState });
      else this.failedOnly.set(f.name, errorState);
    }
    for (const a of p.accepted) {
      this.failedOnly.delete(a.name);
      this.entries.set(a.name, { name: a.name, value: a.value, raw: a.raw, version: p.versions.get(a.name)!, lastUpdatedMs: now, status: 'ACKED' });
    }
    const removed: string[] = [];
    for (const name of update.removed) {
      this.failedOnly.delete(name);
      if (this.entries.delete(name)) removed.push(name);
    }
    if (p.errors.length === 0) this.accepted = update.versionInfo;
    return { added: p.added, updated: p.updated, removed, unchanged: p.reAck.length, errors: p.errors };
  }

  /** One step per resource; the return value is what commit() applies. */
  private *prepareSteps(update: IncomingUpdate, guard: ResourceGuard<T> | undefined): Generator<void, PreparedUpdate<T>> {
    const p: PreparedUpdate<T> = { update, added: [], updated: [], errors: [], reAck: [], failed: [], accepted: [], versions: new Map() };
    const seen = new Set<string>();
    for (const res of update.resources) {
      if (seen.has(res.name)) {
        // Envoy rejects a response naming a resource twice (duplicate names in one update).
        p.errors.push({ name: res.name, reason: 'duplicate resource name in one response' });
        continue;
      }
      seen.add(res.name);
      p.versions.set(res.name, res.version || update.versionInfo);
      const old = this.entries.get(res.name);
      if (old && sameBytes(old.raw, res.raw)) {
        p.reAck.push(res.name);
        continue;
      }
      const reason = this.check(res, guard);
      yield;
      if (typeof reason === 'string') {
        p.errors.push({ name: res.name, reason });
        p.failed.push({ name: res.name, reason, raw: res.raw });
        continue;
      }
      p.accepted.push({ name: res.name, value: reason.value, raw: res.raw });
      (old ? p.updated : p.added).push(res.name);
    }
    return p;
  }

  /** Drops names nobody refers to any more (unsubscribed RDS/EDS/SDS). */
  drop(names: Iterable<string>): string[] {
    const out: string[] = [];
    for (const n of names) {
      this.failedOnly.delete(n);
      if (this.entries.delete(n)) out.push(n);
    }
    return out;
  }

  private check(res: IncomingResource, guard: ResourceGuard<T> | undefined): string | { value: T } {
    let result: Result<T>;
    try {
      result = this.translate(res.message);
    } catch (err) {
      // A lazily decoded message reports bad bytes by throwing an error marked resourceError.
      if ((err as { resourceError?: boolean })?.resourceError) return (err as Error).message;
      // Translators must not throw; if one does, that resource fails, not the whole response.
      return `internal error while translating: ${(err as Error)?.message ?? String(err)}`;
    }
    if (!result.ok) return result.errors.map((e) => (e.path ? `${e.path}: ${e.reason}` : e.reason)).join('; ');
    const name = this.nameOf(result.value);
    if (name !== res.name) return `resource name '${name}' does not match '${res.name}'`;
    const veto = guard?.(res.name, result.value);
    if (veto) return veto;
    return { value: result.value };
  }
}
