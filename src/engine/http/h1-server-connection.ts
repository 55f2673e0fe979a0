// The downstream HTTP/1.1 side of the HTTP connection manager: our H1Parser on the raw socket,
// one ActiveStream at a time (pipelined requests wait, parsed but paused, until the response
// before them is written, as Envoy's HTTP/1 codec does), response framing (Content-Length,
// chunked, close-delimited for HTTP/1.0, raw after an upgrade), keep-alive, 100-continue
// answered locally, upgrades per upgrade_configs, codec errors answered with Envoy's status and
// details then close, connection and stream idle timeouts, and read/write backpressure.
import { CoarseTimer, type CoarseTimerTarget } from './timer';
import type { DownstreamConnection } from '../api/network-filter';
import { ActiveStream, type DownstreamCodec } from './active-stream';
import type { H1CodecError } from './h1/h1-codec-error';
import type { H1MessageHead } from './h1/h1-message-head';
import { H1Parser, type H1ParserHandler } from './h1/h1-parser';
import { CRLF_BUFFER, chunkHeader, encodeLastChunk, serializeResponseHead } from './h1/h1-serializer';
import { HeaderMap } from './header-map';
import type { HcmRuntime } from './hcm-runtime';
import { DETAILS, FLAG } from './local-reply';

const EMPTY = Buffer.alloc(0);
/** Bodies up to this size are copied behind the response head and written with it. */
const COALESCE_MAX = 16 * 1024;
const CONTINUE_100 = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');

const T_IDLE = 0;
const T_HEADERS = 1;
const T_REQUEST = 2;

const FRAME_FIXED = 0;
const FRAME_CHUNKED = 1;
const FRAME_NONE = 2;
const FRAME_RAW = 3;

/**
 * Response head and body joined in one reused buffer, for one write. The buffer is reused only
 * while every write through it completes at once (the socket holds no reference afterwards, as
 * writableLength shows); a write left pending keeps its buffer and the next one gets a fresh one.
 * Saves an allocation (a malloc for 16 KiB bodies) per response.
 */
let joinBuf = Buffer.allocUnsafeSlow(COALESCE_MAX + 4096);
function writeJoined(socket: DownstreamConnection['socket'], head: Buffer, chunk: Buffer): void {
  const n = head.length + chunk.length;
  let out = joinBuf;
  if (n > out.length) out = Buffer.allocUnsafe(n);
  head.copy(out, 0);
  chunk.copy(out, head.length);
  socket.write(n === out.length ? out : out.subarray(0, n));
  if (out === joinBuf && socket.writableLength !== 0) joinBuf = Buffer.allocUnsafeSlow(joinBuf.length);
}

export class H1ServerConnection implements H1ParserHandler, DownstreamCodec, CoarseTimerTarget {
  readonly protocol = 'HTTP/1.1';
  private readonly parser: H1Parser;
  private stream: ActiveStream | null = null;
  private requestKeepAlive = true;
  private framing = FRAME_FIXED;
  private closeAfter = false;
  private closed = false;
  private requests = 0;
  /** Connection idle timeout, or stream idle timeout while a stream is active (kind T_IDLE). */
  private readonly timer = new CoarseTimer(this, T_IDLE);
  private readonly streamIdleMs: number;
  private readonly idleMs: number;

