// envoy.config.cluster.v3.Cluster -> ClusterConfig, with Envoy's defaults applied and every
// problem reported with its field path.
import type { ErrorSink } from '../../common/result';
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_DNS_REFRESH_MS, type CircuitBreakerThresholdsConfig, type ClusterConfig, type ClusterDiscoveryType, type HealthCheckConfig, type HealthCheckKind, type LbPolicy, type LbSettingsConfig, type LbSubsetConfig, type LbSubsetSelectorConfig, type OutlierDetectionConfig, type SlowStartConfig, type ZoneAwareLbConfig } from '../model/cluster';
import { DEFAULT_BUFFER_LIMIT_BYTES } from '../model/listener';
import { translateResourceSource } from './config-source';
import { translateLoadAssignment, metadataToJson } from './endpoint';
import type { ExtensionTranslator } from './extension';
import { translateTransportSocketMatches } from '../../extensions/transport-sockets/transport-socket-matches';
import { durationMs, num, structToJson, unpackAny, wrapped, type Msg } from './proto-util';

const TYPES: readonly ClusterDiscoveryType[] = ['STATIC', 'STRICT_DNS', 'LOGICAL_DNS', 'EDS', 'ORIGINAL_DST'];
const LB: readonly LbPolicy[] = ['ROUND_ROBIN', 'LEAST_REQUEST', 'RING_HASH', 'RANDOM', 'MAGLEV', 'CLUSTER_PROVIDED', 'LOAD_BALANCING_POLICY_CONFIG'];
// Envoy's enum has a gap: ORIGINAL_DST_LB=4 is deprecated-reserved; numbers map as below.
const LB_BY_NUMBER: Record<number, LbPolicy> = { 0: 'ROUND_ROBIN', 1: 'LEAST_REQUEST', 2: 'RING_HASH', 3: 'RANDOM', 5: 'MAGLEV', 6: 'CLUSTER_PROVIDED', 7: 'LOAD_BALANCING_POLICY_CONFIG' };
const DNS_FAMILY = ['AUTO', 'V4_ONLY', 'V6_ONLY', 'V4_PREFERRED', 'ALL'] as const;
const HTTP_OPTIONS_URL = 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

const AGGREGATE_URL = 'type.googleapis.com/envoy.extensions.clusters.aggregate.v3.ClusterConfig';

function clusterType(msg: Msg, errors: ErrorSink): ClusterDiscoveryType {
  if (msg.clusterType) {
    const name: string = msg.clusterType.name ?? '';
    if (name === 'envoy.clusters.aggregate') return 'AGGREGATE';
    errors.add('cluster_type.name', `unsupported cluster type extension '${name}'`);
    return 'STATIC';
  }
  const t = msg.type;
  if (typeof t === 'number') return TYPES[t] ?? 'STATIC';
  if (typeof t === 'string' && (TYPES as readonly string[]).includes(t)) return t as ClusterDiscoveryType;
  return 'STATIC';
}

function threshold(t: Msg): CircuitBreakerThresholdsConfig {
  // Envoy defaults: 1024 connections, pending requests and requests; 3 retries.
  return {
    priority: t.priority === 1 || t.priority === 'HIGH' ? 'HIGH' : 'DEFAULT',
    maxConnections: wrapped<number>(t.maxConnections) ?? 1024,
    maxPendingRequests: wrapped<number>(t.maxPendingRequests) ?? 1024,
    maxRequests: wrapped<number>(t.maxRequests) ?? 1024,
    maxRetries: wrapped<number>(t.maxRetries) ?? 3,
    ...(t.maxConnectionPools ? { maxConnectionPools: wrapped<number>(t.maxConnectionPools)! } : {}),
    trackRemaining: !!t.trackRemaining,
    ...(t.retryBudget
      ? { retryBudget: { budgetPercent: wrapped<number>(t.retryBudget.budgetPercent) ?? 20, minRetryConcurrency: wrapped<number>(t.retryBudget.minRetryConcurrency) ?? 3 } }
      : {}),
  };
}

