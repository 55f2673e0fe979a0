// The compiled route table: compileRouteTable(RouteConfigurationConfig) -> RouteTable, and
// RouteTable.route(request) -> RouteMatch | null. Built once per route configuration at
// materialize time on the worker; each HTTP stream calls route() once at stream start on the
// table that was current then. Matching follows Envoy's config_impl.cc:
//
//   select virtual host (vhost-selector.ts)
//     -> require_tls check (may answer with the built-in https redirect)
//     -> routes in order; first whose path, grpc, runtime_fraction, headers, query parameters
//        and tls_context all match wins
//     -> resolve the cluster (name, cluster_header, or weighted pick from the stream random)
//
// Everything a route needs per request (regexes, header matchers, header edit lists in
// application order, effective retry/hedge/mirror policies, merged per-filter configs) is
// prepared here, so route() does comparisons and at most one small allocation (the RouteMatch).
import { RE2JS } from 're2js';
import type { TypedPerFilterConfig, TypedPerFilterConfigMap, RedirectActionConfig } from '../../../config/model/route';
import type {
  DirectResponseActionConfig,
  HedgePolicyConfig,
  RequestMirrorPolicyConfig,
  RetryPolicyConfig,
  RouteActionConfig,
  RouteConfig,
  RouteConfigurationConfig,
  VirtualHostConfig,
  WeightedClusterEntryConfig,
} from '../../../config/model/route';
import type { RuntimeFractionConfig } from '../../../config/model/matchers';
import { compileHeaderEdits, type CompiledHeaderEdits, type HeaderEditList } from './header-edits';
import { CompiledHashPolicy } from './hash-policy';
import { fractionMatches, HeaderMatcher, QueryParameterMatcher } from './matchers';
import { pathEnd, redirectLocation, RegexSubstitution, rewritePrefix, rewriteRegex } from './path-rewrite';
import type { RouteRequest } from './route-request';
import { VirtualHostSelector } from './vhost-selector';

const P_PREFIX = 0;
const P_PATH = 1;
const P_REGEX = 2;
const P_SEPARATED = 3;
const P_CONNECT = 4;

const C_NONE = 0;
const C_NAME = 1;
const C_HEADER = 2;
const C_WEIGHTED = 3;

const TLS_NONE = 0;
const TLS_EXTERNAL_ONLY = 1;
const TLS_ALL = 2;

/** What the route tells the router to do. */
export type RouteActionKind = 'route' | 'redirect' | 'direct_response' | 'non_forwarding';

/** One compiled weighted_clusters entry. */
export class CompiledWeightedCluster {
  readonly name: string;
  readonly clusterHeader: string;
  readonly weight: number;
  readonly config: WeightedClusterEntryConfig;
  /** This entry's edits first, then the route's levels (Envoy WeightedClusterEntry). */
  readonly requestHeaderEdits: readonly HeaderEditList[];
  readonly responseHeaderEdits: readonly HeaderEditList[];
  readonly hasPerFilterConfig: boolean;

  constructor(config: WeightedClusterEntryConfig, route: CompiledRoute) {
    this.config = config;
    this.hasPerFilterConfig = Object.keys(config.typedPerFilterConfig).length > 0;
    this.name = config.name;
    this.clusterHeader = config.clusterHeader;
    this.weight = config.weight;
    const own = compileHeaderEdits(config.headerEdits);
    this.requestHeaderEdits = own.request ? [own.request, ...route.requestHeaderEdits] : route.requestHeaderEdits;
    this.responseHeaderEdits = own.response ? [own.response, ...route.responseHeaderEdits] : route.responseHeaderEdits;
  }
}

/** A compiled route; `config` keeps the model for everything the router reads as data. */
export class CompiledRoute {
  readonly name: string;
  readonly config: RouteConfig;
  readonly virtualHost: CompiledVirtualHost;
  readonly actionKind: RouteActionKind;
  /** The RouteAction when actionKind is 'route'. */
  readonly routeAction: RouteActionConfig | null;
  readonly redirect: RedirectActionConfig | null;
  readonly directResponse: DirectResponseActionConfig | null;
  /** Route-level retry policy if set, else the virtual host's (Envoy does not merge them). */
  readonly retryPolicy: RetryPolicyConfig | null;
  readonly hedgePolicy: HedgePolicyConfig | null;
  /** The most specific non-empty mirror policy list: route, virtual host, route configuration. */
  readonly requestMirrorPolicies: readonly RequestMirrorPolicyConfig[];
  /** Header edit levels in application order (see most_specific_header_mutations_wins). */
  readonly requestHeaderEdits: readonly HeaderEditList[];
  readonly responseHeaderEdits: readonly HeaderEditList[];
  /** Per-filter overrides merged route > virtual host > route configuration. */
  readonly perFilterConfig: TypedPerFilterConfigMap;
  readonly hasPerFilterConfig: boolean;
  readonly pathRewriteRegex: RegexSubstitution | null;
  readonly hostRewriteRegex: RegexSubstitution | null;
  readonly redirectRegex: RegexSubstitution | null;
  /** RouteAction.hash_policy, or null when the route has none (or none that can hash). */
  readonly hashPolicy: CompiledHashPolicy | null;

