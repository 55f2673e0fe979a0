// What the HTTP/1 and HTTP/2 pools of one upstream host share: the host they serve, draining
// when the host leaves the cluster, and Envoy's pending-request accounting (a request that has
// to wait for a connection or session takes a max_pending_requests slot; without one it fails at
// once with 'overflow', which the router answers 503 UO).
import type { ClusterRuntime, Host } from '../../upstream/cluster-runtime';
import type { UpstreamHttpStats } from '../hcm-stats';
import type { UpstreamAttempt } from './h1-conn-pool';

export abstract class HostPool {
  /** Set when the host left the cluster: no reuse; connections finish what they carry. */
  draining = false;

  constructor(
    readonly cluster: ClusterRuntime,
    readonly host: Host,
    readonly stats: UpstreamHttpStats,
  ) {
    host.subscribe(this.onHostEvent);
  }

  /** Gets a connection or stream for `attempt`, now or later (onPoolReady / onPoolFailure). */
  abstract acquire(attempt: UpstreamAttempt): void;
  /** Takes `attempt` out of the requests waiting in this pool (its stream ended or timed out). */
  abstract cancel(attempt: UpstreamAttempt): void;
  /** The host left the cluster: stop reusing connections (draining is already set). */
  protected abstract drainConnections(): void;

  /**
   * Beyond Envoy (which keeps pooled connections to removed hosts until they idle out): when EDS
   * or DNS removes the host, the pool drains at once.
   */
  private readonly onHostEvent = (_h: Host, event: 'removed' | 'unhealthy'): void => {
    if (event !== 'removed') return;
    this.draining = true;
    this.drainConnections();
  };

  /** Takes a pending slot for `attempt`; false (and the attempt failed with overflow) without one. */
  protected enterPending(attempt: UpstreamAttempt): boolean {
    if (this.cluster.acquirePending() === 'overflow') {
      attempt.onPoolFailure('overflow');
      return false;
    }
    this.stats.upstreamRqPendingTotal.inc();
    this.stats.upstreamRqPendingActive.inc();
    return true;
  }

  /** Gives back a pending slot taken by enterPending. */
  protected leavePending(): void {
    this.cluster.releasePending();
    this.stats.upstreamRqPendingActive.dec();
  }
}
