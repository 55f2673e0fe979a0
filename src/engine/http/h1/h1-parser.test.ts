// Table-driven tests for the HTTP/1.1 parser: valid requests and responses, every malformed case
// with its error code, status and Envoy details, and split invariance (byte by byte, every split
// point, random chunkings give the same events as one whole chunk).

import { H1CodecError, UPSTREAM_PROTOCOL_ERROR_DETAILS } from './h1-codec-error';
import { H1MessageHead } from './h1-message-head';
import { H1Parser, H1ParserHandler, H1ParserOptions } from './h1-parser';

type Event =
  | ['begin']
  | ['headers', Partial<H1MessageHead>]
  | ['body', string]
  | ['complete', string[] | null]
  | ['error', string, number, string];

/** Records events; adjacent body pieces are merged so chunking does not change the record. */
class Recorder implements H1ParserHandler {
  events: Event[] = [];
  parser: H1Parser;
  onCompleteHook: (() => void) | null = null;

  constructor(kind: 'request' | 'response', options?: H1ParserOptions) {
    this.parser = new H1Parser(kind, this, options);
  }
  onMessageBegin(): void {
    this.events.push(['begin']);
  }
  onHeaders(head: H1MessageHead): void {
    // Every head carries its names lower-cased for the header map (same order, no toLowerCase
    // needed later), however the bytes were chunked and whatever the cache held before.
    expect(head.lowerNames).toEqual(head.headers.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase()));
    const h: Partial<H1MessageHead> = {
      headers: head.headers,
      contentLength: head.contentLength,
      chunked: head.chunked,
      keepAlive: head.keepAlive,
      upgrade: head.upgrade,
      minorVersion: head.minorVersion,
    };
    if (head.method !== '') {
      h.method = head.method;
      h.url = head.url;
      h.expectContinue = head.expectContinue;
    } else {
      h.statusCode = head.statusCode;
      h.reason = head.reason;
    }
    if (head.connectionTokens !== null) h.connectionTokens = head.connectionTokens;
    this.events.push(['headers', h]);
  }
  onBody(chunk: Buffer): void {
    const s = chunk.toString('latin1');
    const last = this.events[this.events.length - 1];
    if (last !== undefined && last[0] === 'body') last[1] += s;
    else this.events.push(['body', s]);
  }
  onMessageComplete(trailers: string[] | null): void {
    this.events.push(['complete', trailers]);
    if (this.onCompleteHook) this.onCompleteHook();
  }
  onError(err: H1CodecError): void {
    expect(err).toBeInstanceOf(H1CodecError);
    this.events.push(['error', err.code, err.status, err.details]);
  }
}

