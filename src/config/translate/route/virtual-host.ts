// Translation of one envoy.config.route.v3.VirtualHost (domains, routes, TLS requirement,
// header edits, retry/hedge policy, CORS, mirrors, per-filter configs). Control side only.
// Domain uniqueness across the whole table is checked by route-config.ts, which sees every host.
import type { ErrorSink } from '../../../common/result';
import type { RouteConfig, TlsRequirement, VirtualHostConfig } from '../../model/route';
import { wrapped, type Msg } from '../proto-util';
import { translateHeaderEdits } from './header-edits';
import { translateMetadata, translateTypedPerFilterConfig } from './per-filter-config';
import { translateRoute, type RouteTranslateContext } from './route';
import { translateCors, translateMirrorPolicies } from './route-action';
import { translateHedgePolicy, translateRetryPolicy } from './retry-policy';

const TLS_REQUIREMENTS: readonly TlsRequirement[] = ['NONE', 'EXTERNAL_ONLY', 'ALL'];
const BAD_VALUE = /[\0\r\n]/;

/** envoy.config.route.v3.VirtualHost. `errors` is scoped to `virtual_hosts[i]`. */
export function translateVirtualHost(msg: Msg, errors: ErrorSink, ctx: RouteTranslateContext): VirtualHostConfig | undefined {
  const before = errors.errors.length;
  const name: string = msg.name ?? '';
  if (name === '') errors.add('name', 'value length must be at least 1 characters');
  const rawDomains = (msg.domains ?? []) as string[];
  if (rawDomains.length === 0) errors.add('domains', 'value must contain at least 1 item(s)');
  const domains: string[] = [];
  rawDomains.forEach((d, i) => {
    if (d === '' || BAD_VALUE.test(d)) errors.add(`domains[${i}]`, `invalid domain '${d}'`);
    else domains.push(d.toLowerCase());
  });
  if (msg.matcher) errors.add('matcher', 'the xds matcher tree in virtual hosts is not supported; use routes');
  const routes: RouteConfig[] = [];
  ((msg.routes ?? []) as Msg[]).forEach((r, i) => {
    const route = translateRoute(r, errors.at(`routes[${i}]`), ctx);
    if (route) routes.push(route);
  });
  const tls = msg.requireTls;
  const requireTls = typeof tls === 'string' ? (TLS_REQUIREMENTS.includes(tls as TlsRequirement) ? (tls as TlsRequirement) : undefined) : TLS_REQUIREMENTS[tls ?? 0];
  if (requireTls === undefined) errors.add('require_tls', `unknown value ${String(tls)}`);
  const headerEdits = translateHeaderEdits(msg, errors);
  const retryPolicy = translateRetryPolicy(msg.retryPolicy, errors, 'retry_policy');
  if (msg.retryPolicyTypedConfig) errors.add('retry_policy_typed_config', 'retry policy extensions are not supported');
  const hedgePolicy = translateHedgePolicy(msg.hedgePolicy, errors, 'hedge_policy');
  const cors = translateCors(msg.cors, errors, 'cors');
  const requestMirrorPolicies = translateMirrorPolicies(msg.requestMirrorPolicies, errors, 'request_mirror_policies');
  const typedPerFilterConfig = translateTypedPerFilterConfig(msg.typedPerFilterConfig, errors);
  const perRequestBufferLimitBytes = wrapped<number>(msg.perRequestBufferLimitBytes);
  if (errors.errors.length > before || requireTls === undefined) return undefined;
  return {
    name,
    domains,
    routes,
    requireTls,
    headerEdits,
    ...(retryPolicy ? { retryPolicy } : {}),
    ...(hedgePolicy ? { hedgePolicy } : {}),
    ...(cors ? { cors } : {}),
    includeRequestAttemptCount: msg.includeRequestAttemptCount === true,
    includeAttemptCountInResponse: msg.includeAttemptCountInResponse === true,
    ...(perRequestBufferLimitBytes !== undefined ? { perRequestBufferLimitBytes } : {}),
    requestMirrorPolicies,
    metadata: translateMetadata(msg.metadata),
    typedPerFilterConfig,
  };
}
