// What one worker reports about its clusters for the admin's /clusters (Envoy's
// clusters_handler.cc reads the same things from its ClusterManager): per cluster the
// circuit-breaker thresholds per priority, the outlier detector's success-rate figures, and per
// host its address, discovery data (hostname, weight, priority, locality), health flags from
// every source and Envoy's per-host counters and gauges. Plain, structured-clone-safe data: it
// crosses the worker IPC channel as is. The admin's ClusterStatusView is this shape plus
// addedViaApi (the control side knows which clusters came from the bootstrap and adds it).
// Off the data path: built on demand.
import type { ClusterConfig } from '../config/model/cluster';
import type { ClusterManager } from '../engine/upstream/cluster-manager';
import type { ClusterRuntime } from '../engine/upstream/cluster-runtime';
import { HealthFlag, type Host } from '../engine/upstream/upstream-host';

export type WorkerEdsHealth = 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TIMEOUT' | 'DEGRADED';

/** Envoy's per-host stats: counters then gauges (cx_active, rq_active). */
export interface WorkerHostStats {
  readonly cx_connect_fail: number;
  readonly cx_total: number;
  readonly rq_error: number;
  readonly rq_success: number;
  readonly rq_timeout: number;
  readonly rq_total: number;
  readonly cx_active: number;
  readonly rq_active: number;
}

export interface WorkerHostHealth {
  readonly edsHealthStatus: WorkerEdsHealth;
  readonly failedActiveHealthCheck?: boolean;
  readonly failedOutlierCheck?: boolean;
  readonly failedActiveDegradedCheck?: boolean;
  readonly pendingDynamicRemoval?: boolean;
  readonly pendingActiveHc?: boolean;
  readonly excludedViaImmediateHcFail?: boolean;
  readonly activeHcTimeout?: boolean;
}

export interface WorkerHostStatus {
  readonly address: string;
  readonly hostname?: string;
  readonly weight: number;
  readonly priority: number;
  readonly locality?: { readonly region?: string; readonly zone?: string; readonly subZone?: string };
  readonly stats: WorkerHostStats;
  readonly health: WorkerHostHealth;
  readonly canary?: boolean;
  readonly successRate?: number;
  readonly localOriginSuccessRate?: number;
}

export interface WorkerCircuitBreakerThresholds {
  readonly priority: 'DEFAULT' | 'HIGH';
  readonly maxConnections: number;
  readonly maxPendingRequests: number;
  readonly maxRequests: number;
  readonly maxRetries: number;
}

export interface WorkerOutlierStatus {
  readonly successRateAverage: number;
  readonly successRateEjectionThreshold: number;
  readonly localOriginSuccessRateAverage: number;
  readonly localOriginSuccessRateEjectionThreshold: number;
}

export interface WorkerClusterStatus {
  readonly name: string;
  readonly observabilityName: string;
  readonly edsServiceName?: string;
  readonly circuitBreakers: readonly WorkerCircuitBreakerThresholds[];
  readonly outlier?: WorkerOutlierStatus;
  readonly hosts: readonly WorkerHostStatus[];
}

/** Envoy's default max_retries when a priority has no thresholds entry. */
const DEFAULT_MAX_RETRIES = 3;

/**
 * Our outlier detector does not keep the success-rate figures of its last interval yet; Envoy
 * prints -1 for "not computed" (and leaves the JSON thresholds out), which is what we report.
 */
const NOT_COMPUTED = -1;

/** The report of every cluster in `manager`, in the snapshot's order. */
export function reportClusterStatuses(manager: ClusterManager): WorkerClusterStatus[] {
  const out: WorkerClusterStatus[] = [];
  for (const rt of manager.all()) out.push(reportCluster(rt));
  return out;
}

export function reportCluster(rt: ClusterRuntime): WorkerClusterStatus {
  const cfg = rt.config;
  // Envoy walks the priority set: hosts grouped by priority, ascending (stable within one).
  const hosts = [...rt.allHosts()].sort((a, b) => a.priority - b.priority).map(reportHost);
  return {
    name: cfg.name,
    observabilityName: cfg.statName,
    ...(cfg.type === 'EDS' ? { edsServiceName: cfg.edsServiceName ?? cfg.name } : {}),
    circuitBreakers: [thresholds(rt, cfg, 'DEFAULT'), thresholds(rt, cfg, 'HIGH')],
    ...(rt.outlierDetector()
      ? { outlier: { successRateAverage: NOT_COMPUTED, successRateEjectionThreshold: NOT_COMPUTED, localOriginSuccessRateAverage: NOT_COMPUTED, localOriginSuccessRateEjectionThreshold: NOT_COMPUTED } }
      : {}),
    hosts,
  };
}

function thresholds(rt: ClusterRuntime, cfg: ClusterConfig, priority: 'DEFAULT' | 'HIGH'): WorkerCircuitBreakerThresholds {
  const rm = rt.circuitBreakers.of(priority);
  // Retries come from the config: with a retry budget the runtime limit is unbounded.
  const maxRetries = cfg.circuitBreakers.find((t) => t.priority === priority)?.maxRetries ?? DEFAULT_MAX_RETRIES;
  return { priority, maxConnections: rm.connections.max, maxPendingRequests: rm.pendingRequests.max, maxRequests: rm.requests.max, maxRetries };
}

/** Envoy's eds_health_status comes from the EDS health flags (clusters_handler.cc setHealthFlag). */
function edsHealth(h: Host): WorkerEdsHealth {
  switch (h.edsHealth) {
    case 'UNHEALTHY':
    case 'TIMEOUT':
      return 'UNHEALTHY';
    case 'DEGRADED':
      return 'DEGRADED';
    case 'DRAINING':
      return 'DRAINING';
    default:
      return 'HEALTHY';
  }
}

function locality(key: string): WorkerHostStatus['locality'] {
  if (key === '' || key === '//') return undefined;
  // Host.localityKey is "region/zone/sub_zone"; a sub zone may itself contain '/'.
  const [region = '', zone = '', ...rest] = key.split('/');
  return { region, zone, subZone: rest.join('/') };
}

export function reportHost(h: Host): WorkerHostStatus {
  const loc = locality(h.localityKey);
  return {
    address: h.key,
    ...(h.hostname ? { hostname: h.hostname } : {}),
    weight: h.weight,
    priority: h.priority,
    ...(loc ? { locality: loc } : {}),
    stats: {
      cx_connect_fail: h.cxConnectFail,
      cx_total: h.connectionsTotal,
      rq_error: h.rqError,
      rq_success: h.rqSuccess,
      rq_timeout: h.rqTimeout,
      rq_total: h.rqTotal,
      cx_active: h.activeConnections,
      rq_active: h.activeRequests,
    },
    health: {
      edsHealthStatus: edsHealth(h),
      failedActiveHealthCheck: h.hasFlag(HealthFlag.FAILED_ACTIVE_HC),
      failedOutlierCheck: h.hasFlag(HealthFlag.FAILED_OUTLIER_CHECK),
      failedActiveDegradedCheck: h.hasFlag(HealthFlag.DEGRADED_ACTIVE_HC),
      pendingDynamicRemoval: h.hasFlag(HealthFlag.PENDING_DYNAMIC_REMOVAL),
      pendingActiveHc: h.hasFlag(HealthFlag.PENDING_ACTIVE_HC),
      excludedViaImmediateHcFail: h.hasFlag(HealthFlag.EXCLUDED_VIA_IMMEDIATE_HC_FAIL),
    },
  };
}
