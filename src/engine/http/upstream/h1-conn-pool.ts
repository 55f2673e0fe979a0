// HTTP/1.1 upstream connection pool of one host of one cluster (Envoy's Http1::ConnPoolImpl,
// reduced): idle keep-alive connections are reused LIFO, a new connection is opened through the
// cluster's connect() when none is idle, a connection carries one request at a time and is
// retired after max_requests_per_connection, on `Connection: close`, on any framing doubt or
// when the upstream closes it. The response side runs our own H1Parser on the raw socket.
// Connections opened with an ALPN override (istio.alpn) are only reused for requests carrying
// the same override, as Envoy keys pools by transport socket options.
//
//   router attempt --acquire--> pool --idle?--> H1UpstreamConnection.attach(attempt)
//                                   \--connect--> cluster.connect(host) --> new connection
//   socket data --> H1Parser(response) --> attempt.onUpstreamHeaders/Data/Complete
import type * as net from 'node:net';
import type { H1CodecError } from '../h1/h1-codec-error';
import { CRLF_BUFFER, chunkHeader, encodeLastChunk, serializeRequestHead } from '../h1/h1-serializer';
import type { HeaderMap } from '../header-map';
import type { UpstreamStream } from './upstream-stream';
import type { H1MessageHead } from '../h1/h1-message-head';
import { H1Parser, type H1ParserHandler } from '../h1/h1-parser';
import { HostPool } from './host-pool';
import { alpnKey, upstreamAlpnOf, upstreamPoolKey } from './upstream-alpn';
import type { TransparentSource } from '../../../platform/original-dst';
import type { ResetReason } from '../local-reply';

/** The router side of one upstream attempt, as the connection sees it. */
export interface UpstreamAttempt {
  /** A connection is ready for this attempt (called at most once). */
  onPoolReady(conn: UpstreamStream): void;
  onPoolFailure(reason: ResetReason): void;
  onUpstreamHeaders(head: H1MessageHead): void;
  onUpstreamData(chunk: Buffer): void;
  onUpstreamComplete(trailers: string[] | null): void;
  onUpstreamReset(reason: ResetReason): void;
  /** The upstream socket drained (request body backpressure). */
  onUpstreamDrain(): void;
  /** original_src (TPROXY): connect from the downstream client's address with its mark. */
  readonly upstreamSource?: TransparentSource | undefined;
}

const MAX_RESPONSE_HEADERS_BYTES = 60 * 1024;

export class H1UpstreamConnection implements H1ParserHandler, UpstreamStream {
  readonly parser: H1Parser;
  attempt: UpstreamAttempt | null = null;
  requests = 0;
  /** The request being written was fully sent. */
  requestDone = false;
  responseDone = false;
  private closed = false;
  private keepAlive = true;

