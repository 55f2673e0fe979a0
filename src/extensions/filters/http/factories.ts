// Worker-side create halves of HTTP filters (except the router, which the HCM builds from the
// engine). Keyed by canonical name with a type-URL fallback; pass-through filters (Istio
// telemetry, ...) get no runtime filter at all, so they cost nothing per request.
import type { Logger } from 'pino';
import type { ExtensionInstanceConfig } from '../../../config/model/listener';
import type { HttpFilterFactory } from '../../../engine/http/filter-api';
import type { StatsScope } from '../../../stats/stats-store';
import { CorsFilterFactory } from './cors/cors-filter';
import type { CorsConfig } from './cors/config';
import { FaultFilterFactory } from './fault/fault-filter';
import type { FaultConfig } from './fault/config';
import { IstioAlpnFilterFactory } from './istio-alpn/alpn-filter';
import type { IstioAlpnConfig } from './istio-alpn/config';
import { LocalRateLimitFilterFactory } from './local-ratelimit/local-ratelimit-filter';
import type { LocalRateLimitConfig } from './local-ratelimit/config';

export interface HttpFilterContext {
  readonly stats: StatsScope;
  readonly log: Logger;
  /** "http.<stat_prefix>." of the owning HCM. */
  readonly statPrefix: string;
}

type Create = (config: unknown, ctx: HttpFilterContext) => HttpFilterFactory;

const HTTP: ReadonlyMap<string, Create> = new Map<string, Create>([
  ['envoy.filters.http.fault', (c, ctx) => new FaultFilterFactory(c as FaultConfig, ctx)],
  ['envoy.filters.http.cors', (c) => new CorsFilterFactory(c as CorsConfig)],
  ['envoy.filters.http.local_ratelimit', (c, ctx) => new LocalRateLimitFilterFactory(c as LocalRateLimitConfig, ctx)],
  ['istio.alpn', (c) => new IstioAlpnFilterFactory(c as IstioAlpnConfig)],
]);

const BY_TYPE: ReadonlyMap<string, string> = new Map([
  ['envoy.extensions.filters.http.fault.v3.HTTPFault', 'envoy.filters.http.fault'],
  ['envoy.extensions.filters.http.cors.v3.Cors', 'envoy.filters.http.cors'],
  ['envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit', 'envoy.filters.http.local_ratelimit'],
  ['istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig', 'istio.alpn'],
]);

/** The factory for one configured HTTP filter, or null for a pass-through filter. */
export function createHttpFilterFactory(inst: ExtensionInstanceConfig, ctx: HttpFilterContext): HttpFilterFactory | null {
  const byType = BY_TYPE.get(inst.typeUrl.slice(inst.typeUrl.lastIndexOf('/') + 1));
  const create = HTTP.get(byType ?? inst.name);
  if (create === undefined) return null;
  if ((inst.config as { passThrough?: boolean } | undefined)?.passThrough) return null;
  return create(inst.config, ctx);
}
