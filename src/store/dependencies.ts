// Dependency extraction for the DependencyTracker (STYLE 2 step 6): which RDS route
// configurations and SDS secrets a listener names, and which EDS service and SDS secrets a
// cluster names. The store derives the RDS/EDS/SDS subscriptions from these and warms a
// listener or cluster until what it names has arrived (Envoy: listeners warm on RDS and SDS,
// clusters on EDS and SDS; xds_protocol "Resource warming").
import type { ClusterConfig } from '../config/model/cluster';
import type { FilterChainConfig, ListenerConfig, TransportSocketConfig } from '../config/model/listener';

/** A route configuration a listener's HTTP connection manager loads over RDS. */
export interface RdsRef {
  readonly routeConfigName: string;
  /** The HCM's stat_prefix: Envoy's RDS stats live under http.<stat_prefix>.rds.<name>. */
  readonly statPrefix: string;
}

/**
 * Seam for SDS: the secret names a transport socket loads over ADS. The TLS parse half is a
 * pass-through today; when it learns sds_secret_configs it should expose the names whose
 * sds_config is `ads {}` as `adsSecretNames: string[]` in its config, and they are tracked from
 * then on with no change here. Secrets from a separate SDS cluster (Istio's sds-grpc) are not
 * ADS subscriptions and must not be listed.
 */
export type SecretRefExtractor = (ts: TransportSocketConfig) => readonly string[];

export const defaultSecretRefs: SecretRefExtractor = (ts) => {
  const names = (ts.config as { adsSecretNames?: unknown } | null | undefined)?.adsSecretNames;
  return Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string') : [];
};

function chainsOf(l: ListenerConfig): readonly FilterChainConfig[] {
  return l.defaultFilterChain ? [...l.filterChains, l.defaultFilterChain] : l.filterChains;
}

/** RDS names of a listener's HCMs (filters whose parsed config has routeSource.kind 'rds'). */
export function listenerRdsRefs(l: ListenerConfig): RdsRef[] {
  const out: RdsRef[] = [];
  for (const chain of chainsOf(l)) {
    for (const f of chain.filters) {
      // The HCM parse half (extensions/filters/network/http-connection-manager/config.ts) keeps
      // the route source; read it structurally so store/ stays free of extension imports.
      const c = f.config as { routeSource?: { kind?: string; routeConfigName?: string }; statPrefix?: string } | null | undefined;
      if (c?.routeSource?.kind === 'rds' && typeof c.routeSource.routeConfigName === 'string') {
        out.push({ routeConfigName: c.routeSource.routeConfigName, statPrefix: String(c.statPrefix ?? '') });
      }
    }
  }
  return out;
}

export function listenerSecretRefs(l: ListenerConfig, extract: SecretRefExtractor): string[] {
  const out: string[] = [];
  for (const chain of chainsOf(l)) if (chain.transportSocket) out.push(...extract(chain.transportSocket));
  return out;
}

/** The EDS service a cluster loads, or undefined for non-EDS clusters. */
export function clusterEdsName(c: ClusterConfig): string | undefined {
  return c.type === 'EDS' ? (c.edsServiceName ?? c.name) : undefined;
}

export function clusterSecretRefs(c: ClusterConfig, extract: SecretRefExtractor): readonly string[] {
  return c.transportSocket ? extract(c.transportSocket) : [];
}