function upstreamProtocol(msg: Msg, errors: ErrorSink): ClusterConfig['upstreamHttpProtocol'] {
  const opts = (msg.typedExtensionProtocolOptions ?? {}) as Record<string, Msg>;
  for (const [key, any] of Object.entries(opts)) {
    const u = unpackAny(any, errors, `typed_extension_protocol_options["${key}"]`);
    if (!u || u.typeUrl !== HTTP_OPTIONS_URL || !u.message) continue;
    const m = u.message;
    if (m.useDownstreamProtocolConfig) return 'USE_DOWNSTREAM';
    if (m.autoConfig) return 'AUTO';
    if (m.explicitHttpConfig?.http2ProtocolOptions) return 'HTTP2';
    return 'HTTP1';
  }
  if (msg.http2ProtocolOptions) return 'HTTP2';
  if (msg.protocolSelection === 1 || msg.protocolSelection === 'USE_DOWNSTREAM_PROTOCOL') return 'USE_DOWNSTREAM';
  return 'HTTP1';
}

export function translateCluster(msg: Msg, ext: ExtensionTranslator, errors: ErrorSink): ClusterConfig | undefined {
  const name: string = msg.name ?? '';
  if (!name) errors.add('name', 'must not be empty');
  const type = clusterType(msg, errors);
  const lbPolicy: LbPolicy = typeof msg.lbPolicy === 'number' ? LB_BY_NUMBER[msg.lbPolicy] ?? 'ROUND_ROBIN' : (LB as readonly string[]).includes(msg.lbPolicy) ? msg.lbPolicy : 'ROUND_ROBIN';
  const connectTimeoutMs = durationMs(msg.connectTimeout) ?? DEFAULT_CONNECT_TIMEOUT_MS;
  if (connectTimeoutMs <= 0) errors.add('connect_timeout', 'must be greater than 0');
  let loadAssignment: ClusterConfig['loadAssignment'];
  if (msg.loadAssignment) {
    loadAssignment = translateLoadAssignment(msg.loadAssignment, errors.at('load_assignment'), type === 'STRICT_DNS' || type === 'LOGICAL_DNS');
  }
  if (type === 'LOGICAL_DNS') {
    const n = loadAssignment?.localities.reduce((s, l) => s + l.endpoints.length, 0) ?? 0;
    if (n !== 1) errors.add('load_assignment', 'LOGICAL_DNS clusters must have exactly one endpoint');
  }
  if (type === 'ORIGINAL_DST' && lbPolicy !== 'CLUSTER_PROVIDED' && lbPolicy !== 'ROUND_ROBIN') {
    errors.add('lb_policy', `ORIGINAL_DST clusters need lb_policy CLUSTER_PROVIDED, not ${lbPolicy}`);
  }
  if (type === 'EDS' && !msg.edsClusterConfig) errors.add('eds_cluster_config', 'required for EDS clusters');
  const edsSource = type === 'EDS' && msg.edsClusterConfig ? translateResourceSource(msg.edsClusterConfig.edsConfig, errors, 'eds_cluster_config.eds_config') : undefined;
  const thresholds = ((msg.circuitBreakers?.thresholds ?? []) as Msg[]).map(threshold);
  let transportSocket: ClusterConfig['transportSocket'];
  if (msg.transportSocket) {
    const ts = ext.parseNested('transport_socket', String(msg.transportSocket.name ?? ''), msg.transportSocket.typedConfig, false, errors, 'transport_socket');
    if (ts) transportSocket = ts;
  }
  const transportSocketMatches = msg.transportSocketMatches?.length ? translateTransportSocketMatches(msg.transportSocketMatches, ext, errors) : undefined;
  const bind = msg.upstreamBindConfig?.sourceAddress?.address as string | undefined;
  const ka = msg.upstreamConnectionOptions?.tcpKeepalive as Msg | undefined;
  const od = msg.originalDstLbConfig as Msg | undefined;
  const protocol = upstreamProtocol(msg, errors);
  let aggregateClusters: string[] | undefined;
  if (type === 'AGGREGATE') {
    const u = unpackAny(msg.clusterType.typedConfig, errors, 'cluster_type.typed_config');
    if (u && u.typeUrl !== AGGREGATE_URL) errors.add('cluster_type.typed_config', `expected ${AGGREGATE_URL}, got ${u.typeUrl}`);
    aggregateClusters = ((u?.message?.clusters ?? []) as unknown[]).map(String);
    if (u?.message && aggregateClusters.length === 0) errors.add('cluster_type.typed_config.clusters', 'must name at least one cluster');
  }
  let lb = translateLbSettings(msg, errors);
  let effectivePolicy = lbPolicy;
  if (msg.loadBalancingPolicy) {
    const typed = translateLoadBalancingPolicy(msg.loadBalancingPolicy, lb, errors.at('load_balancing_policy'));
    if (typed) {
      effectivePolicy = typed.policy;
      lb = typed.lb;
    }
  }
  const lbSubset = msg.lbSubsetConfig ? translateLbSubsetConfig(msg.lbSubsetConfig, errors.at('lb_subset_config')) : undefined;
  if (lbSubset) {
    // Envoy's cluster manager rejects these combinations when the cluster is created.
    if (lbPolicy === 'CLUSTER_PROVIDED') errors.add('lb_policy', 'LB policy CLUSTER_PROVIDED cannot be combined with lb_subset_config');
    if (msg.loadBalancingPolicy) errors.add('load_balancing_policy', 'load_balancing_policy cannot be combined with lb_subset_config');
    if (type === 'ORIGINAL_DST') errors.add('lb_subset_config', "cluster type 'original_dst' may not be used with lb_subset_config");
  }
  const healthChecks = translateHealthChecks((msg.healthChecks ?? []) as Msg[], errors);
  const outlierDetection = msg.outlierDetection ? translateOutlierDetection(msg.outlierDetection, errors.at('outlier_detection')) : undefined;
  if (errors.failed) return undefined;
  const familyIdx = typeof msg.dnsLookupFamily === 'number' ? msg.dnsLookupFamily : DNS_FAMILY.indexOf(msg.dnsLookupFamily ?? 'AUTO');
  return {
    name,
    statName: String(msg.altStatName || name),
    type,
    lbPolicy: effectivePolicy,
    connectTimeoutMs,
    perConnectionBufferLimitBytes: wrapped<number>(msg.perConnectionBufferLimitBytes) ?? DEFAULT_BUFFER_LIMIT_BYTES,
    ...(loadAssignment ? { loadAssignment } : {}),
    ...(type === 'EDS' ? { edsServiceName: String(msg.edsClusterConfig?.serviceName || name) } : {}),
    ...(edsSource?.kind === 'api' ? { edsApiSource: edsSource.api } : {}),
    dnsLookupFamily: DNS_FAMILY[familyIdx] ?? 'AUTO',
    dnsRefreshRateMs: durationMs(msg.dnsRefreshRate) ?? DEFAULT_DNS_REFRESH_MS,
    respectDnsTtl: !!msg.respectDnsTtl,
    circuitBreakers: thresholds,
    ...(transportSocket ? { transportSocket } : {}),
    ...(transportSocketMatches?.length ? { transportSocketMatches } : {}),
    ...(bind ? { upstreamBindAddress: bind } : {}),
    metadata: metadataToJson(msg.metadata),
    upstreamHttpProtocol: protocol,
    ...(msg.maxRequestsPerConnection ? { maxRequestsPerConnection: wrapped<number>(msg.maxRequestsPerConnection) } : {}),
    ...(ka ? { tcpKeepalive: { probes: wrapped<number>(ka.keepaliveProbes), timeS: wrapped<number>(ka.keepaliveTime), intervalS: wrapped<number>(ka.keepaliveInterval) } } : {}),
    ...(od ? { originalDst: { useHttpHeader: !!od.useHttpHeader, httpHeaderName: String(od.httpHeaderName || 'x-envoy-original-dst-host'), ...(od.upstreamPortOverride ? { upstreamPortOverride: num(od.upstreamPortOverride.value) } : {}) } } : {}),
    cleanupIntervalMs: durationMs(msg.cleanupInterval) ?? 5000,
    lb,
    healthChecks,
    ...(outlierDetection ? { outlierDetection } : {}),
    closeConnectionsOnHostHealthFailure: !!msg.closeConnectionsOnHostHealthFailure,
    ignoreHealthOnHostRemoval: !!msg.ignoreHealthOnHostRemoval,
    ...(aggregateClusters ? { aggregateClusters } : {}),
    ...(lbSubset ? { lbSubset } : {}),
  };
}

