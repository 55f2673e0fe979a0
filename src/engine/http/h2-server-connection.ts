// The downstream HTTP/2 side of the HTTP connection manager (h2c with prior knowledge, codec
// HTTP2 or AUTO after preface detection): node:http2's core API — one Http2Server per HCM used
// only as a session factory (sockets are handed to it with emit('connection')), the 'stream'
// event and stream.respond() — measured as the fast option in NODE-PROXY-COST.md. Each HTTP/2
// stream is an ActiveStream; gRPC trailers pass through (waitForTrailers for gRPC responses).
import * as http2 from 'node:http2';
import type * as net from 'node:net';
import { Duplex } from 'node:stream';
import type { DownstreamConnection } from '../api/network-filter';
import { ActiveStream, type DownstreamCodec } from './active-stream';
import { HeaderMap } from './header-map';
import type { HcmRuntime } from './hcm-runtime';

const EMPTY = Buffer.alloc(0);
const CONNECTION_SPECIFIC = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade'];

interface H2Slot {
  readonly stream: http2.ServerHttp2Stream;
  trailers: http2.OutgoingHttpHeaders | null;
  waitForTrailers: boolean;
}

function replayDuplex(socket: net.Socket, initial: Buffer): Duplex {
  const d = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      socket.write(chunk, cb);
    },
    final(cb) {
      socket.end();
      cb();
    },
    destroy(err, cb) {
      socket.destroy();
      cb(err);
    },
  });
  if (initial.length > 0) d.push(initial);
  socket.on('data', (c: Buffer) => {
    if (!d.push(c)) socket.pause();
  });
  socket.on('end', () => d.push(null));
  socket.on('close', () => d.destroy());
  socket.on('error', () => {});
  return d;
}

const kActive = Symbol('meshproxy.activeStream');
type SlotStream = http2.ServerHttp2Stream & { [kActive]: ActiveStream };

// Stream listeners shared by every stream (node streams call them with `this` = the stream), so
// a request allocates no closures.
function onStreamData(this: SlotStream, d: Buffer): void {
  this[kActive].decodeData(d, false);
}
function onStreamTrailers(this: SlotStream, t: http2.IncomingHttpHeaders): void {
  this[kActive].decodeTrailers(HeaderMap.fromObject(t as Record<string, string | string[]>));
}
function onStreamEnd(this: SlotStream): void {
  const s = this[kActive];
  if (!s.requestComplete) s.decodeData(EMPTY, true);
}
function onStreamDrain(this: SlotStream): void {
  this[kActive].onDownstreamDrain();
}
function onStreamClose(this: SlotStream): void {
  const s = this[kActive];
  if (!s.done) s.resetStream('remote_reset');
}
function onWantTrailers(this: SlotStream): void {
  // A gRPC response must end with trailers; an upstream that ended without any gets an empty
  // trailer block rather than a reset.
  this.sendTrailers((this[kActive].codecStream as H2Slot).trailers ?? {});
}
function ignore(): void {}

/** One per HCM: turns sockets into HTTP/2 server sessions and streams into ActiveStreams. */
export class H2ServerCodec implements DownstreamCodec {
  readonly protocol = 'HTTP/2';
  private readonly server: http2.Http2Server;
  private readonly conns = new WeakMap<http2.Http2Session, DownstreamConnection>();
  private readonly goaway = new WeakSet<http2.Http2Session>();
  private pending: DownstreamConnection | null = null;

  constructor(private readonly hcm: HcmRuntime) {
    this.server = http2.createServer({
      maxHeaderListPairs: hcm.config.maxHeadersCount * 2,
      maxSendHeaderBlockLength: 1 << 20,
      settings: { maxConcurrentStreams: Math.min(hcm.config.http2MaxConcurrentStreams, 2 ** 31 - 1), maxHeaderListSize: hcm.config.maxRequestHeadersKb * 1024 },
    });
    this.server.on('session', this.onSession);
    this.server.on('stream', this.onStream);
  }

  /** Takes over a connection; `initial` are bytes already read (the preface). */
  accept(conn: DownstreamConnection, initial: Buffer | null): void {
    const st = this.hcm.stats;
    st.downstreamCxTotal.inc();
    st.downstreamCxActive.inc();
    st.downstreamCxHttp2Total.inc();
    st.downstreamCxHttp2Active.inc();
    const socket = conn.socket;
    socket.once('close', () => {
      st.downstreamCxActive.dec();
      st.downstreamCxHttp2Active.dec();
      st.downstreamCxDestroy.inc();
    });
    this.pending = conn;
    // node:http2's connection listener refuses (as an HTTP/1.1 fallback) TLS sockets whose ALPN
    // is not h2 — prior-knowledge HTTP/2 over TLS without ALPN, or an istio-h2 server — so those
    // go through a small Duplex, which carries no alpnProtocol (and replays any bytes read).
    const tlsSocket = socket as { alpnProtocol?: string | false | null; secureConnecting?: boolean };
    const alpn = tlsSocket.alpnProtocol;
    // A server TLSSocket made outside a tls.Server keeps secureConnecting true after its
    // handshake (only tls.Server clears it), and an Http2Session on such a socket waits for a
    // 'secureConnect' that never comes. The handshake is done by the time a chain gets the socket.
    if (tlsSocket.secureConnecting === true) tlsSocket.secureConnecting = false;
    if (alpn === undefined && initial !== null) {
      // Plain TCP after AUTO detection: the preface bytes we read go back into the socket's
      // read buffer, and the new session feeds what is buffered to nghttp2 before reading the
      // native handle itself (node:http2 does that on the next tick). The socket stays paused:
      // resuming it would hand the buffered bytes to 'data' listeners instead. A Duplex wrapper
      // here cost ~10% of the CPU of an h2c request (JSStreamSocket on every read and write).
      socket.unshift(initial);
      this.server.emit('connection', socket);
      this.pending = null;
      return;
    }
    const direct = initial === null && (alpn === undefined || alpn === null || alpn === 'h2');
    this.server.emit('connection', direct ? socket : replayDuplex(socket, initial ?? EMPTY));
    this.pending = null;
    socket.resume();
  }

