// Circuit breakers of one cluster on a worker (Envoy ResourceManagerImpl, one per routing
// priority DEFAULT/HIGH): connections, pending requests, requests, retries (or a retry budget)
// and connection pools. The cluster's connect() takes connection slots; the HTTP router takes
// request/pending/retry slots through ClusterRuntime.acquire*/release*. A refused slot counts
// the Envoy overflow counter (upstream_cx_overflow, upstream_rq_pending_overflow,
// upstream_rq_retry_overflow, upstream_cx_pool_overflow) and the router answers 503 with
// response flag UO. Gauges: circuit_breakers.<default|high>.{cx_open, cx_pool_open,
// rq_pending_open, rq_open, rq_retry_open} and, with track_remaining, remaining_{cx, pending,
// rq, retries, cx_pools}.
// Limits are per worker process, as Envoy's are per cluster per process: with N workers the
// effective limit is N times the configured one (Envoy has one process; noted in the report).
import type { CircuitBreakerThresholdsConfig } from '../../config/model/cluster';
import type { Counter } from '../../stats/counter';
import type { Gauge } from '../../stats/gauge';
import type { StatsScope } from '../../stats/stats-store';

export type RoutingPriority = 'DEFAULT' | 'HIGH';

class Limit {
  count = 0;
  constructor(
    readonly max: number,
    private readonly open: Gauge,
    private readonly remaining: Gauge | undefined,
  ) {
    this.publish();
  }

  canAcquire(): boolean {
    return this.count < this.max;
  }

  acquire(): void {
    this.count++;
    this.publish();
  }

  release(): void {
    if (this.count > 0) this.count--;
    this.publish();
  }

  publish(): void {
    this.open.set(this.count >= this.max ? 1 : 0);
    this.remaining?.set(Math.max(0, this.max - this.count));
  }
}

/** Limits of one routing priority. */
export class ResourceManager {
  readonly connections: Limit;
  readonly pendingRequests: Limit;
  readonly requests: Limit;
  readonly retries: Limit;
  readonly connectionPools: Limit;
  private readonly budget: CircuitBreakerThresholdsConfig['retryBudget'];

  constructor(t: CircuitBreakerThresholdsConfig, scope: StatsScope) {
    const g = (n: string) => scope.gauge(n, 'NeverImport');
    const r = (n: string) => (t.trackRemaining ? g(n) : undefined);
    this.connections = new Limit(t.maxConnections, g('cx_open'), r('remaining_cx'));
    this.pendingRequests = new Limit(t.maxPendingRequests, g('rq_pending_open'), r('remaining_pending'));
    this.requests = new Limit(t.maxRequests, g('rq_open'), r('remaining_rq'));
    this.budget = t.retryBudget;
    this.retries = new Limit(t.retryBudget ? Number.MAX_SAFE_INTEGER : t.maxRetries, g('rq_retry_open'), r('remaining_retries'));
    this.connectionPools = new Limit(t.maxConnectionPools ?? Number.MAX_SAFE_INTEGER, g('cx_pool_open'), r('remaining_cx_pools'));
  }

  /** Envoy RetryBudgetImpl: max(min_retry_concurrency, budget% x (active + pending requests)). */
  canRetry(): boolean {
    if (!this.budget) return this.retries.canAcquire();
    const active = this.requests.count + this.pendingRequests.count;
    const max = Math.max(this.budget.minRetryConcurrency, Math.floor((this.budget.budgetPercent / 100) * active));
    return this.retries.count < max;
  }
}

export interface OverflowCounters {
  readonly cx: Counter;
  readonly pending: Counter;
  readonly retry: Counter;
  readonly pool: Counter;
}

const DEFAULTS: CircuitBreakerThresholdsConfig = { priority: 'DEFAULT', maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3, trackRemaining: false };

export class CircuitBreakers {
  readonly default: ResourceManager;
  readonly high: ResourceManager;
  readonly overflow: OverflowCounters;

  constructor(thresholds: readonly CircuitBreakerThresholdsConfig[], clusterScope: StatsScope) {
    const find = (p: RoutingPriority) => thresholds.find((t) => t.priority === p) ?? { ...DEFAULTS, priority: p };
    this.default = new ResourceManager(find('DEFAULT'), clusterScope.scope('circuit_breakers.default.'));
    this.high = new ResourceManager(find('HIGH'), clusterScope.scope('circuit_breakers.high.'));
    this.overflow = {
      cx: clusterScope.counter('upstream_cx_overflow'),
      pending: clusterScope.counter('upstream_rq_pending_overflow'),
      retry: clusterScope.counter('upstream_rq_retry_overflow'),
      pool: clusterScope.counter('upstream_cx_pool_overflow'),
    };
  }

  of(p: RoutingPriority | undefined): ResourceManager {
    return p === 'HIGH' ? this.high : this.default;
  }
}