  // Match state.
  readonly pathKind: number;
  readonly pathValue: string;
  readonly caseSensitive: boolean;
  readonly pathRegex: RE2JS | null;
  readonly grpc: boolean;
  readonly runtimeFraction: RuntimeFractionConfig | null;
  readonly headers: readonly HeaderMatcher[];
  readonly queryParameters: readonly QueryParameterMatcher[];
  readonly tlsPresented: boolean | undefined;
  readonly tlsValidated: boolean | undefined;

  // Cluster resolution.
  readonly clusterKind: number;
  readonly clusterName: string;
  readonly clusterHeader: string;
  readonly weighted: readonly CompiledWeightedCluster[];
  readonly weightedEnds: readonly number[];
  readonly totalWeight: number;
  readonly randomValueHeader: string;

  constructor(config: RouteConfig, vh: CompiledVirtualHost, table: { config: RouteConfigurationConfig; edits: CompiledHeaderEdits }) {
    this.name = config.name;
    this.config = config;
    this.virtualHost = vh;
    const m = config.match;
    this.caseSensitive = m.caseSensitive;
    this.pathRegex = null;
    switch (m.path.kind) {
      case 'prefix':
        this.pathKind = P_PREFIX;
        this.pathValue = m.path.prefix;
        break;
      case 'path':
        this.pathKind = P_PATH;
        this.pathValue = m.path.path;
        break;
      case 'safe_regex':
        this.pathKind = P_REGEX;
        this.pathValue = m.path.regex;
        this.pathRegex = RE2JS.compile(m.path.regex);
        break;
      case 'path_separated_prefix':
        this.pathKind = P_SEPARATED;
        this.pathValue = m.path.prefix;
        break;
      case 'connect_matcher':
        this.pathKind = P_CONNECT;
        this.pathValue = '';
        break;
    }
    if (!this.caseSensitive) this.pathValue = this.pathValue.toLowerCase();
    this.grpc = m.grpc;
    this.runtimeFraction = m.runtimeFraction ?? null;
    this.headers = m.headers.map((h) => new HeaderMatcher(h));
    this.queryParameters = m.queryParameters.map((q) => new QueryParameterMatcher(q));
    this.tlsPresented = m.tlsContext?.presented;
    this.tlsValidated = m.tlsContext?.validated;

    const a = config.action;
    this.actionKind = a.kind;
    this.routeAction = a.kind === 'route' ? a.route : null;
    this.redirect = a.kind === 'redirect' ? a.redirect : null;
    this.directResponse = a.kind === 'direct_response' ? a.directResponse : null;
    const ra = this.routeAction;
    this.retryPolicy = ra?.retryPolicy ?? vh.config.retryPolicy ?? null;
    this.hedgePolicy = ra?.hedgePolicy ?? vh.config.hedgePolicy ?? null;
    this.requestMirrorPolicies =
      ra && ra.requestMirrorPolicies.length > 0
        ? ra.requestMirrorPolicies
        : vh.config.requestMirrorPolicies.length > 0
          ? vh.config.requestMirrorPolicies
          : table.config.requestMirrorPolicies;

    // Envoy getHeaderParsers: most specific first by default (route, vhost, global); reversed
    // when most_specific_header_mutations_wins so the route's overwrite lands last.
    const own = compileHeaderEdits(config.headerEdits);
    const levels = table.config.mostSpecificHeaderMutationsWins ? [table.edits, vh.edits, own] : [own, vh.edits, table.edits];
    this.requestHeaderEdits = levels.map((l) => l.request).filter((l): l is HeaderEditList => l !== null);
    this.responseHeaderEdits = levels.map((l) => l.response).filter((l): l is HeaderEditList => l !== null);
    this.perFilterConfig = mergePerFilter(table.config.typedPerFilterConfig, vh.config.typedPerFilterConfig, config.typedPerFilterConfig);
    this.hasPerFilterConfig = Object.keys(this.perFilterConfig).length > 0;

    this.pathRewriteRegex = ra?.pathRewrite?.kind === 'regex' ? new RegexSubstitution(ra.pathRewrite.rewrite) : null;
    this.hostRewriteRegex = ra?.hostRewrite?.kind === 'path_regex' ? new RegexSubstitution(ra.hostRewrite.rewrite) : null;
    this.redirectRegex = this.redirect?.path?.kind === 'regex' ? new RegexSubstitution(this.redirect.path.rewrite) : null;
    const hp = ra && ra.hashPolicy.length > 0 ? new CompiledHashPolicy(ra.hashPolicy) : null;
    this.hashPolicy = hp === null || hp.empty ? null : hp;

    this.clusterKind = C_NONE;
    this.clusterName = '';
    this.clusterHeader = '';
    this.weighted = [];
    this.weightedEnds = [];
    this.totalWeight = 0;
    this.randomValueHeader = '';
    const cs = ra?.clusterSpecifier;
    if (cs?.kind === 'cluster') {
      this.clusterKind = C_NAME;
      this.clusterName = cs.name;
    } else if (cs?.kind === 'cluster_header') {
      this.clusterKind = C_HEADER;
      this.clusterHeader = cs.header;
    } else if (cs?.kind === 'weighted_clusters') {
      this.clusterKind = C_WEIGHTED;
      this.weighted = cs.weighted.clusters.map((c) => new CompiledWeightedCluster(c, this));
      let end = 0;
      this.weightedEnds = this.weighted.map((w) => (end += w.weight));
      this.totalWeight = cs.weighted.totalWeight;
      this.randomValueHeader = cs.weighted.randomValueHeader ?? '';
    }
  }

