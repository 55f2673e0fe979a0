// Merges the per-worker cluster reports (cluster-status.ts) into the one view the admin's
// /clusters prints, on the control side. Envoy has one cluster manager whose host stats every
// worker thread writes to; here each worker process keeps its own Host objects, so:
//   - counters (cx_total, cx_connect_fail, rq_*) and gauges (cx_active, rq_active) are summed
//     over workers — the process-wide totals Envoy would show;
//   - health flags (failed active HC, failed outlier check, degraded active HC, pending dynamic
//     removal, pending active HC, excluded via immediate HC fail, active HC timeout) are set when
//     ANY worker has them set: every worker runs its own health checker and outlier detector, and
//     a host that one of them found failing is one some traffic is steered away from;
//   - config data (cluster order, observability/EDS names, circuit breakers, outlier figures,
//     host hostname/weight/priority/locality/EDS health, success rates) comes from the first
//     worker that reports the cluster or host; clusters or hosts only some workers know (a push
//     in flight) are listed after the first worker's, in the order they were first seen.
import type { WorkerClusterStatus, WorkerHostHealth, WorkerHostStats, WorkerHostStatus } from './cluster-status';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const FLAGS = ['failedActiveHealthCheck', 'failedOutlierCheck', 'failedActiveDegradedCheck', 'pendingDynamicRemoval', 'pendingActiveHc', 'excludedViaImmediateHcFail', 'activeHcTimeout'] as const;
const STATS = ['cx_connect_fail', 'cx_total', 'rq_error', 'rq_success', 'rq_timeout', 'rq_total', 'cx_active', 'rq_active'] as const;

export function mergeClusterStatuses(reports: readonly (readonly WorkerClusterStatus[])[]): WorkerClusterStatus[] {
  if (reports.length === 1) return [...reports[0]!];
  const clusters = new Map<string, { base: WorkerClusterStatus; hosts: Map<string, { base: WorkerHostStatus; stats: Mutable<WorkerHostStats>; health: Mutable<WorkerHostHealth> }> }>();
  for (const report of reports) {
    for (const c of report) {
      let entry = clusters.get(c.name);
      if (!entry) {
        entry = { base: c, hosts: new Map() };
        clusters.set(c.name, entry);
      }
      for (const h of c.hosts) {
        const seen = entry.hosts.get(h.address);
        if (!seen) {
          entry.hosts.set(h.address, { base: h, stats: { ...h.stats }, health: { ...h.health } });
          continue;
        }
        for (const s of STATS) seen.stats[s] += h.stats[s];
        for (const f of FLAGS) if (h.health[f]) seen.health[f] = true;
      }
    }
  }
  return [...clusters.values()].map(({ base, hosts }) => ({
    ...base,
    hosts: [...hosts.values()].map((h) => ({ ...h.base, stats: h.stats, health: h.health })),
  }));
}
