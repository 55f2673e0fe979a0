// Runs a listener's byte-inspecting listener filters (tls_inspector, http_inspector) on an
// accepted socket before filter chain selection. Node has no MSG_PEEK: we read in flowing mode,
// show the accumulated bytes to each inspector in order, then pause and socket.unshift() them
// back so the chain's filters (or the TLS socket) see the stream from its first byte.
//
// Timeouts, as Envoy: listener_filters_timeout (0 = none) bounds the whole inspection; on expiry
// the connection continues with what is known if continue_on_listener_filters_timeout, else it
// is closed. A filter whose destination port falls in its filter_disabled ranges is skipped.
//
// Server-first protocols (MySQL, SMTP, ...): the client sends nothing until the server speaks,
// so an inspector waiting for bytes would stall the connection until the timeout (Envoy with
// Istio's protocolDetectionTimeout: forever, or seconds). Here, when no byte at all has arrived
// within SERVER_FIRST_WAIT_MS and the listener continues on timeout, inspection ends at once
// with nothing found, so the raw_buffer / non-HTTP chain is chosen and the upstream can speak
// first. A client that has sent even one byte is inspected to completion (up to the timeout).
import type * as net from 'node:net';
import type { ListenerFilterConfig } from '../../config/model/listener';
import type { InspectionResult, ListenerInspector } from '../../extensions/filters/listener/inspector';
import { createListenerInspector } from '../../extensions/filters/listener/index';
import type { StatsScope } from '../../stats/stats-store';

/** How long a silent client is given before it is treated as server-first (see header). */
export const SERVER_FIRST_WAIT_MS = 300;

interface ConfiguredInspector {
  readonly inspector: ListenerInspector;
  readonly disabled: readonly { readonly start: number; readonly end: number }[];
}

export type InspectionDone = (result: InspectionResult | null) => void;

/** Built once per listener; `run` is called per connection. */
export class ListenerFilterRunner {
  private readonly inspectors: readonly ConfiguredInspector[];

  constructor(
    filters: readonly ListenerFilterConfig[],
    scope: StatsScope,
    private readonly timeoutMs: number,
    private readonly continueOnTimeout: boolean,
  ) {
    const list: ConfiguredInspector[] = [];
    for (const f of filters) {
      const inspector = createListenerInspector(f, scope);
      if (inspector) list.push({ inspector, disabled: f.disabledDestinationPorts ?? [] });
    }
    this.inspectors = list;
  }

  get empty(): boolean {
    return this.inspectors.length === 0;
  }

  /**
   * Inspects `socket` (paused, nothing read yet). Calls `done` once: with the result (bytes put
   * back, socket paused), or null when the connection was closed (by the peer or by a filter).
   */
  run(socket: net.Socket, destinationPort: number, done: InspectionDone): void {
    const active: ListenerInspector[] = [];
    for (const c of this.inspectors) {
      // Int32Range end is exclusive.
      if (!c.disabled.some((r) => destinationPort >= r.start && destinationPort < r.end)) active.push(c.inspector);
    }
    if (active.length === 0) return done({});
    new Inspection(socket, active, this.timeoutMs, this.continueOnTimeout, done).start();
  }
}

/** Per-connection inspection state; handlers are bound once. */
class Inspection {
  private buf: Buffer = Buffer.alloc(0);
  private index = 0;
  private readonly result: InspectionResult = {};
  private timer: NodeJS.Timeout | undefined;
  private firstByteTimer: NodeJS.Timeout | undefined;
  private finished = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly inspectors: readonly ListenerInspector[],
    private readonly timeoutMs: number,
    private readonly continueOnTimeout: boolean,
    private readonly done: InspectionDone,
  ) {}

  start(): void {
    const s = this.socket;
    s.on('data', this.onData);
    s.on('end', this.onEnd);
    s.on('error', this.onError);
    s.on('close', this.onClose);
    if (this.timeoutMs > 0) this.timer = setTimeout(this.onTimeout, this.timeoutMs);
    if (this.continueOnTimeout && (this.timeoutMs === 0 || this.timeoutMs > SERVER_FIRST_WAIT_MS)) this.firstByteTimer = setTimeout(this.onSilent, SERVER_FIRST_WAIT_MS);
    s.resume();
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.firstByteTimer) {
      clearTimeout(this.firstByteTimer);
      this.firstByteTimer = undefined;
    }
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    this.advance();
  };

  private advance(): void {
    while (this.index < this.inspectors.length) {
      const insp = this.inspectors[this.index]!;
      const r = insp.inspect(this.buf, this.result);
      if (r === 'close') return this.finish(false);
      if (r === 'more') {
        if (this.buf.length < insp.maxReadBytes) return;
        insp.giveUp?.(this.result);
      }
      this.index++;
    }
    this.finish(true);
  }

  private readonly onTimeout = (): void => {
    this.timer = undefined;
    if (!this.continueOnTimeout) return this.finish(false);
    this.giveUpRest();
    this.finish(true);
  };

  private readonly onSilent = (): void => {
    this.firstByteTimer = undefined;
    if (this.buf.length > 0) return;
    this.giveUpRest();
    this.finish(true);
  };

  private giveUpRest(): void {
    for (let i = this.index; i < this.inspectors.length; i++) this.inspectors[i]!.giveUp?.(this.result);
    this.index = this.inspectors.length;
  }

  // EOF or an error before the inspectors decided: Envoy closes the connection.
  private readonly onEnd = (): void => this.finish(false);
  private readonly onError = (): void => this.finish(false);
  private readonly onClose = (): void => this.finish(false);

  private finish(ok: boolean): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.firstByteTimer) clearTimeout(this.firstByteTimer);
    const s = this.socket;
    s.pause();
    s.off('data', this.onData);
    s.off('end', this.onEnd);
    s.off('error', this.onError);
    s.off('close', this.onClose);
    if (!ok) {
      s.destroy();
      return this.done(null);
    }
    if (this.buf.length) s.unshift(this.buf);
    this.done(this.result);
  }
}
