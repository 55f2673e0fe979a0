// Per-type state of an incremental (delta) ADS subscription and the DeltaDiscoveryRequests it
// sends (xds_protocol "Incremental xDS", contract 3.4). Pure bookkeeping, no I/O.
//
// Two kinds of request, never mixed (istiod logs an error when an ACK also changes
// subscriptions): an ACK/NACK carries only type_url + response_nonce (+ error_detail); a
// subscription request carries only names. The first request of a stream subscribes to
// everything watched and lists what we hold in initial_resource_versions, so a reconnect does
// not resend unchanged resources.
import type { ResourceError } from './nack-message';

export const WILDCARD = '*';

export interface DeltaRequestFields {
  typeUrl: string;
  responseNonce?: string;
  errorDetail?: { code: number; message: string };
  resourceNamesSubscribe?: string[];
  resourceNamesUnsubscribe?: string[];
  initialResourceVersions?: Record<string, string>;
}

export class DeltaTypeState {
  private wildcard = false;
  private readonly names = new Set<string>();
  /** Resources we hold (accepted), name -> version ('' when the server sets none). */
  readonly versions = new Map<string, string>();
  /** system_version_info of the last accepted response (for admin/logs only). */
  systemVersion = '';
  private initialSent = false;
  private readonly pendingSubscribe = new Set<string>();
  private readonly pendingUnsubscribe = new Set<string>();

  constructor(readonly typeUrl: string) {}

  watch(names: readonly string[] | '*'): boolean {
    if (names === WILDCARD) {
      if (this.wildcard) return false;
      this.wildcard = true;
      this.noteSubscribe(WILDCARD);
      return true;
    }
    let changed = false;
    for (const n of names) {
      if (this.names.has(n)) continue;
      this.names.add(n);
      this.noteSubscribe(n);
      changed = true;
    }
    return changed;
  }

  unwatch(names: readonly string[] | '*'): boolean {
    if (names === WILDCARD) {
      if (!this.wildcard) return false;
      this.wildcard = false;
      this.noteUnsubscribe(WILDCARD);
      // Without wildcard we keep only what is still named.
      for (const n of [...this.versions.keys()]) if (!this.names.has(n)) this.versions.delete(n);
      return true;
    }
    let changed = false;
    for (const n of names) {
      if (!this.names.delete(n)) continue;
      this.noteUnsubscribe(n);
      if (!this.wildcard) this.versions.delete(n);
      changed = true;
    }
    return changed;
  }

  private noteSubscribe(n: string): void {
    if (!this.initialSent) return;
    if (!this.pendingUnsubscribe.delete(n)) this.pendingSubscribe.add(n);
  }

  private noteUnsubscribe(n: string): void {
    if (!this.initialSent) return;
    if (!this.pendingSubscribe.delete(n)) this.pendingUnsubscribe.add(n);
  }

  get interested(): boolean {
    return this.wildcard || this.names.size > 0;
  }

  get isWildcard(): boolean {
    return this.wildcard;
  }

  subscribedNames(): string[] {
    return [...this.names].sort();
  }

  needsSubscriptionRequest(): boolean {
    if (!this.initialSent) return this.interested;
    return this.pendingSubscribe.size > 0 || this.pendingUnsubscribe.size > 0;
  }

  /** The stream's first request for this type, or the pending subscription diff. */
  buildSubscriptionRequest(): DeltaRequestFields {
    if (!this.initialSent) {
      this.initialSent = true;
      this.pendingSubscribe.clear();
      this.pendingUnsubscribe.clear();
      const subscribe = this.subscribedNames();
      if (this.wildcard) subscribe.unshift(WILDCARD);
      const req: DeltaRequestFields = { typeUrl: this.typeUrl, resourceNamesSubscribe: subscribe };
      if (this.versions.size > 0) req.initialResourceVersions = Object.fromEntries([...this.versions].sort());
      return req;
    }
    const req: DeltaRequestFields = { typeUrl: this.typeUrl };
    if (this.pendingSubscribe.size) req.resourceNamesSubscribe = [...this.pendingSubscribe].sort();
    if (this.pendingUnsubscribe.size) req.resourceNamesUnsubscribe = [...this.pendingUnsubscribe].sort();
    this.pendingSubscribe.clear();
    this.pendingUnsubscribe.clear();
    return req;
  }

  /** ACK (no errorDetail) or NACK for a response nonce: nothing else in it. */
  buildAck(nonce: string, errorDetail?: { code: number; message: string }): DeltaRequestFields {
    const req: DeltaRequestFields = { typeUrl: this.typeUrl, responseNonce: nonce };
    if (errorDetail) req.errorDetail = errorDetail;
    return req;
  }

  /**
   * Records a response after the consumer's verdict: accepted resources take their new version,
   * rejected ones keep the old one (so a reconnect asks for them again), removals are dropped.
   */
  settle(
    systemVersion: string,
    resources: readonly { name: string; version?: string }[],
    removed: readonly string[],
    errors: readonly ResourceError[],
  ): void {
    const failed = new Set(errors.map((e) => e.name));
    for (const r of resources) if (!failed.has(r.name)) this.versions.set(r.name, r.version ?? '');
    for (const n of removed) this.versions.delete(n);
    if (errors.length === 0) this.systemVersion = systemVersion;
  }

  /** A new stream: everything is re-sent in the initial request. */
  resetStream(): void {
    this.initialSent = false;
    this.pendingSubscribe.clear();
    this.pendingUnsubscribe.clear();
  }
}
