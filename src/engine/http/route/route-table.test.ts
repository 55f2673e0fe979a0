// Table-driven tests of the compiled route table against Envoy's documented behaviour: virtual
// host domain search order (VirtualHost.domains docs), route order and path matchers
// (RouteMatch docs), HeaderMatcher and QueryParameterMatcher semantics, runtime fractions,
// weighted clusters, require_tls, rewrites and redirects.
import type { HeaderMatcherConfig } from '../../../config/model/matchers';
import type { RouteConfig, RouteConfigurationConfig, RouteMatchConfig, VirtualHostConfig, RouteActionConfig } from '../../../config/model/route';
import { compileRouteTable } from './route-table';
import type { RouteRequest } from './route-request';

const NO_EDITS = { requestHeadersToAdd: [], requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [] };

function action(cluster: string, extra: Partial<RouteActionConfig> = {}): RouteConfig['action'] {
  return {
    kind: 'route',
    route: {
      clusterSpecifier: { kind: 'cluster', name: cluster },
      clusterNotFoundResponseCode: 'SERVICE_UNAVAILABLE',
      appendXForwardedHost: false,
      timeoutMs: 15000,
      requestMirrorPolicies: [],
      priority: 'DEFAULT',
      hashPolicy: [],
      upgradeConfigs: [],
      internalRedirectAction: 'PASS_THROUGH_INTERNAL_REDIRECT',
      ...extra,
    },
  };
}

function route(match: Partial<RouteMatchConfig>, act: RouteConfig['action'], name = ''): RouteConfig {
  return {
    name,
    match: { path: { kind: 'prefix', prefix: '/' }, caseSensitive: true, headers: [], queryParameters: [], grpc: false, ...match },
    action: act,
    metadata: {},
    headerEdits: NO_EDITS,
    typedPerFilterConfig: {},
    statPrefix: '',
  };
}

function vhost(name: string, domains: string[], routes: RouteConfig[], extra: Partial<VirtualHostConfig> = {}): VirtualHostConfig {
  return {
    name,
    domains,
    routes,
    requireTls: 'NONE',
    headerEdits: NO_EDITS,
    includeRequestAttemptCount: false,
    includeAttemptCountInResponse: false,
    requestMirrorPolicies: [],
    metadata: {},
    typedPerFilterConfig: {},
    ...extra,
  };
}

function table(vhs: VirtualHostConfig[], extra: Partial<RouteConfigurationConfig> = {}): RouteConfigurationConfig {
  return {
    name: 't',
    virtualHosts: vhs,
    headerEdits: NO_EDITS,
    internalOnlyHeaders: [],
    mostSpecificHeaderMutationsWins: false,
    maxDirectResponseBodySizeBytes: 4096,
    ignorePortInHostMatching: false,
    ignorePathParametersInPathMatching: false,
    requestMirrorPolicies: [],
    typedPerFilterConfig: {},
    metadata: {},
    ...extra,
  };
}

class Req implements RouteRequest {
  readonly method: string;
  readonly authority: string;
  readonly path: string;
  readonly scheme: string;
  readonly random: number;
  private readonly headers: Record<string, string>;
  constructor(o: { method?: string; authority?: string; path?: string; scheme?: string; random?: number; headers?: Record<string, string> }) {
    this.method = o.method ?? 'GET';
    this.authority = o.authority ?? 'example.com';
    this.path = o.path ?? '/';
    this.scheme = o.scheme ?? 'http';
    this.random = o.random ?? 0;
    this.headers = o.headers ?? {};
  }
  header(name: string): string | undefined {
    return this.headers[name];
  }
}