  constructor(
    private readonly hcm: HcmRuntime,
    private readonly conn: DownstreamConnection,
  ) {
    const cfg = hcm.config;
    this.parser = new H1Parser('request', this, {
      maxHeadersBytes: cfg.maxRequestHeadersKb * 1024,
      maxHeadersCount: cfg.maxHeadersCount,
      acceptHttp10: cfg.http1.acceptHttp10,
    });
    const st = hcm.stats;
    st.downstreamCxTotal.inc();
    st.downstreamCxActive.inc();
    st.downstreamCxHttp1Total.inc();
    st.downstreamCxHttp1Active.inc();
    this.streamIdleMs = cfg.streamIdleTimeoutMs;
    this.idleMs = cfg.idleTimeoutMs;
    const socket = conn.socket;
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onClose);
    socket.on('error', this.onSocketError);
    socket.on('drain', this.onDrain);
    if (this.idleMs > 0) this.timer.arm(this.idleMs);
  }

  /** Bytes already read from the socket (e.g. by protocol detection) are fed first. */
  start(initial: Buffer | null): void {
    if (initial !== null) this.onData(initial);
    this.conn.socket.resume();
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.timer.at !== 0) this.timer.arm(this.stream !== null ? this.streamIdleMs : this.idleMs);
    this.parser.feed(chunk);
  };

  private readonly onEnd = (): void => {
    this.parser.finish();
    // Client half-closed between requests: close our side (after any response in flight).
    if (this.stream === null) this.close();
    else this.closeAfter = true;
  };

  private readonly onSocketError = (): void => {
    // 'close' follows.
  };

  private readonly onDrain = (): void => {
    this.stream?.onDownstreamDrain();
  };

  private readonly onClose = (): void => {
    this.closed = true;
    this.parser.destroy();
    this.timer.disarm();
    this.headersTimer.disarm();
    this.requestTimer.disarm();
    const st = this.hcm.stats;
    st.downstreamCxActive.dec();
    st.downstreamCxHttp1Active.dec();
    st.downstreamCxDestroy.inc();
    const socket = this.conn.socket;
    st.downstreamCxRxBytesTotal.add(socket.bytesRead);
    st.downstreamCxTxBytesTotal.add(socket.bytesWritten);
    const s = this.stream;
    if (s !== null && !s.done) s.resetStream('remote_reset');
    this.stream = null;
  };

  onCoarseTimer(kind: number): void {
    if (kind === T_HEADERS) this.onHeadersTimeout();
    else if (kind === T_REQUEST) this.onRequestTimeout();
    else this.onTimer();
  }

  private onTimer(): void {
    if (this.closed) return;
    const s = this.stream;
    if (s === null) {
      this.hcm.stats.downstreamCxIdleTimeout.inc();
      this.close();
      return;
    }
    this.hcm.stats.downstreamRqIdleTimeout.inc();
    // Envoy: 408 while the request is still arriving, 504 once it was complete.
    s.closeConnection = true;
    s.sendLocalReply(s.requestComplete ? 504 : 408, 'stream timeout', DETAILS.STREAM_IDLE_TIMEOUT, FLAG.STREAM_IDLE_TIMEOUT);
    if (!s.done) s.resetStream('local_reset');
  }

  private close(): void {
    if (this.closed) return;
    this.flushHead();
    this.closed = true;
    const socket = this.conn.socket;
    socket.end();
    socket.destroySoon();
  }

  // ---- H1ParserHandler -------------------------------------------------------------------

  /** request_headers_timeout: armed at the first byte of a request, disarmed at its last header. */
  private readonly headersTimer = new CoarseTimer(this, T_HEADERS);
  /** request_timeout: armed when headers arrive, disarmed when the request is complete. */
  private readonly requestTimer = new CoarseTimer(this, T_REQUEST);

  onMessageBegin(): void {
    const ms = this.hcm.config.requestHeadersTimeoutMs;
    if (ms > 0) this.headersTimer.arm(ms);
  }

  private onHeadersTimeout(): void {
    if (this.closed || this.stream !== null) return;
    // Envoy closes the connection without a response when the headers do not arrive in time.
    this.hcm.stats.downstreamRqTimeout.inc();
    this.conn.socket.destroy();
  }

  private onRequestTimeout(): void {
    const s = this.stream;
    if (s === null || s.requestComplete || s.done) return;
    this.hcm.stats.downstreamRqTimeout.inc();
    s.closeConnection = true;
    s.sendLocalReply(408, 'request timeout', DETAILS.REQUEST_OVERALL_TIMEOUT);
    if (!s.done) s.resetStream('local_reset');
  }

  onHeaders(head: H1MessageHead): void {
    const hcm = this.hcm;
    if (this.headersTimer.at !== 0) this.headersTimer.disarm();
    const s = new ActiveStream(hcm, this.conn, this, new HeaderMap(head.headers, head.lowerNames));
    if (hcm.config.requestTimeoutMs > 0 && !head.upgrade) this.requestTimer.arm(hcm.config.requestTimeoutMs);
    this.stream = s;
    this.requests++;
    hcm.stats.downstreamRqHttp1Total.inc();
    if (this.streamIdleMs > 0) this.timer.arm(this.streamIdleMs);
    else if (this.timer.at !== 0) this.timer.disarm();
    this.requestKeepAlive = head.keepAlive;
    s.minorVersion = head.minorVersion;
    s.method = head.method;
    const h = s.requestHeaders;
    let url = head.url;
    if (head.method === 'CONNECT') {
      s.authority = url;
      url = '';
    } else if (url.charCodeAt(0) !== 47 && url !== '*') {
      // absolute-form: the URL's authority replaces Host (RFC 9112 3.2.2), path keeps the rest.
      const i = url.indexOf('://');
      const slash = url.indexOf('/', i + 3);
      s.authority = url.slice(i + 3, slash < 0 ? url.length : slash);
      h.set('host', s.authority);
      url = slash < 0 ? '/' : url.slice(slash);
    } else {
      s.authority = h.get('host') ?? '';
    }
    s.path = url;
    if (head.expectContinue) {
      h.remove('expect');
      if (!hcm.config.proxy100Continue) this.conn.socket.write(CONTINUE_100);
    }
    if (head.upgrade) {
      const type = head.method === 'CONNECT' ? 'connect' : (h.get('upgrade') ?? '').toLowerCase();
      if (!hcm.upgrades.has(type)) {
        s.closeConnection = true;
        s.requestComplete = true;
        s.filters = [];
        s.sendLocalReply(403, '', DETAILS.UPGRADE_FAILED);
        return;
      }
      s.upgradeType = type;
      hcm.stats.downstreamCxUpgradesTotal.inc();
    }
    const endStream = !head.upgrade && !head.chunked && head.contentLength <= 0;
    s.decodeHeaders(endStream);
  }

  onBody(chunk: Buffer): void {
    const s = this.stream;
    if (s !== null && !s.done) s.decodeData(chunk, false);
  }

  onMessageComplete(trailers: string[] | null): void {
    const s = this.stream;
    if (s === null) return;
    if (!s.done && !s.requestComplete) {
      if (trailers !== null) s.decodeTrailers(new HeaderMap(trailers));
      else s.decodeData(EMPTY, true);
    }
    // Pipelining: hold the next request until this response is written.
    if (this.stream === s && !s.done) this.parser.pause();
  }

  onError(err: H1CodecError): void {
    this.hcm.stats.downstreamCxProtocolError.inc();
    let s = this.stream;
    if (s !== null && (s.responseStarted || s.done)) {
      this.conn.socket.destroy();
      return;
    }
    if (s === null) {
      s = new ActiveStream(this.hcm, this.conn, this, new HeaderMap());
      this.stream = s;
    }
    // Envoy answers codec errors with the reason phrase as body and closes (sendProtocolError).
    s.closeConnection = true;
    s.requestComplete = true;
    s.setResponseFlag(FLAG.DOWNSTREAM_PROTOCOL_ERROR);
    s.sendLocalReply(err.status, err.status === 400 ? 'Bad Request' : err.status === 431 ? 'Request Header Fields Too Large' : err.status === 501 ? 'Not Implemented' : 'Upgrade Required', err.details);
  }

  // ---- DownstreamCodec -------------------------------------------------------------------

  writeHeaders(stream: ActiveStream, status: number, headers: HeaderMap, endStream: boolean): void {
    if (this.closed) return;
    const cfg = this.hcm.config;
    // A draining listener (drain_listeners, --drain-strategy immediate) discourages new requests:
    // every response from then on carries Connection: close, as Envoy's drain does for HTTP/1.
    if (stream.closeConnection || !this.requestKeepAlive || this.closeAfter || this.conn.listener?.drainingNotice || (cfg.maxRequestsPerConnection > 0 && this.requests >= cfg.maxRequestsPerConnection)) {
      this.closeAfter = true;
      if (status !== 101) headers.set('connection', 'close');
    }
    const noBody = stream.isHead || status < 200 || status === 204 || status === 304;
    let framing: number;
    if (status === 101 || (stream.method === 'CONNECT' && status >= 200 && status < 300)) framing = FRAME_RAW;
    else if (noBody) framing = FRAME_NONE;
    else if (headers.get('content-length') !== undefined) framing = FRAME_FIXED;
    else if (endStream) {
      headers.add('content-length', '0');
      framing = FRAME_FIXED;
    } else if (stream.minorVersion === 1) framing = FRAME_CHUNKED;
    else {
      framing = FRAME_FIXED;
      this.closeAfter = true;
      headers.set('connection', 'close');
    }
    if (framing === FRAME_CHUNKED) headers.remove('content-length');
    this.framing = framing;
    let head: Buffer;
    try {
      head = serializeResponseHead(status, null, headers.list, framing === FRAME_CHUNKED, stream.minorVersion);
    } catch {
      this.conn.socket.destroy();
      return;
    }
    if (!endStream && framing !== FRAME_NONE) {
      // Head and the first body bytes usually come from the same upstream read: hold the head
      // until writeData (or the next tick) so both leave in ONE write (one syscall and no
      // cork/writev machinery per response, as the node:net probe and nginx do).
      if (this.pendingHead === null) process.nextTick(this.flushHead);
      this.pendingHead = head;
      return;
    }
    this.flushHead();
    this.conn.socket.write(head);
  }

  /** Response head not yet written (see writeHeaders). */
  private pendingHead: Buffer | null = null;
  private readonly flushHead = (): void => {
    const head = this.pendingHead;
    if (head !== null) {
      this.pendingHead = null;
      if (!this.closed) this.conn.socket.write(head);
    }
  };

  writeData(_stream: ActiveStream, chunk: Buffer, endStream: boolean): boolean {
    if (this.closed) return true;
    const socket = this.conn.socket;
    if (this.timer.at !== 0) this.timer.arm(this.streamIdleMs);
    const len = chunk.length;
    const head = this.pendingHead;
    if (head !== null) {
      this.pendingHead = null;
      if (this.framing === FRAME_FIXED && len <= COALESCE_MAX) {
        // Small body (or none yet): one buffer, one write.
        if (len === 0) socket.write(head);
        else writeJoined(socket, head, chunk);
        return !socket.writableNeedDrain;
      }
      socket.cork();
      socket.write(head);
      const ok = this.writeBody(socket, chunk, endStream);
      socket.uncork();
      return ok;
    }
    return this.writeBody(socket, chunk, endStream);
  }

  private writeBody(socket: DownstreamConnection['socket'], chunk: Buffer, endStream: boolean): boolean {
    const len = chunk.length;
    switch (this.framing) {
      case FRAME_CHUNKED:
        if (len > 0) {
          socket.cork();
          socket.write(chunkHeader(len));
          socket.write(chunk);
          socket.write(CRLF_BUFFER);
          socket.uncork();
        }
        if (endStream) socket.write(encodeLastChunk(null));
        break;
      case FRAME_NONE:
        break;
      case FRAME_RAW:
        if (len > 0) socket.write(chunk);
        if (endStream) socket.end();
        break;
      default:
        if (len > 0) socket.write(chunk);
    }
    return !socket.writableNeedDrain;
  }

  writeTrailers(_stream: ActiveStream, trailers: HeaderMap): void {
    if (this.closed) return;
    this.flushHead();
    if (this.framing === FRAME_CHUNKED) {
      try {
        this.conn.socket.write(encodeLastChunk(trailers.list));
      } catch {
        this.conn.socket.write(encodeLastChunk(null));
      }
    }
  }

  resetStream(_stream: ActiveStream): void {
    this.closeAfter = true;
    this.conn.socket.destroy();
  }

  pauseReading(_stream: ActiveStream): void {
    this.conn.socket.pause();
  }

  resumeReading(_stream: ActiveStream): void {
    if (!this.closed) this.conn.socket.resume();
  }

  streamDone(stream: ActiveStream): void {
    if (this.stream !== stream) return;
    this.stream = null;
    if (this.requestTimer.at !== 0) this.requestTimer.disarm();
    if (this.closed) return;
    if (this.idleMs > 0) this.timer.arm(this.idleMs);
    else if (this.timer.at !== 0) this.timer.disarm();
    if (this.closeAfter || stream.closeConnection) {
      this.close();
      return;
    }
    if (this.conn.socket.isPaused()) this.conn.socket.resume();
    this.parser.resume();
  }
}
