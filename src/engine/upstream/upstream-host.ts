// One upstream host of a cluster on a worker (Envoy HostImpl): address, EDS data, health flags
// from every source (EDS, active health checks, outlier detection) folded into the coarse health
// the load balancers read, live request/connection counts, per-host outlier state, the sockets
// opened to it, and a small event channel ("removed", "unhealthy") that connection pools
// subscribe to so they can drain when the host leaves or fails. Host objects are carried across
// EDS/DNS updates and cluster rebuilds by key, so all of this survives config pushes.
import type * as net from 'node:net';
import type { AddressConfig } from '../../config/model/address';
import type { HealthStatus } from '../../config/model/cluster';
import type { HostHealth, LbHost } from './lb/lb-types';

/** Envoy Host::HealthFlag bits. */
export const HealthFlag = {
  FAILED_ACTIVE_HC: 1,
  FAILED_OUTLIER_CHECK: 2,
  FAILED_EDS_HEALTH: 4,
  DEGRADED_EDS_HEALTH: 8,
  PENDING_ACTIVE_HC: 16,
  EDS_STATUS_DRAINING: 32,
  PENDING_DYNAMIC_REMOVAL: 64,
  DEGRADED_ACTIVE_HC: 128,
  EXCLUDED_VIA_IMMEDIATE_HC_FAIL: 256,
} as const;

const UNHEALTHY_FLAGS = HealthFlag.FAILED_ACTIVE_HC | HealthFlag.FAILED_OUTLIER_CHECK | HealthFlag.FAILED_EDS_HEALTH;
const DEGRADED_FLAGS = HealthFlag.DEGRADED_EDS_HEALTH | HealthFlag.DEGRADED_ACTIVE_HC;
// ClusterImplBase::partitionHostList: these hosts are left out of the health percentage.
const EXCLUDED_FLAGS = HealthFlag.PENDING_ACTIVE_HC | HealthFlag.EXCLUDED_VIA_IMMEDIATE_HC_FAIL | HealthFlag.EDS_STATUS_DRAINING;

export type HostEvent = 'removed' | 'unhealthy';
export type HostListener = (host: Host, event: HostEvent) => void;

/** What discovery (static, EDS, DNS, original destination) says about a host. */
export interface HostSpec {
  readonly address: AddressConfig;
  readonly key: string;
  readonly hostname: string;
  readonly weight: number;
  readonly edsHealth: HealthStatus;
  readonly priority: number;
  readonly localityKey: string;
  readonly localityWeight: number;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly healthCheckPort?: number;
}

/** Outlier detector state kept on the host (Envoy DetectorHostMonitorImpl). */
export interface OutlierState {
  consecutive5xx: number;
  consecutiveGatewayFailure: number;
  consecutiveLocalOriginFailure: number;
  numEjections: number;
  lastEjectionMs: number;
  lastUnejectionMs: number;
  ejectionTimeMs: number;
  /** Success-rate buckets of the current interval: externally and locally originated. */
  extTotal: number;
  extSuccess: number;
  localTotal: number;
  localSuccess: number;
}

export class Host implements LbHost {
  address!: AddressConfig;
  readonly key: string;
  hostname!: string;
  weight!: number;
  edsHealth!: HealthStatus;
  priority!: number;
  localityKey!: string;
  localityWeight!: number;
  metadata!: Readonly<Record<string, unknown>>;
  healthCheckPort: number | undefined = undefined;
  /** Coarse health for the LBs; recomputed by updateHealth() from `flags`. */
  health: HostHealth = 'healthy';
  flags = 0;
  /** Requests in flight (router: requestStarted/requestFinished); LEAST_REQUEST reads it live. */
  activeRequests = 0;
  activeConnections = 0;
  /** Total connections ever opened to the host (Envoy's per-host cx_total). */
  connectionsTotal = 0;
  /**
   * The rest of Envoy's per-host stats (HostStats), read by /clusters: connect failures and
   * timeouts (cx_connect_fail); requests attached to the host (rq_total: router requests, and
   * one per tcp_proxy connection as Envoy's TCP pool attaches one stream per connection); HTTP
   * outcomes (rq_success / rq_error for 5xx) and request timeouts (rq_timeout). Plain numbers:
   * the data path only increments them.
   */
  cxConnectFail = 0;
  rqTotal = 0;
  rqSuccess = 0;
  rqError = 0;
  rqTimeout = 0;
  /** LbHost.lastHcPassTimeMs: monotonic ms the host last turned healthy by active HC (slow start). */
  lastHcPassTimeMs: number | undefined = undefined;
  /** Used since the last ORIGINAL_DST cleanup sweep. */
  used = false;
  // Sockets, listeners and outlier state are made on first use: most hosts of 10,000 clusters never open a
  // connection through this worker, and outlier state is read only with outlier_detection.
  private socketSet: Set<net.Socket> | undefined;
  private outlierState: OutlierState | undefined;
  private listeners: HostListener[] | undefined;