describe('virtual host selection (Envoy VirtualHost.domains search order)', () => {
  const t = compileRouteTable(
    table([
      vhost('exact', ['www.foo.com'], [route({}, action('exact'))]),
      vhost('suffix-long', ['*-bar.foo.com'], [route({}, action('suffix-long'))]),
      vhost('suffix', ['*.foo.com'], [route({}, action('suffix'))]),
      vhost('prefix-long', ['foo-bar.*'], [route({}, action('prefix-long'))]),
      vhost('prefix', ['foo.*'], [route({}, action('prefix'))]),
      vhost('with-port', ['ported.com:8080'], [route({}, action('with-port'))]),
      vhost('default', ['*'], [route({}, action('default'))]),
    ]),
  );
  test.each([
    ['www.foo.com', 'exact'],
    ['WWW.Foo.COM', 'exact'],
    ['baz-bar.foo.com', 'suffix-long'],
    ['a.foo.com', 'suffix'],
    ['-bar.foo.com', 'suffix'], // wildcard must match at least one character
    ['.foo.com', 'default'],
    ['foo-bar.org', 'prefix-long'],
    ['foo.org', 'prefix'],
    ['foo.', 'default'],
    ['www.foo.com:80', 'default'], // port is part of the host unless ignore_port_in_host_matching
    ['ported.com:8080', 'with-port'],
    ['ported.com', 'default'],
    ['other.org', 'default'],
  ])('%s -> %s', (authority, expected) => {
    expect(t.route(new Req({ authority }))?.cluster).toBe(expected);
  });

  test('ignore_port_in_host_matching strips the port, IPv6 brackets kept', () => {
    const t2 = compileRouteTable(
      table([vhost('a', ['a.com', '[::1]'], [route({}, action('a'))]), vhost('d', ['*'], [route({}, action('d'))])], { ignorePortInHostMatching: true }),
    );
    expect(t2.route(new Req({ authority: 'a.com:9080' }))?.cluster).toBe('a');
    expect(t2.route(new Req({ authority: '[::1]:80' }))?.cluster).toBe('a');
    expect(t2.route(new Req({ authority: '[::1]' }))?.cluster).toBe('a');
  });

  test('no matching host and no default -> null; missing authority -> null', () => {
    const t3 = compileRouteTable(table([vhost('a', ['a.com'], [route({}, action('a'))])]));
    expect(t3.route(new Req({ authority: 'b.com' }))).toBeNull();
    expect(t3.route(new Req({ authority: '' }))).toBeNull();
  });
});

describe('route matching', () => {
  const h = (name: string, match: HeaderMatcherConfig['match'], invertMatch = false, treatMissingHeaderAsEmpty = false): HeaderMatcherConfig => ({
    name,
    match,
    invertMatch,
    treatMissingHeaderAsEmpty,
  });
  const t = compileRouteTable(
    table([
      vhost('v', ['*'], [
        route({ path: { kind: 'path', path: '/exact' } }, action('path')),
        route({ path: { kind: 'prefix', prefix: '/CI/' }, caseSensitive: false }, action('prefix-ci')),
        route({ path: { kind: 'safe_regex', regex: '/re/[0-9]+' } }, action('regex')),
        route({ path: { kind: 'path_separated_prefix', prefix: '/sep' } }, action('separated')),
        route({ path: { kind: 'prefix', prefix: '/hdr' }, headers: [h('x-exact', { kind: 'exact', value: 'v1' })] }, action('hdr-exact')),
        route({ path: { kind: 'prefix', prefix: '/hdr' }, headers: [h('x-range', { kind: 'range', start: 10, end: 20 })] }, action('hdr-range')),
        route({ path: { kind: 'prefix', prefix: '/hdr' }, headers: [h('x-absent', { kind: 'present', present: true }, true)] }, action('hdr-absent')),
        route({ path: { kind: 'prefix', prefix: '/h2' }, headers: [h('x-s', { kind: 'string_match', matcher: { kind: 'suffix', value: 'END', ignoreCase: true } })] }, action('hdr-suffix-ic')),
        route({ path: { kind: 'prefix', prefix: '/h2' }, headers: [h('x-m', { kind: 'exact', value: '' }, false, true)] }, action('hdr-missing-empty')),
        route({ path: { kind: 'prefix', prefix: '/h2' }, headers: [h(':method', { kind: 'exact', value: 'POST' })] }, action('hdr-method')),
        route({ path: { kind: 'prefix', prefix: '/q' }, queryParameters: [{ name: 'debug', match: { kind: 'string_match', matcher: { kind: 'exact', value: '1', ignoreCase: false } } }] }, action('q-debug')),
        route({ path: { kind: 'prefix', prefix: '/q' }, queryParameters: [{ name: 'flag', match: { kind: 'present', present: true } }] }, action('q-flag')),
        route({ path: { kind: 'prefix', prefix: '/q' }, queryParameters: [{ name: 'flag', match: { kind: 'present', present: false } }] }, action('q-noflag')),
        route({ path: { kind: 'prefix', prefix: '/svc.' }, grpc: true }, action('grpc')),
        route({ path: { kind: 'prefix', prefix: '/canary' }, runtimeFraction: { defaultValue: { numerator: 25, denominator: 100 }, runtimeKey: 'k' } }, action('canary')),
        route({ path: { kind: 'connect_matcher' } }, action('connect')),
        route({ path: { kind: 'prefix', prefix: '' } }, action('catch-all')),
      ]),
    ]),
  );
  test.each<[string, ConstructorParameters<typeof Req>[0], string]>([
    ['path exact', { path: '/exact' }, 'path'],
    ['path exact ignores query', { path: '/exact?x=1' }, 'path'],
    ['path exact is not prefix', { path: '/exact/more' }, 'catch-all'],
    ['case-insensitive prefix', { path: '/ci/abc' }, 'prefix-ci'],
    ['regex full match', { path: '/re/123?q' }, 'regex'],
    ['regex is anchored', { path: '/re/123x' }, 'catch-all'],
    ['separated prefix exact', { path: '/sep' }, 'separated'],
    ['separated prefix with slash', { path: '/sep/x' }, 'separated'],
    ['separated prefix with query', { path: '/sep?x' }, 'separated'],
    ['separated prefix needs boundary', { path: '/separate' }, 'catch-all'],
    ['header exact', { path: '/hdr', headers: { 'x-exact': 'v1' } }, 'hdr-exact'],
    ['header range in', { path: '/hdr', headers: { 'x-range': '15', 'x-absent': '1' } }, 'hdr-range'],
    ['header range end exclusive', { path: '/hdr', headers: { 'x-range': '20', 'x-absent': '1' } }, 'catch-all'],
    ['header range not a number', { path: '/hdr', headers: { 'x-range': '1x', 'x-absent': '1' } }, 'catch-all'],
    ['inverted present matches missing header', { path: '/hdr' }, 'hdr-absent'],
    ['string_match suffix ignore_case', { path: '/h2', headers: { 'x-s': 'the-end' } }, 'hdr-suffix-ic'],
    ['treat_missing_header_as_empty', { path: '/h2' }, 'hdr-missing-empty'],
    ['query exact', { path: '/q?a=b&debug=1' }, 'q-debug'],
    ['query present (bare key)', { path: '/q?flag' }, 'q-flag'],
    ['query absent', { path: '/q?other=1' }, 'q-noflag'],
    ['query value not decoded', { path: '/q?debug=%31' }, 'q-noflag'],
    ['grpc', { path: '/svc.Foo/Bar', headers: { 'content-type': 'application/grpc+proto' } }, 'grpc'],
    ['grpc-web is not grpc', { path: '/svc.Foo/Bar', headers: { 'content-type': 'application/grpc-web' } }, 'catch-all'],
    ['runtime fraction in (24 % 100 < 25)', { path: '/canary', random: 124 }, 'canary'],
    ['runtime fraction out (25 % 100)', { path: '/canary', random: 25 }, 'catch-all'],
    ['CONNECT without path', { method: 'CONNECT', path: '' }, 'connect'],
  ])('%s', (_name, req, expected) => {
    expect(t.route(new Req(req))?.cluster).toBe(expected);
  });

  test('no route -> null', () => {
    const t2 = compileRouteTable(table([vhost('v', ['*'], [route({ path: { kind: 'prefix', prefix: '/a' } }, action('a'))])]));
    expect(t2.route(new Req({ path: '/b' }))).toBeNull();
  });
});