  /** Path-independent checks (Envoy RouteEntryImplBase::matchRoute), after the path matched. */
  matchesRest(req: RouteRequest, rawPath: string): boolean {
    if (this.runtimeFraction !== null && !fractionMatches(this.runtimeFraction.defaultValue, req.random)) return false;
    if (this.grpc && !isGrpcRequest(req)) return false;
    for (let i = 0; i < this.headers.length; i++) if (!this.headers[i]!.match(req)) return false;
    for (let i = 0; i < this.queryParameters.length; i++) if (!this.queryParameters[i]!.match(rawPath)) return false;
    if (this.tlsPresented !== undefined && this.tlsPresented !== (req.tlsPresented === true)) return false;
    if (this.tlsValidated !== undefined && this.tlsValidated !== (req.tlsValidated === true)) return false;
    return true;
  }

  /** Picks the weighted cluster for `random` (Envoy: value % total, then walk cumulative weights). */
  pickWeighted(req: RouteRequest): CompiledWeightedCluster {
    let random = req.random;
    if (this.randomValueHeader !== '') {
      const h = req.header(this.randomValueHeader);
      if (h !== undefined && /^\d+$/.test(h)) random = Number(h);
    }
    const selected = random % this.totalWeight;
    const ends = this.weightedEnds;
    for (let i = 0; i < ends.length; i++) if (selected < ends[i]!) return this.weighted[i]!;
    return this.weighted[this.weighted.length - 1]!;
  }

  /** Length of the part of `path` this route matched, the part prefix_rewrite replaces. */
  matchedLength(path: string): number {
    return this.pathKind === P_PREFIX || this.pathKind === P_SEPARATED || this.pathKind === P_PATH ? this.pathValue.length : pathEnd(path);
  }
}

/** Gets the effective per-filter config override for a filter at a route (weighted cluster first). */
export function perFilterConfigFor(match: RouteMatch, filterName: string): TypedPerFilterConfig | undefined {
  return match.weightedCluster?.config.typedPerFilterConfig[filterName] ?? match.route.perFilterConfig[filterName];
}

function mergePerFilter(...levels: TypedPerFilterConfigMap[]): TypedPerFilterConfigMap {
  const nonEmpty = levels.filter((l) => Object.keys(l).length > 0);
  if (nonEmpty.length === 0) return levels[levels.length - 1]!;
  if (nonEmpty.length === 1) return nonEmpty[0]!;
  return Object.assign({}, ...nonEmpty) as TypedPerFilterConfigMap;
}

