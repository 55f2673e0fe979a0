// HTTP/2 upstream pool of one host (clusters configured for HTTP/2, e.g. gRPC backends): one
// multiplexed node:http2 client session over a socket from the cluster's connect(), reopened
// when it closes or GOAWAYs. Each request is a client stream adapted to UpstreamStream; the
// response head is handed to the router as an H1MessageHead so both pools share one path.
// Over TLS the session runs on the TLS socket cluster.connect() returns; requests with an ALPN
// override (istio.alpn: istio-h2, istio, h2) get their own session, as Envoy keys pools by it.
import * as http2 from 'node:http2';
import { H1MessageHead } from '../h1/h1-message-head';
import type { HeaderMap } from '../header-map';
import type { ResetReason } from '../local-reply';
import type { UpstreamAttempt } from './h1-conn-pool';
import type { UpstreamStream } from './upstream-stream';
import { alpnKey, upstreamAlpnOf, upstreamPoolKey } from './upstream-alpn';
import { HostPool } from './host-pool';

const H2_HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host', 'http2-settings']);

class H2UpstreamStream implements UpstreamStream {
  private stream: http2.ClientHttp2Stream | null = null;
  private gotResponse = false;
  private done = false;

  constructor(
    private readonly session: http2.ClientHttp2Session,
    private attempt: UpstreamAttempt | null,
  ) {}

  get localAddress(): string {
    const s = this.session.socket;
    return s?.localAddress ? `${s.localAddress}:${s.localPort}` : '';
  }

  sendHeaders(method: string, path: string, authority: string, scheme: string, headers: HeaderMap, endStream: boolean): void {
    const obj: http2.OutgoingHttpHeaders = { ':method': method, ':path': path, ':authority': authority, ':scheme': scheme };
    const list = headers.list;
    for (let i = 0; i < list.length; i += 2) {
      const k = list[i]!.toLowerCase();
      if (H2_HOP_BY_HOP.has(k) || (k === 'te' && list[i + 1] !== 'trailers')) continue;
      const prev = obj[k];
      obj[k] = prev === undefined ? list[i + 1]! : Array.isArray(prev) ? [...prev, list[i + 1]!] : [String(prev), list[i + 1]!];
    }
    let st: http2.ClientHttp2Stream;
    try {
      // Request trailers are not forwarded to HTTP/2 upstreams (gRPC never sends them); not
      // waiting for them keeps END_STREAM on the last DATA frame.
      st = this.session.request(obj, { endStream });
    } catch {
      this.fail('connection_termination');
      return;
    }
    this.stream = st;
    st.on('response', (h, flags: number) => {
      if (this.attempt === null) return;
      const status = Number(h[':status']);
      if (status < 200) return;
      this.gotResponse = true;
      const head = new H1MessageHead();
      head.statusCode = status;
      const out: string[] = [];
      for (const k in h) {
        if (k.charCodeAt(0) === 58) continue;
        const v = h[k];
        if (Array.isArray(v)) for (const x of v) out.push(k, x);
        else if (v !== undefined) out.push(k, String(v));
      }
      head.headers = out;
      const cl = h['content-length'];
      head.contentLength = cl === undefined ? -1 : Number(cl);
      // END_STREAM on the response HEADERS (gRPC trailers-only): no body, no trailers follow.
      if ((flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0 || st.endAfterHeaders) head.contentLength = 0;
      this.attempt.onUpstreamHeaders(head);
    });
    st.on('data', (d: Buffer) => this.attempt?.onUpstreamData(d));
    let trailers: string[] | null = null;
    st.on('trailers', (t) => {
      trailers = [];
      for (const k in t) if (k.charCodeAt(0) !== 58 && t[k] !== undefined) trailers.push(k, String(t[k]));
    });
    st.on('end', () => {
      if (this.done) return;
      this.done = true;
      const a = this.attempt;
      this.attempt = null;
      a?.onUpstreamComplete(trailers);
    });
    st.on('drain', () => this.attempt?.onUpstreamDrain());
    st.on('error', () => {});
    st.on('close', () => {
      if (this.done) return;
      this.done = true;
      const a = this.attempt;
      this.attempt = null;
      a?.onUpstreamReset(st.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM ? 'remote_refused_stream_reset' : this.gotResponse ? 'remote_reset' : 'connection_termination');
    });
  }

  sendData(chunk: Buffer, endStream: boolean): boolean {
    const st = this.stream;
    if (st === null) return true;
    let ok = true;
    if (chunk.length > 0) ok = st.write(chunk);
    if (endStream) st.end();
    return ok;
  }

  sendTrailers(_trailers: HeaderMap): void {
    this.stream?.end();
  }

  pauseReading(): void {
    this.stream?.pause();
  }

  resumeReading(): void {
    this.stream?.resume();
  }

  release(): void {
    this.attempt = null;
  }

  reset(): void {
    this.attempt = null;
    this.done = true;
    const st = this.stream;
    if (st !== null && !st.destroyed) st.close(http2.constants.NGHTTP2_CANCEL);
  }

  fail(reason: ResetReason): void {
    if (this.done) return;
    this.done = true;
    const a = this.attempt;
    this.attempt = null;
    a?.onUpstreamReset(reason);
  }

}

export class H2ConnPool extends HostPool {
  /** One session per ALPN override key ('' = the TLS context's own list, or plaintext). */
  private readonly sessions = new Map<string, http2.ClientHttp2Session>();
  private readonly connecting = new Map<string, UpstreamAttempt[]>();