  constructor(
    readonly pool: H1ConnPool,
    readonly socket: net.Socket,
    /** upstreamPoolKey() of the ALPN list (and original_src) the connection was opened with. */
    readonly alpnKey = '',
  ) {
    this.parser = new H1Parser('response', this, { maxHeadersBytes: MAX_RESPONSE_HEADERS_BYTES, maxHeadersCount: 200 });
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onClose);
    socket.on('error', this.onSocketError);
    socket.on('drain', this.onDrain);
  }

  private local: string | null = null;
  get localAddress(): string {
    if (this.local === null) {
      const s = this.socket;
      this.local = s.localAddress ? (s.localAddress.includes(':') ? `[${s.localAddress}]:${s.localPort}` : `${s.localAddress}:${s.localPort}`) : '';
    }
    return this.local;
  }

  /** Starts a request on this connection. */
  attach(attempt: UpstreamAttempt): void {
    this.attempt = attempt;
    this.requests++;
    this.requestDone = false;
    this.responseDone = false;
  }

  private chunked = false;
  private tunnel = false;

  sendHeaders(method: string, path: string, authority: string, _scheme: string, headers: HeaderMap, endStream: boolean, tunnel: boolean): void {
    // Host keeps the client's position and case; it is set (or added) to the final authority.
    headers.set('host', authority);
    const out = headers.list;
    this.tunnel = tunnel;
    this.chunked = !endStream && !tunnel && headers.get('content-length') === undefined;
    if (endStream && !tunnel && (method === 'POST' || method === 'PUT' || method === 'PATCH') && headers.get('content-length') === undefined) out.push('content-length', '0');
    let head: Buffer;
    try {
      // CONNECT is sent in authority-form (RFC 9112 3.2.3).
      head = serializeRequestHead(method, method === 'CONNECT' ? authority : path, out, this.chunked);
    } catch {
      // A header an edit made unsendable: fail this attempt rather than write a broken message.
      this.destroy();
      return;
    }
    this.parser.expectResponse(method);
    this.socket.write(head);
    if (endStream) this.requestDone = true;
  }

  sendData(chunk: Buffer, endStream: boolean): boolean {
    const s = this.socket;
    let ok = true;
    if (this.chunked) {
      if (chunk.length > 0) {
        s.cork();
        s.write(chunkHeader(chunk.length));
        s.write(chunk);
        ok = s.write(CRLF_BUFFER);
        s.uncork();
      }
      if (endStream) ok = s.write(encodeLastChunk(null));
    } else if (chunk.length > 0) ok = s.write(chunk);
    if (endStream) {
      this.requestDone = true;
      if (this.tunnel) s.end();
    }
    return ok;
  }

  sendTrailers(trailers: HeaderMap): void {
    if (this.chunked) this.socket.write(encodeLastChunk(trailers.list));
    this.requestDone = true;
  }

  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  reset(): void {
    this.attempt = null;
    this.destroy();
  }

  /** The attempt is over: reuse the connection if it is clean, else close it. */
  release(): void {
    this.attempt = null;
    const pool = this.pool;
    const max = pool.cluster.config.maxRequestsPerConnection ?? 0;
    if (this.closed || !this.keepAlive || !this.requestDone || !this.responseDone || !this.parser.isIdle()) {
      this.destroy();
      return;
    }
    if (max > 0 && this.requests >= max) {
      pool.stats.upstreamCxMaxRequests.inc();
      this.destroy();
      return;
    }
    if (pool.draining) {
      // The host left the cluster: finish, do not reuse (see H1ConnPool.drain).
      this.destroy();
      return;
    }
    if (this.socket.isPaused()) this.socket.resume();
    pool.onConnectionFree(this);
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.parser.destroy();
    this.socket.destroy();
    this.pool.remove(this);
  }

  // ---- H1ParserHandler (response) ---------------------------------------------------------

  onMessageBegin(): void {}

  onHeaders(head: H1MessageHead): void {
    this.lastStatus = head.statusCode;
    if (!head.keepAlive) this.keepAlive = false;
    // Interim 100 Continue: we answered the client's Expect ourselves; drop it (Envoy default).
    if (head.statusCode < 200 && head.statusCode !== 101) return;
    this.attempt?.onUpstreamHeaders(head);
  }

  onBody(chunk: Buffer): void {
    this.attempt?.onUpstreamData(chunk);
  }

  onMessageComplete(trailers: string[] | null): void {
    const a = this.attempt;
    if (a === null) return;
    if (this.parserInterim()) return;
    this.responseDone = true;
    a.onUpstreamComplete(trailers);
  }

  /** The parser completes 1xx messages too; those are not the response. */
  private lastStatus = 0;
  private parserInterim(): boolean {
    return this.lastStatus > 0 && this.lastStatus < 200 && this.lastStatus !== 101;
  }

  onError(err: H1CodecError): void {
    void err;
    this.pool.stats.upstreamCxProtocolError.inc();
    const a = this.attempt;
    this.attempt = null;
    this.destroy();
    a?.onUpstreamReset('protocol_error');
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.attempt === null) {
      // Bytes on an idle connection: the upstream is confused; do not reuse it.
      this.destroy();
      return;
    }
    this.parser.feed(chunk);
  };

  private readonly onEnd = (): void => {
    this.keepAlive = false;
    this.parser.finish();
    if (!this.closed && this.attempt === null) this.destroy();
  };

  private readonly onSocketError = (): void => {
    // 'close' follows.
  };

  private readonly onDrain = (): void => {
    this.attempt?.onUpstreamDrain();
  };

  private readonly onClose = (): void => {
    const a = this.attempt;
    this.attempt = null;
    if (!this.closed) {
      this.closed = true;
      this.parser.destroy();
      this.pool.remove(this);
    }
    if (a !== null && !this.responseDone) {
      this.pool.stats.upstreamCxDestroyWithActiveRq.inc();
      a.onUpstreamReset('connection_termination');
    }
  };
}

/** Pool of one host. */
export class H1ConnPool extends HostPool {
  readonly idle: H1UpstreamConnection[] = [];
  private readonly all = new Set<H1UpstreamConnection>();

  /** Idle connections close at once, busy ones after their request (see release()). */
  protected drainConnections(): void {
    for (const c of this.idle.slice()) c.destroy();
    this.idle.length = 0;
  }

