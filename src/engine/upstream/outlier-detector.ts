// Passive health (Envoy source/common/upstream/outlier_detection_impl.cc, DetectorImpl): the
// router and tcp_proxy report results per host through ClusterRuntime.report*; consecutive
// 5xx / gateway failure / local-origin failure counts eject a host at once, and every
// `interval` the success-rate and failure-percentage checks run over that interval's counts,
// ejected hosts whose time is up come back, and the ejection multiplier of long-healthy hosts
// decays. Ejection time = min(base_ejection_time x ejections, max(base, max_ejection_time)) +
// jitter; at most max_ejection_percent of hosts are ejected (one always, with
// always_eject_one_host); each ejection is enforced with its enforcing_* probability.
// Events go to the logger and, when configured, as JSON lines to the event log path.
// Runs on the worker that owns the cluster runtime: with N workers each has its own detector
// over the traffic it sees (Envoy aggregates all workers on its main thread).
import { appendFile } from 'node:fs';
import type { Logger } from 'pino';
import type { OutlierDetectionConfig } from '../../config/model/cluster';
import type { Counter } from '../../stats/counter';
import type { Gauge } from '../../stats/gauge';
import type { StatsScope } from '../../stats/stats-store';
import { HealthFlag, type Host } from './upstream-host';

/** Envoy Outlier::Result. */
export type OutlierResult = 'local_connect_failed' | 'local_timeout' | 'local_connect_success' | 'local_connect_success_final' | 'ext_request_failed' | 'ext_request_success';

type EjectKind = 'CONSECUTIVE_5XX' | 'CONSECUTIVE_GATEWAY_FAILURE' | 'CONSECUTIVE_LOCAL_ORIGIN_FAILURE' | 'SUCCESS_RATE' | 'SUCCESS_RATE_LOCAL_ORIGIN' | 'FAILURE_PERCENTAGE' | 'FAILURE_PERCENTAGE_LOCAL_ORIGIN';

const STAT_SUFFIX: Record<EjectKind, string> = {
  CONSECUTIVE_5XX: 'consecutive_5xx',
  CONSECUTIVE_GATEWAY_FAILURE: 'consecutive_gateway_failure',
  CONSECUTIVE_LOCAL_ORIGIN_FAILURE: 'consecutive_local_origin_failure',
  SUCCESS_RATE: 'success_rate',
  SUCCESS_RATE_LOCAL_ORIGIN: 'local_origin_success_rate',
  FAILURE_PERCENTAGE: 'failure_percentage',
  FAILURE_PERCENTAGE_LOCAL_ORIGIN: 'local_origin_failure_percentage',
};

export interface OutlierHostSource {
  hosts(): readonly Host[];
  /** A host's ejection state changed: rebuild the LB. */
  onHostHealthChanged(host: Host): void;
  readonly clusterName: string;
}

export class OutlierDetector {
  private readonly timer: NodeJS.Timeout;
  private readonly ejectionsActive: Gauge;
  private readonly enforcedTotal: Counter;
  private readonly overflow: Counter;
  private active = 0;
  private readonly enforced = new Map<EjectKind, Counter>();
  private readonly detected = new Map<EjectKind, Counter>();