  /** Sessions close gracefully: in-flight streams finish. */
  protected drainConnections(): void {
    for (const session of this.sessions.values()) if (!session.closed) session.close();
    this.sessions.clear();
  }

  acquire(attempt: UpstreamAttempt): void {
    const alpn = upstreamAlpnOf(attempt);
    const source = attempt.upstreamSource;
    const key = upstreamPoolKey(alpnKey(alpn), source);
    const s = this.sessions.get(key);
    if (s !== undefined && !s.closed && !s.destroyed) {
      attempt.onPoolReady(new H2UpstreamStream(s, attempt));
      return;
    }
    // No session yet: the request waits for one (Envoy's pending stream), which takes a
    // max_pending_requests slot; without one it fails at once with 'overflow' (503 UO).
    if (!this.enterPending(attempt)) return;
    const pending = this.connecting.get(key);
    if (pending !== undefined) {
      pending.push(attempt);
      return;
    }
    this.connecting.set(key, [attempt]);
    this.cluster.connect(
      this.host,
      (err, socket) => {
        const waiting = this.connecting.get(key) ?? [];
        this.connecting.delete(key);
        for (let i = 0; i < waiting.length; i++) this.leavePending();
        if (err !== null || socket === undefined) {
          for (const a of waiting) a.onPoolFailure(err === 'connect_timeout' ? 'connection_timeout' : 'connection_failure');
          return;
        }
        this.stats.upstreamCxHttp2Total.inc();
        // The socket is already connected (and TLS-established when the cluster has a TLS
        // transport socket): node:http2 runs the session over it as given.
        const session = http2.connect(`${(socket as { encrypted?: boolean }).encrypted ? 'https' : 'http'}://${this.host.key}`, { createConnection: () => socket, peerMaxConcurrentStreams: 1 << 30 });
        session.on('error', () => {});
        const drop = () => {
          if (this.sessions.get(key) === session) this.sessions.delete(key);
        };
        session.on('close', drop);
        session.on('goaway', drop);
        this.sessions.set(key, session);
        for (const a of waiting) a.onPoolReady(new H2UpstreamStream(session, a));
      },
      false,
      alpn,
      source,
    );
  }

  /** Takes `attempt` out of the requests waiting for a session (its stream ended or timed out). */
  cancel(attempt: UpstreamAttempt): void {
    for (const waiting of this.connecting.values()) {
      const i = waiting.indexOf(attempt);
      if (i < 0) continue;
      waiting.splice(i, 1);
      this.leavePending();
      return;
    }
  }

  destroy(): void {
    for (const s of this.sessions.values()) s.destroy();
    this.sessions.clear();
  }
}
