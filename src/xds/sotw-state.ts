// Per-type state of a state-of-the-world ADS subscription, and the DiscoveryRequest it sends
// (xds_protocol "ACK and NACK semantics", contract 3.4). Pure bookkeeping, no I/O: AdsClient
// owns one per watched type URL and decides when to send.
//
//   names / wildcard ---> resource_names on the wire
//   version (last ACKed) + nonce (last seen) ---> version_info, response_nonce
//   held (names in the last response of a full-state type) ---> deletions by absence
import { isWildcardType } from './type-urls';
import type { ResourceError } from './nack-message';

export interface SotwRequestFields {
  typeUrl: string;
  versionInfo: string;
  responseNonce: string;
  resourceNames: string[];
  errorDetail?: { code: number; message: string };
}

export class SotwTypeState {
  /** Whether this type is full-state (LDS/CDS): absent resources are deletions. */
  readonly fullState: boolean;
  private wildcard = false;
  private readonly names = new Set<string>();
  /** version_info of the last response we ACKed; survives reconnects (Envoy resends it). */
  version = '';
  /** Nonce of the last response seen on the current stream; '' on a new stream. */
  nonce = '';
  /** resource_names last sent on this stream (sorted, joined), undefined if none sent yet. */
  private sentKey: string | undefined;
  private held = new Set<string>();

  constructor(readonly typeUrl: string) {
    this.fullState = isWildcardType(typeUrl);
  }

  /** Adds names (or '*'); true when the subscription changed. */
  watch(names: readonly string[] | '*'): boolean {
    if (names === '*') {
      if (this.wildcard) return false;
      this.wildcard = true;
      return true;
    }
    let changed = false;
    for (const n of names) {
      if (!this.names.has(n)) {
        this.names.add(n);
        changed = true;
      }
    }
    return changed;
  }

  /** Removes names (or '*'); true when the subscription changed. */
  unwatch(names: readonly string[] | '*'): boolean {
    if (names === '*') {
      if (!this.wildcard) return false;
      this.wildcard = false;
      return true;
    }
    let changed = false;
    for (const n of names) changed = this.names.delete(n) || changed;
    return changed;
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

  /**
   * resource_names for the wire. Legacy wildcard (empty list) for LDS/CDS watched as '*' only;
   * an explicit '*' when wildcard is mixed with names or asked of a named type, since an empty
   * list on RDS/EDS/SDS means "unsubscribe everything" to istiod (contract 3.4).
   */
  wireNames(): string[] {
    const named = this.subscribedNames();
    if (!this.wildcard) return named;
    if (named.length === 0 && this.fullState) return [];
    return ['*', ...named];
  }

  /**
   * Whether a request is due: nothing sent yet on this stream (while interested), or the names
   * changed since the last request. A full-state type nobody watches any more sends nothing:
   * an empty list would mean wildcard again.
   */
  needsRequest(): boolean {
    if (this.sentKey === undefined) return this.interested;
    if (!this.interested && this.fullState) return false;
    return this.wireNames().join('\n') !== this.sentKey;
  }

  /** Builds the next request (ACK, NACK or subscription change) and records its names. */
  buildRequest(errorDetail?: { code: number; message: string }): SotwRequestFields {
    const resourceNames = this.wireNames();
    this.sentKey = resourceNames.join('\n');
    const req: SotwRequestFields = {
      typeUrl: this.typeUrl,
      versionInfo: this.version,
      responseNonce: this.nonce,
      resourceNames,
    };
    if (errorDetail) req.errorDetail = errorDetail;
    return req;
  }

  /**
   * Names deleted by this response: for full-state types watched as wildcard, names held before
   * and absent now; never for named types (istiod sends only changed EDS/RDS, contract 3.2).
   */
  removedBy(present: ReadonlySet<string>): string[] {
    if (!this.fullState || !this.wildcard) return [];
    const removed: string[] = [];
    for (const n of this.held) if (!present.has(n)) removed.push(n);
    this.held = new Set(present);
    return removed;
  }

  /** Records the consumer's verdict: an ACK moves the accepted version; the nonce only on the live stream. */
  settle(nonce: string, versionInfo: string, errors: readonly ResourceError[], streamCurrent: boolean): void {
    if (errors.length === 0) this.version = versionInfo;
    if (streamCurrent) this.nonce = nonce;
  }

  /** A new stream starts: no nonce, nothing sent on it yet; the accepted version stays. */
  resetStream(): void {
    this.nonce = '';
    this.sentKey = undefined;
  }
}