  constructor(
    readonly config: OutlierDetectionConfig,
    private readonly source: OutlierHostSource,
    scope: StatsScope,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {
    const s = scope.scope('outlier_detection.');
    this.ejectionsActive = s.gauge('ejections_active', 'Accumulate');
    this.enforcedTotal = s.counter('ejections_enforced_total');
    this.overflow = s.counter('ejections_overflow');
    for (const k of Object.keys(STAT_SUFFIX) as EjectKind[]) {
      this.enforced.set(k, s.counter(`ejections_enforced_${STAT_SUFFIX[k]}`));
      this.detected.set(k, s.counter(`ejections_detected_${STAT_SUFFIX[k]}`));
    }
    this.timer = setTimeout(this.onInterval, clampTimer(config.intervalMs));
    this.timer.unref();
  }

  destroy(): void {
    clearTimeout(this.timer);
  }

  /** Envoy putHttpResponseCode. */
  putHttpResponseCode(host: Host, code: number): void {
    const o = host.outlier;
    if (code >= 500 && code < 600) {
      o.extTotal++;
      if (code === 502 || code === 503 || code === 504) {
        if (++o.consecutiveGatewayFailure === this.config.consecutiveGatewayFailure) this.consecutive(host, 'CONSECUTIVE_GATEWAY_FAILURE');
      } else {
        o.consecutiveGatewayFailure = 0;
      }
      if (++o.consecutive5xx === this.config.consecutive5xx) this.consecutive(host, 'CONSECUTIVE_5XX');
    } else {
      o.extTotal++;
      o.extSuccess++;
      o.consecutive5xx = 0;
      o.consecutiveGatewayFailure = 0;
    }
  }

  /** Envoy putResult: local-origin results count separately when split, else as HTTP codes. */
  putResult(host: Host, result: OutlierResult): void {
    if (!this.config.splitExternalLocalOriginErrors) {
      switch (result) {
        case 'local_connect_failed':
          return this.putHttpResponseCode(host, 503);
        case 'local_timeout':
          return this.putHttpResponseCode(host, 504);
        case 'ext_request_failed':
          return this.putHttpResponseCode(host, 500);
        case 'local_connect_success':
          return; // the HTTP response that follows is what counts
        case 'local_connect_success_final':
        case 'ext_request_success':
          return this.putHttpResponseCode(host, 200);
      }
    }
    const o = host.outlier;
    switch (result) {
      case 'local_connect_failed':
      case 'local_timeout':
        o.localTotal++;
        if (++o.consecutiveLocalOriginFailure === this.config.consecutiveLocalOriginFailure) this.consecutive(host, 'CONSECUTIVE_LOCAL_ORIGIN_FAILURE');
        return;
      case 'local_connect_success':
      case 'local_connect_success_final':
        o.localTotal++;
        o.localSuccess++;
        o.consecutiveLocalOriginFailure = 0;
        return;
      case 'ext_request_failed':
        return this.putHttpResponseCode(host, 500);
      case 'ext_request_success':
        return this.putHttpResponseCode(host, 200);
    }
  }

  /** Active health check passed (successful_active_health_check_uneject_host). */
  onActiveHealthCheckSuccess(host: Host): void {
    if (this.config.successfulActiveHealthCheckUnejectHost && host.hasFlag(HealthFlag.FAILED_OUTLIER_CHECK)) this.uneject(host);
  }

  private enforcing(kind: EjectKind): number {
    const c = this.config;
    switch (kind) {
      case 'CONSECUTIVE_5XX':
        return c.enforcingConsecutive5xx;
      case 'CONSECUTIVE_GATEWAY_FAILURE':
        return c.enforcingConsecutiveGatewayFailure;
      case 'CONSECUTIVE_LOCAL_ORIGIN_FAILURE':
        return c.enforcingConsecutiveLocalOriginFailure;
      case 'SUCCESS_RATE':
        return c.enforcingSuccessRate;
      case 'SUCCESS_RATE_LOCAL_ORIGIN':
        return c.enforcingLocalOriginSuccessRate;
      case 'FAILURE_PERCENTAGE':
        return c.enforcingFailurePercentage;
      case 'FAILURE_PERCENTAGE_LOCAL_ORIGIN':
        return c.enforcingFailurePercentageLocalOrigin;
    }
  }

  private consecutive(host: Host, kind: EjectKind): void {
    this.maybeEject(host, kind);
    // Envoy resets the counter that fired whether or not the ejection was enforced.
    const o = host.outlier;
    if (kind === 'CONSECUTIVE_5XX') o.consecutive5xx = 0;
    else if (kind === 'CONSECUTIVE_GATEWAY_FAILURE') o.consecutiveGatewayFailure = 0;
    else o.consecutiveLocalOriginFailure = 0;
  }

  private maybeEject(host: Host, kind: EjectKind): void {
    if (host.hasFlag(HealthFlag.FAILED_OUTLIER_CHECK)) return;
    this.detected.get(kind)!.inc();
    const enforce = this.enforcing(kind);
    if (enforce < 100 && this.random() * 100 >= enforce) {
      this.event(host, kind, false);
      return;
    }
    const hosts = this.source.hosts().length;
    const active = this.active;
    const pct = (100 * (active + 1)) / Math.max(1, hosts);
    if (pct > this.config.maxEjectionPercent && !(this.config.alwaysEjectOneHost && active === 0)) {
      this.overflow.inc();
      return;
    }
    const o = host.outlier;
    o.numEjections++;
    o.lastEjectionMs = this.now();
    const base = this.config.baseEjectionTimeMs;
    const cap = Math.max(base, this.config.maxEjectionTimeMs);
    const jitter = this.config.maxEjectionTimeJitterMs > 0 ? Math.floor(this.random() * this.config.maxEjectionTimeJitterMs) : 0;
    o.ejectionTimeMs = Math.min(base * o.numEjections, cap) + jitter;
    this.ejectionsActive.set(++this.active);
    this.enforcedTotal.inc();
    this.enforced.get(kind)!.inc();
    host.setFlag(HealthFlag.FAILED_OUTLIER_CHECK, true);
    this.event(host, kind, true);
    this.source.onHostHealthChanged(host);
  }

  private uneject(host: Host): void {
    host.outlier.lastUnejectionMs = this.now();
    this.ejectionsActive.set(--this.active);
    host.setFlag(HealthFlag.FAILED_OUTLIER_CHECK, false);
    this.log.info({ cluster: this.source.clusterName, host: host.key }, 'outlier: host unejected');
    this.writeEventLog({ cluster_name: this.source.clusterName, upstream_url: host.key, action: 'UNEJECT', num_ejections: host.outlier.numEjections, enforced: true, timestamp: new Date(this.now()).toISOString() });
    this.source.onHostHealthChanged(host);
  }

  private event(host: Host, kind: EjectKind, enforced: boolean): void {
    this.log.info({ cluster: this.source.clusterName, host: host.key, type: kind, enforced, ejections: host.outlier.numEjections }, 'outlier: host ejected');
    this.writeEventLog({ cluster_name: this.source.clusterName, upstream_url: host.key, action: 'EJECT', type: kind, num_ejections: host.outlier.numEjections, enforced, timestamp: new Date(this.now()).toISOString() });
  }

  private writeEventLog(ev: Record<string, unknown>): void {
    if (this.config.eventLogPath) appendFile(this.config.eventLogPath, `${JSON.stringify(ev)}\n`, () => {});
  }

  private readonly onInterval = (): void => {
    this.runInterval();
    this.timer.refresh();
  };

  /** One interval: unejections, ejection decay, success-rate and failure-percentage checks. */
  runInterval(): void {
    const now = this.now();
    const hosts = this.source.hosts();
    const base = this.config.baseEjectionTimeMs;
    for (const h of hosts) {
      const o = h.outlier;
      if (h.hasFlag(HealthFlag.FAILED_OUTLIER_CHECK)) {
        if (now - o.lastEjectionMs >= o.ejectionTimeMs) this.uneject(h);
      } else if (o.numEjections > 0 && now - Math.max(o.lastUnejectionMs, o.lastEjectionMs) >= base) {
        // Envoy decrements the multiplier once per base_ejection_time spent healthy.
        o.numEjections--;
        o.lastUnejectionMs = now;
      }
    }
    this.successRate(hosts, false);
    this.failurePercentage(hosts, false);
    if (this.config.splitExternalLocalOriginErrors) {
      this.successRate(hosts, true);
      this.failurePercentage(hosts, true);
    }
    for (const h of hosts) {
      const o = h.outlier;
      o.extTotal = o.extSuccess = o.localTotal = o.localSuccess = 0;
    }
  }

  private successRate(hosts: readonly Host[], local: boolean): void {
    const c = this.config;
    const rates: { host: Host; rate: number }[] = [];
    for (const h of hosts) {
      const total = local ? h.outlier.localTotal : h.outlier.extTotal;
      const ok = local ? h.outlier.localSuccess : h.outlier.extSuccess;
      if (total >= c.successRateRequestVolume) rates.push({ host: h, rate: (100 * ok) / total });
    }
    if (rates.length < c.successRateMinimumHosts || rates.length === 0) return;
    const mean = rates.reduce((s, r) => s + r.rate, 0) / rates.length;
    const variance = rates.reduce((s, r) => s + (r.rate - mean) ** 2, 0) / rates.length;
    const threshold = mean - Math.sqrt(variance) * (c.successRateStdevFactor / 1000);
    for (const r of rates) if (r.rate < threshold) this.maybeEject(r.host, local ? 'SUCCESS_RATE_LOCAL_ORIGIN' : 'SUCCESS_RATE');
  }

  private failurePercentage(hosts: readonly Host[], local: boolean): void {
    const c = this.config;
    const candidates: { host: Host; failPct: number }[] = [];
    for (const h of hosts) {
      const total = local ? h.outlier.localTotal : h.outlier.extTotal;
      const ok = local ? h.outlier.localSuccess : h.outlier.extSuccess;
      if (total >= c.failurePercentageRequestVolume) candidates.push({ host: h, failPct: (100 * (total - ok)) / total });
    }
    if (candidates.length < c.failurePercentageMinimumHosts) return;
    for (const x of candidates) if (x.failPct >= c.failurePercentageThreshold) this.maybeEject(x.host, local ? 'FAILURE_PERCENTAGE_LOCAL_ORIGIN' : 'FAILURE_PERCENTAGE');
  }

  /** Host left the cluster: drop it from the active-ejection gauge. */
  onHostRemoved(host: Host): void {
    if (host.hasFlag(HealthFlag.FAILED_OUTLIER_CHECK)) this.ejectionsActive.set(--this.active);
  }

  /** A carried-over host arrives already ejected (cluster rebuilt): keep counting it. */
  adoptEjected(host: Host): void {
    if (host.hasFlag(HealthFlag.FAILED_OUTLIER_CHECK)) this.ejectionsActive.set(++this.active);
  }
}

/** setTimeout takes at most 2^31-1 ms (Istio sends cleanup_interval ~292 years). */
export function clampTimer(ms: number): number {
  return Math.max(1, Math.min(ms, 2147483647));
}