function parseChunks(kind: 'request' | 'response', chunks: Buffer[], opts?: H1ParserOptions, expects?: string[], eof = false): Event[] {
  const r = new Recorder(kind, opts);
  for (const m of expects ?? []) r.parser.expectResponse(m);
  for (const c of chunks) r.parser.feed(c);
  if (eof) r.parser.finish();
  return r.events;
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Deterministic PRNG (mulberry32) so random chunkings are reproducible. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function splits(input: Buffer): Buffer[][] {
  const out: Buffer[][] = [];
  // byte by byte
  const bytes: Buffer[] = [];
  for (let i = 0; i < input.length; i++) bytes.push(input.subarray(i, i + 1));
  out.push(bytes);
  // every single split point
  for (let i = 1; i < input.length; i++) out.push([input.subarray(0, i), input.subarray(i)]);
  // random chunkings
  const rand = rng(input.length);
  for (let n = 0; n < 20; n++) {
    const parts: Buffer[] = [];
    let pos = 0;
    while (pos < input.length) {
      const len = 1 + Math.floor(rand() * 17);
      parts.push(input.subarray(pos, pos + len));
      pos += len;
    }
    out.push(parts);
  }
  return out;
}

const head = (h: Partial<H1MessageHead>): Event => ['headers', h];
const req = (method: string, url: string, headers: string[], extra: Partial<H1MessageHead> = {}): Event =>
  head({
    headers, contentLength: -1, chunked: false, keepAlive: true, upgrade: false, minorVersion: 1,
    method, url, expectContinue: false, ...extra,
  });
const res = (statusCode: number, reason: string, headers: string[], extra: Partial<H1MessageHead> = {}): Event =>
  head({ headers, contentLength: -1, chunked: false, keepAlive: true, upgrade: false, minorVersion: 1, statusCode, reason, ...extra });

interface Case {
  name: string;
  input: string;
  opts?: H1ParserOptions;
  expects?: string[];
  eof?: boolean;
  events: Event[];
}

const VALID_REQUESTS: Case[] = [
  {
    name: 'GET keeps header name case and trims OWS',
    input: 'GET /path?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.0\r\nX-Mixed-CASE:  Value \t\r\nx-empty:\r\n\r\n',
    events: [['begin'], req('GET', '/path?q=1', ['Host', 'example.com', 'User-Agent', 'curl/8.0', 'X-Mixed-CASE', 'Value', 'x-empty', '']), ['complete', null]],
  },
  {
    name: 'POST with Content-Length body',
    input: 'POST /submit HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world',
    events: [['begin'], req('POST', '/submit', ['Host', 'a', 'Content-Length', '11'], { contentLength: 11 }), ['body', 'hello world'], ['complete', null]],
  },
  {
    name: 'chunked body with extensions and trailers',
    input:
      'POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n' +
      '5;name=val\r\nhello\r\n6 ; ext="q v";x\r\n world\r\n00A\r\n0123456789\r\n0;last\r\nX-Trailer: t1\r\nChecksum: abc\r\n\r\n',
    events: [
      ['begin'],
      req('POST', '/up', ['Host', 'a', 'Transfer-Encoding', 'Chunked'], { chunked: true }),
      ['body', 'hello world0123456789'],
      ['complete', ['X-Trailer', 't1', 'Checksum', 'abc']],
    ],
  },
  {
    name: 'chunked body without trailers',
    input: 'PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    events: [['begin'], req('PUT', '/x', ['Transfer-Encoding', 'chunked'], { chunked: true }), ['body', 'abc'], ['complete', null]],
  },
  {
    name: 'three pipelined requests, with empty lines between them',
    input:
      'GET /1 HTTP/1.1\r\nHost: a\r\n\r\n\r\nPOST /2 HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz' +
      'DELETE /3 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nq\r\n0\r\n\r\n',
    events: [
      ['begin'], req('GET', '/1', ['Host', 'a']), ['complete', null],
      ['begin'], req('POST', '/2', ['Content-Length', '3'], { contentLength: 3 }), ['body', 'xyz'], ['complete', null],
      ['begin'], req('DELETE', '/3', ['Transfer-Encoding', 'chunked'], { chunked: true }), ['body', 'q'], ['complete', null],
    ],
  },
  {
    name: 'Connection: close ends the connection; later bytes are ignored',
    input: 'GET / HTTP/1.1\r\nConnection: Close\r\n\r\nGET /ignored HTTP/1.1\r\n\r\n',
    events: [['begin'], req('GET', '/', ['Connection', 'Close'], { keepAlive: false, connectionTokens: ['close'] }), ['complete', null]],
  },
  {
    name: 'connection tokens are lowercased and listed',
    input: 'GET / HTTP/1.1\r\nConnection: keep-alive, X-Foo ,TE\r\n\r\n',
    events: [['begin'], req('GET', '/', ['Connection', 'keep-alive, X-Foo ,TE'], { connectionTokens: ['keep-alive', 'x-foo', 'te'] }), ['complete', null]],
  },
  {
    name: 'HTTP/1.0 when accepted: no keep-alive by default',
    input: 'GET / HTTP/1.0\r\n\r\n',
    opts: { acceptHttp10: true },
    events: [['begin'], req('GET', '/', [], { minorVersion: 0, keepAlive: false }), ['complete', null]],
  },
  {
    name: 'HTTP/1.0 with Connection: keep-alive',
    input: 'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n',
    opts: { acceptHttp10: true },
    events: [
      ['begin'], req('GET', '/', ['Connection', 'keep-alive'], { minorVersion: 0, connectionTokens: ['keep-alive'] }), ['complete', null],
      ['begin'], req('GET', '/2', [], { minorVersion: 0, keepAlive: false }), ['complete', null],
    ],
  },
  {
    name: 'Expect: 100-continue',
    input: 'PUT /f HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\nok',
    events: [['begin'], req('PUT', '/f', ['Expect', '100-Continue', 'Content-Length', '2'], { contentLength: 2, expectContinue: true }), ['body', 'ok'], ['complete', null]],
  },
  {
    name: 'websocket Upgrade: bytes after the head are tunnel data until EOF',
    input: 'GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05hello GET / HTTP/1.1\r\n',
    eof: true,
    events: [
      ['begin'],
      req('GET', '/ws', ['Connection', 'Upgrade', 'Upgrade', 'websocket'], { upgrade: true, keepAlive: false, connectionTokens: ['upgrade'] }),
      ['body', '\x81\x05hello GET / HTTP/1.1\r\n'],
      ['complete', null],
    ],
  },
  {
    name: 'CONNECT is a tunnel (Content-Length: 0 tolerated)',
    input: 'CONNECT db.internal:5432 HTTP/1.1\r\nHost: db.internal:5432\r\nContent-Length: 0\r\n\r\nPGDATA',
    eof: true,
    events: [
      ['begin'],
      req('CONNECT', 'db.internal:5432', ['Host', 'db.internal:5432', 'Content-Length', '0'], { upgrade: true, keepAlive: false }),
      ['body', 'PGDATA'],
      ['complete', null],
    ],
  },
  {
    name: 'h2c upgrade request is served as plain HTTP/1.1',
    input: 'GET / HTTP/1.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n',
    events: [
      ['begin'],
      req('GET', '/', ['Connection', 'Upgrade, HTTP2-Settings', 'Upgrade', 'h2c', 'HTTP2-Settings', 'AAMAAABkAAQCAAAAAAIAAAAA'], {
        connectionTokens: ['upgrade', 'http2-settings'],
      }),
      ['complete', null],
    ],
  },
  {
    name: 'identical duplicate Content-Length is accepted',
    input: 'POST / HTTP/1.1\r\nContent-Length: 1\r\ncontent-length: 1\r\n\r\nZ',
    events: [['begin'], req('POST', '/', ['Content-Length', '1', 'content-length', '1'], { contentLength: 1 }), ['body', 'Z'], ['complete', null]],
  },
  {
    name: 'obs-text in a value and absolute-form target',
    input: 'GET http://example.com/a%20b HTTP/1.1\r\nX-Latin: caf\xe9\r\n\r\n',
    events: [['begin'], req('GET', 'http://example.com/a%20b', ['X-Latin', 'caf\xe9']), ['complete', null]],
  },
  {
    name: 'asterisk-form and absolute-form with scheme characters',
    input: 'OPTIONS * HTTP/1.1\r\n\r\nGET svc+h2.v-1://host:80/p HTTP/1.1\r\n\r\n',
    events: [['begin'], req('OPTIONS', '*', []), ['complete', null], ['begin'], req('GET', 'svc+h2.v-1://host:80/p', []), ['complete', null]],
  },
  {
    name: 'custom method when allowed',
    input: 'FROB /x HTTP/1.1\r\n\r\n',
    opts: { allowCustomMethods: true },
    events: [['begin'], req('FROB', '/x', []), ['complete', null]],
  },
  {
    name: 'exactly 100 headers is within the default limit',
    input: 'GET / HTTP/1.1\r\n' + Array.from({ length: 100 }, (_, i) => `h${i}: v\r\n`).join('') + '\r\n',
    events: [['begin'], req('GET', '/', Array.from({ length: 100 }, (_, i) => [`h${i}`, 'v']).flat()), ['complete', null]],
  },
];

const E = (code: string, status: number, details: string): Event => ['error', code, status, details];
const CODEC = 'http1.codec_error';

interface ErrorCase {
  name: string;
  input: string;
  opts?: H1ParserOptions;
  error: Event;
  eof?: boolean;
}

const MALFORMED_REQUESTS: ErrorCase[] = [
  // Smuggling: framing conflicts.
  { name: 'Content-Length with Transfer-Encoding', input: 'POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n', error: E('CONTENT_LENGTH_AND_CHUNKED', 400, 'http1.content_length_and_chunked_not_allowed') },
  { name: 'Transfer-Encoding then Content-Length', input: 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n', error: E('CONTENT_LENGTH_AND_CHUNKED', 400, 'http1.content_length_and_chunked_not_allowed') },
  { name: 'differing Content-Lengths', input: 'POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n', error: E('MULTIPLE_CONTENT_LENGTH', 400, CODEC) },
  { name: 'Content-Length list', input: 'POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n', error: E('INVALID_CONTENT_LENGTH', 400, CODEC) },
  { name: 'negative Content-Length', input: 'POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n', error: E('INVALID_CONTENT_LENGTH', 400, CODEC) },
  { name: 'signed Content-Length', input: 'POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n', error: E('INVALID_CONTENT_LENGTH', 400, CODEC) },
  { name: 'empty Content-Length', input: 'POST / HTTP/1.1\r\nContent-Length:\r\n\r\n', error: E('INVALID_CONTENT_LENGTH', 400, CODEC) },
  { name: 'hex Content-Length', input: 'POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n', error: E('INVALID_CONTENT_LENGTH', 400, CODEC) },
  { name: 'huge Content-Length', input: 'POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n', error: E('INVALID_CONTENT_LENGTH', 400, CODEC) },
  { name: 'Transfer-Encoding gzip', input: 'POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n', error: E('INVALID_TRANSFER_ENCODING', 501, 'http1.invalid_transfer_encoding') },
  { name: 'Transfer-Encoding gzip, chunked', input: 'POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', error: E('INVALID_TRANSFER_ENCODING', 501, 'http1.invalid_transfer_encoding') },
  { name: 'Transfer-Encoding chunked, identity', input: 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n', error: E('INVALID_TRANSFER_ENCODING', 501, 'http1.invalid_transfer_encoding') },
  { name: 'two Transfer-Encoding headers', input: 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n', error: E('INVALID_TRANSFER_ENCODING', 501, 'http1.invalid_transfer_encoding') },
  { name: 'Transfer-Encoding with trailing garbage', input: 'POST / HTTP/1.1\r\nTransfer-Encoding: chunkedx\r\n\r\n', error: E('INVALID_TRANSFER_ENCODING', 501, 'http1.invalid_transfer_encoding') },
  { name: 'Transfer-Encoding on CONNECT', input: 'CONNECT a:1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n', error: E('INVALID_TRANSFER_ENCODING', 501, 'http1.invalid_transfer_encoding') },
  { name: 'CONNECT with a body', input: 'CONNECT a:1 HTTP/1.1\r\nContent-Length: 4\r\n\r\n', error: E('BODY_DISALLOWED', 400, 'http1.body_disallowed') },
  // Chunked framing.
  { name: 'non-hex chunk size', input: 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', error: E('INVALID_CHUNK_SIZE', 400, CODEC) },
  { name: 'empty chunk size', input: 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\r\n', error: E('INVALID_CHUNK_SIZE', 400, CODEC) },
  { name: 'negative chunk size', input: 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n', error: E('INVALID_CHUNK_SIZE', 400, CODEC) },
  { name: 'chunk size with 0x prefix', input: 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\n', error: E('INVALID_CHUNK_SIZE', 400, CODEC) },
  { name: 'chunk size overflow', input: 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\n', error: E('INVALID_CHUNK_SIZE', 400, CODEC) },
  { name: 'whitespace after chunk size', input: 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n', error: E('INVALID_CHUNK_SIZE', 400, CODEC) },
  { name: 'bare LF after chunk size', input: 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n', error: E('CR_EXPECTED', 400, CODEC) },
  { name: 'bare CR after chunk size', input: 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\rhello\r\n', error: E('LF_EXPECTED', 400, CODEC) },
  { name: 'chunk data not followed by CRLF', input: 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX', error: E('MISSING_CHUNK_CRLF', 400, CODEC) },
  { name: 'chunk data followed by bare LF', input: 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n', error: E('MISSING_CHUNK_CRLF', 400, CODEC) },
  { name: 'chunk data followed by CR without LF', input: 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\rX', error: E('MISSING_CHUNK_CRLF', 400, CODEC) },
  { name: 'control byte in chunk extension', input: 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\x01\r\nhello\r\n', error: E('INVALID_CHUNK_EXTENSION', 400, CODEC) },
  { name: 'lone CR in chunk extension', input: 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;a\rb\r\nhello\r\n', error: E('LF_EXPECTED', 400, CODEC) },
  { name: 'bare LF in trailers', input: 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: y\n\r\n', error: E('CR_EXPECTED', 400, CODEC) },
  { name: 'obs-fold in trailers', input: 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: y\r\n z\r\n\r\n', error: E('OBS_FOLD', 400, CODEC) },
  { name: 'too many trailers', opts: { maxHeadersCount: 2 }, input: 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\na: 1\r\nb: 2\r\nc: 3\r\n\r\n', error: E('TOO_MANY_HEADERS', 431, 'http1.too_many_headers') },
  { name: 'trailers too large', opts: { maxHeadersBytes: 100 }, input: 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nt: ' + 'x'.repeat(120) + '\r\n\r\n', error: E('HEADERS_TOO_LARGE', 431, 'http1.headers_too_large') },
  // Line syntax.
  { name: 'obs-fold', input: 'GET / HTTP/1.1\r\nX-Folded: a\r\n  b\r\n\r\n', error: E('OBS_FOLD', 400, CODEC) },
  { name: 'obs-fold with tab', input: 'GET / HTTP/1.1\r\nX-Folded: a\r\n\tb\r\n\r\n', error: E('OBS_FOLD', 400, CODEC) },
  { name: 'whitespace before the first header', input: 'GET / HTTP/1.1\r\n Host: a\r\n\r\n', error: E('OBS_FOLD', 400, CODEC) },
  { name: 'bare LF ending a header line', input: 'GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n', error: E('CR_EXPECTED', 400, CODEC) },
  { name: 'bare LF ending the request line', input: 'GET / HTTP/1.1\nHost: a\r\n\r\n', error: E('CR_EXPECTED', 400, CODEC) },
  { name: 'bare LF ending the head', input: 'GET / HTTP/1.1\r\nHost: a\r\n\n', error: E('CR_EXPECTED', 400, CODEC) },
  { name: 'LF-only message', input: 'GET / HTTP/1.1\nHost: a\n\n', error: E('CR_EXPECTED', 400, CODEC) },
  { name: 'bare LF before a request', input: '\nGET / HTTP/1.1\r\n\r\n', error: E('CR_EXPECTED', 400, CODEC) },
  { name: 'bare CR inside a value', input: 'GET / HTTP/1.1\r\nX: a\rb\r\n\r\n', error: E('LF_EXPECTED', 400, CODEC) },
  { name: 'bare CR ending the head', input: 'GET / HTTP/1.1\r\nX: a\r\n\rZ', error: E('LF_EXPECTED', 400, CODEC) },
  { name: 'space inside a header name', input: 'GET / HTTP/1.1\r\nBad Header: x\r\n\r\n', error: E('INVALID_HEADER_TOKEN', 400, CODEC) },
  { name: 'space before the colon', input: 'GET / HTTP/1.1\r\nHost : a\r\n\r\n', error: E('INVALID_HEADER_TOKEN', 400, CODEC) },
  { name: 'invalid byte in a header name', input: 'GET / HTTP/1.1\r\nX(y): a\r\n\r\n', error: E('INVALID_HEADER_TOKEN', 400, CODEC) },
  { name: 'non-ASCII header name', input: 'GET / HTTP/1.1\r\nX\xe9: a\r\n\r\n', error: E('INVALID_HEADER_TOKEN', 400, CODEC) },
  { name: 'empty header name', input: 'GET / HTTP/1.1\r\n: a\r\n\r\n', error: E('INVALID_HEADER_TOKEN', 400, CODEC) },
  { name: 'header line without colon', input: 'GET / HTTP/1.1\r\nNoColon\r\n\r\n', error: E('INVALID_HEADER_TOKEN', 400, CODEC) },
  { name: 'NUL in a value', input: 'GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n', error: E('INVALID_HEADER_VALUE', 400, 'http1.invalid_characters') },
  { name: 'control byte in a value', input: 'GET / HTTP/1.1\r\nX: a\x1bb\r\n\r\n', error: E('INVALID_HEADER_VALUE', 400, 'http1.invalid_characters') },
  { name: 'DEL in a value', input: 'GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n', error: E('INVALID_HEADER_VALUE', 400, 'http1.invalid_characters') },
  // Request line.
  { name: 'unknown method', input: 'FROB / HTTP/1.1\r\n\r\n', error: E('INVALID_METHOD', 400, CODEC) },
  { name: 'lowercase method', input: 'get / HTTP/1.1\r\n\r\n', error: E('INVALID_METHOD', 400, CODEC) },
  { name: 'invalid byte in method', input: 'GE(T / HTTP/1.1\r\n\r\n', error: E('INVALID_METHOD', 400, CODEC) },
  { name: 'invalid byte in custom method', opts: { allowCustomMethods: true }, input: 'GE@T / HTTP/1.1\r\n\r\n', error: E('INVALID_METHOD', 400, CODEC) },
  { name: 'leading space', input: ' GET / HTTP/1.1\r\n\r\n', error: E('INVALID_METHOD', 400, CODEC) },
  { name: 'double space after method', input: 'GET  / HTTP/1.1\r\n\r\n', error: E('INVALID_URL', 400, CODEC) },
  { name: 'tab separator', input: 'GET\t/ HTTP/1.1\r\n\r\n', error: E('INVALID_METHOD', 400, CODEC) },
  { name: 'control byte in target', input: 'GET /a\x01b HTTP/1.1\r\n\r\n', error: E('INVALID_URL', 400, CODEC) },
  { name: 'non-ASCII target', input: 'GET /caf\xe9 HTTP/1.1\r\n\r\n', error: E('INVALID_URL', 400, CODEC) },
  { name: 'relative target without slash', input: 'GET foo HTTP/1.1\r\n\r\n', error: E('INVALID_URL', 400, CODEC) },
  { name: 'absolute target without //', input: 'GET http:/x HTTP/1.1\r\n\r\n', error: E('INVALID_URL', 400, CODEC) },
  { name: 'absolute target with bad scheme', input: 'GET 1http://x/ HTTP/1.1\r\n\r\n', error: E('INVALID_URL', 400, CODEC) },
  { name: 'double space before version', input: 'GET /  HTTP/1.1\r\n\r\n', error: E('INVALID_VERSION', 400, CODEC) },
  { name: 'lowercase version', input: 'GET / http/1.1\r\n\r\n', error: E('INVALID_VERSION', 400, CODEC) },
  { name: 'malformed version', input: 'GET / HTTP/1.1.1\r\n\r\n', error: E('INVALID_VERSION', 400, CODEC) },
  { name: 'trailing space after version', input: 'GET / HTTP/1.1 \r\n\r\n', error: E('INVALID_VERSION', 400, CODEC) },
  { name: 'HTTP/2.0 request line', input: 'GET / HTTP/2.0\r\n\r\n', error: E('UNSUPPORTED_VERSION', 426, 'low_version') },
  { name: 'HTTP/1.2', input: 'GET / HTTP/1.2\r\n\r\n', error: E('UNSUPPORTED_VERSION', 426, 'low_version') },
  { name: 'HTTP/1.0 when not accepted (Envoy default)', input: 'GET / HTTP/1.0\r\n\r\n', error: E('UNSUPPORTED_VERSION', 426, 'low_version') },
  { name: 'HTTP/0.9 (no version)', input: 'GET /\r\n\r\n', error: E('UNSUPPORTED_VERSION', 426, 'low_version') },
  // Limits.
  { name: 'head over the default 60 KiB', input: 'GET / HTTP/1.1\r\nX-Big: ' + 'a'.repeat(61 * 1024) + '\r\n\r\n', error: E('HEADERS_TOO_LARGE', 431, 'http1.headers_too_large') },
  { name: 'head over a configured limit', opts: { maxHeadersBytes: 64 }, input: 'GET / HTTP/1.1\r\nA: 0123456789\r\nB: 0123456789\r\nC: 0123456789\r\nD: 0123456789\r\n\r\n', error: E('HEADERS_TOO_LARGE', 431, 'http1.headers_too_large') },
  { name: '101 headers', input: 'GET / HTTP/1.1\r\n' + Array.from({ length: 101 }, (_, i) => `h${i}: v\r\n`).join('') + '\r\n', error: E('TOO_MANY_HEADERS', 431, 'http1.too_many_headers') },
  { name: 'request line too long', opts: { maxRequestLineBytes: 32 }, input: 'GET /' + 'p'.repeat(40) + ' HTTP/1.1\r\n\r\n', error: E('REQUEST_LINE_TOO_LONG', 431, 'http1.headers_too_large') },
  { name: 'URL over the head limit', input: 'GET /' + 'p'.repeat(61 * 1024) + ' HTTP/1.1\r\n\r\n', error: E('REQUEST_LINE_TOO_LONG', 431, 'http1.headers_too_large') },
  // Truncation.
  { name: 'EOF inside a Content-Length body', input: 'POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc', eof: true, error: E('PREMATURE_EOF', 400, CODEC) },
  { name: 'EOF inside chunked body', input: 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab', eof: true, error: E('PREMATURE_EOF', 400, CODEC) },
  { name: 'EOF inside the head', input: 'GET / HTTP/1.1\r\nHost: a\r\n', eof: true, error: E('PREMATURE_EOF', 400, CODEC) },
];

const VALID_RESPONSES: Case[] = [
  {
    name: 'Content-Length response',
    input: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello',
    events: [['begin'], res(200, 'OK', ['Content-Type', 'text/plain', 'Content-Length', '5'], { contentLength: 5 }), ['body', 'hello'], ['complete', null]],
  },
  {
    name: 'chunked response with trailers (gRPC style)',
    input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\ndata\r\n0\r\ngrpc-status: 0\r\ngrpc-message: ok\r\n\r\n',
    events: [['begin'], res(200, 'OK', ['Transfer-Encoding', 'chunked'], { chunked: true }), ['body', 'data'], ['complete', ['grpc-status', '0', 'grpc-message', 'ok']]],
  },
  {
    name: 'no framing: body until close',
    input: 'HTTP/1.1 200 OK\r\nServer: old\r\n\r\nstream of bytes',
    eof: true,
    events: [['begin'], res(200, 'OK', ['Server', 'old'], { keepAlive: false }), ['body', 'stream of bytes'], ['complete', null]],
  },
  {
    name: 'HTTP/1.0 response without keep-alive',
    input: 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi',
    events: [['begin'], res(200, 'OK', ['Content-Length', '2'], { contentLength: 2, keepAlive: false, minorVersion: 0 }), ['body', 'hi'], ['complete', null]],
  },
  {
    name: 'HEAD response has no body; the next response follows',
    input: 'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nnop',
    expects: ['HEAD', 'GET'],
    events: [
      ['begin'], res(200, 'OK', ['Content-Length', '1000'], { contentLength: 1000 }), ['complete', null],
      ['begin'], res(404, 'Not Found', ['Content-Length', '3'], { contentLength: 3 }), ['body', 'nop'], ['complete', null],
    ],
  },
  {
    name: '204 and 304 have no body',
    input: 'HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n',
    expects: ['GET', 'GET', 'GET'],
    events: [
      ['begin'], res(204, 'No Content', []), ['complete', null],
      ['begin'], res(304, 'Not Modified', ['Content-Length', '50'], { contentLength: 50 }), ['complete', null],
      ['begin'], res(200, 'OK', ['Content-Length', '0'], { contentLength: 0 }), ['complete', null],
    ],
  },
  {
    name: '100 Continue then the final response',
    input: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n',
    expects: ['POST'],
    events: [
      ['begin'], res(100, 'Continue', []), ['complete', null],
      ['begin'], res(201, 'Created', ['Content-Length', '0'], { contentLength: 0 }), ['complete', null],
    ],
  },
  {
    name: '101 Switching Protocols starts a tunnel',
    input: 'HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x02hi',
    eof: true,
    events: [
      ['begin'],
      res(101, 'Switching Protocols', ['Connection', 'upgrade', 'Upgrade', 'websocket'], { upgrade: true, keepAlive: false, connectionTokens: ['upgrade'] }),
      ['body', '\x81\x02hi'],
      ['complete', null],
    ],
  },
  {
    name: '2xx to CONNECT starts a tunnel',
    input: 'HTTP/1.1 200 Connection established\r\n\r\nraw bytes',
    expects: ['CONNECT'],
    eof: true,
    events: [['begin'], res(200, 'Connection established', [], { upgrade: true, keepAlive: false }), ['body', 'raw bytes'], ['complete', null]],
  },
  {
    name: 'non-2xx to CONNECT is a normal response',
    input: 'HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno',
    expects: ['CONNECT'],
    events: [['begin'], res(403, 'Forbidden', ['Content-Length', '2'], { contentLength: 2 }), ['body', 'no'], ['complete', null]],
  },
  {
    name: 'status line without reason, and an empty reason',
    input: 'HTTP/1.1 200\r\nContent-Length: 0\r\n\r\nHTTP/1.1 500 \r\nContent-Length: 0\r\n\r\n',
    events: [
      ['begin'], res(200, '', ['Content-Length', '0'], { contentLength: 0 }), ['complete', null],
      ['begin'], res(500, '', ['Content-Length', '0'], { contentLength: 0 }), ['complete', null],
    ],
  },
];

const UP = UPSTREAM_PROTOCOL_ERROR_DETAILS;
const MALFORMED_RESPONSES: (ErrorCase & { expects?: string[] })[] = [
  { name: 'Content-Length with Transfer-Encoding', input: 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n', error: E('CONTENT_LENGTH_AND_CHUNKED', 502, UP) },
  { name: 'Transfer-Encoding gzip', input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n', error: E('INVALID_TRANSFER_ENCODING', 502, UP) },
  { name: '204 with a body length', input: 'HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n', error: E('CONTENT_LENGTH_NOT_ALLOWED', 502, UP) },
  { name: '204 with Transfer-Encoding', input: 'HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n', error: E('TRANSFER_ENCODING_NOT_ALLOWED', 502, UP) },
  { name: '100 with Transfer-Encoding', input: 'HTTP/1.1 100 Continue\r\nTransfer-Encoding: chunked\r\n\r\n', error: E('TRANSFER_ENCODING_NOT_ALLOWED', 502, UP) },
  { name: 'two-digit status', input: 'HTTP/1.1 20 OK\r\n\r\n', error: E('INVALID_STATUS', 502, UP) },
  { name: 'status glued to reason', input: 'HTTP/1.1 200OK\r\n\r\n', error: E('INVALID_STATUS', 502, UP) },
  { name: 'status below 100', input: 'HTTP/1.1 099 Odd\r\n\r\n', error: E('INVALID_STATUS', 502, UP) },
  { name: 'not HTTP at all', input: 'ICY 200 OK\r\n\r\n', error: E('INVALID_CONSTANT', 502, UP) },
  { name: 'HTTP/2.0 status line', input: 'HTTP/2.0 200 OK\r\n\r\n', error: E('UNSUPPORTED_VERSION', 502, UP) },
  { name: 'bare LF in response head', input: 'HTTP/1.1 200 OK\nContent-Length: 0\n\n', error: E('CR_EXPECTED', 502, UP) },
  { name: 'control byte in reason', input: 'HTTP/1.1 200 O\x01K\r\n\r\n', error: E('INVALID_STATUS', 502, UP) },
  { name: 'bad chunk in response', input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nq\r\n', error: E('INVALID_CHUNK_SIZE', 502, UP) },
  { name: 'EOF inside a Content-Length body', input: 'HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc', eof: true, error: E('PREMATURE_EOF', 502, UP) },
];

describe('H1Parser requests: valid messages', () => {
  test.each(VALID_REQUESTS.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(parseChunks('request', [b(c.input)], c.opts, undefined, c.eof)).toEqual(c.events);
  });
});

describe('H1Parser requests: malformed messages', () => {
  test.each(MALFORMED_REQUESTS.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const events = parseChunks('request', [b(c.input)], c.opts, undefined, c.eof);
    expect(events[events.length - 1]).toEqual(c.error);
    expect(events.filter((e) => e[0] === 'error')).toHaveLength(1);
  });
});

describe('H1Parser responses', () => {
  test.each(VALID_RESPONSES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(parseChunks('response', [b(c.input)], c.opts, c.expects, c.eof)).toEqual(c.events);
  });
  test.each(MALFORMED_RESPONSES.map((c) => [c.name, c] as const))('malformed: %s', (_name, c) => {
    const events = parseChunks('response', [b(c.input)], c.opts, c.expects, c.eof);
    expect(events[events.length - 1]).toEqual(c.error);
  });
});

describe('H1Parser split invariance', () => {
  const requestCases = [...VALID_REQUESTS.filter((c) => c.input.length < 400), ...MALFORMED_REQUESTS.filter((c) => c.input.length < 400)];
  test.each(requestCases.map((c) => [c.name, c] as const))('request: %s', (_name, c) => {
    const input = b(c.input);
    const whole = parseChunks('request', [input], c.opts, undefined, c.eof);
    for (const chunks of splits(input)) {
      expect(parseChunks('request', chunks, c.opts, undefined, c.eof)).toEqual(whole);
    }
  });
  const responseCases = [...VALID_RESPONSES, ...MALFORMED_RESPONSES];
  test.each(responseCases.map((c) => [c.name, c] as const))('response: %s', (_name, c) => {
    const input = b(c.input);
    const whole = parseChunks('response', [input], c.opts, c.expects, c.eof);
    for (const chunks of splits(input)) {
      expect(parseChunks('response', chunks, c.opts, c.expects, c.eof)).toEqual(whole);
    }
  });
  test('large head split across many chunks keeps every header', () => {
    const names = Array.from({ length: 80 }, (_, i) => `X-Header-${i}`);
    const input = b('GET / HTTP/1.1\r\n' + names.map((n, i) => `${n}: value-${i}-${'v'.repeat(200)}\r\n`).join('') + '\r\n');
    const rand = rng(7);
    const chunks: Buffer[] = [];
    for (let pos = 0; pos < input.length; ) {
      const len = 1 + Math.floor(rand() * 700);
      chunks.push(input.subarray(pos, pos + len));
      pos += len;
    }
    const events = parseChunks('request', chunks);
    const h = events[1] as ['headers', Partial<H1MessageHead>];
    expect(h[1].headers).toHaveLength(160);
    expect(h[1].headers?.[158]).toBe('X-Header-79');
    expect(events[2]).toEqual(['complete', null]);
  });
});

describe('H1Parser flow control and lifecycle', () => {
  test('pause in onMessageComplete holds pipelined requests until resume', () => {
    const r = new Recorder('request');
    r.onCompleteHook = () => r.parser.pause();
    r.parser.feed(b('GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n'));
    expect(r.events.filter((e) => e[0] === 'complete')).toHaveLength(1);
    r.parser.feed(b('GET /4 HTTP/1.1\r\n\r\n'));
    expect(r.events.filter((e) => e[0] === 'complete')).toHaveLength(1);
    r.parser.resume();
    expect(r.events.filter((e) => e[0] === 'complete')).toHaveLength(2);
    r.onCompleteHook = null;
    r.parser.resume();
    const urls = r.events.filter((e) => e[0] === 'headers').map((e) => (e[1] as Partial<H1MessageHead>).url);
    expect(urls).toEqual(['/1', '/2', '/3', '/4']);
    expect(r.parser.isIdle()).toBe(true);
  });

  test('feed from inside a callback is queued behind the rest of the current chunk', () => {
    const r = new Recorder('request');
    let fed = false;
    r.onCompleteHook = () => {
      if (!fed) {
        fed = true;
        r.parser.feed(b('GET /3 HTTP/1.1\r\n\r\n'));
      }
    };
    r.parser.feed(b('GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n'));
    const urls = r.events.filter((e) => e[0] === 'headers').map((e) => (e[1] as Partial<H1MessageHead>).url);
    expect(urls).toEqual(['/1', '/2', '/3']);
  });

  test('destroy from onHeaders stops delivery of the body and later messages', () => {
    const events: string[] = [];
    const p: H1Parser = new H1Parser('request', {
      onMessageBegin: () => events.push('begin'),
      onHeaders: () => {
        events.push('headers');
        p.destroy();
      },
      onBody: () => events.push('body'),
      onMessageComplete: () => events.push('complete'),
      onError: () => events.push('error'),
    });
    p.feed(b('POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n'));
    p.finish();
    expect(events).toEqual(['begin', 'headers']);
  });

  test('finish while paused is applied after resume', () => {
    const r = new Recorder('response');
    r.parser.feed(b('HTTP/1.1 200 OK\r\n\r\nabc'));
    r.parser.pause();
    r.parser.feed(b('def'));
    r.parser.finish();
    expect(r.events[r.events.length - 1]).toEqual(['body', 'abc']);
    r.parser.resume();
    expect(r.events.slice(-2)).toEqual([['body', 'abcdef'], ['complete', null]]);
  });

  test('body slices are views of the received chunk, not copies', () => {
    const seen: Buffer[] = [];
    const p = new H1Parser('request', {
      onMessageBegin() {},
      onHeaders() {},
      onBody(c) {
        seen.push(c);
      },
      onMessageComplete() {},
      onError(e) {
        throw e;
      },
    });
    const input = b('POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd');
    p.feed(input);
    const tail = b('xyz');
    const p2 = new H1Parser('response', { onMessageBegin() {}, onHeaders() {}, onBody: (c) => seen.push(c), onMessageComplete() {}, onError: (e) => { throw e; } });
    p2.feed(b('HTTP/1.1 200 OK\r\n\r\n'));
    p2.feed(tail);
    expect(seen[0].buffer).toBe(input.buffer);
    expect(seen[0].byteOffset).toBe(input.byteOffset + input.length - 4);
    expect(seen[1]).toBe(tail);
  });

  test('after an error all input is ignored and onError fires once', () => {
    const r = new Recorder('request');
    r.parser.feed(b('GET / HTTP/1.1\r\nBad Name: x\r\n\r\n'));
    r.parser.feed(b('GET / HTTP/1.1\r\n\r\n'));
    r.parser.finish();
    expect(r.events).toEqual([['begin'], E('INVALID_HEADER_TOKEN', 400, CODEC)]);
  });

  test('clean EOF between messages is not an error', () => {
    const r = new Recorder('request');
    r.parser.feed(b('GET / HTTP/1.1\r\n\r\n'));
    r.parser.finish();
    expect(r.events).toEqual([['begin'], req('GET', '/', []), ['complete', null]]);
  });

  test('error carries a readable Envoy-style message', () => {
    let err: H1CodecError | null = null;
    const p = new H1Parser('request', { onMessageBegin() {}, onHeaders() {}, onBody() {}, onMessageComplete() {}, onError: (e) => (err = e) });
    p.feed(b('POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n'));
    expect(err).not.toBeNull();
    expect((err as unknown as H1CodecError).message).toBe("http/1.1 protocol error: both 'Content-Length' and 'Transfer-Encoding' are set.");
  });
});