  /** Connections opened to this host through the cluster. */
  get sockets(): Set<net.Socket> {
    return (this.socketSet ??= new Set());
  }

  get outlier(): OutlierState {
    return (this.outlierState ??= {
      consecutive5xx: 0,
      consecutiveGatewayFailure: 0,
      consecutiveLocalOriginFailure: 0,
      numEjections: 0,
      lastEjectionMs: 0,
      lastUnejectionMs: 0,
      ejectionTimeMs: 0,
      extTotal: 0,
      extSuccess: 0,
      localTotal: 0,
      localSuccess: 0,
    });
  }

  constructor(spec: HostSpec) {
    this.key = spec.key;
    this.assign(spec);
    this.updateHealth();
  }

  /** LbHost.addressKey: Envoy's address()->asString(). */
  get addressKey(): string {
    return this.key;
  }

  /** Takes discovery's new view; returns true when something the LB reads changed. */
  update(spec: HostSpec): boolean {
    const changed =
      this.weight !== spec.weight || this.edsHealth !== spec.edsHealth || this.priority !== spec.priority || this.localityKey !== spec.localityKey || this.localityWeight !== spec.localityWeight || this.hostname !== spec.hostname;
    this.assign(spec);
    return this.updateHealth() || changed;
  }

  /** Takes everything discovery says about the host (all but its key) and its EDS health flags. */
  private assign(spec: HostSpec): void {
    this.address = spec.address;
    this.hostname = spec.hostname;
    this.weight = spec.weight;
    this.edsHealth = spec.edsHealth;
    this.priority = spec.priority;
    this.localityKey = spec.localityKey;
    this.localityWeight = spec.localityWeight;
    this.metadata = spec.metadata;
    this.healthCheckPort = spec.healthCheckPort;
    this.applyEdsHealth();
  }

  private applyEdsHealth(): void {
    const h = this.edsHealth;
    let f = this.flags & ~(HealthFlag.FAILED_EDS_HEALTH | HealthFlag.DEGRADED_EDS_HEALTH | HealthFlag.EDS_STATUS_DRAINING);
    if (h === 'UNHEALTHY' || h === 'TIMEOUT' || h === 'DRAINING') f |= HealthFlag.FAILED_EDS_HEALTH;
    if (h === 'DRAINING') f |= HealthFlag.EDS_STATUS_DRAINING;
    if (h === 'DEGRADED') f |= HealthFlag.DEGRADED_EDS_HEALTH;
    this.flags = f;
  }

  setFlag(flag: number, on: boolean): boolean {
    this.flags = on ? this.flags | flag : this.flags & ~flag;
    return this.updateHealth();
  }

  hasFlag(flag: number): boolean {
    return (this.flags & flag) !== 0;
  }

  /** Folds the flags into the coarse health (Envoy coarseHealth + exclusion). Returns true on change. */
  updateHealth(): boolean {
    const f = this.flags;
    const next: HostHealth = (f & EXCLUDED_FLAGS) !== 0 && (f & UNHEALTHY_FLAGS) !== 0 ? 'excluded' : (f & UNHEALTHY_FLAGS) !== 0 ? 'unhealthy' : (f & DEGRADED_FLAGS) !== 0 ? 'degraded' : 'healthy';
    if (next === this.health) return false;
    this.health = next;
    return true;
  }

  /** Active health checking alone: passes unless FAILED_ACTIVE_HC. */
  get activeHcHealthy(): boolean {
    return (this.flags & HealthFlag.FAILED_ACTIVE_HC) === 0;
  }

  /** Subscribe to "removed"/"unhealthy"; returns the unsubscribe function. */
  subscribe(fn: HostListener): () => void {
    (this.listeners ??= []).push(fn);
    return () => {
      this.listeners = this.listeners?.filter((l) => l !== fn);
    };
  }

  emit(event: HostEvent): void {
    if (this.listeners) for (const l of this.listeners.slice()) l(this, event);
  }

  /** Closes every connection opened to this host through the cluster. */
  closeConnections(): void {
    if (this.socketSet) for (const s of this.socketSet) s.destroy();
  }
}
