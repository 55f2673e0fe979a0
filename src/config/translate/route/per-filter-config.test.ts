// typed_per_filter_config translation: our HTTP filters' per-route messages are parsed by their
// parse halves (errors carry the field path, so the route configuration is NACKed), FilterConfig
// wrappers become disabled/isOptional, unknown types stay opaque.
import { translateRouteConfiguration } from './route-config';
import { routeConfigFromJson } from './route-fixtures';

const FAULT = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';
const RL = 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
const CORS = 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy';
const FILTER_CONFIG = 'type.googleapis.com/envoy.config.route.v3.FilterConfig';

function translate(typedPerFilterConfig: Record<string, unknown>) {
  return translateRouteConfiguration(
    routeConfigFromJson({ name: 'rc', virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' }, typed_per_filter_config: typedPerFilterConfig }] }] }),
  );
}

describe('typed_per_filter_config', () => {
  it('parses HTTPFault, LocalRateLimit and CorsPolicy with the filters\' parse halves', () => {
    const r = translate({
      'envoy.filters.http.fault': { '@type': FAULT, abort: { http_status: 418, percentage: { numerator: 100 } } },
      'envoy.filters.http.local_ratelimit': { '@type': RL, stat_prefix: 'route_rl', token_bucket: { max_tokens: 2, fill_interval: '60s' } },
      'envoy.filters.http.cors': { '@type': CORS, allow_origin_string_match: [{ exact: 'https://a.example' }], allow_methods: 'GET' },
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const m = r.value.virtualHosts[0]!.routes[0]!.typedPerFilterConfig;
    expect(m['envoy.filters.http.fault']).toMatchObject({ typeUrl: FAULT, disabled: false, parsed: { abort: { httpStatus: 418, percent: { numerator: 100, denominator: 100 } } } });
    expect(m['envoy.filters.http.local_ratelimit']!.parsed).toMatchObject({ statPrefix: 'route_rl', tokenBucket: { maxTokens: 2, tokensPerFill: 2, fillIntervalMs: 60_000 } });
    expect(m['envoy.filters.http.cors']!.parsed).toMatchObject({ allowMethods: 'GET', allowOriginStringMatch: [{ kind: 'exact', value: 'https://a.example' }] });
  });

  it('unwraps FilterConfig: disabled without config, optional with config', () => {
    const r = translate({
      'envoy.filters.http.fault': { '@type': FILTER_CONFIG, disabled: true },
      other: { '@type': FILTER_CONFIG, is_optional: true, config: { '@type': FAULT, delay: { fixed_delay: '1s', percentage: { numerator: 50 } } } },
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const m = r.value.virtualHosts[0]!.routes[0]!.typedPerFilterConfig;
    expect(m['envoy.filters.http.fault']).toEqual({ typeUrl: '', isOptional: false, disabled: true });
    expect(m.other).toMatchObject({ isOptional: true, disabled: false, parsed: { delay: { fixedDelayMs: 1000 } } });
  });

  it('rejects a bad override with its field path', () => {
    const r = translate({ 'envoy.filters.http.local_ratelimit': { '@type': RL, stat_prefix: '', token_bucket: { max_tokens: 1, fill_interval: '0.01s' } } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const paths = r.errors.map((e) => e.path);
    expect(paths.some((p) => p.endsWith('typed_per_filter_config[envoy.filters.http.local_ratelimit].stat_prefix'))).toBe(true);
    expect(paths.some((p) => p.endsWith('typed_per_filter_config[envoy.filters.http.local_ratelimit].token_bucket.fill_interval'))).toBe(true);
  });
});