// ---- subset load balancer ---------------------------------------------------------------

const SUBSET_FALLBACK = ['NO_FALLBACK', 'ANY_ENDPOINT', 'DEFAULT_SUBSET'] as const;
const SELECTOR_FALLBACK = ['NOT_DEFINED', 'NO_FALLBACK', 'ANY_ENDPOINT', 'DEFAULT_SUBSET', 'KEYS_SUBSET'] as const;
const METADATA_FALLBACK = ['METADATA_NO_FALLBACK', 'FALLBACK_LIST'] as const;

function enumOf<T extends string>(values: readonly T[], v: unknown): T {
  if (typeof v === 'number') return values[v] ?? values[0]!;
  return (values as readonly unknown[]).includes(v) ? (v as T) : values[0]!;
}

/**
 * Cluster.lb_subset_config -> LbSubsetConfig, or undefined when it has no subset_selectors (Envoy
 * then runs the plain LB). Selector checks follow Envoy's SubsetSelector constructor.
 */
export function translateLbSubsetConfig(m: Msg, errors: ErrorSink): LbSubsetConfig | undefined {
  const raw = (m.subsetSelectors ?? []) as Msg[];
  if (raw.length === 0) return undefined;
  const selectors: LbSubsetSelectorConfig[] = [];
  raw.forEach((sel, i) => {
    const keys = [...new Set(((sel.keys ?? []) as unknown[]).map(String))].sort();
    const fallbackKeysSubset = [...new Set(((sel.fallbackKeysSubset ?? []) as unknown[]).map(String))].sort();
    const fallbackPolicy = enumOf(SELECTOR_FALLBACK, sel.fallbackPolicy);
    const path = `subset_selectors[${i}]`;
    if (fallbackPolicy !== 'KEYS_SUBSET') {
      if (fallbackKeysSubset.length > 0) errors.add(`${path}.fallback_keys_subset`, 'fallback_keys_subset can be set only for KEYS_SUBSET fallback_policy');
    } else if (fallbackKeysSubset.length === 0) {
      errors.add(`${path}.fallback_keys_subset`, 'fallback_keys_subset cannot be empty');
    } else if (!fallbackKeysSubset.every((k) => keys.includes(k))) {
      errors.add(`${path}.fallback_keys_subset`, 'fallback_keys_subset must be a subset of selector keys');
    } else if (fallbackKeysSubset.length === keys.length) {
      errors.add(`${path}.fallback_keys_subset`, 'fallback_keys_subset cannot be equal to keys');
    }
    if (keys.length === 0) return; // Envoy ignores selectors without keys
    selectors.push({ keys, singleHostPerSubset: !!sel.singleHostPerSubset, fallbackPolicy, fallbackKeysSubset });
  });
  return {
    fallbackPolicy: enumOf(SUBSET_FALLBACK, m.fallbackPolicy),
    defaultSubset: structToJson(m.defaultSubset),
    subsetSelectors: selectors,
    localityWeightAware: !!m.localityWeightAware,
    scaleLocalityWeight: !!m.scaleLocalityWeight,
    panicModeAny: !!m.panicModeAny,
    listAsAny: !!m.listAsAny,
    metadataFallbackPolicy: enumOf(METADATA_FALLBACK, m.metadataFallbackPolicy),
  };
}

