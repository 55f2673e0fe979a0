// The HTTP connection manager in a WorkerEngine on this loop with real loopback upstreams:
// one test per route action (cluster, prefix/regex rewrite, host rewrite, redirect, direct
// response, weighted clusters, header edits, mirror), Envoy's local replies (404 NR, 503 UH/UF,
// 504 UT), retries, keep-alive reuse and pipelining, and header case preserved end to end.
import * as net from 'node:net';
import { cluster, hcmBootstrap, parseResponse, rawRequest, startHarness, upstream, type HttpHarness } from '../support/http-harness';

type Up = Awaited<ReturnType<typeof upstream>>;

describe('HTTP routing through the HCM (in-process worker)', () => {
  let a: Up;
  let b: Up;
  let mirror: Up;
  let slow: Up;
  let flaky: Up;
  let flakyCalls = 0;
  let h: HttpHarness;
  let deadPort: number;

  beforeAll(async () => {
    a = await upstream((req, res) => {
      res.setHeader('X-Upstream', 'a');
      res.setHeader('Server', 'node');
      res.end(`a:${req.method}:${req.url}:${req.body}`);
    });
    b = await upstream((_req, res) => res.end('b'));
    mirror = await upstream((_req, res) => res.end('mirror'));
    slow = await upstream((_req, res) => setTimeout(() => res.end('late'), 1500).unref());
    flaky = await upstream((_req, res) => {
      flakyCalls++;
      res.statusCode = flakyCalls % 2 === 1 ? 503 : 200;
      res.end(flakyCalls % 2 === 1 ? 'busy' : 'recovered');
    });
    const dead = net.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    deadPort = (dead.address() as net.AddressInfo).port;
    await new Promise((r) => dead.close(r));
    h = await startHarness(
      hcmBootstrap({
        clusters: [cluster('a', [a.port]), cluster('b', [b.port]), cluster('mirror', [mirror.port]), cluster('slow', [slow.port]), cluster('flaky', [flaky.port]), cluster('dead', [deadPort]), cluster('empty', [])],
        virtualHosts: [
          {
            name: 'main',
            domains: ['example.com', 'example.com:*'],
            request_headers_to_add: [{ header: { key: 'x-vh', value: '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
            response_headers_to_add: [{ header: { key: 'x-resp', value: 'edited' } }],
            routes: [
              { match: { prefix: '/direct' }, direct_response: { status: 418, body: { inline_string: 'teapot' } } },
              { match: { path: '/redirect' }, redirect: { host_redirect: 'other.example', path_redirect: '/there', response_code: 'FOUND' } },
              { match: { prefix: '/rewrite/' }, route: { cluster: 'a', prefix_rewrite: '/new/' } },
              { match: { safe_regex: { regex: '/regex/([a-z]+)' } }, route: { cluster: 'a', regex_rewrite: { pattern: { regex: '^/regex/([a-z]+)$' }, substitution: '/r/\\1' } } },
              { match: { prefix: '/host' }, route: { cluster: 'a', host_rewrite_literal: 'upstream.internal' } },
              { match: { prefix: '/weighted' }, route: { weighted_clusters: { clusters: [{ name: 'a', weight: 0 }, { name: 'b', weight: 100 }] } } },
              { match: { prefix: '/mirror' }, route: { cluster: 'a', request_mirror_policies: [{ cluster: 'mirror' }] } },
              { match: { prefix: '/slow' }, route: { cluster: 'slow', timeout: '0.3s' } },
              { match: { prefix: '/flaky' }, route: { cluster: 'flaky', retry_policy: { retry_on: '5xx', num_retries: 2, retry_back_off: { base_interval: '0.001s' } } } },
              { match: { prefix: '/noretry' }, route: { cluster: 'flaky' } },
              { match: { prefix: '/dead' }, route: { cluster: 'dead' } },
              { match: { prefix: '/empty' }, route: { cluster: 'empty' } },
              { match: { prefix: '/nocluster' }, route: { cluster: 'missing' } },
              { match: { prefix: '/' }, route: { cluster: 'a' } },
            ],
          },
        ],
      }),
    );
  });

  afterAll(async () => {
    h.close();
    await Promise.all([a.close(), b.close(), mirror.close(), slow.close(), flaky.close()]);
  });

  const get = async (path: string, extra = '') => parseResponse(await rawRequest(h.port(), `GET ${path} HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n${extra}\r\n`));

  it('forwards to the route cluster with Envoy request headers, preserving header case', async () => {
    const r = await parseResponse(await rawRequest(h.port(), 'POST /hello HTTP/1.1\r\nHost: example.com\r\nX-Mixed-Case: Yes\r\nContent-Length: 5\r\nConnection: close\r\n\r\nworld'));
    expect(r.status).toBe(200);
    expect(r.body).toBe('a:POST:/hello:world');
    expect(r.headers.server).toBe('envoy');
    expect(r.headers['x-resp']).toBe('edited');
    expect(r.headers['x-envoy-upstream-service-time']).toMatch(/^\d+$/);
    expect(r.rawHead).toContain('X-Upstream: a');
    const seen = a.seen[a.seen.length - 1]!;
    expect(seen.rawHeaders).toContain('X-Mixed-Case');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen.headers['x-envoy-expected-rq-timeout-ms']).toBe('15000');
    expect(seen.headers['x-vh']).toBe('127.0.0.1');
    expect(h.counter('http.ingress.downstream_rq_2xx')).toBeGreaterThan(0);
    expect(h.counter('cluster.a.upstream_rq_200')).toBeGreaterThan(0);
  });

  it('direct_response and redirect', async () => {
    const d = await get('/direct');
    expect(d.status).toBe(418);
    expect(d.body).toBe('teapot');
    expect(d.headers['x-resp']).toBe('edited');
    const r = await get('/redirect?q=1');
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe('http://other.example/there?q=1');
  });

  it('prefix and regex rewrites set x-envoy-original-path; host rewrite', async () => {
    expect((await get('/rewrite/x')).body).toBe('a:GET:/new/x:');
    expect(a.seen[a.seen.length - 1]!.headers['x-envoy-original-path']).toBe('/rewrite/x');
    expect((await get('/regex/abc')).body).toBe('a:GET:/r/abc:');
    await get('/host');
    expect(a.seen[a.seen.length - 1]!.headers.host).toBe('upstream.internal');
  });

  it('weighted clusters and mirroring', async () => {
    expect((await get('/weighted')).body).toBe('b');
    const before = mirror.seen.length;
    expect((await get('/mirror')).body).toBe('a:GET:/mirror:');
    for (let i = 0; i < 50 && mirror.seen.length === before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(mirror.seen[mirror.seen.length - 1]!.headers.host).toBe('example.com-shadow');
  });

  it("Envoy's local replies: 404 NR, 503 UH / UF / NC, 504 UT", async () => {
    const nr = parseResponse(await rawRequest(h.port(), 'GET / HTTP/1.1\r\nHost: unknown.host\r\nConnection: close\r\n\r\n'));
    expect(nr.status).toBe(404);
    expect(nr.body).toBe('');
    expect((await get('/empty')).body).toBe('no healthy upstream');
    const uf = await get('/dead');
    expect(uf.status).toBe(503);
    expect(uf.body).toBe('upstream connect error or disconnect/reset before headers. reset reason: connection failure');
    expect((await get('/nocluster')).status).toBe(503);
    const ut = await get('/slow');
    expect(ut.status).toBe(504);
    expect(ut.body).toBe('upstream request timeout');
    expect(h.counter('cluster.slow.upstream_rq_timeout')).toBe(1);
  });

  it('retries 5xx per retry_policy; without a policy the 503 passes through', async () => {
    flakyCalls = 0;
    const r = await get('/flaky');
    expect(r.status).toBe(200);
    expect(r.body).toBe('recovered');
    expect(h.counter('cluster.flaky.upstream_rq_retry')).toBe(1);
    flakyCalls = 0;
    expect((await get('/noretry')).status).toBe(503);
  });

  it('keep-alive and pipelining: three requests on one connection, answered in order, one upstream connection', async () => {
    const cxBefore = h.counter('cluster.b.upstream_cx_total');
    const raw = await rawRequest(h.port(), 'GET /weighted HTTP/1.1\r\nHost: example.com\r\n\r\nGET /weighted HTTP/1.1\r\nHost: example.com\r\n\r\nGET /weighted HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n');
    expect(raw.match(/HTTP\/1\.1 200 OK/g)?.length).toBe(3);
    expect(h.counter('cluster.b.upstream_cx_total') - cxBefore).toBeLessThanOrEqual(1);
  });
});
