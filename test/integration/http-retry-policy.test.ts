// Retry conditions beyond status codes, through the HCM with a real loopback upstream:
// retriable-headers (route matchers and x-envoy-retriable-header-names), the gRPC conditions on
// trailers-only responses (retry_on and x-envoy-retry-grpc-on), retriable_request_headers,
// x-envoy-retry-on / x-envoy-max-retries / x-envoy-retriable-status-codes on routes without a
// policy, and x-envoy-upstream-rq-timeout-ms. None of the x-envoy-* request headers reach the
// upstream.
import { cluster, hcmBootstrap, parseResponse, rawRequest, startHarness, upstream, type HttpHarness, type SeenRequest } from '../support/http-harness';

type Up = Awaited<ReturnType<typeof upstream>>;

describe('retry policy: headers, gRPC conditions and request-header control', () => {
  let up: Up;
  let h: HttpHarness;
  /** Attempts per x-test-id. */
  const attempts = new Map<string, number>();

  beforeAll(async () => {
    // The upstream fails the first `x-fail-times` attempts of each x-test-id in the way
    // `x-fail-how` says, then answers 200 "ok <attempt>".
    up = await upstream((req: SeenRequest, res) => {
      const id = String(req.headers['x-test-id']);
      const n = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, n);
      const failTimes = Number(req.headers['x-fail-times'] ?? 0);
      const how = String(req.headers['x-fail-how'] ?? '503');
      if (n <= failTimes) {
        if (how === 'header') {
          res.setHeader('x-upstream-retry', 'please');
          res.end(`soft-fail ${n}`);
        } else if (how.startsWith('grpc-')) {
          res.setHeader('content-type', 'application/grpc');
          res.setHeader('grpc-status', how.slice(5));
          res.end();
        } else if (how === 'slow') {
          setTimeout(() => res.end('late'), 1000).unref();
        } else {
          res.statusCode = Number(how);
          res.end(`fail ${n}`);
        }
        return;
      }
      if (how.startsWith('grpc-')) {
        res.setHeader('content-type', 'application/grpc');
        res.setHeader('grpc-status', '0');
      }
      res.end(`ok ${n}`);
    });
    const backoff = { base_interval: '0.001s' };
    h = await startHarness(
      hcmBootstrap({
        clusters: [cluster('up', [up.port])],
        // Loopback clients without XFF are internal with use_remote_address, so Envoy honours
        // their x-envoy-* control headers (external requests have them stripped by the HCM).
        hcm: { use_remote_address: true },
        virtualHosts: [
          {
            name: 'main',
            domains: ['*'],
            routes: [
              {
                match: { prefix: '/headers' },
                route: { cluster: 'up', retry_policy: { retry_on: 'retriable-headers', num_retries: 2, retry_back_off: backoff, retriable_headers: [{ name: 'x-upstream-retry', string_match: { exact: 'please' } }] } },
              },
              { match: { prefix: '/grpc' }, route: { cluster: 'up', retry_policy: { retry_on: 'unavailable,resource-exhausted', num_retries: 3, retry_back_off: backoff } } },
              {
                match: { prefix: '/idempotent' },
                route: { cluster: 'up', retry_policy: { retry_on: '5xx', num_retries: 2, retry_back_off: backoff, retriable_request_headers: [{ name: ':method', string_match: { exact: 'GET' } }] } },
              },
              { match: { prefix: '/nopolicy' }, route: { cluster: 'up' } },
              { match: { prefix: '/codes' }, route: { cluster: 'up', retry_policy: { retry_on: 'retriable-status-codes', num_retries: 2, retry_back_off: backoff } } },
            ],
          },
        ],
      }),
    );
  });

  afterAll(async () => {
    h.close();
    await up.close();
  });

  let seq = 0;
  async function send(path: string, failTimes: number, how: string, extra = '', method = 'GET'): Promise<{ status: number; body: string; headers: Record<string, string>; attempts: number }> {
    const id = `t${++seq}`;
    const r = parseResponse(
      await rawRequest(h.port(), `${method} ${path} HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\nContent-Length: 0\r\nx-test-id: ${id}\r\nx-fail-times: ${failTimes}\r\nx-fail-how: ${how}\r\n${extra}\r\n`),
    );
    return { status: r.status, body: r.body, headers: r.headers, attempts: attempts.get(id) ?? 0 };
  }

  it('retriable-headers: a matching upstream response header is retried', async () => {
    const r = await send('/headers', 1, 'header');
    expect(r.body).toBe('ok 2');
    expect(r.attempts).toBe(2);
  });

  it('x-envoy-retriable-header-names adds header names to retry on', async () => {
    const without = await send('/nopolicy', 1, 'header', 'x-envoy-retry-on: retriable-headers\r\n');
    expect(without.body).toBe('soft-fail 1');
    const r = await send('/nopolicy', 1, 'header', 'x-envoy-retry-on: retriable-headers\r\nx-envoy-retriable-header-names: x-other, X-Upstream-Retry\r\n');
    expect(r.body).toBe('ok 2');
  });

  it.each([
    ['14', true],
    ['8', true],
    ['13', false],
    ['1', false],
  ])('gRPC retry_on unavailable,resource-exhausted: grpc-status %s retried=%s', async (code, retried) => {
    const r = await send('/grpc', 1, `grpc-${code}`);
    expect(r.attempts).toBe(retried ? 2 : 1);
    expect(r.headers['grpc-status']).toBe(retried ? '0' : code);
  });

  it('x-envoy-retry-grpc-on enables gRPC conditions on a route without a policy', async () => {
    const r = await send('/nopolicy', 1, 'grpc-1', 'x-envoy-retry-grpc-on: cancelled\r\n');
    expect(r.attempts).toBe(2);
    expect(r.headers['grpc-status']).toBe('0');
  });

  it('retriable_request_headers: only matching requests are retried', async () => {
    const get = await send('/idempotent', 1, '503');
    expect(get.status).toBe(200);
    expect(get.attempts).toBe(2);
    const post = await send('/idempotent', 1, '503', '', 'POST');
    expect(post.status).toBe(503);
    expect(post.attempts).toBe(1);
  });

  it('x-envoy-retry-on on a route without a policy retries once by default; x-envoy-max-retries raises it', async () => {
    expect((await send('/nopolicy', 1, '503')).attempts).toBe(1);
    const once = await send('/nopolicy', 2, '503', 'x-envoy-retry-on: 5xx\r\n');
    expect(once.status).toBe(503);
    expect(once.attempts).toBe(2);
    const more = await send('/nopolicy', 2, '503', 'x-envoy-retry-on: 5xx\r\nx-envoy-max-retries: 3\r\n');
    expect(more.status).toBe(200);
    expect(more.attempts).toBe(3);
  });

  it('x-envoy-retriable-status-codes extends retriable-status-codes', async () => {
    expect((await send('/codes', 1, '418')).status).toBe(418);
    const r = await send('/codes', 1, '418', 'x-envoy-retriable-status-codes: 404,418\r\n');
    expect(r.status).toBe(200);
    expect(r.attempts).toBe(2);
  });

  it('x-envoy-upstream-rq-timeout-ms overrides the route timeout', async () => {
    const t0 = Date.now();
    const r = await send('/nopolicy', 1, 'slow', 'x-envoy-upstream-rq-timeout-ms: 150\r\n');
    expect(r.status).toBe(504);
    expect(Date.now() - t0).toBeLessThan(900);
  });

  it('retry control headers are consumed, not forwarded', async () => {
    await send('/nopolicy', 0, '503', 'x-envoy-retry-on: 5xx\r\nx-envoy-max-retries: 2\r\nx-envoy-retry-grpc-on: cancelled\r\nx-envoy-retriable-status-codes: 418\r\nx-envoy-retriable-header-names: a\r\nx-envoy-upstream-rq-timeout-ms: 5000\r\n');
    const seen = up.seen[up.seen.length - 1]!.headers;
    for (const n of ['x-envoy-retry-on', 'x-envoy-max-retries', 'x-envoy-retry-grpc-on', 'x-envoy-retriable-status-codes', 'x-envoy-retriable-header-names', 'x-envoy-upstream-rq-timeout-ms']) expect(seen[n]).toBeUndefined();
    expect(seen['x-envoy-expected-rq-timeout-ms']).toBe('5000');
  });
});
