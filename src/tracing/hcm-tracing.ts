// Worker-side assembly of tracing for one HTTP connection manager (called once per HcmRuntime,
// at materialize time): the HCM's tracing config (+ the bootstrap provider when the HCM names
// none, as Envoy does) becomes a Tracer, and the provider's exporter is shared by every HCM
// with the same provider on this worker — Envoy's TracerManager caches drivers by config hash
// the same way, and sharing keeps listener updates from leaking flush timers. The exporter
// reaches its collector cluster through the worker's ClusterManager: the HCM records the
// ClusterManager of the connections it serves on the shared sink (a field write per traced
// request), and the exporter picks a host of the collector cluster once per flush.
import type { Logger } from 'pino';
import type { ClusterManager } from '../engine/upstream/cluster-manager';
import { OtlpGrpcExporter } from './otlp-exporter';
import type { SpanSink } from './span';
import { Tracer } from './tracer';
import type { TracingConfig, TracingProviderConfig } from './tracing-config';
import { tracingEnvironment, type TracingEnvironment } from './tracing-environment';
import { ZipkinExporter, type CollectorAddress, type ExporterStats } from './zipkin-exporter';

type Exporter = SpanSink & { readonly stats: ExporterStats; close(): Promise<void> };

/** One provider's exporter on this worker, with the cluster manager it sends through. */
export class SharedTracingSink {
  /** The ClusterManager of the latest traced connection (updated by the HCM per traced request). */
  clusters: ClusterManager | undefined = undefined;
  readonly exporter: Exporter | undefined;

  constructor(provider: TracingProviderConfig, env: TracingEnvironment, log: Logger) {
    const resolve = (cluster: string): CollectorAddress | undefined => this.resolve(cluster);
    if (provider.kind === 'zipkin') {
      this.exporter = new ZipkinExporter({ config: provider, node: env.node, resolve, minFlushSpans: env.minFlushSpans, flushIntervalMs: env.flushIntervalMs });
    } else if (provider.transport.kind === 'grpc') {
      this.exporter = new OtlpGrpcExporter({ config: provider, node: env.node, resolve, minFlushSpans: env.minFlushSpans, flushIntervalMs: env.flushIntervalMs });
    } else {
      // Headers are still propagated; spans have nowhere to go.
      log.warn({ cluster: provider.transport.cluster }, 'tracing: OpenTelemetry http_service export is not supported; spans are not exported');
      this.exporter = undefined;
    }
  }

  /** A host of the collector cluster (its load balancer's pick), as an address to send to. */
  resolve(cluster: string): CollectorAddress | undefined {
    const host = this.clusters?.get(cluster)?.chooseHost();
    if (host === undefined || host.address.kind !== 'socket') return undefined;
    return { host: host.address.address, port: host.address.port };
  }
}

const sinks = new Map<string, SharedTracingSink>();

function sharedSink(provider: TracingProviderConfig, env: TracingEnvironment, log: Logger): SharedTracingSink {
  // Config-time JSON: the key is the provider and the node facts the exporter stamps.
  const key = JSON.stringify([provider, env.node, env.minFlushSpans, env.flushIntervalMs]);
  let s = sinks.get(key);
  if (s === undefined) {
    s = new SharedTracingSink(provider, env, log);
    sinks.set(key, s);
  }
  return s;
}

/**
 * The HCM's `tracing` as the config model carries it: either the full TracingConfig (parseHcmTracing)
 * or the summary kept for config_dump ({random_sampling, provider name, max_path_tag_length,
 * spawn_upstream_span}); the summary has lost the provider's typed config, so only the
 * bootstrap provider can serve it.
 */
export function hcmTracingConfig(raw: Readonly<Record<string, unknown>> | undefined, bootstrapProvider: TracingProviderConfig | undefined): TracingConfig | undefined {
  if (raw === undefined) return undefined;
  if ('randomSampling' in raw) {
    const t = raw as unknown as TracingConfig;
    return t.provider !== undefined ? t : { ...t, provider: bootstrapProvider };
  }
  const n = (k: string): number | undefined => (typeof raw[k] === 'number' ? (raw[k] as number) : undefined);
  return {
    clientSampling: n('client_sampling') ?? 100,
    randomSampling: n('random_sampling') ?? 100,
    overallSampling: n('overall_sampling') ?? 100,
    verbose: raw.verbose === true,
    maxPathTagLength: n('max_path_tag_length') ?? 256,
    spawnUpstreamSpan: raw.spawn_upstream_span === true,
    provider: bootstrapProvider,
  };
}

export interface HcmTracing {
  readonly tracer: Tracer;
  readonly sink: SharedTracingSink | undefined;
}

/** Tracing for one HCM, or null when it has no tracing block or no provider (zero cost per request). */
export function buildHcmTracing(raw: Readonly<Record<string, unknown>> | undefined, log: Logger, env: TracingEnvironment = tracingEnvironment()): HcmTracing | null {
  const cfg = hcmTracingConfig(raw, env.provider);
  if (cfg === undefined) return null;
  if (cfg.provider === undefined) {
    if (typeof raw?.provider === 'string') log.warn({ provider: raw.provider }, 'tracing: the HCM provider config is not available on the worker and the bootstrap has none; tracing is off');
    return null;
  }
  const sink = sharedSink(cfg.provider, env, log);
  return { tracer: new Tracer(cfg, env.node, sink.exporter), sink };
}

/** Flushes and stops every exporter of this worker (shutdown, tests). */
export async function closeTracingSinks(): Promise<void> {
  const all = [...sinks.values()];
  sinks.clear();
  await Promise.all(all.map((s) => s.exporter?.close()));
}
