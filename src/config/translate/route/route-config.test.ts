// Table tests for translateRouteConfiguration: proto3 JSON fixtures in (as in Envoy docs),
// model values or exact field-path errors out.
import { translateRouteConfiguration } from './route-config';
import { routeConfigFromJson } from './route-fixtures';
import type { ConfigError } from '../../../common/result';

function errorsOf(json: Record<string, unknown>): ConfigError[] {
  const r = translateRouteConfiguration(routeConfigFromJson(json));
  return r.ok ? [] : [...r.errors];
}

const vh = (extra: Record<string, unknown>, routes: unknown[] = [{ match: { prefix: '/' }, route: { cluster: 'c' } }]) => ({
  name: 'vh',
  domains: ['*'],
  routes,
  ...extra,
});

describe('translateRouteConfiguration: accepted values', () => {
  test('defaults and conversions', () => {
    const r = translateRouteConfiguration(
      routeConfigFromJson({
        name: 'rc',
        virtual_hosts: [
          vh({ domains: ['Foo.COM'], require_tls: 'ALL' }, [
            {
              name: 'r0',
              match: { safe_regex: { regex: '/a/[0-9]+' }, case_sensitive: false, headers: [{ name: 'X-Ver', exact_match: 'v1' }] },
              route: {
                weighted_clusters: { clusters: [{ name: 'a', weight: 30 }, { name: 'b', weight: 70 }] },
                timeout: '2.5s',
                retry_policy: { retry_on: '5xx, reset', retry_back_off: { base_interval: '0.1s' } },
              },
              request_headers_to_add: [{ header: { key: 'X-Client', value: '%DOWNSTREAM_REMOTE_ADDRESS%' }, append: false }],
            },
            { match: { path: '/r' }, redirect: { https_redirect: true, response_code: 'PERMANENT_REDIRECT' } },
            { match: { prefix: '/d' }, direct_response: { status: 503, body: { inline_string: 'down' } } },
          ]),
        ],
      }),
    );
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const v = r.value.virtualHosts[0]!;
    expect(v.domains).toEqual(['foo.com']);
    expect(v.requireTls).toBe('ALL');
    expect(r.value.maxDirectResponseBodySizeBytes).toBe(4096);
    const r0 = v.routes[0]!;
    expect(r0.match).toMatchObject({ path: { kind: 'safe_regex', regex: '/a/[0-9]+' }, caseSensitive: false, headers: [{ name: 'x-ver', match: { kind: 'exact', value: 'v1' } }] });
    if (r0.action.kind !== 'route') throw new Error('kind');
    expect(r0.action.route.timeoutMs).toBe(2500);
    expect(r0.action.route.clusterSpecifier).toMatchObject({ kind: 'weighted_clusters', weighted: { totalWeight: 100 } });
    expect(r0.action.route.retryPolicy).toMatchObject({ retryOn: ['5xx', 'reset'], numRetries: 1, retryBackOff: { baseIntervalMs: 100, maxIntervalMs: 1000 } });
    expect(r0.headerEdits.requestHeadersToAdd[0]).toMatchObject({ name: 'x-client', appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD', format: [{ kind: 'command', name: 'DOWNSTREAM_REMOTE_ADDRESS' }] });
    expect(v.routes[1]!.action).toEqual({ kind: 'redirect', redirect: { scheme: 'https', host: '', port: 0, responseCode: 308, stripQuery: false } });
    expect(v.routes[2]!.action).toEqual({ kind: 'direct_response', directResponse: { status: 503, body: new Uint8Array(Buffer.from('down')) } });
  });
});

describe('translateRouteConfiguration: errors with field paths', () => {
  test.each<[string, Record<string, unknown>, ConfigError[]]>([
    [
      'invalid regex (RE2 has no lookahead)',
      { virtual_hosts: [vh({}, [{ match: { safe_regex: { regex: '(?=x)' } }, route: { cluster: 'c' } }])] },
      [{ path: 'virtual_hosts[0].routes[0].match.safe_regex.regex', reason: expect.stringContaining('invalid regex') }],
    ],
    [
      'duplicate domains across virtual hosts, case-insensitive',
      { name: 'rc', virtual_hosts: [vh({ name: 'a', domains: ['a.com'] }), vh({ name: 'b', domains: ['A.com'] })] },
      [{ path: 'virtual_hosts[1].domains[0]', reason: 'only unique values for domains are permitted. Duplicate entry of domain a.com in route rc' }],
    ],
    [
      'two default virtual hosts',
      { name: 'rc', virtual_hosts: [vh({ name: 'a' }), vh({ name: 'b' })] },
      [{ path: 'virtual_hosts[1].domains[0]', reason: 'only a single wildcard domain is permitted in route rc' }],
    ],
    [
      'empty weighted clusters',
      { virtual_hosts: [vh({}, [{ match: { prefix: '/' }, route: { weighted_clusters: { clusters: [] } } }])] },
      [{ path: 'virtual_hosts[0].routes[0].route.weighted_clusters.clusters', reason: 'value must contain at least 1 item(s)' }],
    ],
    [
      'weights do not sum to total_weight',
      { virtual_hosts: [vh({}, [{ match: { prefix: '/' }, route: { weighted_clusters: { total_weight: 100, clusters: [{ name: 'a', weight: 30 }, { name: 'b', weight: 30 }] } } }])] },
      [{ path: 'virtual_hosts[0].routes[0].route.weighted_clusters.total_weight', reason: 'sum of weights in the weighted_cluster (60) must equal total_weight (100)' }],
    ],
    [
      'bad header names in edits',
      {
        request_headers_to_add: [{ header: { key: 'bad name', value: 'x' } }],
        response_headers_to_remove: [':status'],
        virtual_hosts: [vh({ request_headers_to_add: [{ header: { key: 'Host', value: 'x' } }] })],
      },
      [
        { path: 'virtual_hosts[0].request_headers_to_add[0].header.key', reason: ":-prefixed or host headers may not be modified ('Host')" },
        { path: 'request_headers_to_add[0].header.key', reason: "invalid header name 'bad name': only RFC 9110 token characters are allowed" },
        { path: 'response_headers_to_remove[0]', reason: ":-prefixed or host headers may not be removed (':status')" },
      ],
    ],
    [
      'unknown header format command',
      { virtual_hosts: [vh({ response_headers_to_add: [{ header: { key: 'x', value: '%BOGUS%' } }] })] },
      [{ path: 'virtual_hosts[0].response_headers_to_add[0].header.value', reason: "invalid header value format '%BOGUS%': unsupported command %BOGUS%" }],
    ],
    [
      'append and append_action together',
      { virtual_hosts: [vh({ request_headers_to_add: [{ header: { key: 'x', value: 'v' }, append: true, append_action: 'ADD_IF_ABSENT' }] })] },
      [{ path: 'virtual_hosts[0].request_headers_to_add[0]', reason: 'both append and append_action are set and it is not allowed' }],
    ],
    [
      'prefix_rewrite with regex_rewrite, missing action, missing path specifier',
      {
        virtual_hosts: [
          vh({}, [
            { match: { prefix: '/' }, route: { cluster: 'c', prefix_rewrite: '/x', regex_rewrite: { pattern: { regex: 'a' }, substitution: 'b' } } },
            { match: { prefix: '/' } },
            { match: {}, route: { cluster: 'c' } },
          ]),
        ],
      },
      [
        { path: 'virtual_hosts[0].routes[0].route.regex_rewrite', reason: 'cannot specify both prefix_rewrite and regex_rewrite' },
        { path: 'virtual_hosts[0].routes[1].action', reason: 'one of route, redirect, direct_response or non_forwarding_action is required' },
        { path: 'virtual_hosts[0].routes[2].match.path_specifier', reason: 'one of prefix, path, safe_regex, path_separated_prefix or connect_matcher is required' },
      ],
    ],
    [
      'substitution references a missing group; direct response too large; retry back-off max < base',
      {
        max_direct_response_body_size_bytes: 2,
        virtual_hosts: [
          vh({ retry_policy: { retry_back_off: { base_interval: '1s', max_interval: '0.5s' } } }, [
            { match: { prefix: '/' }, route: { cluster: 'c', regex_rewrite: { pattern: { regex: '^/(a)$' }, substitution: '\\2' } } },
            { match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: 'abc' } } },
          ]),
        ],
      },
      [
        { path: 'virtual_hosts[0].routes[0].route.regex_rewrite.substitution', reason: 'substitution references group \\2 but the pattern has 1 capture group(s)' },
        { path: 'virtual_hosts[0].routes[1].direct_response.body', reason: 'response body size is 3 bytes; maximum is 2' },
        { path: 'virtual_hosts[0].retry_policy.retry_back_off.max_interval', reason: 'max_interval must be greater than or equal to the base_interval' },
      ],
    ],
    [
      'path_separated_prefix ending in slash; empty domains',
      { virtual_hosts: [vh({ domains: [] }, [{ match: { path_separated_prefix: '/a/' }, route: { cluster: 'c' } }])] },
      [
        { path: 'virtual_hosts[0].domains', reason: 'value must contain at least 1 item(s)' },
        { path: 'virtual_hosts[0].routes[0].match.path_separated_prefix', reason: "'/a/' must not be empty, contain '?' or '#', or end with '/'" },
      ],
    ],
  ])('%s', (_name, json, expected) => {
    expect(errorsOf(json)).toEqual(expected);
  });

  test('result is structured-clone safe', () => {
    const r = translateRouteConfiguration(routeConfigFromJson({ virtual_hosts: [vh({})] }));
    expect(r.ok && structuredClone(r.value)).toEqual(r.ok && r.value);
  });
});
