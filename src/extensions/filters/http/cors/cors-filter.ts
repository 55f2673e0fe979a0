// Create half of envoy.filters.http.cors (Envoy source/extensions/filters/http/cors/cors_filter.cc):
// reads the route's typed_per_filter_config CorsPolicy, else the route's (else the virtual
// host's) legacy CorsPolicy; answers preflight requests (OPTIONS
// with Origin and Access-Control-Request-Method from an allowed origin) locally with 200 and
// the allow-* headers, and adds access-control-allow-origin / -credentials / -expose-headers to
// responses of allowed cross-origin requests. Matchers are compiled once per policy.
import type { CorsPolicyConfig, TypedPerFilterConfig } from '../../../../config/model/route';
import type { FilterStatus, HttpFilter, HttpFilterFactory, HttpStreamCallbacks } from '../../../../engine/http/filter-api';
import { CONTINUE } from '../../../../engine/http/filter-api';
import type { HeaderMap } from '../../../../engine/http/header-map';
import { fractionMatches, StringMatcher } from '../../../../engine/http/route/matchers';
import type { CorsConfig } from './config';

const compiled = new WeakMap<CorsPolicyConfig, readonly StringMatcher[]>();
function originMatchers(p: CorsPolicyConfig): readonly StringMatcher[] {
  let m = compiled.get(p);
  if (m === undefined) {
    m = p.allowOriginStringMatch.map((c) => new StringMatcher(c));
    compiled.set(p, m);
  }
  return m;
}

export class CorsFilterFactory implements HttpFilterFactory {
  readonly name = 'envoy.filters.http.cors';
  constructor(readonly config: CorsConfig) {}
  /** A typed_per_filter_config CorsPolicy (most specific level) replaces the route's `cors`. */
  create(perRoute?: TypedPerFilterConfig): HttpFilter {
    const p = perRoute?.parsed as CorsPolicyConfig | undefined;
    return new CorsFilter(p !== undefined && Array.isArray(p.allowOriginStringMatch) ? p : null);
  }
}

class CorsFilter implements HttpFilter {
  private policy: CorsPolicyConfig | null = null;
  private origin = '';

  constructor(private readonly perRoute: CorsPolicyConfig | null) {}

  decodeHeaders(s: HttpStreamCallbacks, _end: boolean): FilterStatus {
    const r = s.route;
    if (r === null) return CONTINUE;
    const p = this.perRoute ?? r.route.routeAction?.cors ?? r.virtualHost.config.cors;
    if (p === undefined) return CONTINUE;
    if (p.filterEnabled !== undefined && !fractionMatches(p.filterEnabled.defaultValue, Math.floor(Math.random() * 1e6))) return CONTINUE;
    const origin = s.requestHeaders.get('origin');
    if (origin === undefined || origin === '') return CONTINUE;
    const ms = originMatchers(p);
    let ok = false;
    for (let i = 0; i < ms.length && !ok; i++) ok = ms[i]!.match(origin);
    if (!ok) return CONTINUE;
    this.policy = p;
    this.origin = origin;
    const reqMethod = s.requestHeaders.get('access-control-request-method');
    if (s.method === 'OPTIONS' && reqMethod !== undefined && reqMethod !== '') {
      const h: string[] = ['access-control-allow-origin', origin];
      if (p.allowCredentials) h.push('access-control-allow-credentials', 'true');
      if (p.allowMethods !== '') h.push('access-control-allow-methods', p.allowMethods);
      if (p.allowHeaders !== '') h.push('access-control-allow-headers', p.allowHeaders);
      if (p.maxAge !== '') h.push('access-control-max-age', p.maxAge);
      if (p.allowPrivateNetworkAccess && s.requestHeaders.get('access-control-request-private-network') === 'true') h.push('access-control-allow-private-network', 'true');
      this.policy = null;
      s.sendLocalReply(200, '', 'cors_response', undefined, h);
    }
    return CONTINUE;
  }

  encodeHeaders(_s: HttpStreamCallbacks, _status: number, headers: HeaderMap): void {
    const p = this.policy;
    if (p === null) return;
    headers.set('access-control-allow-origin', this.origin);
    if (p.allowCredentials) headers.set('access-control-allow-credentials', 'true');
    if (p.exposeHeaders !== '') headers.set('access-control-expose-headers', p.exposeHeaders);
  }
}