// ---- load balancer settings -------------------------------------------------------------

const LR_SELECTION = ['N_CHOICES', 'FULL_SCAN'] as const;

function percent(p: Msg | null | undefined): number | undefined {
  return p ? Number(p.value ?? 0) : undefined;
}

function runtimeDouble(d: Msg | null | undefined): number | undefined {
  return d ? Number(d.defaultValue ?? 0) : undefined;
}

/** lb_policy's companion configs plus common_lb_config -> LbSettingsConfig. */
export function translateLbSettings(msg: Msg, errors: ErrorSink): LbSettingsConfig {
  const common = (msg.commonLbConfig ?? {}) as Msg;
  const panic = percent(common.healthyPanicThreshold);
  if (panic !== undefined && (panic < 0 || panic > 100)) errors.add('common_lb_config.healthy_panic_threshold', 'must be within [0, 100]');
  const lr = msg.leastRequestLbConfig as Msg | null;
  const rh = msg.ringHashLbConfig as Msg | null;
  const mg = msg.maglevLbConfig as Msg | null;
  const out: Mutable<LbSettingsConfig> = {
    localityWeightedLb: !!common.localityWeightedLbConfig,
    ignoreNewHostsUntilFirstHc: !!common.ignoreNewHostsUntilFirstHc,
    closeConnectionsOnHostSetChange: !!common.closeConnectionsOnHostSetChange,
    useHostnameForHashing: !!common.consistentHashingLbConfig?.useHostnameForHashing,
  };
  if (panic !== undefined) out.healthyPanicThresholdPct = panic;
  // Envoy's CommonLbConfig.locality_config_specifier oneof: locality weighted wins.
  if (common.zoneAwareLbConfig && !common.localityWeightedLbConfig) out.zoneAware = zoneAwareConfig(common.zoneAwareLbConfig, errors, 'common_lb_config.zone_aware_lb_config');
  const merge = durationMs(common.updateMergeWindow);
  if (merge !== undefined) {
    if (merge < 0) errors.add('common_lb_config.update_merge_window', 'must not be negative');
    out.updateMergeWindowMs = merge;
  }
  if (lr) {
    const cc = wrapped<number>(lr.choiceCount);
    if (cc !== undefined) {
      if (cc < 2) errors.add('least_request_lb_config.choice_count', 'must be >= 2');
      out.choiceCount = cc;
    }
    const bias = runtimeDouble(lr.activeRequestBias);
    if (bias !== undefined) out.activeRequestBias = bias;
  }
  if (rh) ringSizes(rh, out, errors, 'ring_hash_lb_config');
  if (mg) maglevSize(mg, out, errors, 'maglev_lb_config');
  // lb_config oneof: only the companion config of the cluster's lb_policy applies.
  const policy = msg.lbPolicy;
  const lrPolicy = policy === 1 || policy === 'LEAST_REQUEST';
  const ssMsg = lrPolicy ? lr?.slowStartConfig : msg.roundRobinLbConfig?.slowStartConfig;
  const ssPath = lrPolicy ? 'least_request_lb_config.slow_start_config' : 'round_robin_lb_config.slow_start_config';
  if (ssMsg) {
    const ss = slowStartConfig(ssMsg, errors, ssPath);
    if (ss) out.slowStart = ss;
  }
  return out;
}

