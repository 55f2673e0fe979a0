// Stats of the HTTP connection manager (http.<stat_prefix>.*) and of upstream HTTP per cluster
// (cluster.<name>.upstream_rq_*), with Envoy's names (Istio dashboards read them). Resolved to
// counter objects once per filter chain / cluster; the request path only increments.
import type { Counter } from '../../stats/counter';
import type { Gauge } from '../../stats/gauge';
import type { StatsScope } from '../../stats/stats-store';

export interface HcmStats {
  readonly downstreamCxTotal: Counter;
  readonly downstreamCxActive: Gauge;
  readonly downstreamCxHttp1Total: Counter;
  readonly downstreamCxHttp1Active: Gauge;
  readonly downstreamCxHttp2Total: Counter;
  readonly downstreamCxHttp2Active: Gauge;
  readonly downstreamCxDestroy: Counter;
  readonly downstreamCxRxBytesTotal: Counter;
  readonly downstreamCxTxBytesTotal: Counter;
  readonly downstreamCxProtocolError: Counter;
  readonly downstreamCxIdleTimeout: Counter;
  readonly downstreamCxDrainClose: Counter;
  readonly downstreamCxUpgradesTotal: Counter;
  readonly downstreamCxUpgradesActive: Gauge;
  readonly downstreamRqTotal: Counter;
  readonly downstreamRqActive: Gauge;
  readonly downstreamRqHttp1Total: Counter;
  readonly downstreamRqHttp2Total: Counter;
  readonly downstreamRqCompleted: Counter;
  /** Index 1..5 -> downstream_rq_1xx..5xx. */
  readonly downstreamRqXx: readonly Counter[];
  readonly downstreamRqIdleTimeout: Counter;
  readonly downstreamRqTimeout: Counter;
  readonly downstreamRqMaxDurationReached: Counter;
  readonly downstreamRqRxReset: Counter;
  readonly downstreamRqTxReset: Counter;
  readonly noRoute: Counter;
  readonly noCluster: Counter;
  readonly rqDirectResponse: Counter;
  readonly rqRedirect: Counter;
  readonly rqTotal: Counter;
  readonly rqRetrySkippedRequestNotComplete: Counter;
}

export function hcmStats(root: StatsScope, statPrefix: string): HcmStats {
  const s = root.scope(`http.${statPrefix}.`);
  return {
    downstreamCxTotal: s.counter('downstream_cx_total'),
    downstreamCxActive: s.gauge('downstream_cx_active'),
    downstreamCxHttp1Total: s.counter('downstream_cx_http1_total'),
    downstreamCxHttp1Active: s.gauge('downstream_cx_http1_active'),
    downstreamCxHttp2Total: s.counter('downstream_cx_http2_total'),
    downstreamCxHttp2Active: s.gauge('downstream_cx_http2_active'),
    downstreamCxDestroy: s.counter('downstream_cx_destroy'),
    downstreamCxRxBytesTotal: s.counter('downstream_cx_rx_bytes_total'),
    downstreamCxTxBytesTotal: s.counter('downstream_cx_tx_bytes_total'),
    downstreamCxProtocolError: s.counter('downstream_cx_protocol_error'),
    downstreamCxIdleTimeout: s.counter('downstream_cx_idle_timeout'),
    downstreamCxDrainClose: s.counter('downstream_cx_drain_close'),
    downstreamCxUpgradesTotal: s.counter('downstream_cx_upgrades_total'),
    downstreamCxUpgradesActive: s.gauge('downstream_cx_upgrades_active'),
    downstreamRqTotal: s.counter('downstream_rq_total'),
    downstreamRqActive: s.gauge('downstream_rq_active'),
    downstreamRqHttp1Total: s.counter('downstream_rq_http1_total'),
    downstreamRqHttp2Total: s.counter('downstream_rq_http2_total'),
    downstreamRqCompleted: s.counter('downstream_rq_completed'),
    downstreamRqXx: [s.counter('downstream_rq_1xx'), s.counter('downstream_rq_1xx'), s.counter('downstream_rq_2xx'), s.counter('downstream_rq_3xx'), s.counter('downstream_rq_4xx'), s.counter('downstream_rq_5xx')],
    downstreamRqIdleTimeout: s.counter('downstream_rq_idle_timeout'),
    downstreamRqTimeout: s.counter('downstream_rq_timeout'),
    downstreamRqMaxDurationReached: s.counter('downstream_rq_max_duration_reached'),
    downstreamRqRxReset: s.counter('downstream_rq_rx_reset'),
    downstreamRqTxReset: s.counter('downstream_rq_tx_reset'),
    noRoute: s.counter('no_route'),
    noCluster: s.counter('no_cluster'),
    rqDirectResponse: s.counter('rq_direct_response'),
    rqRedirect: s.counter('rq_redirect'),
    rqTotal: s.counter('rq_total'),
    rqRetrySkippedRequestNotComplete: s.counter('rq_retry_skipped_request_not_complete'),
  };
}