/** gRPC request: content-type exactly application/grpc or application/grpc+... (Envoy Grpc::Common). */
function isGrpcRequest(req: RouteRequest): boolean {
  if (req.path === '') return false;
  const ct = req.header('content-type');
  if (ct === undefined || !ct.startsWith('application/grpc')) return false;
  return ct.length === 16 || ct.charCodeAt(16) === 43; /* '+' */
}

/** A compiled virtual host. */
export class CompiledVirtualHost {
  readonly name: string;
  readonly config: VirtualHostConfig;
  readonly edits: CompiledHeaderEdits;
  readonly requireTls: number;
  readonly routes: CompiledRoute[] = [];
  /** The synthetic route Envoy answers with when require_tls is not met: 301 to https. */
  readonly tlsRedirect: CompiledRoute;

  constructor(config: VirtualHostConfig, table: { config: RouteConfigurationConfig; edits: CompiledHeaderEdits }) {
    this.name = config.name;
    this.config = config;
    this.edits = compileHeaderEdits(config.headerEdits);
    this.requireTls = config.requireTls === 'ALL' ? TLS_ALL : config.requireTls === 'EXTERNAL_ONLY' ? TLS_EXTERNAL_ONLY : TLS_NONE;
    for (const r of config.routes) this.routes.push(new CompiledRoute(r, this, table));
    this.tlsRedirect = new CompiledRoute(TLS_REDIRECT_ROUTE, this, table);
  }
}

const EMPTY_EDITS = { requestHeadersToAdd: [], requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [] };
const TLS_REDIRECT_ROUTE: RouteConfig = {
  name: '',
  match: { path: { kind: 'prefix', prefix: '' }, caseSensitive: true, headers: [], queryParameters: [], grpc: false },
  action: { kind: 'redirect', redirect: { scheme: 'https', host: '', port: 0, responseCode: 301, stripQuery: false } },
  metadata: {},
  headerEdits: EMPTY_EDITS,
  typedPerFilterConfig: {},
  statPrefix: '',
};

/**
 * The answer to "which route": the virtual host, the route, and for forwarding routes the
 * resolved cluster name ('' when a cluster_header was absent: the router then replies with the
 * route's cluster_not_found_response_code) and the chosen weighted entry.
 */
export class RouteMatch {
  constructor(
    readonly virtualHost: CompiledVirtualHost,
    readonly route: CompiledRoute,
    readonly cluster: string,
    readonly weightedCluster: CompiledWeightedCluster | null,
  ) {}

  /** Request header edit levels to apply, in order. */
  /** Any typed_per_filter_config applies to this match (route levels or the weighted cluster). */
  get hasPerFilterConfig(): boolean {
    return this.route.hasPerFilterConfig || (this.weightedCluster !== null && this.weightedCluster.hasPerFilterConfig);
  }

  get requestHeaderEdits(): readonly HeaderEditList[] {
    return this.weightedCluster ? this.weightedCluster.requestHeaderEdits : this.route.requestHeaderEdits;
  }

  get responseHeaderEdits(): readonly HeaderEditList[] {
    return this.weightedCluster ? this.weightedCluster.responseHeaderEdits : this.route.responseHeaderEdits;
  }

  /** The upstream :path after prefix_rewrite / regex_rewrite (the original path when none applies). */
  upstreamPath(path: string): string {
    const pr = this.route.routeAction?.pathRewrite;
    if (!pr) return path;
    if (pr.kind === 'prefix') return rewritePrefix(path, this.route.matchedLength(path), pr.prefix);
    return rewriteRegex(path, this.route.pathRewriteRegex!);
  }

  /**
   * The new upstream Host, or null to keep it. 'auto' (auto_host_rewrite) is also null here:
   * the router substitutes the chosen upstream host's hostname itself.
   */
  upstreamHost(req: RouteRequest): string | null {
    const literal = this.weightedCluster?.config.hostRewriteLiteral;
    if (literal) return literal;
    const hr = this.route.routeAction?.hostRewrite;
    if (!hr) return null;
    switch (hr.kind) {
      case 'literal':
        return hr.host;
      case 'header': {
        const v = req.header(hr.header);
        return v === undefined || v === '' ? null : v;
      }
      case 'path_regex':
        return this.route.hostRewriteRegex!.replaceAll(req.path.slice(0, pathEnd(req.path)));
      default:
        return null;
    }
  }

  /** True when auto_host_rewrite asks the router to use the upstream host's hostname. */
  get autoHostRewrite(): boolean {
    return this.route.routeAction?.hostRewrite?.kind === 'auto';
  }