  /**
   * Gets a connection for `attempt`: an idle one synchronously; otherwise the request waits in
   * the pending queue (Envoy's pending streams) for a new connection or for one a finished
   * request frees. Waiting takes a max_pending_requests slot; without one the attempt fails at
   * once with 'overflow' (503 UO). A new connection is opened while the cluster's
   * max_connections allows; beyond it (upstream_cx_overflow) the request keeps waiting.
   */
  acquire(attempt: UpstreamAttempt): void {
    const idle = this.idle;
    const alpn = upstreamAlpnOf(attempt);
    const source = attempt.upstreamSource;
    const key = upstreamPoolKey(alpnKey(alpn), source);
    for (let i = idle.length - 1; i >= 0; i--) {
      const c = idle[i]!;
      if (c.socket.destroyed || !c.socket.writable) {
        c.destroy();
        continue;
      }
      if (c.alpnKey !== key) continue;
      idle.splice(i, 1);
      c.attach(attempt);
      attempt.onPoolReady(c);
      return;
    }
    if (!this.enterPending(attempt)) return;
    this.pending.push({ attempt, key, alpn, source });
    this.connectForPending();
  }

  /** Takes `attempt` out of the pending queue (its stream ended or timed out while waiting). */
  cancel(attempt: UpstreamAttempt): void {
    const q = this.pending;
    for (let i = 0; i < q.length; i++) {
      if (q[i]!.attempt !== attempt) continue;
      q.splice(i, 1);
      this.leavePending();
      return;
    }
  }

  /** Requests waiting for a connection, oldest first. */
  private readonly pending: PendingRequest[] = [];
  /** Connects in flight for waiting requests. */
  private connecting = 0;

  /** The oldest waiting request that may use a connection opened with ALPN key `key`. */
  private takePending(key: string): UpstreamAttempt | null {
    const q = this.pending;
    for (let i = 0; i < q.length; i++) {
      if (q[i]!.key !== key) continue;
      const a = q[i]!.attempt;
      q.splice(i, 1);
      this.leavePending();
      return a;
    }
    return null;
  }

  /** Opens connections until every waiting request has one coming (within max_connections). */
  private connectForPending(): void {
    while (this.pending.length > this.connecting && !this.destroyed) {
      const want = this.pending[this.connecting]!;
      this.connecting++;
      const key = want.key;
      this.cluster.connect(
        this.host,
        (err, socket, detail) => {
          this.connecting--;
          if (detail === 'overflow') return; // max_connections: keep waiting for a free connection
          if (err !== null || socket === undefined) {
            const a = this.takePending(key);
            if (a !== null) {
              this.stats.upstreamRqPendingFailureEject.inc();
              a.onPoolFailure(err === 'connect_timeout' ? 'connection_timeout' : 'connection_failure');
            }
            return;
          }
          this.stats.upstreamCxHttp1Total.inc();
          const c = new H1UpstreamConnection(this, socket, key);
          this.all.add(c);
          this.onConnectionFree(c);
        },
        false,
        want.alpn,
        want.source,
      );
      // At max_connections cluster.connect reports overflow (next tick): stop opening more.
      if (!this.cluster.canOpenConnection()) break;
    }
  }

  /** A connection is ready for a request: the oldest waiting one that fits gets it, else idle. */
  onConnectionFree(c: H1UpstreamConnection): void {
    const a = this.takePending(c.alpnKey);
    if (a === null) {
      if (this.destroyed) c.destroy();
      else this.idle.push(c);
      return;
    }
    c.attach(a);
    a.onPoolReady(c);
  }

  remove(c: H1UpstreamConnection): void {
    this.all.delete(c);
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    // A closed connection frees a max_connections slot: requests still waiting may get one.
    if (this.pending.length > this.connecting && !this.destroyed) queueMicrotask(() => this.connectForPending());
  }

  get size(): number {
    return this.all.size;
  }

  private destroyed = false;

  destroy(): void {
    this.destroyed = true;
    for (const c of [...this.all]) c.destroy();
    const q = this.pending.splice(0);
    for (const p of q) {
      this.leavePending();
      p.attempt.onPoolFailure('connection_termination');
    }
  }
}

interface PendingRequest {
  readonly attempt: UpstreamAttempt;
  /** alpnKey() of the request's ALPN override: only connections opened with it may serve it. */
  readonly key: string;
  readonly alpn: readonly string[] | undefined;
  readonly source: TransparentSource | undefined;
}
