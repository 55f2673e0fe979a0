// Dependency extraction for the DependencyTracker (STYLE 2 step 6): which RDS route
// configurations and SDS secrets a listener names, and which EDS service and SDS secrets a
// cluster names. The store derives the RDS/EDS/SDS subscriptions from these and warms a
// listener or cluster until what it names has arrived (Envoy: listeners warm on RDS and SDS,
// clusters on EDS and SDS; xds_protocol "Resource warming"). SDS secrets carry their source:
// the ADS stream, or an api_config_source cluster with its own SDS stream (Istio's sds-grpc).
import type { ClusterConfig } from '../config/model/cluster';
import { apiSourceKey, type ApiConfigSourceConfig } from '../config/model/config-source';
import type { FilterChainConfig, ListenerConfig, TransportSocketConfig } from '../config/model/listener';

/** A route configuration a listener's HTTP connection manager loads over RDS. */
export interface RdsRef {
  readonly routeConfigName: string;
  /** The HCM's stat_prefix: Envoy's RDS stats live under http.<stat_prefix>.rds.<name>. */
  readonly statPrefix: string;
  /** apiSourceKey of rds.config_source when it is an api_config_source; unset = ADS. */
  readonly source?: string;
}

/**
 * One SDS secret a transport socket names, with where it comes from: `ads` (the ADS stream),
 * `api` (its own SDS stream to the api_config_source's cluster, Istio's `sds-grpc`), or a
 * source the store does not subscribe to (`path`, `other`).
 */
export interface SecretRef {
  readonly name: string;
  readonly source: 'ads' | 'api' | 'path' | 'other';
  /** For `api`: the cluster of the source's first grpc_service (Envoy uses only the first). */
  readonly cluster?: string;
}

/**
 * Seam for SDS: the secrets a transport socket names. The TLS parse half
 * (extensions/transport-sockets/tls/config.ts) exposes them as `sdsSources` ({name, source,
 * clusterNames}) and the ADS ones again as `adsSecretNames`; read structurally so store/ stays
 * free of extension imports.
 */
export type SecretRefExtractor = (ts: TransportSocketConfig) => readonly SecretRef[];

/** Source key of a file-based SDS source in sdsApiSources(): `path:<file>`. */
export const PATH_SOURCE_PREFIX = 'path:';

export const defaultSecretRefs: SecretRefExtractor = (ts) => {
  const cfg = ts.config as { adsSecretNames?: unknown; sdsSources?: unknown } | null | undefined;
  if (Array.isArray(cfg?.sdsSources)) {
    const out: SecretRef[] = [];
    for (const s of cfg.sdsSources as { name?: unknown; source?: unknown; clusterNames?: unknown }[]) {
      if (typeof s?.name !== 'string') continue;
      const source = s.source === 'ads' || s.source === 'api' || s.source === 'path' ? s.source : 'other';
      const first = Array.isArray(s.clusterNames) && typeof s.clusterNames[0] === 'string' ? (s.clusterNames[0] as string) : undefined;
      // An api_config_source without an envoy_grpc cluster (google_grpc) is not one we can open.
      if ((source === 'api' || source === 'path') && first === undefined) out.push({ name: s.name, source: 'other' });
      // A file source is served like a stream source keyed `path:<file>` (control/file-source.ts).
      else if (source === 'path') out.push({ name: s.name, source: 'api', cluster: `${PATH_SOURCE_PREFIX}${first}` });
      else out.push(source === 'api' ? { name: s.name, source, cluster: first } : { name: s.name, source });
    }
    return out;
  }
  const names = cfg?.adsSecretNames;
  return Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string').map((name) => ({ name, source: 'ads' as const })) : [];
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
      const c = f.config as { routeSource?: { kind?: string; routeConfigName?: string; apiSource?: ApiConfigSourceConfig }; statPrefix?: string } | null | undefined;
      if (c?.routeSource?.kind === 'rds' && typeof c.routeSource.routeConfigName === 'string') {
        const api = c.routeSource.apiSource;
        out.push({ routeConfigName: c.routeSource.routeConfigName, statPrefix: String(c.statPrefix ?? ''), ...(api ? { source: apiSourceKey(api) } : {}) });
      }
    }
  }
  return out;
}

export function listenerSecretRefs(l: ListenerConfig, extract: SecretRefExtractor): SecretRef[] {
  const out: SecretRef[] = [];
  for (const chain of chainsOf(l)) if (chain.transportSocket) out.push(...extract(chain.transportSocket));
  return out;
}

/** The EDS service a cluster loads, or undefined for non-EDS clusters. */
export function clusterEdsName(c: ClusterConfig): string | undefined {
  return c.type === 'EDS' ? (c.edsServiceName ?? c.name) : undefined;
}

/** apiSourceKey of an EDS cluster's eds_config when it is an api_config_source; unset = ADS. */
export function clusterEdsSource(c: ClusterConfig): string | undefined {
  return c.type === 'EDS' && c.edsApiSource ? apiSourceKey(c.edsApiSource) : undefined;
}

/**
 * Secrets of a cluster's transport socket and of every transport_socket_matches entry (Istio's
 * auto-mTLS clusters name `default`/`ROOTCA` only there): Envoy builds a socket factory for each
 * match up front, and each registers its SDS secrets with the cluster's init manager.
 */
export function clusterSecretRefs(c: ClusterConfig, extract: SecretRefExtractor): SecretRef[] {
  const out: SecretRef[] = c.transportSocket ? [...extract(c.transportSocket)] : [];
  for (const m of c.transportSocketMatches ?? []) out.push(...extract(m.transportSocket));
  return out;
}
