// The process-wide tracing facts every HTTP connection manager's tracer needs and that only the
// bootstrap knows: the local node (span tags node_id / zone, Zipkin localEndpoint / OTel
// service.name), the bootstrap's tracing.http provider (Envoy uses it when an HCM has
// `tracing {}` without a provider of its own) and the Zipkin flush runtime keys. The control
// side publishes it right after loading the bootstrap; in-process workers read the module
// value, worker processes (node:cluster forks) inherit it through an environment variable set
// before they are forked. Read once per HCM at materialize time, never per request.
import { networkInterfaces } from 'node:os';
import type { BootstrapConfig } from '../config/model/bootstrap';
import type { LocalNodeInfo } from './tracer';
import type { TracingProviderConfig } from './tracing-config';

export interface TracingEnvironment {
  readonly node: LocalNodeInfo;
  /** Bootstrap tracing.http, if any. */
  readonly provider?: TracingProviderConfig;
  /** Runtime tracing.zipkin.min_flush_spans (Envoy default 5). */
  readonly minFlushSpans: number;
  /** Runtime tracing.zipkin.flush_interval_ms (Envoy default 5000). */
  readonly flushIntervalMs: number;
}

let current: TracingEnvironment | undefined;

/** Envoy's local address: Istio passes the pod IPs as node metadata INSTANCE_IPS; else the first non-loopback IPv4. */
function localIp(metadata: Readonly<Record<string, unknown>>): string {
  const ips = metadata.INSTANCE_IPS;
  if (typeof ips === 'string' && ips !== '') return ips.split(',')[0]!.trim();
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

function positive(v: unknown, fallback: number): number {
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

export function tracingEnvironmentFrom(b: BootstrapConfig): TracingEnvironment {
  return {
    node: { nodeId: b.node.id, zone: b.node.locality.zone, serviceName: b.node.cluster, localIp: localIp(b.node.metadata) },
    ...(b.tracingProvider ? { provider: b.tracingProvider } : {}),
    minFlushSpans: positive(b.runtime['tracing.zipkin.min_flush_spans'], 5),
    flushIntervalMs: positive(b.runtime['tracing.zipkin.flush_interval_ms'], 5000),
  };
}

/**
 * Makes `env` this process's tracing environment. The control side sets it at startup and passes
 * it to worker processes in their WorkerInit; each worker sets it before building any HCM.
 */
export function publishTracingEnvironment(env: TracingEnvironment): void {
  current = env;
}

/** The published environment, else empty defaults (no bootstrap tracer). */
export function tracingEnvironment(): TracingEnvironment {
  if (current !== undefined) return current;
  return { node: { nodeId: '', zone: '', serviceName: '', localIp: '127.0.0.1' }, minFlushSpans: 5, flushIntervalMs: 5000 };
}
