// HTTP inspector detection table: HTTP/1.0, HTTP/1.1, h2c preface, partial input, non-HTTP.
import { detectHttp } from './http-inspector';

const b = (s: string) => Buffer.from(s, 'latin1');

test.each([
  ['GET / HTTP/1.1\r\n', 'http/1.1'],
  ['POST /x?y=1 HTTP/1.0\r\nhost: a\r\n', 'http/1.0'],
  ['M-SEARCH * HTTP/1.1\n', 'http/1.1'],
  ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'h2c'],
  ['PRI * HTTP/2.0\r\n', 'more'],
  ['GE', 'more'],
  ['GET /path', 'more'],
  ['GET / HTTP/1.1\r', 'more'],
  ['GET / HTTP/1.', 'more'],
  ['get / HTTP/1.1\r\n', 'none'],
  ['FOO / HTTP/1.1\r\n', 'none'],
  ['GET / HTTP/2.0\r\n', 'none'],
  ['GET / SIP/2.0\r\n', 'none'],
  ['GET  HTTP/1.1\r\n', 'none'],
  ['\x16\x03\x01', 'none'],
  ['SSH-2.0-OpenSSH\r\n', 'none'],
  ['*1\r\n$4\r\nPING\r\n', 'none'],
])('%j -> %s', (input, want) => {
  expect(detectHttp(b(input))).toBe(want);
});

test('a request line longer than the inspect limit is not HTTP', () => {
  expect(detectHttp(b(`GET /${'a'.repeat(9000)}`))).toBe('none');
});