/** Cluster.SlowStartConfig -> SlowStartConfig (undefined for a zero window: slow start off). */
function slowStartConfig(m: Msg, errors: ErrorSink, path: string): SlowStartConfig | undefined {
  const windowMs = durationMs(m.slowStartWindow) ?? 0;
  if (windowMs < 0) errors.add(`${path}.slow_start_window`, 'must not be negative');
  const aggression = runtimeDouble(m.aggression) ?? 1.0;
  // Envoy takes any aggression and falls back to 1.0 at pick time when it is <= 0 or NaN.
  if (!Number.isFinite(aggression) && !Number.isNaN(aggression)) errors.add(`${path}.aggression.default_value`, 'must be finite');
  const minWeightPercent = percent(m.minWeightPercent) ?? 10;
  if (!(minWeightPercent >= 0 && minWeightPercent <= 100)) errors.add(`${path}.min_weight_percent.value`, 'must be within [0, 100]');
  return windowMs > 0 ? { windowMs, aggression, minWeightPercent } : undefined;
}

/** ZoneAwareLbConfig (cluster common_lb_config or typed LocalityLbConfig) -> ZoneAwareLbConfig. */
function zoneAwareConfig(m: Msg, errors: ErrorSink, path: string): ZoneAwareLbConfig {
  const routing = percent(m.routingEnabled) ?? 100;
  if (!(routing >= 0 && routing <= 100)) errors.add(`${path}.routing_enabled.value`, 'must be within [0, 100]');
  const minSize = wrapped<number>(m.minClusterSize);
  return {
    routingEnabledPct: Math.round(routing),
    minClusterSize: minSize === undefined ? 6 : Number(minSize),
    failTrafficOnPanic: !!m.failTrafficOnPanic,
    forceLocalityDirectRouting: !!m.forceLocalityDirectRouting,
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function ringSizes(rh: Msg, out: Mutable<LbSettingsConfig>, errors: ErrorSink, path: string): void {
  const min = wrapped<number>(rh.minimumRingSize);
  const max = wrapped<number>(rh.maximumRingSize);
  if (min !== undefined) out.minRingSize = min;
  if (max !== undefined) out.maxRingSize = max;
  if (max !== undefined && max > 8 * 1024 * 1024) errors.add(`${path}.maximum_ring_size`, 'must be <= 8388608');
  if ((min ?? 1024) > (max ?? 8 * 1024 * 1024)) errors.add(`${path}.minimum_ring_size`, 'must not exceed maximum_ring_size');
  const hf = rh.hashFunction;
  if (hf === 1 || hf === 'MURMUR_HASH_2') errors.add(`${path}.hash_function`, 'MURMUR_HASH_2 is not supported (XX_HASH only)');
}

function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let i = 2; i * i <= n; i++) if (n % i === 0) return false;
  return true;
}

function maglevSize(mg: Msg, out: Mutable<LbSettingsConfig>, errors: ErrorSink, path: string): void {
  const size = wrapped<number>(mg.tableSize);
  if (size === undefined) return;
  if (!isPrime(size) || size > 5000011) errors.add(`${path}.table_size`, 'must be a prime number <= 5000011');
  out.maglevTableSize = size;
}

