// Serializer tests: exact bytes for heads and chunks, header case preserved, injection refused,
// and round trips through H1Parser (what we write, we parse back to the same message).

import { H1CodecError } from './h1-codec-error';
import { H1MessageHead } from './h1-message-head';
import { H1Parser } from './h1-parser';
import {
  chunkHeader,
  CRLF_BUFFER,
  encodeChunk,
  encodeLastChunk,
  reasonPhrase,
  serializeRequestHead,
  serializeResponseHead,
} from './h1-serializer';

interface Parsed {
  head: H1MessageHead | null;
  body: string;
  trailers: string[] | null;
  complete: boolean;
  error: H1CodecError | null;
}

function parseAll(kind: 'request' | 'response', bufs: Buffer[], expectMethod?: string): Parsed[] {
  const out: Parsed[] = [];
  let cur: Parsed | null = null;
  const p = new H1Parser(kind, {
    onMessageBegin() {
      cur = { head: null, body: '', trailers: null, complete: false, error: null };
      out.push(cur);
    },
    onHeaders(h) {
      (cur as Parsed).head = h;
    },
    onBody(c) {
      (cur as Parsed).body += c.toString('latin1');
    },
    onMessageComplete(t) {
      (cur as Parsed).trailers = t;
      (cur as Parsed).complete = true;
    },
    onError(e) {
      if (cur === null) out.push((cur = { head: null, body: '', trailers: null, complete: false, error: null }));
      cur.error = e;
    },
  });
  if (expectMethod) p.expectResponse(expectMethod);
  // Feed as one stream so the byte-exact framing is checked across pieces.
  p.feed(Buffer.concat(bufs));
  p.finish();
  return out;
}

describe('serializeRequestHead', () => {
  test('one buffer with request line, headers in given order and case, blank line', () => {
    const buf = serializeRequestHead('GET', '/a?b=c', ['Host', 'example.com', 'X-Request-ID', 'abc', 'accept', '*/*'], false);
    expect(buf.toString('latin1')).toBe('GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nX-Request-ID: abc\r\naccept: */*\r\n\r\n');
  });

  test('chunked adds transfer-encoding and the body round-trips with trailers', () => {
    const head = serializeRequestHead('POST', '/upload', ['Host', 'h', 'Content-Type', 'application/grpc'], true);
    const parts = [head, encodeChunk(Buffer.from('hello ')), chunkHeader(5), Buffer.from('world'), CRLF_BUFFER, encodeChunk(Buffer.alloc(0)), encodeLastChunk(['grpc-status', '0', 'Grpc-Message', 'fine'])];
    const [m] = parseAll('request', parts);
    expect(m.error).toBeNull();
    expect(m.head?.method).toBe('POST');
    expect(m.head?.chunked).toBe(true);
    expect(m.head?.headers).toEqual(['Host', 'h', 'Content-Type', 'application/grpc', 'transfer-encoding', 'chunked']);
    expect(m.body).toBe('hello world');
    expect(m.trailers).toEqual(['grpc-status', '0', 'Grpc-Message', 'fine']);
    expect(m.complete).toBe(true);
  });

  test('round trip of a Content-Length request preserves every header', () => {
    const headers = ['HOST', 'svc.ns.svc.cluster.local:8080', 'x-B3-TraceId', '80f198ee56343ba864fe8b2a57d3eff7', 'Content-Length', '3', 'X-Latin', 'caf\xe9'];
    const [m] = parseAll('request', [serializeRequestHead('PUT', '/k', headers, false), Buffer.from('abc')]);
    expect(m.head?.headers).toEqual(headers);
    expect(m.head?.contentLength).toBe(3);
    expect(m.body).toBe('abc');
  });

  test.each([
    ['CRLF in a value (request splitting)', 'GET', '/', ['X', 'a\r\nEvil: 1']],
    ['LF in a value', 'GET', '/', ['X', 'a\nb']],
    ['NUL in a value', 'GET', '/', ['X', 'a\0']],
    ['non-latin1 char in a value', 'GET', '/', ['X', 'snow \u2603']],
    ['space in a name', 'GET', '/', ['Bad Name', 'v']],
    ['colon in a name', 'GET', '/', ['a:b', 'v']],
    ['empty name', 'GET', '/', ['', 'v']],
    ['odd header list', 'GET', '/', ['only-name']],
    ['space in target', 'GET', '/a b', []],
    ['CRLF in target', 'GET', '/\r\nX: y', []],
    ['bad method', 'G T', '/', []],
  ])('refuses %s', (_n, method, target, headers) => {
    expect(() => serializeRequestHead(method as string, target as string, headers as string[], false)).toThrow(H1CodecError);
    try {
      serializeRequestHead(method as string, target as string, headers as string[], false);
    } catch (e) {
      expect((e as H1CodecError).code).toBe('INVALID_OUTBOUND_HEADER');
    }
  });
});

