// The HTTP/1.1 downstream write path joins a response head and its body in one reused buffer
// (h1-server-connection.ts writeJoined). Reuse must stop as soon as a write is left pending in
// the socket: here one client stops reading while 600 pipelined 16 000-byte responses (more than the loopback socket buffers take) pile up
// behind a full socket buffer, another client is served meanwhile, and every byte the stalled
// client finally reads must still be its own.
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { cluster, hcmBootstrap, startHarness, upstream, type HttpHarness } from '../support/http-harness';

type Up = Awaited<ReturnType<typeof upstream>>;

const BODY = 16000;
const BIG = 'z'.repeat(4 * 1024 * 1024);
/** Body of /r/<i>: one letter repeated, different for neighbouring i. */
function bodyFor(i: number): string {
  return String.fromCharCode(97 + (i % 26)).repeat(BODY);
}

/** Reads `count` Content-Length responses from raw bytes; returns their bodies in order. */
function splitResponses(raw: Buffer, count: number): string[] {
  const out: string[] = [];
  let pos = 0;
  for (let k = 0; k < count; k++) {
    const end = raw.indexOf('\r\n\r\n', pos);
    if (end < 0) break;
    const head = raw.subarray(pos, end).toString('latin1');
    const m = /\r\ncontent-length: *(\d+)/i.exec(head);
    const len = m ? Number(m[1]) : 0;
    out.push(raw.subarray(end + 4, end + 4 + len).toString('latin1'));
    pos = end + 4 + len;
  }
  return out;
}

describe('HTTP/1.1 response writes (joined head and body)', () => {
  let up: Up;
  let h: HttpHarness;

  beforeAll(async () => {
    up = await upstream((req, res) => res.end(req.url === '/big' ? BIG : bodyFor(Number(req.url.slice(3)))));
    h = await startHarness(hcmBootstrap({ clusters: [cluster('up', [up.port])], virtualHosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'up' } }] }] }));
  });

  afterAll(async () => {
    h.close();
    await up.close();
  });

  it('a client that stops reading keeps its own bytes while other responses are written', async () => {
    const port = h.port();
    const n = 600;
    const stalled = net.connect(port, '127.0.0.1');
    stalled.pause();
    const chunks: Buffer[] = [];
    await new Promise<void>((r) => stalled.once('connect', () => r()));
    let reqs = '';
    for (let i = 0; i < n; i++) reqs += `GET /r/${i} HTTP/1.1\r\nHost: t\r\n\r\n`;
    stalled.write(reqs);
    // Let the proxy answer until the stalled socket's buffers are full and its writes pend.
    const served = () => h.counter('cluster.up.upstream_rq_completed');
    const deadline = Date.now() + 5000;
    let last = -1;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      const now = served();
      if (now === last) break;
      last = now;
    }
    expect(served()).toBeGreaterThan(20);

    // Meanwhile a second client is answered through the same write path.
    const other = net.connect(port, '127.0.0.1');
    const otherBytes: Buffer[] = [];
    other.on('data', (d: Buffer) => otherBytes.push(d));
    for (let j = 0; j < 20; j++) {
      const before = Buffer.concat(otherBytes).length;
      other.write(`GET /r/${1000 + j} HTTP/1.1\r\nHost: t\r\n\r\n`);
      while (Buffer.concat(otherBytes).length < before + BODY) await new Promise((r) => setTimeout(r, 5));
    }
    other.destroy();
    const otherBodies = splitResponses(Buffer.concat(otherBytes), 20);
    for (let j = 0; j < 20; j++) expect(otherBodies[j] === bodyFor(1000 + j)).toBe(true);

    // Now the stalled client reads everything: all 600 bodies intact and in order.
    stalled.on('data', (d: Buffer) => chunks.push(d));
    stalled.resume();
    const want = n * BODY;
    const until = Date.now() + 10000;
    while (Date.now() < until && splitResponses(Buffer.concat(chunks), n).reduce((a, b) => a + b.length, 0) < want) await new Promise((r) => setTimeout(r, 20));
    stalled.destroy();
    const bodies = splitResponses(Buffer.concat(chunks), n);
    expect(bodies.length).toBe(n);
    let wrong = 0;
    for (let i = 0; i < n; i++) if (bodies[i] !== bodyFor(i)) wrong++;
    expect(wrong).toBe(0);
  }, 30000);

  it('h2c: a large response to a slow reader resumes after backpressure (drain) and arrives whole', async () => {
    const client = http2.connect(`http://127.0.0.1:${h.port()}`);
    const req = client.request({ ':path': '/big' });
    req.pause();
    // Let the proxy fill the stream's flow-control window and buffers, then read everything.
    await new Promise((r) => setTimeout(r, 300));
    let got = 0;
    req.on('data', (d: Buffer) => (got += d.length));
    const done = new Promise<void>((r) => req.on('end', () => r()));
    req.resume();
    await done;
    client.close();
    expect(got).toBe(BIG.length);
  }, 15000);
});