const POLICY_PREFIX = 'type.googleapis.com/envoy.extensions.load_balancing_policies.';
const TYPED_POLICIES: Record<string, LbPolicy> = {
  [`${POLICY_PREFIX}round_robin.v3.RoundRobin`]: 'ROUND_ROBIN',
  [`${POLICY_PREFIX}least_request.v3.LeastRequest`]: 'LEAST_REQUEST',
  [`${POLICY_PREFIX}random.v3.Random`]: 'RANDOM',
  [`${POLICY_PREFIX}ring_hash.v3.RingHash`]: 'RING_HASH',
  [`${POLICY_PREFIX}maglev.v3.Maglev`]: 'MAGLEV',
  [`${POLICY_PREFIX}cluster_provided.v3.ClusterProvided`]: 'CLUSTER_PROVIDED',
};

/**
 * Cluster.load_balancing_policy: Envoy takes the first policy whose extension it knows
 * (cluster_manager_impl / upstream_impl "no supported policy" otherwise). The typed config
 * overrides lb_policy and its *_lb_config; common_lb_config keeps applying.
 */
export function translateLoadBalancingPolicy(msg: Msg, base: LbSettingsConfig, errors: ErrorSink): { policy: LbPolicy; lb: LbSettingsConfig } | undefined {
  const policies = (msg.policies ?? []) as Msg[];
  for (let i = 0; i < policies.length; i++) {
    const tec = policies[i]!.typedExtensionConfig as Msg | null;
    const any = tec?.typedConfig as Msg | null;
    const url = String(any?.typeUrl ?? '');
    const policy = TYPED_POLICIES[url];
    if (!policy) continue;
    const path = `policies[${i}].typed_extension_config.typed_config`;
    const u = unpackAny(any, errors, path);
    const m = (u?.message ?? {}) as Msg;
    const out: Mutable<LbSettingsConfig> = { ...base };
    delete out.slowStart; // the typed policy replaces the *_lb_config slow start
    const hashing = policy === 'RING_HASH' || policy === 'MAGLEV';
    const loc = (hashing ? m : m.localityLbConfig) as Msg | null;
    if (loc?.localityWeightedLbConfig) {
      out.localityWeightedLb = true;
      delete out.zoneAware;
    }
    if (loc?.zoneAwareLbConfig) out.zoneAware = zoneAwareConfig(loc.zoneAwareLbConfig, errors, `${path}.${hashing ? '' : 'locality_lb_config.'}zone_aware_lb_config`);
    if (m.consistentHashingLbConfig?.useHostnameForHashing) out.useHostnameForHashing = true;
    if ((policy === 'ROUND_ROBIN' || policy === 'LEAST_REQUEST') && m.slowStartConfig) {
      const ss = slowStartConfig(m.slowStartConfig, errors, `${path}.slow_start_config`);
      if (ss) out.slowStart = ss;
    }
    if (policy === 'LEAST_REQUEST') {
      const cc = wrapped<number>(m.choiceCount);
      if (cc !== undefined) out.choiceCount = cc;
      const bias = runtimeDouble(m.activeRequestBias);
      if (bias !== undefined) out.activeRequestBias = bias;
      const sel = typeof m.selectionMethod === 'number' ? LR_SELECTION[m.selectionMethod] : m.selectionMethod;
      if (sel === 'FULL_SCAN' || wrapped<boolean>(m.enableFullScan)) out.leastRequestSelection = 'FULL_SCAN';
    } else if (policy === 'RING_HASH') {
      ringSizes(m, out, errors, path);
    } else if (policy === 'MAGLEV') {
      maglevSize(m, out, errors, path);
    }
    return { policy, lb: out };
  }
  errors.add('policies', 'no supported load balancing policy');
  return undefined;
}

// ---- active health checks ---------------------------------------------------------------

function payloadHex(p: Msg | null | undefined): string {
  if (!p) return '';
  if (p.text) return String(p.text).toLowerCase();
  if (p.binary) return Buffer.from(p.binary as Uint8Array).toString('hex');
  return '';
}

function ranges(list: Msg[] | null | undefined, fallback: [number, number][]): [number, number][] {
  const out = ((list ?? []) as Msg[]).map((r) => [num(r.start), num(r.end)] as [number, number]);
  return out.length ? out : fallback;
}

