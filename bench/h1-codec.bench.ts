// Micro benchmark of our HTTP/1.1 codec (src/engine/http/h1): messages parsed / serialized per
// second for a typical ~128 B request and response, the per-request proxy cycle (parse request,
// serialize it upstream, parse the response, serialize it downstream), pipelined and chunked
// input, and node's own llhttp binding as a reference point. Not a test. Run:
//   npx tsc --outDir /tmp/h1-bench --rootDir . --module commonjs --target es2022 --skipLibCheck \
//     --types node bench/h1-codec.bench.ts && node /tmp/h1-bench/bench/h1-codec.bench.js
// Each scenario runs a bounded number of iterations (and at most ~1 s), after a warm-up.

import { H1MessageHead } from '../src/engine/http/h1/h1-message-head';
import { H1Parser, H1ParserHandler } from '../src/engine/http/h1/h1-parser';
import { encodeChunk, encodeLastChunk, serializeRequestHead, serializeResponseHead } from '../src/engine/http/h1/h1-serializer';

const MAX_ITERS = 5_000_000;
const MAX_MS = 1000;

const REQUEST = Buffer.from(
  'GET /api/v1/items?id=42 HTTP/1.1\r\n' +
    'Host: backend.default.svc\r\n' +
    'User-Agent: wrk/4.2\r\n' +
    'Accept: */*\r\n' +
    'X-Request-Id: 7f1c2a\r\n' +
    'Accept-Encoding: gzip\r\n' +
    '\r\n',
  'latin1',
);
const RESPONSE = Buffer.from(
  'HTTP/1.1 200 OK\r\n' +
    'Content-Type: text/plain\r\n' +
    'Content-Length: 12\r\n' +
    'Server: envoy\r\n' +
    'Date: Sat, 22 Nov 2025 03:45:00 GMT\r\n' +
    '\r\n' +
    'hello world\n',
  'latin1',
);

class Sink implements H1ParserHandler {
  head: H1MessageHead | null = null;
  bodyBytes = 0;
  messages = 0;
  onMessageBegin(): void {}
  onHeaders(head: H1MessageHead): void {
    this.head = head;
  }
  onBody(chunk: Buffer): void {
    this.bodyBytes += chunk.length;
  }
  onMessageComplete(): void {
    this.messages++;
  }
  onError(err: Error): void {
    throw err;
  }
}

function bench(name: string, bytesPerOp: number, fn: () => void): void {
  for (let i = 0; i < 20_000; i++) fn(); // warm-up
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(MAX_MS) * 1_000_000n;
  let ops = 0;
  while (ops < MAX_ITERS) {
    for (let i = 0; i < 1000; i++) fn();
    ops += 1000;
    if (process.hrtime.bigint() > deadline) break;
  }
  const ns = Number(process.hrtime.bigint() - start);
  const perSec = (ops / ns) * 1e9;
  const mbps = bytesPerOp > 0 ? `  ${((perSec * bytesPerOp) / 1e6).toFixed(0).padStart(5)} MB/s` : '';
  console.log(`${name.padEnd(48)} ${(perSec / 1e6).toFixed(2).padStart(6)} M ops/s  ${(ns / ops).toFixed(0).padStart(5)} ns/op${mbps}`);
}

console.log(`request ${REQUEST.length} B, response ${RESPONSE.length} B, node ${process.version}`);

// One parser per connection, many messages: the steady state of a keep-alive connection.
const reqSink = new Sink();
const reqParser = new H1Parser('request', reqSink);
bench(`parse request (${REQUEST.length} B, keep-alive)`, REQUEST.length, () => reqParser.feed(REQUEST));

const resSink = new Sink();
const resParser = new H1Parser('response', resSink);
bench(`parse response (${RESPONSE.length} B incl. body)`, RESPONSE.length, () => {
  resParser.expectResponse('GET');
  resParser.feed(RESPONSE);
});

const reqHead = reqSink.head as H1MessageHead;
const resHead = resSink.head as H1MessageHead;
let sink = 0;
bench('serialize request head', REQUEST.length, () => {
  sink += serializeRequestHead(reqHead.method, reqHead.url, reqHead.headers, false).length;
});
bench('serialize response head', RESPONSE.length - 12, () => {
  sink += serializeResponseHead(resHead.statusCode, null, resHead.headers, false).length;
});

// What a proxy does per request on a kept-alive connection pair.
bench('proxy cycle: parse+serialize request+response', REQUEST.length + RESPONSE.length, () => {
  reqParser.feed(REQUEST);
  const h = reqSink.head as H1MessageHead;
  sink += serializeRequestHead(h.method, h.url, h.headers, false).length;
  resParser.expectResponse(h.method);
  resParser.feed(RESPONSE);
  const r = resSink.head as H1MessageHead;
  sink += serializeResponseHead(r.statusCode, null, r.headers, false).length;
});

// Pipelined: 16 requests per chunk.
const PIPELINED = Buffer.concat(Array.from({ length: 16 }, () => REQUEST));
bench('parse 16 pipelined requests (per request)', REQUEST.length, (() => {
  let n = 0;
  return () => {
    if ((n++ & 15) === 0) reqParser.feed(PIPELINED);
  };
})());

// Request split in the middle of a header line: the partial-line copy path.
const SPLIT_A = REQUEST.subarray(0, 50);
const SPLIT_B = REQUEST.subarray(50);
bench('parse request split in two chunks', REQUEST.length, () => {
  reqParser.feed(SPLIT_A);
  reqParser.feed(SPLIT_B);
});

// Chunked 16 KiB body in 4 chunks, one feed.
const CHUNKED = Buffer.concat([
  serializeRequestHead('POST', '/upload', ['Host', 'backend', 'Content-Type', 'application/octet-stream'], true),
  ...Array.from({ length: 4 }, () => encodeChunk(Buffer.alloc(4096, 0x61))),
  encodeLastChunk(null),
]);
bench('parse chunked POST, 16 KiB body in 4 chunks', CHUNKED.length, () => reqParser.feed(CHUNKED));

// Reference: node's own llhttp binding (C), used by node:http, same request, minimal callbacks.
try {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { HTTPParser } = require('_http_common') as { HTTPParser: any };
  const p = new HTTPParser();
  p.initialize(HTTPParser.REQUEST, {});
  p[HTTPParser.kOnHeadersComplete] = () => 0;
  p[HTTPParser.kOnMessageComplete] = () => undefined;
  p[HTTPParser.kOnBody] = () => undefined;
  bench('reference: node llhttp binding, parse request', REQUEST.length, () => p.execute(REQUEST));
} catch (e) {
  console.log(`reference: node llhttp binding unavailable (${(e as Error).message})`);
}

if (sink === 0 || reqSink.messages === 0) console.log('unexpected: nothing measured');
