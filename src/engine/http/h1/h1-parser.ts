// Incremental, strict HTTP/1.1 parser for requests (downstream/server side) and responses
// (upstream/client side). The HTTP connection manager feeds it raw socket chunks; it calls a
// handler object that is set once per connection (no per-message closures):
//
//   socket 'data' --> feed(chunk) --> onMessageBegin / onHeaders(head) / onBody(slice)* /
//                                     onMessageComplete(trailers) ... / onError(err)
//   socket 'end'  --> finish()
//
// Chunks may split a message at any byte and may hold several pipelined messages. The head is
// parsed line by line straight from the received buffer; only a line cut by a chunk boundary is
// copied into a small per-parser scratch buffer. Body bytes are never copied: onBody receives
// subarray views of the chunk (or the chunk itself), valid until the caller releases them.
//
// Framing follows RFC 9112 section 6 and the request-smuggling defences of Envoy's HTTP/1 codec
// (source/common/http/http1/codec_impl.cc with the Balsa parser) and llhttp's strict mode:
// Content-Length with Transfer-Encoding, differing Content-Lengths, any Transfer-Encoding other
// than one "chunked", obs-fold, bare CR or LF, bad token/value bytes, oversize heads and bad
// chunk framing are all errors. Errors are reported once through onError and the parser stops;
// it never throws.

import { COLON, COMMA, CR, FIELD_VALUE, HEX_VALUE, HTAB, LF, SEMI, SP, TOKEN, URL_CHAR } from './h1-chars';
import { H1CodecError, H1ErrorCode } from './h1-codec-error';
import { CONNECTION_CLOSE, CONNECTION_KEEP_ALIVE, CONNECTION_UPGRADE, H1MessageHead } from './h1-message-head';
import { latin1, Latin1Cache, NameCache } from './latin1-cache';

/** Callbacks of one connection's parser. Called synchronously from feed()/finish()/resume(). */
export interface H1ParserHandler {
  /** First byte of a new message (after any empty lines between messages). */
  onMessageBegin(): void;
  /** Complete head, validated; framing flags are final. */
  onHeaders(head: H1MessageHead): void;
  /** Body bytes (de-chunked), or tunnel bytes after an upgrade/CONNECT head. A view, not a copy. */
  onBody(chunk: Buffer): void;
  /** End of message; trailers as a flat [name, value, ...] list, or null when there were none. */
  onMessageComplete(trailers: string[] | null): void;
  /** Protocol violation; called at most once, after which the parser ignores all input. */
  onError(err: H1CodecError): void;
}

export interface H1ParserOptions {
  /** Max bytes of a head (start line + header lines + blank line), and of a trailer block.
   *  Default 60 KiB, Envoy's max_request_headers_kb default. */
  maxHeadersBytes?: number;
  /** Max header (or trailer) lines. Default 100, Envoy's max_headers_count default. */
  maxHeadersCount?: number;
  /** Max bytes of the request line alone. Default: maxHeadersBytes (Envoy counts the URL in it). */
  maxRequestLineBytes?: number;
  /** Accept HTTP/1.0 requests (Envoy http_protocol_options.accept_http_10, default false). */
  acceptHttp10?: boolean;
  /** Accept methods outside Envoy's built-in list (allow_custom_methods, default false). */
  allowCustomMethods?: boolean;
}

export const H1_DEFAULT_MAX_HEADERS_BYTES = 60 * 1024;
export const H1_DEFAULT_MAX_HEADERS_COUNT = 100;

// States.
const S_IDLE = 0;
const S_IDLE_LF = 1;
const S_HEAD = 2;
const S_BODY = 3;
const S_CHUNK_SIZE = 4;
const S_CHUNK_SIZE_WS = 5;
const S_CHUNK_EXT = 6;
const S_CHUNK_SIZE_LF = 7;
const S_CHUNK_DATA = 8;
const S_CHUNK_DATA_CR = 9;
const S_CHUNK_DATA_LF = 10;
const S_TRAILERS = 11;
const S_UNTIL_EOF = 12;
const S_DONE = 13;
const S_ERROR = 14;

/** Partial-line scratch buffers up to this size are kept between messages. */
const SCRATCH_KEEP_BYTES = 4096;

const INCOMPLETE = -1;
const FAILED = -2;

// Expectations queued by the client side: what the request a response answers was.
const EXPECT_HEAD = 1;
const EXPECT_CONNECT = 2;

/** Largest chunk size before the next hex digit could pass Number.MAX_SAFE_INTEGER. */
const CHUNK_SIZE_SHIFT_LIMIT = Math.floor(Number.MAX_SAFE_INTEGER / 16);
const CL_LIMIT = Math.floor(Number.MAX_SAFE_INTEGER / 10);

