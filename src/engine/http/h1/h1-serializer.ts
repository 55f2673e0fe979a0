// HTTP/1.1 message serializer: the write half of our codec. The HTTP connection manager (and the
// upstream connection pool) call it to turn a head into bytes for socket.write:
//
//   serializeRequestHead / serializeResponseHead -> ONE Buffer: start line + headers + CRLF
//   encodeChunk(data) or chunkHeader(len) + data + CRLF_BUFFER  -> chunked body pieces
//   encodeLastChunk(trailers)                                  -> "0\r\n" + trailers + "\r\n"
//
// Each head is sized first and written into a single allocation (pooled by Buffer.allocUnsafe for
// small sizes), one write per message as the node:net probe did (shared/perf/NODE-PROXY-COST.md).
// Header names keep the case they were given (Envoy would lowercase them). Every name and value is
// checked while it is copied: a name must be a token and a value must not hold CR, LF, NUL or other
// control bytes, so a filter cannot split a message (response splitting); Envoy makes the same
// check before encoding (HeaderUtility::checkValidRequestHeaders). The serializer does not decide
// framing: the caller passes `chunked` and any Content-Length, following Envoy's encoder rules
// (no chunking for 1xx/204/304, HEAD responses, CONNECT and upgrades).

import { CR, FIELD_VALUE, LF, TOKEN, URL_CHAR } from './h1-chars';
import { H1CodecError } from './h1-codec-error';

/** Reason phrases Envoy sends for codes it knows (source/common/http/codes.cc). */
const REASONS: { readonly [code: number]: string } = {
  100: 'Continue', 101: 'Switching Protocols', 102: 'Processing', 103: 'Early Hints',
  200: 'OK', 201: 'Created', 202: 'Accepted', 203: 'Non-Authoritative Information', 204: 'No Content',
  205: 'Reset Content', 206: 'Partial Content', 207: 'Multi-Status', 208: 'Already Reported', 226: 'IM Used',
  300: 'Multiple Choices', 301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 304: 'Not Modified',
  305: 'Use Proxy', 307: 'Temporary Redirect', 308: 'Permanent Redirect',
  400: 'Bad Request', 401: 'Unauthorized', 402: 'Payment Required', 403: 'Forbidden', 404: 'Not Found',
  405: 'Method Not Allowed', 406: 'Not Acceptable', 407: 'Proxy Authentication Required',
  408: 'Request Timeout', 409: 'Conflict', 410: 'Gone', 411: 'Length Required', 412: 'Precondition Failed',
  413: 'Payload Too Large', 414: 'URI Too Long', 415: 'Unsupported Media Type', 416: 'Range Not Satisfiable',
  417: 'Expectation Failed', 421: 'Misdirected Request', 422: 'Unprocessable Entity', 423: 'Locked',
  424: 'Failed Dependency', 425: 'Too Early', 426: 'Upgrade Required', 428: 'Precondition Required',
  429: 'Too Many Requests', 431: 'Request Header Fields Too Large',
  500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable',
  504: 'Gateway Timeout', 505: 'HTTP Version Not Supported', 506: 'Variant Also Negotiates',
  507: 'Insufficient Storage', 508: 'Loop Detected', 510: 'Not Extended', 511: 'Network Authentication Required',
};

/** Envoy's reason phrase for a status code ("Unknown" when it has none). */
export function reasonPhrase(statusCode: number): string {
  return REASONS[statusCode] ?? 'Unknown';
}

/** "HTTP/1.x NNN Reason\r\n" per status code and minor version, built on first use. */
const statusLines: string[][] = [[], []];

function statusLine(statusCode: number, reason: string | null, minor: number): string {
  if (reason === null) {
    const cache = statusLines[minor === 0 ? 0 : 1];
    return (cache[statusCode] ??= `HTTP/1.${minor === 0 ? 0 : 1} ${statusCode} ${reasonPhrase(statusCode)}\r\n`);
  }
  return `HTTP/1.${minor === 0 ? 0 : 1} ${statusCode} ${reason}\r\n`;
}

const CHUNKED_HEADER = 'transfer-encoding: chunked\r\n';
const REQUEST_SUFFIX = ' HTTP/1.1\r\n';

export const CRLF_BUFFER: Buffer = Buffer.from('\r\n', 'latin1');
const LAST_CHUNK_NO_TRAILERS: Buffer = Buffer.from('0\r\n\r\n', 'latin1');

function invalid(what: string): never {
  throw new H1CodecError('INVALID_OUTBOUND_HEADER', false, what);
}

/** Bytes that `headers` will take on the wire (name ": " value CRLF each). */
function headersLength(headers: readonly string[]): number {
  if ((headers.length & 1) !== 0) invalid('odd header list length');
  let n = 0;
  for (let i = 0; i < headers.length; i += 2) n += headers[i].length + headers[i + 1].length + 4;
  return n;
}

