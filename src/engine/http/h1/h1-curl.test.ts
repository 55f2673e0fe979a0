// Integration test: real curl talks to a tiny node:net server built only from our H1Parser and
// serializer (what the HTTP connection manager will do on the downstream side): keep-alive with
// several requests on one connection, chunked upload with Expect: 100-continue, a chunked
// response with trailers, and a 431 local reply for an oversize header block.

import { execFile } from 'node:child_process';
import * as net from 'node:net';
import { AddressInfo } from 'node:net';

import { H1CodecError } from './h1-codec-error';
import { H1MessageHead } from './h1-message-head';
import { H1Parser } from './h1-parser';
import { encodeChunk, encodeLastChunk, serializeResponseHead } from './h1-serializer';

interface TestServer {
  port: number;
  connections: number;
  errors: H1CodecError[];
  close(): Promise<void>;
}

function startServer(): Promise<TestServer> {
  const server: TestServer = { port: 0, connections: 0, errors: [], close: async () => undefined };
  const srv = net.createServer((sock) => {
    server.connections++;
    let head: H1MessageHead | null = null;
    let body: Buffer[] = [];
    const parser = new H1Parser('request', {
      onMessageBegin() {
        body = [];
      },
      onHeaders(h) {
        head = h;
        if (h.expectContinue) sock.write(serializeResponseHead(100, null, [], false));
      },
      onBody(chunk) {
        body.push(chunk);
      },
      onMessageComplete(trailers) {
        const h = head as H1MessageHead;
        const text = JSON.stringify({
          method: h.method,
          url: h.url,
          headers: h.headers,
          chunked: h.chunked,
          body: Buffer.concat(body).toString('latin1'),
          trailers,
        });
        if (h.url.startsWith('/chunked')) {
          // Unknown length: chunked response, with a trailer.
          sock.write(serializeResponseHead(200, null, ['Content-Type', 'application/json'], true));
          sock.write(encodeChunk(Buffer.from(text.slice(0, 10))));
          sock.write(encodeChunk(Buffer.from(text.slice(10))));
          sock.write(encodeLastChunk(['X-Checksum', String(text.length)]));
        } else {
          const payload = Buffer.from(text);
          sock.write(serializeResponseHead(200, null, ['Content-Type', 'application/json', 'Content-Length', String(payload.length)], false));
          sock.write(payload);
        }
        if (!h.keepAlive) sock.end();
      },
      onError(err) {
        server.errors.push(err);
        sock.end(serializeResponseHead(err.status, null, ['content-length', '0', 'connection', 'close'], false));
      },
    });
    sock.on('data', (d: Buffer) => parser.feed(d));
    sock.on('end', () => {
      parser.finish();
      sock.end();
    });
    sock.on('error', () => sock.destroy());
  });
  return new Promise((resolve) => {
    srv.listen(0, '127.0.0.1', () => {
      server.port = (srv.address() as AddressInfo).port;
      server.close = () => new Promise((r) => srv.close(() => r()));
      resolve(server);
    });
  });
}

function curl(args: string[], input?: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile('curl', ['-sS', '--max-time', '10', ...args], { maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`curl failed: ${err.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

describe('H1 codec with real curl', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => {
    server.connections = 0;
    server.errors = [];
  });

  test('keep-alive: three requests reuse one connection; header case is preserved', async () => {
    const base = `http://127.0.0.1:${server.port}`;
    const { stdout } = await curl([
      '-H', 'X-Mixed-Case: Yes',
      '-w', '\\n%{http_code} %{num_connects}\\n',
      `${base}/one`, `${base}/two?x=1`, `${base}/chunked`,
    ]);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(6);
    const first = JSON.parse(lines[0]);
    expect(first.method).toBe('GET');
    expect(first.url).toBe('/one');
    expect(first.headers).toEqual(expect.arrayContaining(['Host', 'X-Mixed-Case', 'Yes', 'User-Agent', 'Accept']));
    expect(lines[1]).toBe('200 1');
    expect(JSON.parse(lines[2]).url).toBe('/two?x=1');
    expect(lines[3]).toBe('200 0');
    expect(JSON.parse(lines[4]).url).toBe('/chunked');
    expect(lines[5]).toBe('200 0');
    expect(server.connections).toBe(1);
    expect(server.errors).toEqual([]);
  });

  test('chunked upload with Expect: 100-continue, echoed in a chunked response with trailer', async () => {
    const payload = 'line\n'.repeat(5000);
    const { stdout } = await curl(
      [
        '-X', 'POST',
        '-H', 'Transfer-Encoding: chunked',
        '-H', 'Expect: 100-continue',
        '--data-binary', '@-',
        '-D', '-',
        `http://127.0.0.1:${server.port}/chunked/upload`,
      ],
      payload,
    );
    const [responseHead, echoed] = stdout.split('\r\n\r\n').slice(-2);
    expect(stdout.startsWith('HTTP/1.1 100 Continue\r\n')).toBe(true);
    expect(responseHead).toContain('HTTP/1.1 200 OK');
    expect(responseHead.toLowerCase()).toContain('transfer-encoding: chunked');
    // curl -D - prints the response trailer after the body.
    const jsonEnd = echoed.lastIndexOf('}') + 1;
    expect(echoed.slice(jsonEnd)).toMatch(/^X-Checksum: \d+\r\n/);
    const echo = JSON.parse(echoed.slice(0, jsonEnd));
    expect(echo.method).toBe('POST');
    expect(echo.chunked).toBe(true);
    expect(echo.body).toBe(payload);
    expect(echo.trailers).toBeNull();
    expect(server.errors).toEqual([]);
  });

  test('Content-Length upload and Connection: close', async () => {
    const { stdout } = await curl([
      '-H', 'Connection: close',
      '--data-binary', 'a=1&b=2',
      `http://127.0.0.1:${server.port}/form`,
    ]);
    const echo = JSON.parse(stdout);
    expect(echo.method).toBe('POST');
    expect(echo.body).toBe('a=1&b=2');
    expect(echo.headers).toEqual(expect.arrayContaining(['Content-Length', '7', 'Connection', 'close']));
  });

  test('oversize header block gets 431 from the codec error', async () => {
    const { stdout } = await curl(['-o', '/dev/null', '-w', '%{http_code}', '-H', `X-Big: ${'b'.repeat(70 * 1024)}`, `http://127.0.0.1:${server.port}/big`]);
    expect(stdout).toBe('431');
    expect(server.errors.map((e) => [e.code, e.details])).toEqual([['HEADERS_TOO_LARGE', 'http1.headers_too_large']]);
  });
});
