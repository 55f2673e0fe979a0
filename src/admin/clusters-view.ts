// /clusters (text) and /clusters?format=json (envoy.admin.v3.Clusters) from a plain view of the
// cluster manager that the server assembles (ClusterStatusView; no runtime objects cross into
// admin/). The JSON is built as an envoy.admin.v3.Clusters message and printed with our proto3
// JSON writer, so field names, order, enum names and omitted defaults are Envoy's
// (source/server/admin/clusters_handler.cc); `istioctl proxy-config endpoint` parses it.
// Text lines follow the same handler: outlier info, circuit breakers per priority,
// added_via_api, then per host its stats (sorted by name) and host attributes.
import { lookupType } from '../gen/proto-root';
import type { Msg } from '../config/translate/proto-util';
import { messageToJson } from './proto-json-writer';
import type {
  WorkerCircuitBreakerThresholds as CircuitBreakerThresholdsView,
  WorkerClusterStatus,
  WorkerEdsHealth as EdsHealthStatus,
  WorkerHostHealth as HostHealthView,
  WorkerHostStats as HostStatsView,
  WorkerHostStatus as HostStatusView,
} from '../worker/cluster-status';

// The per-host and per-cluster shapes are the ones workers report (worker/cluster-status.ts,
// plain data); the admin adds only what the control side knows (added_via_api).
export type { CircuitBreakerThresholdsView, EdsHealthStatus, HostHealthView, HostStatsView, HostStatusView };

export interface ClusterStatusView extends WorkerClusterStatus {
  readonly addedViaApi: boolean;
}

const COUNTERS = ['cx_connect_fail', 'cx_total', 'rq_error', 'rq_success', 'rq_timeout', 'rq_total'] as const;
const GAUGES = ['cx_active', 'rq_active'] as const;
const HEALTH_ENUM: Record<EdsHealthStatus, number> = { UNKNOWN: 0, HEALTHY: 1, UNHEALTHY: 2, DRAINING: 3, TIMEOUT: 4, DEGRADED: 5 };

/** Parses our address strings into an envoy.config.core.v3.Address (plain, camelCase keys). */
export function addressMessage(addr: string): Msg {
  const internal = /^envoy:\/\/([^/]*)\/(.*)$/.exec(addr);
  if (internal) return { envoyInternalAddress: { serverListenerName: internal[1], endpointId: internal[2] } };
  const ip = /^\[?([^\]]*?)\]?:(\d+)$/.exec(addr);
  if (ip && !addr.startsWith('/') && !addr.startsWith('@')) return { socketAddress: { address: ip[1], portValue: Number(ip[2]) } };
  return { pipe: { path: addr } };
}

function hostMessage(h: HostStatusView): Msg {
  const stats: Msg[] = [];
  for (const n of COUNTERS) stats.push({ name: n, value: h.stats[n], type: 0 });
  for (const n of GAUGES) stats.push({ name: n, value: h.stats[n], type: 1 });
  const hs = h.health;
  return {
    address: addressMessage(h.address),
    stats,
    healthStatus: {
      failedActiveHealthCheck: hs.failedActiveHealthCheck ?? false,
      failedOutlierCheck: hs.failedOutlierCheck ?? false,
      edsHealthStatus: HEALTH_ENUM[hs.edsHealthStatus],
      failedActiveDegradedCheck: hs.failedActiveDegradedCheck ?? false,
      pendingDynamicRemoval: hs.pendingDynamicRemoval ?? false,
      pendingActiveHc: hs.pendingActiveHc ?? false,
      excludedViaImmediateHcFail: hs.excludedViaImmediateHcFail ?? false,
      activeHcTimeout: hs.activeHcTimeout ?? false,
    },
    successRate: h.successRate !== undefined && h.successRate >= 0 ? { value: h.successRate } : undefined,
    weight: h.weight,
    hostname: h.hostname ?? '',
    priority: h.priority,
    localOriginSuccessRate: h.localOriginSuccessRate !== undefined && h.localOriginSuccessRate >= 0 ? { value: h.localOriginSuccessRate } : undefined,
    locality: { region: h.locality?.region ?? '', zone: h.locality?.zone ?? '', subZone: h.locality?.subZone ?? '' },
  };
}

/** envoy.admin.v3.Clusters as a plain message (camelCase keys). */
export function clustersMessage(cs: readonly ClusterStatusView[]): Msg {
  return {
    clusterStatuses: cs.map((c) => ({
      name: c.name,
      addedViaApi: c.addedViaApi,
      successRateEjectionThreshold: c.outlier && c.outlier.successRateEjectionThreshold > 0 ? { value: c.outlier.successRateEjectionThreshold } : undefined,
      hostStatuses: c.hosts.map(hostMessage),
      localOriginSuccessRateEjectionThreshold: c.outlier && c.outlier.localOriginSuccessRateEjectionThreshold > 0 ? { value: c.outlier.localOriginSuccessRateEjectionThreshold } : undefined,
      circuitBreakers: {
        thresholds: c.circuitBreakers.map((t) => ({
          priority: t.priority === 'HIGH' ? 1 : 0,
          maxConnections: { value: t.maxConnections },
          maxPendingRequests: { value: t.maxPendingRequests },
          maxRequests: { value: t.maxRequests },
          maxRetries: { value: t.maxRetries },
        })),
      },
      observabilityName: c.observabilityName,
      edsServiceName: c.edsServiceName ?? '',
    })),
  };
}