  /** Location header for a redirect route (including the require_tls redirect). */
  redirectLocation(req: RouteRequest): string {
    const redirect = this.route.redirect!;
    let path = req.path;
    if (redirect.path?.kind === 'prefix') path = rewritePrefix(path, this.route.matchedLength(path), redirect.path.prefix);
    else if (redirect.path?.kind === 'regex') path = rewriteRegex(path, this.route.redirectRegex!);
    return redirectLocation(redirect, { authority: req.authority, path, scheme: req.scheme });
  }
}

/** A compiled RouteConfiguration. Immutable; safe to share by every stream on the worker. */
export class RouteTable {
  readonly name: string;
  readonly config: RouteConfigurationConfig;
  readonly virtualHosts: readonly CompiledVirtualHost[];
  private readonly selector: VirtualHostSelector<CompiledVirtualHost>;
  private readonly stripPathParameters: boolean;

  constructor(config: RouteConfigurationConfig) {
    this.name = config.name;
    this.config = config;
    const table = { config, edits: compileHeaderEdits(config.headerEdits) };
    this.virtualHosts = config.virtualHosts.map((vh) => new CompiledVirtualHost(vh, table));
    this.selector = new VirtualHostSelector(
      this.virtualHosts.map((host) => ({ host, domains: host.config.domains })),
      config.ignorePortInHostMatching,
    );
    this.stripPathParameters = config.ignorePathParametersInPathMatching;
  }

  /** The virtual host for a request, or null. */
  virtualHostFor(req: RouteRequest): CompiledVirtualHost | null {
    return this.selector.select(req.authority);
  }

  /** The route for a request, or null when no virtual host or route matches (Envoy: 404 NR). */
  route(req: RouteRequest): RouteMatch | null {
    const vh = this.selector.select(req.authority);
    if (vh === null) return null;
    if (vh.requireTls !== TLS_NONE && req.scheme !== 'https') {
      if (vh.requireTls === TLS_ALL || req.header('x-envoy-internal') !== 'true') return new RouteMatch(vh, vh.tlsRedirect, '', null);
    }
    const rawPath = req.path;
    const isConnect = req.method === 'CONNECT';
    if (rawPath === '' && !isConnect) return null;
    const end = pathEnd(rawPath);
    let path = end === rawPath.length ? rawPath : rawPath.slice(0, end);
    if (this.stripPathParameters && path.includes(';')) path = stripPathParameters(path);
    let lower: string | null = null;
    const routes = vh.routes;
    for (let i = 0; i < routes.length; i++) {
      const r = routes[i]!;
      let p = path;
      if (!r.caseSensitive && r.pathKind !== P_REGEX) p = lower ??= path.toLowerCase();
      let ok: boolean;
      switch (r.pathKind) {
        case P_PREFIX:
          ok = p.startsWith(r.pathValue);
          break;
        case P_PATH:
          ok = p === r.pathValue;
          break;
        case P_REGEX:
          ok = r.pathRegex!.testExact(p);
          break;
        case P_SEPARATED:
          ok = p.startsWith(r.pathValue) && (p.length === r.pathValue.length || p.charCodeAt(r.pathValue.length) === 47);
          break;
        default:
          ok = isConnect;
      }
      if (!ok || !r.matchesRest(req, rawPath)) continue;
      return resolve(vh, r, req);
    }
    return null;
  }
}

function resolve(vh: CompiledVirtualHost, r: CompiledRoute, req: RouteRequest): RouteMatch {
  switch (r.clusterKind) {
    case C_NAME:
      return new RouteMatch(vh, r, r.clusterName, null);
    case C_HEADER:
      return new RouteMatch(vh, r, req.header(r.clusterHeader) ?? '', null);
    case C_WEIGHTED: {
      const w = r.pickWeighted(req);
      return new RouteMatch(vh, r, w.name !== '' ? w.name : (req.header(w.clusterHeader) ?? ''), w);
    }
    default:
      return new RouteMatch(vh, r, '', null);
  }
}

/** Removes `;params` from each path segment (ignore_path_parameters_in_path_matching). */
function stripPathParameters(path: string): string {
  return path
    .split('/')
    .map((seg) => {
      const semi = seg.indexOf(';');
      return semi >= 0 ? seg.slice(0, semi) : seg;
    })
    .join('/');
}

/** Compiles a route configuration into a RouteTable. Must not fail on input that translate accepted. */
export function compileRouteTable(config: RouteConfigurationConfig): RouteTable {
  return new RouteTable(config);
}
