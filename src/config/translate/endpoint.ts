// envoy.config.endpoint.v3.ClusterLoadAssignment -> EndpointSetConfig. Used for a cluster's
// inline load_assignment (STATIC/DNS types) and for EDS resources.
import type { ErrorSink } from '../../common/result';
import type { EndpointSetConfig, HealthStatus, LbEndpointConfig, LocalityLbEndpointsConfig } from '../model/cluster';
import { translateAddress } from './address';
import { num, structToJson, wrapped, type Msg } from './proto-util';

const HEALTH: readonly HealthStatus[] = ['UNKNOWN', 'HEALTHY', 'UNHEALTHY', 'DRAINING', 'TIMEOUT', 'DEGRADED'];

export function metadataToJson(md: Msg | null | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!md?.filterMetadata) return out;
  for (const [ns, s] of Object.entries(md.filterMetadata as Record<string, Msg>)) out[ns] = structToJson(s);
  return out;
}

export function translateLoadAssignment(msg: Msg, errors: ErrorSink, allowHostnames: boolean): EndpointSetConfig {
  const localities: LocalityLbEndpointsConfig[] = [];
  ((msg.endpoints ?? []) as Msg[]).forEach((le, i) => {
    const path = `endpoints[${i}]`;
    const endpoints: LbEndpointConfig[] = [];
    ((le.lbEndpoints ?? []) as Msg[]).forEach((ep, j) => {
      const epath = `${path}.lb_endpoints[${j}]`;
      if (!ep.endpoint) {
        errors.add(`${epath}.endpoint`, 'endpoint is required (endpoint_name references are not supported)');
        return;
      }
      const address = translateAddress(ep.endpoint.address, errors, `${epath}.endpoint.address`, allowHostnames);
      if (!address) return;
      const weight = wrapped<number>(ep.loadBalancingWeight) ?? 1;
      if (weight < 1) errors.add(`${epath}.load_balancing_weight`, 'must be >= 1');
      const hs = typeof ep.healthStatus === 'number' ? HEALTH[ep.healthStatus] ?? 'UNKNOWN' : ((ep.healthStatus as HealthStatus) ?? 'UNKNOWN');
      endpoints.push({
        address,
        hostname: String(ep.endpoint.hostname ?? ''),
        healthStatus: hs,
        loadBalancingWeight: weight,
        metadata: metadataToJson(ep.metadata),
        ...(ep.endpoint.healthCheckConfig?.portValue ? { healthCheckPort: num(ep.endpoint.healthCheckConfig.portValue) } : {}),
      });
    });
    const lw = wrapped<number>(le.loadBalancingWeight);
    localities.push({
      locality: { region: String(le.locality?.region ?? ''), zone: String(le.locality?.zone ?? ''), subZone: String(le.locality?.subZone ?? '') },
      priority: num(le.priority),
      ...(lw !== undefined ? { loadBalancingWeight: lw } : {}),
      endpoints,
    });
  });
  const policy = msg.policy ?? {};
  return {
    clusterName: String(msg.clusterName ?? ''),
    localities,
    overprovisioningFactor: wrapped<number>(policy.overprovisioningFactor) ?? 140,
    ...(policy.weightedPriorityHealth ? { weightedPriorityHealth: true } : {}),
    dropOverloads: ((policy.dropOverloads ?? []) as Msg[]).map((d) => ({ category: String(d.category ?? ''), ppm: dropPpm(d.dropPercentage) })),
  };
}

function dropPpm(p: Msg | null | undefined): number {
  if (!p) return 0;
  const n = num(p.numerator);
  switch (p.denominator) {
    case 1:
    case 'TEN_THOUSAND':
      return n * 100;
    case 2:
    case 'MILLION':
      return n;
    default:
      return n * 10000;
  }
}
