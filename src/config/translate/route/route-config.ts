// Entry point of route-table translation: envoy.config.route.v3.RouteConfiguration (from RDS,
// or the inline route_config of an HTTP connection manager) -> RouteConfigurationConfig.
// Control side only. Collects every error with its snake_case field path so one NACK lists
// them all; the worker compiles the accepted value with engine/http/route compileRouteTable.
import { ErrorSink, type Result } from '../../../common/result';
import type { RouteConfigurationConfig, VirtualHostConfig } from '../../model/route';
import { wrapped, type Msg } from '../proto-util';
import { translateHeaderEdits } from './header-edits';
import { translateMetadata, translateTypedPerFilterConfig } from './per-filter-config';
import { translateMirrorPolicies } from './route-action';
import { translateVirtualHost } from './virtual-host';

/** Envoy's default for max_direct_response_body_size_bytes. */
export const DEFAULT_MAX_DIRECT_RESPONSE_BODY_BYTES = 4096;

/**
 * Envoy (RouteMatcher constructor) keys every domain lower-cased into one of four tables (exact,
 * `*suffix`, `prefix*`, the single `*`) and refuses the whole configuration when a key repeats,
 * within one virtual host or across several.
 */
function checkDomains(hosts: readonly VirtualHostConfig[], indexes: readonly number[], errors: ErrorSink, name: string): void {
  const seen = new Map<string, number>();
  hosts.forEach((vh, k) => {
    const i = indexes[k]!;
    vh.domains.forEach((domain, j) => {
      if (seen.has(domain)) {
        const reason =
          domain === '*'
            ? `only a single wildcard domain is permitted in route ${name}`
            : `only unique values for domains are permitted. Duplicate entry of domain ${domain} in route ${name}`;
        errors.add(`virtual_hosts[${i}].domains[${j}]`, reason);
      } else {
        seen.set(domain, i);
      }
    });
  });
}

/** Translates a decoded RouteConfiguration message. Never throws on bad input. */
export function translateRouteConfiguration(msg: Msg): Result<RouteConfigurationConfig> {
  const errors = ErrorSink.create();
  const name: string = msg.name ?? '';
  const maxBody = wrapped<number>(msg.maxDirectResponseBodySizeBytes) ?? DEFAULT_MAX_DIRECT_RESPONSE_BODY_BYTES;
  if (msg.vhds) errors.add('vhds', 'VHDS is not supported');
  if ((msg.clusterSpecifierPlugins ?? []).length > 0) errors.add('cluster_specifier_plugins', 'cluster specifier plugins are not supported');
  const virtualHosts: VirtualHostConfig[] = [];
  const indexes: number[] = [];
  ((msg.virtualHosts ?? []) as Msg[]).forEach((vh, i) => {
    const v = translateVirtualHost(vh, errors.at(`virtual_hosts[${i}]`), { maxDirectResponseBodySizeBytes: maxBody });
    if (v) {
      virtualHosts.push(v);
      indexes.push(i);
    }
  });
  checkDomains(virtualHosts, indexes, errors, name);
  const internalOnlyHeaders: string[] = [];
  ((msg.internalOnlyHeaders ?? []) as string[]).forEach((h, i) => {
    // Any valid header name, pseudo-headers excluded (they are never stripped).
    if (h === '' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(h)) errors.add(`internal_only_headers[${i}]`, `invalid header name '${h}'`);
    else internalOnlyHeaders.push(h.toLowerCase());
  });
  const headerEdits = translateHeaderEdits(msg, errors);
  const requestMirrorPolicies = translateMirrorPolicies(msg.requestMirrorPolicies, errors, 'request_mirror_policies');
  const typedPerFilterConfig = translateTypedPerFilterConfig(msg.typedPerFilterConfig, errors);
  const validateClusters = wrapped<boolean>(msg.validateClusters);
  return errors.result<RouteConfigurationConfig>({
    name,
    virtualHosts,
    headerEdits,
    internalOnlyHeaders,
    mostSpecificHeaderMutationsWins: msg.mostSpecificHeaderMutationsWins === true,
    ...(validateClusters !== undefined ? { validateClusters } : {}),
    maxDirectResponseBodySizeBytes: maxBody,
    ignorePortInHostMatching: msg.ignorePortInHostMatching === true,
    ignorePathParametersInPathMatching: msg.ignorePathParametersInPathMatching === true,
    requestMirrorPolicies,
    typedPerFilterConfig,
    metadata: translateMetadata(msg.metadata),
  });
}
