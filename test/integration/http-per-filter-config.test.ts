// typed_per_filter_config through the HCM with a real loopback upstream: sibling routes behave
// differently because of their per-route filter configs, and the most specific level (weighted
// cluster > route > virtual host > route configuration) wins, as in Envoy.
// The HCM chain: fault (abort 503 for every request), local_ratelimit (generous bucket),
// a second local_ratelimit disabled by default (0 tokens when a route enables it), cors.
import { cluster, hcmBootstrap, parseResponse, rawRequest, startHarness, upstream, type HttpHarness } from '../support/http-harness';

const FAULT = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';
const RL = 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
const CORS_FILTER = 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors';
const CORS = 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy';
const FILTER_CONFIG = 'type.googleapis.com/envoy.config.route.v3.FilterConfig';

const disabled = { '@type': FILTER_CONFIG, disabled: true };
const abort = (status: number) => ({ '@type': FAULT, abort: { http_status: status, percentage: { numerator: 100 } } });
const bucket = (prefix: string, tokens: number) => ({
  '@type': RL,
  stat_prefix: prefix,
  token_bucket: { max_tokens: tokens, tokens_per_fill: tokens, fill_interval: '3600s' },
  filter_enabled: { runtime_key: 'e', default_value: { numerator: 100 } },
  filter_enforced: { runtime_key: 'f', default_value: { numerator: 100 } },
});

describe('typed_per_filter_config', () => {
  let up: Awaited<ReturnType<typeof upstream>>;
  let h: HttpHarness;

  beforeAll(async () => {
    up = await upstream((req, res) => res.end(`up:${req.url}`));
    h = await startHarness(
      hcmBootstrap({
        clusters: [cluster('a', [up.port]), cluster('b', [up.port])],
        httpFilters: [
          { name: 'envoy.filters.http.fault', typed_config: abort(503) },
          { name: 'envoy.filters.http.local_ratelimit', typed_config: bucket('hcm_rl', 1000) },
          { name: 'strict_rl', disabled: true, typed_config: bucket('strict_rl', 0) },
          { name: 'envoy.filters.http.cors', typed_config: { '@type': CORS_FILTER } },
        ],
        virtualHosts: [
          {
            name: 'plain',
            domains: ['plain.example'],
            routes: [
              { match: { prefix: '/faulted' }, route: { cluster: 'a' } },
              { match: { prefix: '/nofault' }, route: { cluster: 'a' }, typed_per_filter_config: { 'envoy.filters.http.fault': disabled } },
              { match: { prefix: '/teapot' }, route: { cluster: 'a' }, typed_per_filter_config: { 'envoy.filters.http.fault': abort(418) } },
              {
                match: { prefix: '/limited' },
                route: { cluster: 'a' },
                typed_per_filter_config: { 'envoy.filters.http.fault': disabled, 'envoy.filters.http.local_ratelimit': bucket('route_rl', 2) },
              },
              { match: { prefix: '/sibling' }, route: { cluster: 'a' }, typed_per_filter_config: { 'envoy.filters.http.fault': disabled } },
              { match: { prefix: '/strict' }, route: { cluster: 'a' }, typed_per_filter_config: { 'envoy.filters.http.fault': disabled, strict_rl: bucket('strict_route', 1) } },
              {
                match: { prefix: '/weighted' },
                route: {
                  weighted_clusters: {
                    clusters: [{ name: 'a', weight: 100, typed_per_filter_config: { 'envoy.filters.http.fault': abort(451) } }, { name: 'b', weight: 0 }],
                  },
                },
                typed_per_filter_config: { 'envoy.filters.http.fault': abort(418) },
              },
              {
                match: { prefix: '/cors' },
                route: { cluster: 'a' },
                typed_per_filter_config: { 'envoy.filters.http.fault': disabled, 'envoy.filters.http.cors': { '@type': CORS, allow_origin_string_match: [{ exact: 'https://ok.example' }], allow_methods: 'PUT' } },
              },
            ],
          },
          {
            name: 'quiet',
            domains: ['quiet.example'],
            typed_per_filter_config: { 'envoy.filters.http.fault': disabled },
            routes: [
              { match: { prefix: '/loud' }, route: { cluster: 'a' }, typed_per_filter_config: { 'envoy.filters.http.fault': abort(429) } },
              { match: { prefix: '/' }, route: { cluster: 'a' } },
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

  const send = async (host: string, path: string, extra = '', method = 'GET') =>
    parseResponse(await rawRequest(h.port(), `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n${extra}\r\n`));

  it('the HCM fault filter aborts; a route with FilterConfig disabled skips it', async () => {
    expect((await send('plain.example', '/faulted')).status).toBe(503);
    const r = await send('plain.example', '/nofault');
    expect(r.status).toBe(200);
    expect(r.body).toBe('up:/nofault');
  });

  it('a route HTTPFault replaces the filter config', async () => {
    expect((await send('plain.example', '/teapot')).status).toBe(418);
  });

  it('virtual host level disables, route level re-configures (most specific wins)', async () => {
    expect((await send('quiet.example', '/anything')).status).toBe(200);
    expect((await send('quiet.example', '/loud')).status).toBe(429);
  });

  it('a weighted cluster entry overrides its route', async () => {
    expect((await send('plain.example', '/weighted')).status).toBe(451);
  });

  it('a route LocalRateLimit has its own bucket; its sibling keeps the HCM bucket', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) codes.push((await send('plain.example', '/limited')).status);
    expect(codes).toEqual([200, 200, 429, 429]);
    for (let i = 0; i < 4; i++) expect((await send('plain.example', '/sibling')).status).toBe(200);
    expect(h.counter('route_rl.http_local_rate_limit.rate_limited')).toBe(2);
    expect(h.counter('hcm_rl.http_local_rate_limit.ok')).toBeGreaterThanOrEqual(4);
  });

  it('a filter disabled in the HCM runs only where a route enables it', async () => {
    // strict_rl (0 tokens) is off everywhere else: /sibling passed above. The route's config
    // enables it with one token.
    expect((await send('plain.example', '/strict')).status).toBe(200);
    expect((await send('plain.example', '/strict')).status).toBe(429);
    expect(h.counter('strict_rl.http_local_rate_limit.enabled')).toBe(0);
  });

  it('a route CorsPolicy answers preflights for its origins', async () => {
    const ok = await send('plain.example', '/cors', 'Origin: https://ok.example\r\nAccess-Control-Request-Method: PUT\r\n', 'OPTIONS');
    expect(ok.status).toBe(200);
    expect(ok.headers['access-control-allow-origin']).toBe('https://ok.example');
    expect(ok.headers['access-control-allow-methods']).toBe('PUT');
    const other = await send('plain.example', '/cors', 'Origin: https://evil.example\r\n');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});