/**
 * Methods Envoy's Balsa adapter accepts when allow_custom_methods is off
 * (source/common/http/http1/balsa_parser.cc). Also our interning table: a known method is
 * returned as this constant string, so comparisons like method === 'HEAD' are pointer-fast.
 */
const KNOWN_METHODS = [
  'ACL', 'BIND', 'CHECKOUT', 'CONNECT', 'COPY', 'DELETE', 'GET', 'HEAD', 'LINK', 'LOCK', 'MERGE',
  'MKACTIVITY', 'MKCALENDAR', 'MKCOL', 'MOVE', 'MSEARCH', 'NOTIFY', 'OPTIONS', 'PATCH', 'POST',
  'PROPFIND', 'PROPPATCH', 'PURGE', 'PUT', 'REBIND', 'REPORT', 'SEARCH', 'SOURCE', 'SUBSCRIBE',
  'TRACE', 'UNBIND', 'UNLINK', 'UNLOCK', 'UNSUBSCRIBE',
];
const METHODS_BY_LENGTH: string[][] = [];
for (const m of KNOWN_METHODS) (METHODS_BY_LENGTH[m.length] ??= []).push(m);

function knownMethod(buf: Buffer, start: number, end: number): string | null {
  const candidates = METHODS_BY_LENGTH[end - start];
  if (candidates === undefined) return null;
  for (let c = 0; c < candidates.length; c++) {
    const m = candidates[c];
    let k = 0;
    while (k < m.length && m.charCodeAt(k) === buf[start + k]) k++;
    if (k === m.length) return m;
  }
  return null;
}

/** Case-insensitive compare of buf[start, start+lit.length) with a lowercase literal. Only valid
 *  for token bytes (the |0x20 fold maps no other token byte onto a letter or '-'). */
function eqLower(buf: Buffer, start: number, lit: string): boolean {
  for (let k = 0; k < lit.length; k++) if ((buf[start + k] | 0x20) !== lit.charCodeAt(k)) return false;
  return true;
}

/** Like eqLower, for a whole value range that may hold any field-value byte. */
function valueIsLower(buf: Buffer, start: number, end: number, lit: string): boolean {
  if (end - start !== lit.length) return false;
  for (let k = 0; k < lit.length; k++) {
    const c = buf[start + k];
    const folded = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
    if (folded !== lit.charCodeAt(k)) return false;
  }
  return true;
}

/**
 * Shape of the request-target (RFC 9112 3.2), as Envoy's Balsa adapter checks it (isUrlValid):
 * origin-form "/..." or asterisk-form "*" for any method, authority-form for CONNECT, otherwise
 * absolute-form, which must start with a scheme (ALPHA *(ALPHA / DIGIT / "+" / "-" / ".")) and "://".
 */