/** Upstream HTTP stats of one cluster (cluster.<stat_name>.*). */
export interface UpstreamHttpStats {
  readonly upstreamRqTotal: Counter;
  readonly upstreamRqActive: Gauge;
  readonly upstreamRqCompleted: Counter;
  readonly upstreamRqXx: readonly Counter[];
  readonly upstreamRqTimeout: Counter;
  readonly upstreamRqPerTryTimeout: Counter;
  readonly upstreamRqRetry: Counter;
  readonly upstreamRqRetrySuccess: Counter;
  readonly upstreamRqRetryLimitExceeded: Counter;
  readonly upstreamRqRetryBackoffExponential: Counter;
  readonly upstreamRqPendingTotal: Counter;
  readonly upstreamRqPendingActive: Gauge;
  readonly upstreamRqPendingFailureEject: Counter;
  readonly upstreamRqRxReset: Counter;
  readonly upstreamRqTxReset: Counter;
  readonly upstreamCxHttp1Total: Counter;
  readonly upstreamCxHttp2Total: Counter;
  readonly upstreamCxMaxRequests: Counter;
  readonly upstreamCxDestroyWithActiveRq: Counter;
  readonly upstreamCxProtocolError: Counter;
  readonly upstreamRqMaxDurationReached: Counter;
  /** Lazily created upstream_rq_<code> counters. */
  readonly byCode: Map<number, Counter>;
  readonly scope: StatsScope;
}

export function upstreamHttpStats(root: StatsScope, statName: string): UpstreamHttpStats {
  const s = root.scope(`cluster.${statName}.`);
  return {
    upstreamRqTotal: s.counter('upstream_rq_total'),
    upstreamRqActive: s.gauge('upstream_rq_active'),
    upstreamRqCompleted: s.counter('upstream_rq_completed'),
    upstreamRqXx: [s.counter('upstream_rq_1xx'), s.counter('upstream_rq_1xx'), s.counter('upstream_rq_2xx'), s.counter('upstream_rq_3xx'), s.counter('upstream_rq_4xx'), s.counter('upstream_rq_5xx')],
    upstreamRqTimeout: s.counter('upstream_rq_timeout'),
    upstreamRqPerTryTimeout: s.counter('upstream_rq_per_try_timeout'),
    upstreamRqRetry: s.counter('upstream_rq_retry'),
    upstreamRqRetrySuccess: s.counter('upstream_rq_retry_success'),
    upstreamRqRetryLimitExceeded: s.counter('upstream_rq_retry_limit_exceeded'),
    upstreamRqRetryBackoffExponential: s.counter('upstream_rq_retry_backoff_exponential'),
    upstreamRqPendingTotal: s.counter('upstream_rq_pending_total'),
    upstreamRqPendingActive: s.gauge('upstream_rq_pending_active'),
    upstreamRqPendingFailureEject: s.counter('upstream_rq_pending_failure_eject'),
    upstreamRqRxReset: s.counter('upstream_rq_rx_reset'),
    upstreamRqTxReset: s.counter('upstream_rq_tx_reset'),
    upstreamCxHttp1Total: s.counter('upstream_cx_http1_total'),
    upstreamCxHttp2Total: s.counter('upstream_cx_http2_total'),
    upstreamCxMaxRequests: s.counter('upstream_cx_max_requests'),
    upstreamCxDestroyWithActiveRq: s.counter('upstream_cx_destroy_with_active_rq'),
    upstreamCxProtocolError: s.counter('upstream_cx_protocol_error'),
    upstreamRqMaxDurationReached: s.counter('upstream_rq_max_duration_reached'),
    byCode: new Map(),
    scope: s,
  };
}

/** Counts one upstream response: upstream_rq_<code>, upstream_rq_<N>xx, upstream_rq_completed. */
export function countUpstreamResponse(st: UpstreamHttpStats, status: number): void {
  let c = st.byCode.get(status);
  if (c === undefined) {
    c = st.scope.counter(`upstream_rq_${status}`);
    st.byCode.set(status, c);
  }
  c.inc();
  const k = (status / 100) | 0;
  if (k >= 1 && k <= 5) st.upstreamRqXx[k]!.inc();
  st.upstreamRqCompleted.inc();
}
