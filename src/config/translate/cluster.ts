// envoy.config.cluster.v3.Cluster -> ClusterConfig, with Envoy's defaults applied and every
// problem reported with its field path.
import type { ErrorSink } from '../../common/result';
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_DNS_REFRESH_MS, type CircuitBreakerThresholdsConfig, type ClusterConfig, type ClusterDiscoveryType, type LbPolicy } from '../model/cluster';
import { DEFAULT_BUFFER_LIMIT_BYTES } from '../model/listener';
import { translateLoadAssignment, metadataToJson } from './endpoint';
import type { ExtensionTranslator } from './extension';
import { durationMs, num, unpackAny, wrapped, type Msg } from './proto-util';

const TYPES: readonly ClusterDiscoveryType[] = ['STATIC', 'STRICT_DNS', 'LOGICAL_DNS', 'EDS', 'ORIGINAL_DST'];
const LB: readonly LbPolicy[] = ['ROUND_ROBIN', 'LEAST_REQUEST', 'RING_HASH', 'RANDOM', 'MAGLEV', 'CLUSTER_PROVIDED', 'LOAD_BALANCING_POLICY_CONFIG'];
// Envoy's enum has a gap: ORIGINAL_DST_LB=4 is deprecated-reserved; numbers map as below.
const LB_BY_NUMBER: Record<number, LbPolicy> = { 0: 'ROUND_ROBIN', 1: 'LEAST_REQUEST', 2: 'RING_HASH', 3: 'RANDOM', 5: 'MAGLEV', 6: 'CLUSTER_PROVIDED', 7: 'LOAD_BALANCING_POLICY_CONFIG' };
const DNS_FAMILY = ['AUTO', 'V4_ONLY', 'V6_ONLY', 'V4_PREFERRED', 'ALL'] as const;
const HTTP_OPTIONS_URL = 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

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
    trackRemaining: !!t.trackRemaining,
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
  const thresholds = ((msg.circuitBreakers?.thresholds ?? []) as Msg[]).map(threshold);
  let transportSocket: ClusterConfig['transportSocket'];
  if (msg.transportSocket) {
    const ts = ext.parseNested('transport_socket', String(msg.transportSocket.name ?? ''), msg.transportSocket.typedConfig, false, errors, 'transport_socket');
    if (ts) transportSocket = ts;
  }
  const bind = msg.upstreamBindConfig?.sourceAddress?.address as string | undefined;
  const ka = msg.upstreamConnectionOptions?.tcpKeepalive as Msg | undefined;
  const od = msg.originalDstLbConfig as Msg | undefined;
  const protocol = upstreamProtocol(msg, errors);
  if (errors.failed) return undefined;
  const familyIdx = typeof msg.dnsLookupFamily === 'number' ? msg.dnsLookupFamily : DNS_FAMILY.indexOf(msg.dnsLookupFamily ?? 'AUTO');
  return {
    name,
    statName: String(msg.altStatName || name),
    type,
    lbPolicy,
    connectTimeoutMs,
    perConnectionBufferLimitBytes: wrapped<number>(msg.perConnectionBufferLimitBytes) ?? DEFAULT_BUFFER_LIMIT_BYTES,
    ...(loadAssignment ? { loadAssignment } : {}),
    ...(type === 'EDS' ? { edsServiceName: String(msg.edsClusterConfig?.serviceName || name) } : {}),
    dnsLookupFamily: DNS_FAMILY[familyIdx] ?? 'AUTO',
    dnsRefreshRateMs: durationMs(msg.dnsRefreshRate) ?? DEFAULT_DNS_REFRESH_MS,
    respectDnsTtl: !!msg.respectDnsTtl,
    circuitBreakers: thresholds,
    ...(transportSocket ? { transportSocket } : {}),
    ...(bind ? { upstreamBindAddress: bind } : {}),
    metadata: metadataToJson(msg.metadata),
    upstreamHttpProtocol: protocol,
    ...(msg.maxRequestsPerConnection ? { maxRequestsPerConnection: wrapped<number>(msg.maxRequestsPerConnection) } : {}),
    ...(ka ? { tcpKeepalive: { probes: wrapped<number>(ka.keepaliveProbes), timeS: wrapped<number>(ka.keepaliveTime), intervalS: wrapped<number>(ka.keepaliveInterval) } } : {}),
    ...(od ? { originalDst: { useHttpHeader: !!od.useHttpHeader, httpHeaderName: String(od.httpHeaderName || 'x-envoy-original-dst-host'), ...(od.upstreamPortOverride ? { upstreamPortOverride: num(od.upstreamPortOverride.value) } : {}) } } : {}),
    cleanupIntervalMs: durationMs(msg.cleanupInterval) ?? 5000,
  };
}