function headerOptions(list: Msg[] | null | undefined): { key: string; value: string; append: boolean }[] {
  return ((list ?? []) as Msg[]).map((h) => ({
    key: String(h.header?.key ?? '').toLowerCase(),
    value: String(h.header?.value ?? ''),
    // append defaults to true for HeaderValueOption; append_action APPEND_IF_EXISTS_OR_ADD (0) too.
    append: h.append ? !!wrapped<boolean>(h.append) : h.appendAction === undefined || h.appendAction === 0 || h.appendAction === 'APPEND_IF_EXISTS_OR_ADD',
  }));
}

export function translateHealthChecks(list: Msg[], errors: ErrorSink): HealthCheckConfig[] {
  const out: HealthCheckConfig[] = [];
  list.forEach((hc, i) => {
    const path = `health_checks[${i}]`;
    const timeoutMs = durationMs(hc.timeout);
    const intervalMs = durationMs(hc.interval);
    if (!timeoutMs || timeoutMs <= 0) errors.add(`${path}.timeout`, 'required, must be > 0');
    if (!intervalMs || intervalMs <= 0) errors.add(`${path}.interval`, 'required, must be > 0');
    const unhealthyThreshold = wrapped<number>(hc.unhealthyThreshold);
    const healthyThreshold = wrapped<number>(hc.healthyThreshold);
    if (unhealthyThreshold === undefined) errors.add(`${path}.unhealthy_threshold`, 'required');
    if (healthyThreshold === undefined) errors.add(`${path}.healthy_threshold`, 'required');
    let kind: HealthCheckKind | undefined;
    let http: HealthCheckConfig['http'];
    let tcp: HealthCheckConfig['tcp'];
    let grpc: HealthCheckConfig['grpc'];
    if (hc.httpHealthCheck) {
      const h = hc.httpHealthCheck as Msg;
      kind = 'HTTP';
      if (!h.path) errors.add(`${path}.http_health_check.path`, 'must not be empty');
      const method = typeof h.method === 'number' ? (['GET', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'][h.method] ?? 'GET') : String(h.method || 'GET');
      if (method === 'CONNECT') errors.add(`${path}.http_health_check.method`, 'CONNECT is not allowed');
      http = {
        host: String(h.host ?? ''),
        path: String(h.path ?? '/'),
        method: method === 'METHOD_UNSPECIFIED' ? 'GET' : method,
        expectedStatuses: ranges(h.expectedStatuses, [[200, 201]]),
        retriableStatuses: ranges(h.retriableStatuses, []),
        requestHeadersToAdd: headerOptions(h.requestHeadersToAdd),
        requestHeadersToRemove: ((h.requestHeadersToRemove ?? []) as string[]).map((s) => String(s).toLowerCase()),
        http2: h.codecClientType === 1 || h.codecClientType === 'HTTP2',
      };
      for (const [s, e] of http.expectedStatuses) if (s < 100 || e > 600 || s >= e) errors.add(`${path}.http_health_check.expected_statuses`, `invalid range [${s}, ${e})`);
    } else if (hc.tcpHealthCheck) {
      kind = 'TCP';
      tcp = { sendHex: payloadHex(hc.tcpHealthCheck.send), receiveHex: ((hc.tcpHealthCheck.receive ?? []) as Msg[]).map(payloadHex) };
    } else if (hc.grpcHealthCheck) {
      kind = 'GRPC';
      grpc = {
        serviceName: String(hc.grpcHealthCheck.serviceName ?? ''),
        authority: String(hc.grpcHealthCheck.authority ?? ''),
        initialMetadata: headerOptions(hc.grpcHealthCheck.initialMetadata).map(({ key, value }) => ({ key, value })),
      };
    } else {
      errors.add(path, 'one of http_health_check, tcp_health_check or grpc_health_check is required (custom_health_check is not supported)');
    }
    if (!kind || errors.failed) return;
    const opt = (name: string, v: number | undefined): Record<string, number> => (v !== undefined ? { [name]: v } : {});
    out.push({
      kind,
      timeoutMs: timeoutMs!,
      intervalMs: intervalMs!,
      initialJitterMs: durationMs(hc.initialJitter) ?? 0,
      intervalJitterMs: durationMs(hc.intervalJitter) ?? 0,
      intervalJitterPercent: num(hc.intervalJitterPercent),
      unhealthyThreshold: unhealthyThreshold!,
      healthyThreshold: healthyThreshold!,
      // Envoy: no_traffic_interval defaults to 60s.
      noTrafficIntervalMs: durationMs(hc.noTrafficInterval) ?? 60_000,
      ...opt('noTrafficHealthyIntervalMs', durationMs(hc.noTrafficHealthyInterval)),
      ...opt('unhealthyIntervalMs', durationMs(hc.unhealthyInterval)),
      ...opt('unhealthyEdgeIntervalMs', durationMs(hc.unhealthyEdgeInterval)),
      ...opt('healthyEdgeIntervalMs', durationMs(hc.healthyEdgeInterval)),
      reuseConnection: wrapped<boolean>(hc.reuseConnection) ?? true,
      ...(hc.eventLogPath ? { eventLogPath: String(hc.eventLogPath) } : {}),
      alwaysLogHealthCheckFailures: !!hc.alwaysLogHealthCheckFailures,
      alwaysLogHealthCheckSuccess: !!hc.alwaysLogHealthCheckSuccess,
      ...(http ? { http } : {}),
      ...(tcp ? { tcp } : {}),
      ...(grpc ? { grpc } : {}),
    });
  });
  return out;
}

// ---- outlier detection ------------------------------------------------------------------

/** OutlierDetection with Envoy's documented defaults (outlier_detection.proto). */
export function translateOutlierDetection(m: Msg, errors: ErrorSink): OutlierDetectionConfig {
  const u = (w: Msg | null | undefined, d: number): number => wrapped<number>(w) ?? d;
  const pct = (w: Msg | null | undefined, d: number, field: string): number => {
    const v = u(w, d);
    if (v < 0 || v > 100) errors.add(field, 'must be within [0, 100]');
    return v;
  };
  const baseEjectionTimeMs = durationMs(m.baseEjectionTime) ?? 30_000;
  const maxEjectionTimeMs = durationMs(m.maxEjectionTime) ?? Math.max(300_000, baseEjectionTimeMs);
  if (maxEjectionTimeMs < baseEjectionTimeMs) errors.add('max_ejection_time', 'must be >= base_ejection_time');
  return {
    consecutive5xx: u(m.consecutive5xx, 5),
    consecutiveGatewayFailure: u(m.consecutiveGatewayFailure, 5),
    consecutiveLocalOriginFailure: u(m.consecutiveLocalOriginFailure, 5),
    intervalMs: durationMs(m.interval) ?? 10_000,
    baseEjectionTimeMs,
    maxEjectionTimeMs,
    maxEjectionTimeJitterMs: durationMs(m.maxEjectionTimeJitter) ?? 0,
    maxEjectionPercent: pct(m.maxEjectionPercent, 10, 'max_ejection_percent'),
    enforcingConsecutive5xx: pct(m.enforcingConsecutive5xx, 100, 'enforcing_consecutive_5xx'),
    enforcingConsecutiveGatewayFailure: pct(m.enforcingConsecutiveGatewayFailure, 0, 'enforcing_consecutive_gateway_failure'),
    enforcingConsecutiveLocalOriginFailure: pct(m.enforcingConsecutiveLocalOriginFailure, 100, 'enforcing_consecutive_local_origin_failure'),
    enforcingSuccessRate: pct(m.enforcingSuccessRate, 100, 'enforcing_success_rate'),
    enforcingLocalOriginSuccessRate: pct(m.enforcingLocalOriginSuccessRate, 100, 'enforcing_local_origin_success_rate'),
    enforcingFailurePercentage: pct(m.enforcingFailurePercentage, 0, 'enforcing_failure_percentage'),
    enforcingFailurePercentageLocalOrigin: pct(m.enforcingFailurePercentageLocalOrigin, 0, 'enforcing_failure_percentage_local_origin'),
    successRateMinimumHosts: u(m.successRateMinimumHosts, 5),
    successRateRequestVolume: u(m.successRateRequestVolume, 100),
    successRateStdevFactor: u(m.successRateStdevFactor, 1900),
    failurePercentageThreshold: pct(m.failurePercentageThreshold, 85, 'failure_percentage_threshold'),
    failurePercentageMinimumHosts: u(m.failurePercentageMinimumHosts, 5),
    failurePercentageRequestVolume: u(m.failurePercentageRequestVolume, 50),
    splitExternalLocalOriginErrors: !!m.splitExternalLocalOriginErrors,
    successfulActiveHealthCheckUnejectHost: wrapped<boolean>(m.successfulActiveHealthCheckUnejectHost) ?? true,
    alwaysEjectOneHost: wrapped<boolean>(m.alwaysEjectOneHost) ?? false,
  };
}
