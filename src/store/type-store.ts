// TypeStore: the versioned store of one xDS resource type (STYLE 2 step 4). For every resource
// it keeps the last accepted model value, the exact bytes it arrived as (for config_dump), its
// version, when it was last updated, ACKED/NACKED and the last rejection. A response is applied
// resource by resource: valid ones are taken even when siblings fail, failed ones keep their last
// good value (Envoy's per-resource validation in the xDS protocol doc, "ACK/NACK and resource
// type instance version"), and unchanged bytes are dropped before translation so an unchanged
// re-push (istiod "may still send unchanged configurations") rebuilds nothing downstream.
import type { Result } from '../common/result';

/** One resource of a response as the store receives it (the ADS client's AdsResource shape). */
export interface IncomingResource {
  readonly name: string;
  /** Per-resource version (delta); unset in SotW and from istiod. */
  readonly version?: string;
  /** Any value bytes as received. */
  readonly raw: Uint8Array;
  /** The decoded proto message; only the translator looks inside. */
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
    const now = this.now();
    const added: string[] = [];
    const updated: string[] = [];
    const removed: string[] = [];
    const errors: ResourceFailure[] = [];
    let unchanged = 0;
    const seen = new Set<string>();
    for (const res of update.resources) {
      const version = res.version || update.versionInfo;
      if (seen.has(res.name)) {
        // Envoy rejects a response naming a resource twice (duplicate names in one update).
        errors.push({ name: res.name, reason: 'duplicate resource name in one response' });
        continue;
      }
      seen.add(res.name);
      const old = this.entries.get(res.name);
      if (old && sameBytes(old.raw, res.raw)) {
        unchanged++;
        if (old.status !== 'ACKED') this.entries.set(res.name, { name: old.name, value: old.value, raw: old.raw, version, lastUpdatedMs: old.lastUpdatedMs, status: 'ACKED' });
        continue;
      }
      const reason = this.check(res, guard);
      if (typeof reason === 'string') {
        const errorState: ResourceErrorState = { reason, raw: res.raw, atMs: now, versionInfo: update.versionInfo };
        errors.push({ name: res.name, reason });
        if (old) this.entries.set(res.name, { ...old, status: 'NACKED', lastError: errorState });
        else this.failedOnly.set(res.name, errorState);
        continue;
      }
      this.failedOnly.delete(res.name);
      this.entries.set(res.name, { name: res.name, value: reason.value, raw: res.raw, version, lastUpdatedMs: now, status: 'ACKED' });
      (old ? updated : added).push(res.name);
    }
    for (const name of update.removed) {
      this.failedOnly.delete(name);
      if (this.entries.delete(name)) removed.push(name);
    }
    if (errors.length === 0) this.accepted = update.versionInfo;
    return { added, updated, removed, unchanged, errors };
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