function targetFormValid(buf: Buffer, s: number, e: number, isConnect: boolean): boolean {
  const c0 = buf[s];
  if (c0 === 0x2f /* / */ || c0 === 0x2a /* * */ || isConnect) return true;
  if (!((c0 | 0x20) >= 0x61 && (c0 | 0x20) <= 0x7a)) return false;
  let i = s + 1;
  while (i < e) {
    const c = buf[i];
    const lower = c | 0x20;
    if ((lower >= 0x61 && lower <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e) i++;
    else break;
  }
  return e - i >= 3 && buf[i] === COLON && buf[i + 1] === 0x2f && buf[i + 2] === 0x2f;
}

const NAME_CACHE = new NameCache(1024, 64);
const VALUE_CACHE = new Latin1Cache(1024, 64);

export class H1Parser {
  private readonly handler: H1ParserHandler;
  private readonly isRequest: boolean;
  private readonly maxHeadersBytes: number;
  private readonly maxHeadersCount: number;
  private readonly maxRequestLineBytes: number;
  private readonly acceptHttp10: boolean;
  private readonly allowCustomMethods: boolean;

  private state = S_IDLE;
  private head: H1MessageHead | null = null;
  private trailers: string[] | null = null;
  private firstLine = true;
  private headBytes = 0;
  private headerCount = 0;

  // Framing facts gathered while reading header lines.
  private contentLength = -1;
  private teCount = 0;
  private teChunked = false;
  private hasUpgrade = false;
  private upgradeH2c = false;
  private expectContinue = false;

  // Body state.
  private remaining = 0;
  private chunkSize = 0;
  private chunkDigits = 0;
  private chunkExtBytes = 0;

  // Partial line carried across chunks.
  private lineBuf: Buffer | null = null;
  private lineLen = 0;

  // Flow control.
  private paused = false;
  private executing = false;
  private pending: Buffer | null = null;
  private eofPending = false;

  // Client side: flags of the requests whose responses are still to come.
  private readonly expectations: number[] = [];
  private expectIndex = 0;

  constructor(kind: 'request' | 'response', handler: H1ParserHandler, options: H1ParserOptions = {}) {
    this.isRequest = kind === 'request';
    this.handler = handler;
    this.maxHeadersBytes = options.maxHeadersBytes ?? H1_DEFAULT_MAX_HEADERS_BYTES;
    this.maxHeadersCount = options.maxHeadersCount ?? H1_DEFAULT_MAX_HEADERS_COUNT;
    this.maxRequestLineBytes = options.maxRequestLineBytes ?? this.maxHeadersBytes;
    this.acceptHttp10 = options.acceptHttp10 ?? false;
    this.allowCustomMethods = options.allowCustomMethods ?? false;
  }

  /** Parse bytes received from the socket. */
  feed(chunk: Buffer): void {
    if (this.state >= S_DONE || chunk.length === 0) return;
    if (this.paused || this.executing) {
      this.pending = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
      return;
    }
    this.run(chunk);
  }

  /** The peer closed its side: completes a read-until-close body or tunnel, else checks that no
   *  message was cut short. */
  finish(): void {
    if (this.state >= S_DONE) return;
    if (this.paused || this.executing) {
      this.eofPending = true;
      return;
    }
    if (this.state === S_UNTIL_EOF) {
      this.completeMessage(null);
      this.state = S_DONE;
    } else if ((this.state === S_IDLE || this.state === S_IDLE_LF) && this.pending === null) {
      this.state = S_DONE;
    } else {
      this.fail('PREMATURE_EOF');
    }
  }

  /** Stop delivering callbacks after the current one; input is kept (as views) until resume(). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.executing) return;
    const p = this.pending;
    if (p !== null) {
      this.pending = null;
      this.run(p);
    } else if (this.eofPending) {
      this.eofPending = false;
      this.finish();
    }
  }

  /** Ignore all further input (the connection is being closed). */
  destroy(): void {
    this.state = S_DONE;
    this.pending = null;
    this.head = null;
  }

  /** Client side: declare the method of the next request written, so its response is framed
   *  right (no body after HEAD, tunnel after a 2xx to CONNECT). Call once per request, in order. */
  expectResponse(method: string): void {
    this.expectations.push(method === 'HEAD' ? EXPECT_HEAD : method === 'CONNECT' ? EXPECT_CONNECT : 0);
  }

  /** Between messages with nothing buffered: the connection can be reused or closed cleanly. */
  isIdle(): boolean {
    return this.state === S_IDLE && this.pending === null && this.lineLen === 0;
  }

  private run(buf: Buffer): void {
    this.executing = true;
    try {
      this.execute(buf);
      while (!this.paused && this.pending !== null && this.state < S_DONE) {
        const p = this.pending;
        this.pending = null;
        this.execute(p);
      }
    } finally {
      this.executing = false;
    }
    if (!this.paused && this.eofPending) {
      this.eofPending = false;
      this.finish();
    }
  }

  private execute(buf: Buffer): void {
    const len = buf.length;
    let pos = 0;
    while (pos < len) {
      if (this.paused) {
        const rest = pos === 0 ? buf : buf.subarray(pos);
        this.pending = this.pending === null ? rest : Buffer.concat([rest, this.pending]);
        return;
      }
      switch (this.state) {
        case S_IDLE: {
          const c = buf[pos];
          if (c === CR) {
            // RFC 9112 2.2: ignore empty lines before a request-line (also between pipelined ones).
            this.state = S_IDLE_LF;
            pos++;
          } else if (c === LF) {
            this.fail('CR_EXPECTED');
            return;
          } else {
            this.beginMessage();
          }
          break;
        }
        case S_IDLE_LF:
          if (buf[pos] !== LF) {
            this.fail('LF_EXPECTED');
            return;
          }
          this.state = S_IDLE;
          pos++;
          break;
        case S_HEAD:
        case S_TRAILERS:
          pos = this.readLines(buf, pos);
          if (pos < 0) return;
          break;
        case S_BODY:
        case S_CHUNK_DATA: {
          const avail = len - pos;
          const rem = this.remaining;
          const n = avail < rem ? avail : rem;
          this.remaining = rem - n;
          const view = pos === 0 && n === len ? buf : buf.subarray(pos, pos + n);
          pos += n;
          if (this.remaining === 0) {
            if (this.state === S_BODY) {
              this.handler.onBody(view);
              if (this.state === S_BODY) this.completeMessage(null);
            } else {
              this.state = S_CHUNK_DATA_CR;
              this.handler.onBody(view);
            }
          } else {
            this.handler.onBody(view);
          }
          break;
        }
        case S_CHUNK_SIZE:
        case S_CHUNK_SIZE_WS:
        case S_CHUNK_EXT:
        case S_CHUNK_SIZE_LF:
        case S_CHUNK_DATA_CR:
        case S_CHUNK_DATA_LF:
          pos = this.readChunkFraming(buf, pos, len);
          if (pos < 0) return;
          break;
        case S_UNTIL_EOF:
          this.handler.onBody(pos === 0 ? buf : buf.subarray(pos));
          return;
        default:
          // S_DONE (input after a final message is ignored) or S_ERROR.
          return;
      }
    }
  }

  private beginMessage(): void {
    this.state = S_HEAD;
    const head = new H1MessageHead();
    head.lowerNames = [];
    this.head = head;
    this.firstLine = true;
    this.headBytes = 0;
    this.headerCount = 0;
    this.contentLength = -1;
    this.teCount = 0;
    this.teChunked = false;
    this.hasUpgrade = false;
    this.upgradeH2c = false;
    this.expectContinue = false;
    this.trailers = null;
    this.handler.onMessageBegin();
  }

  // ---- head and trailer lines -------------------------------------------------------------

  /** Consume whole lines from buf; returns the new position, or FAILED. */
  private readLines(buf: Buffer, pos: number): number {
    const len = buf.length;
    const state = this.state;
    while (pos < len && this.state === state && !this.paused) {
      if (this.lineLen > 0) {
        // A line is partly in the scratch buffer: append up to its LF, then parse it there.
        const lf = buf.indexOf(LF, pos);
        const stop = lf < 0 ? len : lf + 1;
        const before = this.lineLen;
        if (!this.appendPartial(buf, pos, stop)) return FAILED;
        pos = stop;
        if (lf < 0) {
          // No LF yet. A CR that is already followed by another byte is a bare CR: parse now so
          // the error is reported as early as it would be had the line arrived in one chunk.
          const cr = (this.lineBuf as Buffer).indexOf(CR, before > 0 ? before - 1 : 0);
          if (cr >= 0 && cr < this.lineLen - 1) {
            if (this.parseLine(this.lineBuf as Buffer, 0, this.lineLen) !== FAILED) this.fail('LF_EXPECTED');
            return FAILED;
          }
          return pos;
        }
        const lineBuf = this.lineBuf as Buffer;
        const lineLen = this.lineLen;
        this.lineLen = 0;
        const r = this.parseLine(lineBuf, 0, lineLen);
        if (r === FAILED) return FAILED;
        if (r !== lineLen) {
          // Every branch of parseLine stops at an LF, so a whole line is never INCOMPLETE.
          this.fail('INVALID_HEADER_TOKEN');
          return FAILED;
        }
      } else {
        const r = this.parseLine(buf, pos, len);
        if (r === FAILED) return FAILED;
        if (r === INCOMPLETE) {
          if (!this.appendPartial(buf, pos, len)) return FAILED;
          return len;
        }
        pos = r;
      }
    }
    return pos;
  }

  /** Copy a cut line into the scratch buffer, enforcing the size limits first. */
  private appendPartial(buf: Buffer, start: number, end: number): boolean {
    const n = end - start;
    const newLen = this.lineLen + n;
    if (this.firstLine && this.isRequest && newLen > this.maxRequestLineBytes) {
      this.fail('REQUEST_LINE_TOO_LONG');
      return false;
    }
    if (this.headBytes + newLen > this.maxHeadersBytes) {
      this.fail('HEADERS_TOO_LARGE', this.state === S_TRAILERS ? 'trailers' : undefined);
      return false;
    }
    let lb = this.lineBuf;
    if (lb === null || lb.length < newLen) {
      let size = lb === null ? 256 : lb.length * 2;
      while (size < newLen) size *= 2;
      const grown = Buffer.allocUnsafe(size);
      if (lb !== null) lb.copy(grown, 0, 0, this.lineLen);
      lb = this.lineBuf = grown;
    }
    buf.copy(lb, this.lineLen, start, end);
    this.lineLen = newLen;
    return true;
  }

  /** Count a complete line against the head limits. */
  private account(lineBytes: number): boolean {
    if (this.firstLine && this.isRequest && lineBytes > this.maxRequestLineBytes) {
      this.fail('REQUEST_LINE_TOO_LONG');
      return false;
    }
    const total = this.headBytes + lineBytes;
    if (total > this.maxHeadersBytes) {
      this.fail('HEADERS_TOO_LARGE', this.state === S_TRAILERS ? 'trailers' : undefined);
      return false;
    }
    this.headBytes = total;
    return true;
  }

  /**
   * Parse one line starting at `start`, looking no further than `limit`. Returns the position
   * after its CRLF, INCOMPLETE when the line does not end before `limit`, or FAILED. Nothing is
   * recorded until the whole line is known to be valid.
   */
  private parseLine(buf: Buffer, start: number, limit: number): number {
    if (this.firstLine) return this.isRequest ? this.parseRequestLine(buf, start, limit) : this.parseStatusLine(buf, start, limit);
    let i = start;
    const c0 = buf[i];
    if (c0 === CR) {
      if (i + 1 >= limit) return INCOMPLETE;
      if (buf[i + 1] !== LF) return this.fail('LF_EXPECTED');
      if (!this.account(2)) return FAILED;
      if (this.state === S_HEAD) this.endOfHead();
      else this.completeMessage(this.trailers);
      return i + 2;
    }
    if (c0 === LF) return this.fail('CR_EXPECTED');
    // A line starting with whitespace is obs-fold (RFC 9112 5.2): rejected, as llhttp strict does.
    if (c0 === SP || c0 === HTAB) return this.fail('OBS_FOLD');

    while (i < limit && TOKEN[buf[i]] === 1) i++;
    if (i >= limit) return INCOMPLETE;
    const nameEnd = i;
    // No whitespace between name and colon (RFC 9112 5.1 MUST reject), no empty name.
    if (buf[i] !== COLON || nameEnd === start) return this.fail('INVALID_HEADER_TOKEN');
    i++;
    while (i < limit && (buf[i] === SP || buf[i] === HTAB)) i++;
    const valueStart = i;
    while (i < limit && FIELD_VALUE[buf[i]] === 1) i++;
    if (i >= limit) return INCOMPLETE;
    const c = buf[i];
    if (c !== CR) return this.fail(c === LF ? 'CR_EXPECTED' : 'INVALID_HEADER_VALUE');
    if (i + 1 >= limit) return INCOMPLETE;
    if (buf[i + 1] !== LF) return this.fail('LF_EXPECTED');
    const end = i + 2;
    let valueEnd = i;
    while (valueEnd > valueStart && (buf[valueEnd - 1] === SP || buf[valueEnd - 1] === HTAB)) valueEnd--;

    if (!this.account(end - start)) return FAILED;
    if (++this.headerCount > this.maxHeadersCount) {
      return this.fail('TOO_MANY_HEADERS', this.state === S_TRAILERS ? 'trailers' : undefined);
    }
    const name = NAME_CACHE.get(buf, start, nameEnd);
    const value = VALUE_CACHE.get(buf, valueStart, valueEnd);
    if (this.state === S_TRAILERS) {
      (this.trailers ??= []).push(name, value);
      return end;
    }
    const head = this.head as H1MessageHead;
    head.headers.push(name, value);
    (head.lowerNames as string[]).push(NAME_CACHE.lower);
    if (!this.noteHeader(buf, start, nameEnd - start, valueStart, valueEnd, head)) return FAILED;
    return end;
  }

  /** Record framing-relevant headers. Returns false after reporting an error. */
  private noteHeader(buf: Buffer, start: number, nameLen: number, vs: number, ve: number, head: H1MessageHead): boolean {
    switch (nameLen) {
      case 14:
        if (eqLower(buf, start, 'content-length')) {
          if (vs === ve) return this.failB('INVALID_CONTENT_LENGTH');
          let n = 0;
          for (let k = vs; k < ve; k++) {
            const d = buf[k] - 0x30;
            if (d < 0 || d > 9 || n > CL_LIMIT) return this.failB('INVALID_CONTENT_LENGTH');
            n = n * 10 + d;
          }
          if (n > Number.MAX_SAFE_INTEGER) return this.failB('INVALID_CONTENT_LENGTH');
          if (this.contentLength >= 0 && this.contentLength !== n) return this.failB('MULTIPLE_CONTENT_LENGTH');
          this.contentLength = n;
        }
        return true;
      case 17:
        if (eqLower(buf, start, 'transfer-encoding')) {
          this.teCount++;
          this.teChunked = valueIsLower(buf, vs, ve, 'chunked');
        }
        return true;
      case 10:
        if (eqLower(buf, start, 'connection')) this.noteConnection(buf, vs, ve, head);
        return true;
      case 7:
        if (eqLower(buf, start, 'upgrade')) {
          if (!this.hasUpgrade) this.upgradeH2c = valueIsLower(buf, vs, ve, 'h2c');
          this.hasUpgrade = true;
        }
        return true;
      case 6:
        if (eqLower(buf, start, 'expect') && valueIsLower(buf, vs, ve, '100-continue')) this.expectContinue = true;
        return true;
      default:
        return true;
    }
  }

  /** Split a Connection value into lowercased tokens and flag close / keep-alive / upgrade. */
  private noteConnection(buf: Buffer, vs: number, ve: number, head: H1MessageHead): void {
    const tokens = (head.connectionTokens ??= []);
    let i = vs;
    while (i < ve) {
      while (i < ve && (buf[i] === SP || buf[i] === HTAB || buf[i] === COMMA)) i++;
      const ts = i;
      while (i < ve && buf[i] !== COMMA) i++;
      let te = i;
      while (te > ts && (buf[te - 1] === SP || buf[te - 1] === HTAB)) te--;
      if (te === ts) continue;
      if (valueIsLower(buf, ts, te, 'close')) {
        head.connectionFlags |= CONNECTION_CLOSE;
        tokens.push('close');
      } else if (valueIsLower(buf, ts, te, 'keep-alive')) {
        head.connectionFlags |= CONNECTION_KEEP_ALIVE;
        tokens.push('keep-alive');
      } else if (valueIsLower(buf, ts, te, 'upgrade')) {
        head.connectionFlags |= CONNECTION_UPGRADE;
        tokens.push('upgrade');
      } else {
        tokens.push(latin1(buf, ts, te).toLowerCase());
      }
    }
  }

  /** request-line = method SP request-target SP HTTP-version CRLF (single spaces, strict). */
  private parseRequestLine(buf: Buffer, start: number, limit: number): number {
    let i = start;
    while (i < limit && TOKEN[buf[i]] === 1) i++;
    if (i >= limit) return INCOMPLETE;
    const methodEnd = i;
    if (buf[i] !== SP || methodEnd === start) return this.fail('INVALID_METHOD');
    const urlStart = ++i;
    while (i < limit && URL_CHAR[buf[i]] === 1) i++;
    if (i >= limit) return INCOMPLETE;
    const urlEnd = i;
    const c = buf[i];
    if (c === CR || c === LF) {
      // "GET /" with no version is HTTP/0.9; Envoy answers it like any non-1.1 version.
      return urlEnd === urlStart ? this.fail('INVALID_URL') : this.fail('UNSUPPORTED_VERSION');
    }
    if (c !== SP || urlEnd === urlStart) return this.fail('INVALID_URL');
    const vStart = ++i;
    while (i < limit && URL_CHAR[buf[i]] === 1) i++;
    if (i >= limit) return INCOMPLETE;
    const vEnd = i;
    if (buf[i] !== CR) return this.fail(buf[i] === LF ? 'CR_EXPECTED' : 'INVALID_VERSION');
    if (i + 1 >= limit) return INCOMPLETE;
    if (buf[i + 1] !== LF) return this.fail('LF_EXPECTED');
    const end = i + 2;

    let method = knownMethod(buf, start, methodEnd);
    if (method === null) {
      if (!this.allowCustomMethods) return this.fail('INVALID_METHOD');
      method = latin1(buf, start, methodEnd);
    }
    if (!targetFormValid(buf, urlStart, urlEnd, method === 'CONNECT')) return this.fail('INVALID_URL');
    const minor = this.parseVersion(buf, vStart, vEnd);
    if (minor < 0) return FAILED;
    if (minor === 0 && !this.acceptHttp10) return this.fail('UNSUPPORTED_VERSION', 'HTTP/1.0');
    if (!this.account(end - start)) return FAILED;
    this.firstLine = false;
    const head = this.head as H1MessageHead;
    head.method = method;
    head.url = VALUE_CACHE.get(buf, urlStart, urlEnd);
    head.minorVersion = minor;
    return end;
  }

  /** status-line = HTTP-version SP 3DIGIT SP [reason-phrase] CRLF (a missing SP+reason is tolerated). */
  private parseStatusLine(buf: Buffer, start: number, limit: number): number {
    if (buf[start] !== 0x48 /* H */) return this.fail('INVALID_CONSTANT');
    let i = start;
    while (i < limit && URL_CHAR[buf[i]] === 1) i++;
    if (i >= limit) return INCOMPLETE;
    const vEnd = i;
    if (buf[i] !== SP) return this.fail(buf[i] === LF ? 'CR_EXPECTED' : 'INVALID_VERSION');
    i++;
    const sStart = i;
    let status = 0;
    while (i < limit && buf[i] >= 0x30 && buf[i] <= 0x39) status = status * 10 + (buf[i++] - 0x30);
    if (i >= limit) return INCOMPLETE;
    if (i - sStart !== 3 || status < 100) return this.fail('INVALID_STATUS');
    let reasonStart = i;
    let reasonEnd = i;
    if (buf[i] === SP) {
      reasonStart = ++i;
      while (i < limit && FIELD_VALUE[buf[i]] === 1) i++;
      if (i >= limit) return INCOMPLETE;
      reasonEnd = i;
    }
    if (buf[i] !== CR) return this.fail(buf[i] === LF ? 'CR_EXPECTED' : 'INVALID_STATUS');
    if (i + 1 >= limit) return INCOMPLETE;
    if (buf[i + 1] !== LF) return this.fail('LF_EXPECTED');
    const end = i + 2;
    const minor = this.parseVersion(buf, start, vEnd);
    if (minor < 0) return FAILED;
    if (!this.account(end - start)) return FAILED;
    this.firstLine = false;
    const head = this.head as H1MessageHead;
    head.statusCode = status;
    head.reason = VALUE_CACHE.get(buf, reasonStart, reasonEnd);
    head.minorVersion = minor;
    return end;
  }

  /** "HTTP/1.1" -> 1, "HTTP/1.0" -> 0; reports INVALID_VERSION / UNSUPPORTED_VERSION and returns -1. */
  private parseVersion(buf: Buffer, s: number, e: number): number {
    if (
      e - s !== 8 ||
      buf[s] !== 0x48 || buf[s + 1] !== 0x54 || buf[s + 2] !== 0x54 || buf[s + 3] !== 0x50 || buf[s + 4] !== 0x2f ||
      buf[s + 5] < 0x30 || buf[s + 5] > 0x39 || buf[s + 6] !== 0x2e || buf[s + 7] < 0x30 || buf[s + 7] > 0x39
    ) {
      this.fail('INVALID_VERSION');
      return -1;
    }
    if (buf[s + 5] !== 0x31 || buf[s + 7] > 0x31) {
      this.fail('UNSUPPORTED_VERSION', latin1(buf, s, e));
      return -1;
    }
    return buf[s + 7] - 0x30;
  }

  // ---- end of head: framing decisions ------------------------------------------------------

  private endOfHead(): void {
    const head = this.head as H1MessageHead;
    const hasTE = this.teCount > 0;
    const hasCL = this.contentLength >= 0;
    const connFlags = head.connectionFlags;
    head.keepAlive = head.minorVersion === 1 ? (connFlags & CONNECTION_CLOSE) === 0 : (connFlags & CONNECTION_KEEP_ALIVE) !== 0 && (connFlags & CONNECTION_CLOSE) === 0;
    // RFC 9112 6.1: Transfer-Encoding in an HTTP/1.0 message means the framing cannot be trusted
    // for what follows, so the connection must close after this message.
    if (hasTE && head.minorVersion === 0) head.keepAlive = false;
    // Envoy checks CL+TE first (400), then any TE that is not exactly one "chunked" (501).
    if (hasTE && hasCL) {
      this.fail('CONTENT_LENGTH_AND_CHUNKED');
      return;
    }
    if (this.isRequest) {
      const isConnect = head.method === 'CONNECT';
      if (hasTE && (this.teCount > 1 || !this.teChunked || isConnect)) {
        this.fail('INVALID_TRANSFER_ENCODING');
        return;
      }
      if (isConnect && hasCL && this.contentLength !== 0) {
        this.fail('BODY_DISALLOWED');
        return;
      }
      head.expectContinue = this.expectContinue && head.minorVersion === 1;
      // h2c upgrade requests are served as plain HTTP/1.1, as Envoy does (envoy#7161).
      head.upgrade = isConnect || (this.hasUpgrade && !this.upgradeH2c && (connFlags & CONNECTION_UPGRADE) !== 0);
      if (head.upgrade) {
        head.keepAlive = false;
        this.state = S_UNTIL_EOF;
        this.handler.onHeaders(head);
        return;
      }
      head.contentLength = this.contentLength;
      head.chunked = this.teChunked;
      if (this.teChunked) this.startChunked();
      else if (this.contentLength > 0) {
        this.remaining = this.contentLength;
        this.state = S_BODY;
      } else {
        this.handler.onHeaders(head);
        if (this.head === head) this.completeMessage(null);
        return;
      }
      this.handler.onHeaders(head);
      return;
    }

    // Response.
    const status = head.statusCode;
    const expect = this.expectIndex < this.expectations.length ? this.expectations[this.expectIndex] : 0;
    if (status < 200 || status === 204) {
      if (hasTE) {
        this.fail('TRANSFER_ENCODING_NOT_ALLOWED');
        return;
      }
      if (hasCL && this.contentLength !== 0) {
        this.fail('CONTENT_LENGTH_NOT_ALLOWED');
        return;
      }
    }
    if (hasTE && (this.teCount > 1 || !this.teChunked)) {
      this.fail('INVALID_TRANSFER_ENCODING');
      return;
    }
    head.contentLength = this.contentLength;
    head.chunked = this.teChunked;
    if (status === 101 || ((expect & EXPECT_CONNECT) !== 0 && status >= 200 && status < 300)) {
      this.popExpectation();
      head.upgrade = true;
      head.keepAlive = false;
      head.contentLength = -1;
      head.chunked = false;
      this.state = S_UNTIL_EOF;
      this.handler.onHeaders(head);
      return;
    }
    if (status < 200) {
      // Interim response (100, 102, 103): the final response to the same request follows.
      head.chunked = false;
      this.handler.onHeaders(head);
      if (this.head === head) this.completeMessage(null);
      return;
    }
    this.popExpectation();
    if ((expect & EXPECT_HEAD) !== 0 || status === 204 || status === 304) {
      this.handler.onHeaders(head);
      if (this.head === head) this.completeMessage(null);
      return;
    }
    if (this.teChunked) this.startChunked();
    else if (this.contentLength > 0) {
      this.remaining = this.contentLength;
      this.state = S_BODY;
    } else if (this.contentLength === 0) {
      this.handler.onHeaders(head);
      if (this.head === head) this.completeMessage(null);
      return;
    } else {
      // No framing: the body runs until the server closes (RFC 9112 6.3 rule 8).
      head.keepAlive = false;
      this.state = S_UNTIL_EOF;
    }
    this.handler.onHeaders(head);
  }

  private popExpectation(): void {
    if (this.expectIndex < this.expectations.length) {
      this.expectIndex++;
      if (this.expectIndex === this.expectations.length) {
        this.expectations.length = 0;
        this.expectIndex = 0;
      }
    }
  }

  private startChunked(): void {
    this.state = S_CHUNK_SIZE;
    this.chunkSize = 0;
    this.chunkDigits = 0;
    this.chunkExtBytes = 0;
  }

  private completeMessage(trailers: string[] | null): void {
    const head = this.head as H1MessageHead;
    this.head = null;
    this.trailers = null;
    this.lineLen = 0;
    // Do not keep a scratch buffer grown by one unusually long line for the connection's life.
    if (this.lineBuf !== null && this.lineBuf.length > SCRATCH_KEEP_BYTES) this.lineBuf = null;
    if (this.state < S_DONE) this.state = head.keepAlive ? S_IDLE : S_DONE;
    this.handler.onMessageComplete(trailers);
  }

  // ---- chunked framing --------------------------------------------------------------------

  /** chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF; last-chunk = 1*"0" [ chunk-ext ] CRLF. */
  private readChunkFraming(buf: Buffer, pos: number, len: number): number {
    while (pos < len) {
      const c = buf[pos];
      switch (this.state) {
        case S_CHUNK_SIZE: {
          const hv = HEX_VALUE[c];
          if (hv !== 0) {
            if (this.chunkSize > CHUNK_SIZE_SHIFT_LIMIT) return this.fail('INVALID_CHUNK_SIZE', 'too large');
            this.chunkSize = this.chunkSize * 16 + (hv - 1);
            this.chunkDigits++;
            pos++;
            continue;
          }
          if (this.chunkDigits === 0) return this.fail('INVALID_CHUNK_SIZE');
          if (c === CR) this.state = S_CHUNK_SIZE_LF;
          else if (c === SEMI) this.state = S_CHUNK_EXT;
          else if (c === SP || c === HTAB) this.state = S_CHUNK_SIZE_WS;
          else return this.fail(c === LF ? 'CR_EXPECTED' : 'INVALID_CHUNK_SIZE');
          pos++;
          continue;
        }
        case S_CHUNK_SIZE_WS:
          // BWS is only allowed before a chunk extension.
          if (c === SEMI) this.state = S_CHUNK_EXT;
          else if (c !== SP && c !== HTAB) return this.fail('INVALID_CHUNK_SIZE');
          pos++;
          continue;
        case S_CHUNK_EXT: {
          // Extensions are ignored, but must not hide control bytes, bare CR or bare LF.
          const start = pos;
          while (pos < len && FIELD_VALUE[buf[pos]] === 1) pos++;
          this.chunkExtBytes += pos - start;
          if (this.chunkExtBytes > this.maxHeadersBytes) return this.fail('INVALID_CHUNK_EXTENSION', 'too long');
          if (pos >= len) return pos;
          const e = buf[pos];
          if (e === CR) this.state = S_CHUNK_SIZE_LF;
          else return this.fail(e === LF ? 'CR_EXPECTED' : 'INVALID_CHUNK_EXTENSION');
          pos++;
          continue;
        }
        case S_CHUNK_SIZE_LF:
          if (c !== LF) return this.fail('LF_EXPECTED');
          pos++;
          if (this.chunkSize === 0) {
            // Last chunk: a trailer section follows, ended by an empty line.
            this.state = S_TRAILERS;
            this.firstLine = false;
            this.headBytes = 0;
            this.headerCount = 0;
            return pos;
          }
          this.remaining = this.chunkSize;
          this.state = S_CHUNK_DATA;
          return pos;
        case S_CHUNK_DATA_CR:
          if (c !== CR) return this.fail('MISSING_CHUNK_CRLF');
          this.state = S_CHUNK_DATA_LF;
          pos++;
          continue;
        case S_CHUNK_DATA_LF:
          if (c !== LF) return this.fail('MISSING_CHUNK_CRLF');
          this.startChunked();
          pos++;
          continue;
        default:
          return pos;
      }
    }
    return pos;
  }

  // ---- errors -----------------------------------------------------------------------------

  private fail(code: H1ErrorCode, extra?: string): number {
    if (this.state !== S_ERROR) {
      this.state = S_ERROR;
      this.pending = null;
      this.head = null;
      this.handler.onError(new H1CodecError(code, !this.isRequest, extra));
    }
    return FAILED;
  }

  private failB(code: H1ErrorCode): boolean {
    this.fail(code);
    return false;
  }
}