describe('serializeResponseHead', () => {
  test('default Envoy reason phrase and exact bytes', () => {
    expect(serializeResponseHead(200, null, ['Content-Length', '0'], false).toString('latin1')).toBe('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    expect(serializeResponseHead(431, null, [], false).toString('latin1')).toBe('HTTP/1.1 431 Request Header Fields Too Large\r\n\r\n');
    expect(serializeResponseHead(299, null, [], false).toString('latin1')).toBe('HTTP/1.1 299 Unknown\r\n\r\n');
    expect(reasonPhrase(503)).toBe('Service Unavailable');
  });

  test('custom reason, HTTP/1.0 status line', () => {
    expect(serializeResponseHead(200, 'Fine Thanks', [], false, 0).toString('latin1')).toBe('HTTP/1.0 200 Fine Thanks\r\n\r\n');
    expect(() => serializeResponseHead(200, 'bad\r\nX: y', [], false)).toThrow(H1CodecError);
    expect(() => serializeResponseHead(42, null, [], false)).toThrow(H1CodecError);
  });

  test('chunked response with trailers round-trips through the response parser', () => {
    const bufs = [
      serializeResponseHead(200, null, ['Content-Type', 'application/grpc', 'Trailer', 'grpc-status'], true),
      encodeChunk(Buffer.from('\0\0\0\0\x05hello')),
      encodeLastChunk(['grpc-status', '0']),
    ];
    const [m] = parseAll('response', bufs, 'POST');
    expect(m.head?.statusCode).toBe(200);
    expect(m.head?.reason).toBe('OK');
    expect(m.head?.headers).toEqual(['Content-Type', 'application/grpc', 'Trailer', 'grpc-status', 'transfer-encoding', 'chunked']);
    expect(m.body).toBe('\0\0\0\0\x05hello');
    expect(m.trailers).toEqual(['grpc-status', '0']);
  });

  test('large chunk sizes are written in hex', () => {
    const data = Buffer.alloc(70000, 0x61);
    const enc = encodeChunk(data);
    expect(enc.subarray(0, 7).toString('latin1')).toBe('11170\r\n');
    expect(enc.length).toBe(7 + 70000 + 2);
    expect(chunkHeader(255).toString('latin1')).toBe('ff\r\n');
    const [m] = parseAll('response', [serializeResponseHead(200, null, [], true), enc, encodeLastChunk(null)]);
    expect(m.body.length).toBe(70000);
    expect(m.trailers).toBeNull();
  });

  test('last chunk without trailers is the fixed 0 CRLF CRLF', () => {
    expect(encodeLastChunk(null).toString('latin1')).toBe('0\r\n\r\n');
    expect(encodeLastChunk([]).toString('latin1')).toBe('0\r\n\r\n');
    expect(encodeLastChunk(['a', 'b']).toString('latin1')).toBe('0\r\na: b\r\n\r\n');
  });
});
