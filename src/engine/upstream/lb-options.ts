// ClusterConfig -> LbOptions for the built-in load balancers (worker side, at cluster runtime
// construction). CLUSTER_PROVIDED / LOAD_BALANCING_POLICY_CONFIG without a supported typed
// policy fall back to ROUND_ROBIN; ORIGINAL_DST and aggregate clusters pick hosts themselves.
import type { ClusterConfig } from '../../config/model/cluster';
import type { LbOptions, LbPolicyKind } from './lb/lb-types';

export function lbOptionsFor(config: ClusterConfig): LbOptions {
  const p = config.lbPolicy;
  const policy: LbPolicyKind = p === 'LEAST_REQUEST' || p === 'RANDOM' || p === 'RING_HASH' || p === 'MAGLEV' ? p : 'ROUND_ROBIN';
  const lb = config.lb;
  const out: { -readonly [K in keyof LbOptions]: LbOptions[K] } = { policy };
  if (!lb) return out;
  if (lb.healthyPanicThresholdPct !== undefined) out.healthyPanicThresholdPct = lb.healthyPanicThresholdPct;
  if (lb.localityWeightedLb) out.localityWeightedLb = true;
  if (lb.choiceCount !== undefined) out.choiceCount = lb.choiceCount;
  if (lb.activeRequestBias !== undefined) out.activeRequestBias = lb.activeRequestBias;
  if (lb.leastRequestSelection) out.leastRequestSelection = lb.leastRequestSelection;
  if (lb.minRingSize !== undefined) out.minRingSize = lb.minRingSize;
  if (lb.maxRingSize !== undefined) out.maxRingSize = lb.maxRingSize;
  if (lb.maglevTableSize !== undefined) out.maglevTableSize = lb.maglevTableSize;
  if (lb.useHostnameForHashing) out.useHostnameForHashing = true;
  if (lb.slowStart) out.slowStart = lb.slowStart;
  if (lb.zoneAware) out.zoneAware = lb.zoneAware;
  return out;
}