/** Copy a latin1 string whose every char must pass `table`; returns the new offset. */
function put(buf: Buffer, off: number, s: string, table: Uint8Array, what: string): number {
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (table[c] !== 1) invalid(what);
    buf[off + k] = c;
  }
  return off + s.length;
}

/** Copy a string we built ourselves (no validation needed). */
function putRaw(buf: Buffer, off: number, s: string): number {
  for (let k = 0; k < s.length; k++) buf[off + k] = s.charCodeAt(k);
  return off + s.length;
}

function putHeaders(buf: Buffer, off: number, headers: readonly string[]): number {
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i];
    if (name.length === 0) invalid('empty header name');
    off = put(buf, off, name, TOKEN, 'header name');
    buf[off++] = 0x3a;
    buf[off++] = 0x20;
    off = put(buf, off, headers[i + 1], FIELD_VALUE, name);
    buf[off++] = CR;
    buf[off++] = LF;
  }
  return off;
}

/**
 * Request head: `method SP target SP HTTP/1.1 CRLF`, the headers in the given order and case,
 * `transfer-encoding: chunked` when `chunked`, then the blank line. Throws H1CodecError
 * (INVALID_OUTBOUND_HEADER) on a name or value that cannot be sent safely.
 */
export function serializeRequestHead(method: string, target: string, headers: readonly string[], chunked: boolean): Buffer {
  const size = method.length + 1 + target.length + REQUEST_SUFFIX.length + headersLength(headers) + (chunked ? CHUNKED_HEADER.length : 0) + 2;
  const buf = Buffer.allocUnsafe(size);
  if (method.length === 0) invalid('empty method');
  if (target.length === 0) invalid('empty request target');
  let off = put(buf, 0, method, TOKEN, 'method');
  buf[off++] = 0x20;
  off = put(buf, off, target, URL_CHAR, 'request target');
  off = putRaw(buf, off, REQUEST_SUFFIX);
  off = putHeaders(buf, off, headers);
  if (chunked) off = putRaw(buf, off, CHUNKED_HEADER);
  buf[off++] = CR;
  buf[off] = LF;
  return buf;
}

/**
 * Response head: status line (reason null = Envoy's standard phrase), headers as given,
 * `transfer-encoding: chunked` when `chunked`, blank line. `minorVersion` 0 answers an HTTP/1.0
 * client in kind, as Envoy does when it accepted HTTP/1.0.
 */
export function serializeResponseHead(
  statusCode: number,
  reason: string | null,
  headers: readonly string[],
  chunked: boolean,
  minorVersion = 1,
): Buffer {
  if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 999) invalid('status code');
  const line = statusLine(statusCode, reason, minorVersion);
  const size = line.length + headersLength(headers) + (chunked ? CHUNKED_HEADER.length : 0) + 2;
  const buf = Buffer.allocUnsafe(size);
  // The reason phrase may come from an upstream or a filter: validate it like a value.
  let off = reason === null ? putRaw(buf, 0, line) : put(buf, 0, line.slice(0, -2), FIELD_VALUE, 'reason phrase');
  if (reason !== null) {
    buf[off++] = CR;
    buf[off++] = LF;
  }
  off = putHeaders(buf, off, headers);
  if (chunked) off = putRaw(buf, off, CHUNKED_HEADER);
  buf[off++] = CR;
  buf[off] = LF;
  return buf;
}

/** "<hex length>\r\n" for a chunk of `length` bytes (> 0), to write before the data. */
export function chunkHeader(length: number): Buffer {
  return Buffer.from(`${length.toString(16)}\r\n`, 'latin1');
}

/** One chunk as a single buffer: size line, data, CRLF. Copies `data`; for large bodies prefer
 *  chunkHeader + data + CRLF_BUFFER with a corked socket or writev. Empty data gives an empty
 *  buffer (a zero-size chunk would end the body). */
export function encodeChunk(data: Buffer): Buffer {
  const len = data.length;
  if (len === 0) return Buffer.alloc(0);
  const hex = len.toString(16);
  const buf = Buffer.allocUnsafe(hex.length + 2 + len + 2);
  let off = putRaw(buf, 0, hex);
  buf[off++] = CR;
  buf[off++] = LF;
  data.copy(buf, off);
  off += len;
  buf[off++] = CR;
  buf[off] = LF;
  return buf;
}

/** Last chunk, optional trailer fields (validated like headers), and the final blank line. */
export function encodeLastChunk(trailers: readonly string[] | null): Buffer {
  if (trailers === null || trailers.length === 0) return LAST_CHUNK_NO_TRAILERS;
  const buf = Buffer.allocUnsafe(3 + headersLength(trailers) + 2);
  buf[0] = 0x30;
  buf[1] = CR;
  buf[2] = LF;
  let off = putHeaders(buf, 3, trailers);
  buf[off++] = CR;
  buf[off] = LF;
  return buf;
}