  private readonly onSession = (session: http2.ServerHttp2Session): void => {
    if (this.pending !== null) this.conns.set(session, this.pending);
    session.on('error', () => {});
    const idle = this.hcm.config.idleTimeoutMs;
    if (idle > 0) session.setTimeout(idle, () => session.close());
  };

  private readonly onStream = (stream: http2.ServerHttp2Stream, h: http2.IncomingHttpHeaders): void => {
    const conn = this.conns.get(stream.session!);
    if (conn === undefined) {
      stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      return;
    }
    const s = new ActiveStream(this.hcm, conn, this, HeaderMap.fromObject(h as Record<string, string | string[]>));
    this.hcm.stats.downstreamRqHttp2Total.inc();
    const slot: H2Slot = { stream, trailers: null, waitForTrailers: false };
    s.codecStream = slot;
    s.method = String(h[':method'] ?? '');
    s.path = String(h[':path'] ?? '');
    s.authority = String(h[':authority'] ?? h.host ?? '');
    const protocol = h[':protocol'];
    if (s.method === 'CONNECT') {
      const type = protocol !== undefined ? String(protocol).toLowerCase() : 'connect';
      if (!this.hcm.upgrades.has(type)) {
        s.filters = [];
        s.requestComplete = true;
        s.sendLocalReply(403, '', 'upgrade_failed');
        return;
      }
      s.upgradeType = type;
    }
    (stream as SlotStream)[kActive] = s;
    const endStream = stream.endAfterHeaders;
    // A request that ended with its headers (GET) gets no body listeners: its readable side is
    // then never consumed, so node:http2 keeps the stream until our last write completes instead
    // of destroying it at close and failing that write's callback (an Error object per stream).
    if (!endStream) {
      stream.on('data', onStreamData);
      stream.on('trailers', onStreamTrailers);
      stream.on('end', onStreamEnd);
    }
    stream.on('error', ignore);
    stream.on('close', onStreamClose);
    s.decodeHeaders(endStream);
  };

  writeHeaders(s: ActiveStream, status: number, headers: HeaderMap, endStream: boolean): void {
    const slot = s.codecStream as H2Slot;
    const st = slot.stream;
    if (st.destroyed || st.headersSent) return;
    // A draining listener tells HTTP/2 clients to go elsewhere with one graceful GOAWAY (streams
    // in flight finish; Envoy's drain does the same).
    const session = st.session;
    if (session && !session.closed && this.conns.get(session)?.listener?.drainingNotice && !this.goaway.has(session)) {
      this.goaway.add(session);
      session.goaway(http2.constants.NGHTTP2_NO_ERROR, st.id ?? 0);
    }
    for (const n of CONNECTION_SPECIFIC) headers.remove(n);
    const obj = headers.toObject({ ':status': String(status) }) as http2.OutgoingHttpHeaders;
    slot.waitForTrailers = !endStream && s.isGrpc;
    if (slot.waitForTrailers) st.on('wantTrailers', onWantTrailers);
    try {
      st.respond(obj, { endStream, waitForTrailers: slot.waitForTrailers });
    } catch {
      st.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    }
  }

  writeData(s: ActiveStream, chunk: Buffer, endStream: boolean): boolean {
    const st = (s.codecStream as H2Slot).stream;
    if (st.destroyed) return true;
    let ok = true;
    if (endStream) st.end(chunk.length > 0 ? chunk : undefined);
    else if (chunk.length > 0) {
      ok = st.write(chunk);
      // 'drain' is only listened for once a write reports backpressure (one listener per stream).
      if (!ok && st.listenerCount('drain') === 0) st.on('drain', onStreamDrain);
    }
    return ok;
  }

  writeTrailers(s: ActiveStream, trailers: HeaderMap): void {
    const slot = s.codecStream as H2Slot;
    if (slot.stream.destroyed) return;
    if (slot.waitForTrailers) slot.trailers = trailers.toObject() as http2.OutgoingHttpHeaders;
    slot.stream.end();
  }

  resetStream(s: ActiveStream): void {
    const st = (s.codecStream as H2Slot).stream;
    if (!st.destroyed) st.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  }

  pauseReading(s: ActiveStream): void {
    (s.codecStream as H2Slot).stream.pause();
  }

  resumeReading(s: ActiveStream): void {
    (s.codecStream as H2Slot).stream.resume();
  }

  streamDone(_s: ActiveStream): void {}
}
