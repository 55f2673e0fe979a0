// RouteAction.hash_policy through the HCM with real loopback upstreams behind RING_HASH and
// MAGLEV clusters: the same header / cookie / query value lands on the same upstream every
// time, different values spread over the hosts, and a cookie policy with a ttl generates the
// cookie (Set-Cookie on the response) that then pins the client to one host.
import { cluster, hcmBootstrap, parseResponse, rawRequest, startHarness, upstream, type HttpHarness } from '../support/http-harness';

type Up = Awaited<ReturnType<typeof upstream>>;

describe('hash_policy with consistent-hash clusters', () => {
  const ups: Up[] = [];
  let h: HttpHarness;

  beforeAll(async () => {
    for (let i = 0; i < 5; i++) ups.push(await upstream((_q, r) => r.end(`u${i}`)));
    const ports = ups.map((u) => u.port);
    h = await startHarness(
      hcmBootstrap({
        clusters: [cluster('ring', ports, { lb_policy: 'RING_HASH' }), cluster('maglev', ports, { lb_policy: 'MAGLEV' }), cluster('rr', ports)],
        virtualHosts: [
          {
            name: 'main',
            domains: ['*'],
            routes: [
              { match: { prefix: '/header' }, route: { cluster: 'ring', hash_policy: [{ header: { header_name: 'x-user' } }] } },
              { match: { prefix: '/maglev' }, route: { cluster: 'maglev', hash_policy: [{ header: { header_name: 'x-user' } }] } },
              { match: { prefix: '/query' }, route: { cluster: 'ring', hash_policy: [{ query_parameter: { name: 'user' } }] } },
              { match: { prefix: '/cookie' }, route: { cluster: 'ring', hash_policy: [{ cookie: { name: 'sticky', ttl: '60s', path: '/cookie' } }] } },
              { match: { prefix: '/source' }, route: { cluster: 'ring', hash_policy: [{ connection_properties: { source_ip: true } }] } },
              { match: { prefix: '/rr' }, route: { cluster: 'rr', hash_policy: [{ cookie: { name: 'sticky', ttl: '60s' } }] } },
            ],
          },
        ],
      }),
    );
  });

  afterAll(async () => {
    h.close();
    await Promise.all(ups.map((u) => u.close()));
  });

  const get = async (path: string, extra = '') => parseResponse(await rawRequest(h.port(), `GET ${path} HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n${extra}\r\n`));

  async function hostsFor(path: (v: string) => string, extra: (v: string) => string, value: string, n: number): Promise<Set<string>> {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) seen.add((await get(path(value), extra(value))).body);
    return seen;
  }

  it.each([
    ['header on RING_HASH', (_v: string) => '/header', (v: string) => `x-user: ${v}\r\n`],
    ['header on MAGLEV', (_v: string) => '/maglev', (v: string) => `x-user: ${v}\r\n`],
    ['query parameter', (v: string) => `/query?a=1&user=${v}`, (_v: string) => ''],
    ['cookie sent by the client', (_v: string) => '/cookie', (v: string) => `cookie: sticky=${v}\r\n`],
  ])('%s: same value -> same upstream, different values spread', async (_name, path, extra) => {
    const all = new Set<string>();
    for (let k = 0; k < 12; k++) {
      const seen = await hostsFor(path, extra, `user-${k}`, 6);
      expect(seen.size).toBe(1);
      all.add([...seen][0]!);
    }
    expect(all.size).toBeGreaterThanOrEqual(3);
  });

  it('source_ip: one client address sticks to one upstream', async () => {
    const seen = await hostsFor(() => '/source', () => '', '', 15);
    expect(seen.size).toBe(1);
  });

  it('cookie with ttl: absent cookie is generated and set; sending it back pins the host', async () => {
    const first = await get('/cookie');
    expect(first.status).toBe(200);
    const setCookie = first.headers['set-cookie'];
    expect(setCookie).toMatch(/^sticky="[0-9a-f]{16}"; Max-Age=60; Path=\/cookie; HttpOnly$/);
    const value = /^sticky="([0-9a-f]{16})"/.exec(setCookie!)![1]!;
    for (let i = 0; i < 8; i++) {
      const r = await get('/cookie', `cookie: sticky="${value}"\r\n`);
      expect(r.body).toBe(first.body);
      expect(r.headers['set-cookie']).toBeUndefined();
    }
  });

  it('a cluster whose LB does not hash never asks for the hash (no cookie generated)', async () => {
    const r = await get('/rr');
    expect(r.status).toBe(200);
    expect(r.headers['set-cookie']).toBeUndefined();
  });
});

describe('hash_policy with retries and the previous_hosts predicate', () => {
  const ups: Up[] = [];
  const hits: number[] = [];
  let h: HttpHarness;

  beforeAll(async () => {
    // Every upstream answers 503 unless it is asked a second time for the same request id,
    // so a retry that returns to the hash's primary host fails again.
    for (let i = 0; i < 4; i++) {
      hits.push(0);
      ups.push(
        await upstream((q, r) => {
          hits[i]!++;
          if (q.headers['x-fail-host'] === `u${i}`) {
            r.statusCode = 503;
            r.end('down');
          } else r.end(`u${i}`);
        }),
      );
    }
    const ports = ups.map((u) => u.port);
    const retry = (maxAttempts: number) => ({
      retry_on: '5xx',
      num_retries: 1,
      retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }],
      host_selection_retry_max_attempts: String(maxAttempts),
    });
    h = await startHarness(
      hcmBootstrap({
        clusters: [cluster('ring', ports, { lb_policy: 'RING_HASH' }), cluster('maglev', ports, { lb_policy: 'MAGLEV' })],
        virtualHosts: [
          {
            name: 'main',
            domains: ['*'],
            routes: [
              { match: { prefix: '/ring' }, route: { cluster: 'ring', hash_policy: [{ header: { header_name: 'x-user' } }], retry_policy: retry(10) } },
              { match: { prefix: '/maglev' }, route: { cluster: 'maglev', hash_policy: [{ header: { header_name: 'x-user' } }], retry_policy: retry(10) } },
            ],
          },
        ],
      }),
    );
  });

  afterAll(async () => {
    h.close();
    await Promise.all(ups.map((u) => u.close()));
  });

  const get = async (path: string, extra = '') => parseResponse(await rawRequest(h.port(), `GET ${path} HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n${extra}\r\n`));

  it.each(['/ring', '/maglev'])('%s: the retry steps off the failing primary host to another one', async (path) => {
    // Learn the primary host for this hash, then make exactly that host fail.
    const primary = (await get(path, 'x-user: alice\r\n')).body;
    expect(primary).toMatch(/^u\d$/);
    const before = [...hits];
    const r = await get(path, `x-user: alice\r\nx-fail-host: ${primary}\r\n`);
    expect(r.status).toBe(200);
    expect(r.body).not.toBe(primary);
    const primaryIdx = Number(primary.slice(1));
    // The primary was tried once (503), another host once (200).
    expect(hits[primaryIdx]! - before[primaryIdx]!).toBe(1);
    expect(hits.reduce((a, n, i) => a + n - before[i]!, 0)).toBe(2);
  });
});