/** /clusters?format=json body (Envoy pretty-prints this one with one-space indents). */
export function renderClustersJson(cs: readonly ClusterStatusView[]): string {
  return JSON.stringify(messageToJson(lookupType('envoy.admin.v3.Clusters'), clustersMessage(cs)), null, 1);
}

function healthFlags(h: HostHealthView): string {
  // Envoy HostUtility::healthFlagsToString: "healthy" or "/flag/flag...".
  let s = '';
  if (h.failedActiveHealthCheck) s += '/failed_active_hc';
  if (h.failedOutlierCheck) s += '/failed_outlier_check';
  if (h.edsHealthStatus === 'UNHEALTHY') s += '/failed_eds_health';
  if (h.failedActiveDegradedCheck) s += '/degraded_active_hc';
  if (h.edsHealthStatus === 'DEGRADED') s += '/degraded_eds_health';
  if (h.pendingDynamicRemoval) s += '/pending_dynamic_removal';
  if (h.pendingActiveHc) s += '/pending_active_hc';
  if (h.excludedViaImmediateHcFail) s += '/excluded_via_immediate_hc_fail';
  if (h.activeHcTimeout) s += '/active_hc_timeout';
  if (h.edsHealthStatus === 'DRAINING') s += '/eds_status_draining';
  return s === '' ? 'healthy' : s;
}

/** /clusters text body. */
export function renderClustersText(cs: readonly ClusterStatusView[]): string {
  const out: string[] = [];
  for (const c of cs) {
    const n = c.name;
    if (c.outlier) {
      out.push(`${n}::outlier::success_rate_average::${c.outlier.successRateAverage}`);
      out.push(`${n}::outlier::success_rate_ejection_threshold::${c.outlier.successRateEjectionThreshold}`);
      out.push(`${n}::outlier::local_origin_success_rate_average::${c.outlier.localOriginSuccessRateAverage}`);
      out.push(`${n}::outlier::local_origin_success_rate_ejection_threshold::${c.outlier.localOriginSuccessRateEjectionThreshold}`);
    }
    for (const t of c.circuitBreakers) {
      const p = t.priority === 'HIGH' ? 'high' : 'default';
      out.push(`${n}::${p}_priority::max_connections::${t.maxConnections}`, `${n}::${p}_priority::max_pending_requests::${t.maxPendingRequests}`, `${n}::${p}_priority::max_requests::${t.maxRequests}`, `${n}::${p}_priority::max_retries::${t.maxRetries}`);
    }
    out.push(`${n}::added_via_api::${c.addedViaApi}`);
    if (c.edsServiceName) out.push(`${n}::eds_service_name::${c.edsServiceName}`);
    for (const h of c.hosts) {
      const a = `${n}::${h.address}`;
      for (const s of [...COUNTERS, ...GAUGES].sort()) out.push(`${a}::${s}::${h.stats[s]}`);
      out.push(
        `${a}::hostname::${h.hostname ?? ''}`,
        `${a}::health_flags::${healthFlags(h.health)}`,
        `${a}::weight::${h.weight}`,
        `${a}::region::${h.locality?.region ?? ''}`,
        `${a}::zone::${h.locality?.zone ?? ''}`,
        `${a}::sub_zone::${h.locality?.subZone ?? ''}`,
        `${a}::canary::${h.canary ?? false}`,
        `${a}::priority::${h.priority}`,
        `${a}::success_rate::${h.successRate ?? -1}`,
        `${a}::local_origin_success_rate::${h.localOriginSuccessRate ?? -1}`,
      );
    }
  }
  return out.map((l) => `${l}\n`).join('');
}

/** Adapts the server's older, minimal clusters() view (kept as a fallback). */
export function fromLegacyClusters(cs: readonly { name: string; hosts: readonly { address: string; health: string; weight: number; cxActive: number }[] }[]): ClusterStatusView[] {
  const known = new Set(['UNKNOWN', 'HEALTHY', 'UNHEALTHY', 'DRAINING', 'TIMEOUT', 'DEGRADED']);
  return cs.map((c) => ({
    name: c.name,
    addedViaApi: false,
    observabilityName: c.name,
    circuitBreakers: [
      { priority: 'DEFAULT', maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 },
      { priority: 'HIGH', maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 },
    ],
    hosts: c.hosts.map((h) => ({
      address: h.address,
      weight: h.weight,
      priority: 0,
      stats: { cx_connect_fail: 0, cx_total: 0, rq_error: 0, rq_success: 0, rq_timeout: 0, rq_total: 0, cx_active: h.cxActive, rq_active: 0 },
      // Envoy reports HEALTHY for hosts without EDS health information.
      health: { edsHealthStatus: known.has(h.health) && h.health !== 'UNKNOWN' ? (h.health as EdsHealthStatus) : 'HEALTHY' },
    })),
  }));
}
