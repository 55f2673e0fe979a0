// What one HTTP connection manager config becomes on a worker, built once per filter chain:
// stats, the compiled inline route table (or the RDS name to look up per stream), the HTTP
// filter factories with the router last, access loggers and the upgrade table. Shared by every
// connection and stream of the chain; holds no per-connection state.
import type { Logger } from 'pino';
import type { TypedPerFilterConfig } from '../../config/model/route';
import { createAccessLogger, type AccessLogger } from '../../extensions/access-loggers/access-logger';
import { createHttpFilterFactory } from '../../extensions/filters/http/factories';
import type { RouteRouterConfig } from '../../extensions/filters/http/router/config';
import { DEFAULT_ROUTER_CONFIG } from '../../extensions/filters/http/router/config';
import type { HttpConnectionManagerConfig, HttpFilterInstanceConfig } from '../../extensions/filters/network/http-connection-manager/config';
import type { StatsScope } from '../../stats/stats-store';
import { buildHcmTracing, type SharedTracingSink } from '../../tracing/hcm-tracing';
import type { Tracer } from '../../tracing/tracer';
import { tracingEnvironment } from '../../tracing/tracing-environment';
import type { DownstreamConnection } from '../api/network-filter';
import type { HttpFilter, HttpFilterFactory } from './filter-api';
import { hcmStats, type HcmStats } from './hcm-stats';
import { compileRouteTable, perFilterConfigFor, type RouteMatch, type RouteTable } from './route/route-table';
import { RouterFactory } from './router';

function isRouter(f: HttpFilterInstanceConfig): boolean {
  return f.name === 'envoy.filters.http.router' || f.name === 'envoy.router' || f.typeUrl.endsWith('.router.v3.Router');
}

export class HcmRuntime {
  readonly stats: HcmStats;
  readonly filterFactories: readonly HttpFilterFactory[];
  /** The configured name of each factory's filter (typed_per_filter_config keys), in chain order. */
  readonly filterNames: readonly string[];
  /** HttpFilter.disabled: off unless a route's typed_per_filter_config enables it. */
  readonly filterDisabled: readonly boolean[];
  /** True when any filter is disabled by default (the per-route lookup is needed even without overrides). */
  private readonly anyDisabled: boolean;
  readonly accessLogs: readonly AccessLogger[];
  readonly internalOnlyHeaders: readonly string[];
  private readonly inline: RouteTable | null;
  private readonly rdsName: string;
  /** Upgrade types enabled on this HCM (lower-case). */
  readonly upgrades: ReadonlySet<string>;
  private warnedUnknown = new Set<string>();
  /** The local node's address, appended to XFF for loopback peers (Envoy's local_info address). */
  readonly localIp: string;
  /** Built once from the HCM tracing config (+ bootstrap provider); null = tracing off. */
  readonly tracer: Tracer | null;
  /** The exporter shared per provider; told the ClusterManager to reach the collector through. */
  readonly tracingSink: SharedTracingSink | undefined;
  /**
   * Envoy derives the span operation from the listener's traffic_direction: OUTBOUND is egress
   * (CLIENT span, a child of the caller's), anything else ingress (SERVER). A filter chain
   * belongs to one listener, so this is learnt from the first traced connection. 0 = unknown.
   */
  private tracingDirection: 0 | 1 | 2 = 0;

  constructor(
    readonly config: HttpConnectionManagerConfig,
    readonly rootStats: StatsScope,
    readonly log: Logger,
  ) {
    this.stats = hcmStats(rootStats, config.statPrefix);
    const src = config.routeSource;
    this.inline = src.kind === 'inline' ? compileRouteTable(src.routeConfig) : null;
    this.rdsName = src.kind === 'rds' ? src.routeConfigName : '';
    this.internalOnlyHeaders = this.inline?.config.internalOnlyHeaders ?? [];
    const factories: HttpFilterFactory[] = [];
    const names: string[] = [];
    const disabled: boolean[] = [];
    for (const f of config.httpFilters) {
      if (isRouter(f)) {
        const rc = (f.config as RouteRouterConfig | { passThrough: true } | undefined) ?? DEFAULT_ROUTER_CONFIG;
        factories.push(new RouterFactory('suppressEnvoyHeaders' in rc ? rc : DEFAULT_ROUTER_CONFIG, rootStats));
        names.push(f.name);
        disabled.push(false);
        continue;
      }
      const fac = createHttpFilterFactory(f, { stats: rootStats, log, statPrefix: `http.${config.statPrefix}.` });
      if (fac === null) continue;
      factories.push(fac);
      names.push(f.name);
      disabled.push(f.disabled === true);
    }
    this.filterFactories = factories;
    this.filterNames = names;
    this.filterDisabled = disabled;
    this.anyDisabled = disabled.includes(true);
    this.accessLogs = config.accessLogs.map((a) => createAccessLogger(a));
    this.upgrades = new Set(config.upgradeConfigs.filter((u) => u.enabled).map((u) => u.upgradeType));
    this.localIp = tracingEnvironment().node.localIp;
    const tracing = buildHcmTracing(config.tracing, log);
    this.tracer = tracing?.tracer ?? null;
    this.tracingSink = tracing?.sink;
  }

  /** True when streams on `conn` are egress (listener traffic_direction OUTBOUND). */
  tracingEgress(conn: DownstreamConnection): boolean {
    if (this.tracingDirection === 0) {
      // ActiveListener hands itself as conn.listener; its config carries traffic_direction.
      const dir = (conn.listener as { config?: { trafficDirection?: string } } | undefined)?.config?.trafficDirection;
      this.tracingDirection = dir === 'OUTBOUND' ? 2 : 1;
    }
    return this.tracingDirection === 2;
  }

  /** The route table a new stream uses: the inline one, or the RDS table current for the connection. */
  routeTable(conn: DownstreamConnection): RouteTable | null {
    if (this.inline !== null) return this.inline;
    const t = conn.runtime.routes.get(this.rdsName);
    if (t === undefined && !this.warnedUnknown.has(this.rdsName)) {
      this.warnedUnknown.add(this.rdsName);
      this.log.debug({ route_config: this.rdsName }, 'hcm: route configuration not present yet; answering 404');
    }
    return t ?? null;
  }

  /** typed_per_filter_config entries: our filters' parsed config, else the opaque entry. */
  parsePerFilter(_filterName: string, c: TypedPerFilterConfig): unknown {
    return c.parsed ?? c.json ?? c;
  }

  /**
   * The stream's filter instances for its route: each filter gets the route's most specific
   * typed_per_filter_config entry for its configured name; an entry with FilterConfig.disabled
   * leaves the filter out, and a filter disabled in the HCM runs only where a route has an
   * entry for it that is not disabled (Envoy FilterManager + RouteEntry::filterDisabled).
   */
  createFilters(route: RouteMatch | null): HttpFilter[] {
    const factories = this.filterFactories;
    const n = factories.length;
    if (route === null || (!this.anyDisabled && !route.hasPerFilterConfig)) {
      const filters = new Array<HttpFilter>(n);
      let k = 0;
      for (let i = 0; i < n; i++) if (!this.filterDisabled[i]) filters[k++] = factories[i]!.create();
      filters.length = k;
      return filters;
    }
    const filters: HttpFilter[] = [];
    for (let i = 0; i < n; i++) {
      const pf = perFilterConfigFor(route, this.filterNames[i]!);
      if (pf === undefined ? this.filterDisabled[i] : pf.disabled) continue;
      filters.push(factories[i]!.create(pf));
    }
    return filters;
  }
}
