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
import { lazyStats, type StatsScope } from '../../stats/stats-store';

export type RoutingPriority = 'DEFAULT' | 'HIGH';

// Gauge names per limit kind: [open, remaining].
const GAUGES = [
  ['cx_open', 'remaining_cx'],
  ['rq_pending_open', 'remaining_pending'],
  ['rq_open', 'remaining_rq'],
  ['rq_retry_open', 'remaining_retries'],
  ['cx_pool_open', 'remaining_cx_pools'],
] as const;

// A limit publishes its gauges by name at creation and keeps their Gauge views only once it is
// first taken (10,000 clusters x 10 limits, almost all never taken).
class Limit {
  count = 0;
  private open: Gauge | undefined;
  private remaining: Gauge | undefined;
  constructor(
    readonly max: number,
    private readonly owner: ResourceManager,
    private readonly kind: number,
  ) {
    this.publishTo(owner.gauge(GAUGES[kind]![0]), owner.trackRemaining ? owner.gauge(GAUGES[kind]![1]) : undefined);
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
    if (!this.open) {
      this.open = this.owner.gauge(GAUGES[this.kind]![0]);
      if (this.owner.trackRemaining) this.remaining = this.owner.gauge(GAUGES[this.kind]![1]);
    }
    this.publishTo(this.open, this.remaining);
  }

  private publishTo(open: Gauge, remaining: Gauge | undefined): void {
    open.set(this.count >= this.max ? 1 : 0);
    remaining?.set(Math.max(0, this.max - this.count));
  }
}

/** Limits of one routing priority. */
export class ResourceManager {
  readonly connections: Limit;
  readonly pendingRequests: Limit;
  readonly requests: Limit;
  readonly retries: Limit;
  readonly connectionPools: Limit;
  readonly trackRemaining: boolean;
  private readonly budget: CircuitBreakerThresholdsConfig['retryBudget'];

  constructor(
    t: CircuitBreakerThresholdsConfig,
    private readonly scope: StatsScope,
  ) {
    this.trackRemaining = t.trackRemaining;
    this.connections = new Limit(t.maxConnections, this, 0);
    this.pendingRequests = new Limit(t.maxPendingRequests, this, 1);
    this.requests = new Limit(t.maxRequests, this, 2);
    this.budget = t.retryBudget;
    this.retries = new Limit(t.retryBudget ? Number.MAX_SAFE_INTEGER : t.maxRetries, this, 3);
    this.connectionPools = new Limit(t.maxConnectionPools ?? Number.MAX_SAFE_INTEGER, this, 4);
  }

  gauge(name: string): Gauge {
    return this.scope.gauge(name, 'NeverImport');
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

const OVERFLOW = {
  cx: ['counter', 'upstream_cx_overflow'],
  pending: ['counter', 'upstream_rq_pending_overflow'],
  retry: ['counter', 'upstream_rq_retry_overflow'],
  pool: ['counter', 'upstream_cx_pool_overflow'],
} as const;

const DEFAULTS: CircuitBreakerThresholdsConfig = { priority: 'DEFAULT', maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3, trackRemaining: false };

export class CircuitBreakers {
  readonly default: ResourceManager;
  readonly high: ResourceManager;
  readonly overflow: OverflowCounters;

  constructor(thresholds: readonly CircuitBreakerThresholdsConfig[], clusterScope: StatsScope) {
    const find = (p: RoutingPriority) => thresholds.find((t) => t.priority === p) ?? { ...DEFAULTS, priority: p };
    this.default = new ResourceManager(find('DEFAULT'), clusterScope.scope('circuit_breakers.default.'));
    this.high = new ResourceManager(find('HIGH'), clusterScope.scope('circuit_breakers.high.'));
    this.overflow = lazyStats<OverflowCounters>(clusterScope, OVERFLOW);
  }

  of(p: RoutingPriority | undefined): ResourceManager {
    return p === 'HIGH' ? this.high : this.default;
  }
}