describe('actions', () => {
  test('weighted clusters follow cumulative weights over random % total', () => {
    const t = compileRouteTable(
      table([
        vhost('v', ['*'], [
          route({}, {
            kind: 'route',
            route: {
              ...(action('x') as { route: RouteActionConfig }).route,
              clusterSpecifier: {
                kind: 'weighted_clusters',
                weighted: {
                  totalWeight: 100,
                  runtimeKeyPrefix: '',
                  clusters: [
                    { name: 'a', clusterHeader: '', weight: 10, headerEdits: NO_EDITS, typedPerFilterConfig: {} },
                    { name: 'b', clusterHeader: '', weight: 0, headerEdits: NO_EDITS, typedPerFilterConfig: {} },
                    { name: 'c', clusterHeader: '', weight: 90, headerEdits: NO_EDITS, typedPerFilterConfig: {} },
                  ],
                },
              },
            },
          }),
        ]),
      ]),
    );
    const pick = (random: number): string | undefined => t.route(new Req({ random }))?.cluster;
    expect([pick(0), pick(9), pick(10), pick(99), pick(100), pick(209), pick(250)]).toEqual(['a', 'a', 'c', 'c', 'a', 'a', 'c']);
    let a = 0;
    for (let r = 0; r < 10000; r++) if (pick(r) === 'a') a++;
    expect(a).toBe(1000);
  });

  test('cluster_header reads the request header; missing -> empty cluster', () => {
    const t = compileRouteTable(table([vhost('v', ['*'], [route({}, { ...action('x'), route: { ...(action('x') as { route: RouteActionConfig }).route, clusterSpecifier: { kind: 'cluster_header', header: 'x-cluster' } } } as RouteConfig['action'])])]));
    expect(t.route(new Req({ headers: { 'x-cluster': 'picked' } }))?.cluster).toBe('picked');
    expect(t.route(new Req({}))?.cluster).toBe('');
  });

  test('prefix_rewrite and regex_rewrite keep the query string', () => {
    const t = compileRouteTable(
      table([
        vhost('v', ['*'], [
          route({ path: { kind: 'prefix', prefix: '/api/' } }, action('api', { pathRewrite: { kind: 'prefix', prefix: '/' } })),
          route({ path: { kind: 'prefix', prefix: '/v1' } }, action('re', { pathRewrite: { kind: 'regex', rewrite: { pattern: '^/v1/([^/]+)/(.*)$', substitution: '/\\2/\\1' } } })),
        ]),
      ]),
    );
    expect(t.route(new Req({ path: '/api/users?id=1' }))!.upstreamPath('/api/users?id=1')).toBe('/users?id=1');
    expect(t.route(new Req({ path: '/v1/a/b/c?z' }))!.upstreamPath('/v1/a/b/c?z')).toBe('/b/c/a?z');
  });

  test('redirects (Envoy newUri)', () => {
    const redir = (r: Partial<import('../../../config/model/route').RedirectActionConfig>): RouteConfig['action'] => ({
      kind: 'redirect',
      redirect: { host: '', port: 0, responseCode: 301, stripQuery: false, ...r },
    });
    const t = compileRouteTable(
      table([
        vhost('v', ['*'], [
          route({ path: { kind: 'prefix', prefix: '/https' } }, redir({ scheme: 'https' })),
          route({ path: { kind: 'prefix', prefix: '/old/' } }, redir({ path: { kind: 'prefix', prefix: '/new/' }, stripQuery: true })),
          route({ path: { kind: 'prefix', prefix: '/p' } }, redir({ host: 'h.example', port: 8443, path: { kind: 'path', path: '/landing' } })),
          route({ path: { kind: 'prefix', prefix: '/q' } }, redir({ path: { kind: 'path', path: '/landing?from=q' }, stripQuery: true })),
        ]),
      ]),
    );
    const loc = (path: string, authority = 'foo.com:80'): string => {
      const req = new Req({ path, authority });
      return t.route(req)!.redirectLocation(req);
    };
    expect(loc('/https/x?a=1')).toBe('https://foo.com/https/x?a=1');
    expect(loc('/https/x', 'foo.com:8080')).toBe('https://foo.com:8080/https/x');
    expect(loc('/old/page?a=1')).toBe('http://foo.com:80/new/page');
    expect(loc('/p/x?a=1')).toBe('http://h.example:8443/landing?a=1');
    expect(loc('/q?a=1')).toBe('http://foo.com:80/landing?from=q');
  });

  test('require_tls ALL answers with a 301 to https; EXTERNAL_ONLY lets x-envoy-internal through', () => {
    const t = compileRouteTable(
      table([vhost('all', ['all.com'], [route({}, action('a'))], { requireTls: 'ALL' }), vhost('ext', ['ext.com'], [route({}, action('e'))], { requireTls: 'EXTERNAL_ONLY' })]),
    );
    const m = t.route(new Req({ authority: 'all.com', path: '/x' }))!;
    expect(m.route.actionKind).toBe('redirect');
    expect(m.route.redirect!.responseCode).toBe(301);
    expect(m.redirectLocation(new Req({ authority: 'all.com', path: '/x' }))).toBe('https://all.com/x');
    expect(t.route(new Req({ authority: 'all.com', scheme: 'https' }))?.cluster).toBe('a');
    expect(t.route(new Req({ authority: 'ext.com' }))?.route.actionKind).toBe('redirect');
    expect(t.route(new Req({ authority: 'ext.com', headers: { 'x-envoy-internal': 'true' } }))?.cluster).toBe('e');
  });

  test('route retry policy replaces the virtual host one; mirror policies most specific non-empty', () => {
    const rp = { retryOn: ['5xx'], numRetries: 3, retryHostPredicates: [], hostSelectionRetryMaxAttempts: 1, retriableStatusCodes: [], retriableHeaders: [], retriableRequestHeaders: [] };
    const t = compileRouteTable(
      table(
        [
          vhost('v', ['*'], [route({ path: { kind: 'prefix', prefix: '/own' } }, action('a', { retryPolicy: { ...rp, numRetries: 5 } })), route({}, action('b'))], {
            retryPolicy: rp,
            requestMirrorPolicies: [{ cluster: 'vh-mirror', clusterHeader: '', disableShadowHostSuffixAppend: false }],
          }),
        ],
        { requestMirrorPolicies: [{ cluster: 'rc-mirror', clusterHeader: '', disableShadowHostSuffixAppend: false }] },
      ),
    );
    expect(t.route(new Req({ path: '/own' }))!.route.retryPolicy!.numRetries).toBe(5);
    expect(t.route(new Req({ path: '/x' }))!.route.retryPolicy!.numRetries).toBe(3);
    expect(t.route(new Req({ path: '/x' }))!.route.requestMirrorPolicies.map((m) => m.cluster)).toEqual(['vh-mirror']);
  });
});
