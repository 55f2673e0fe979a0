// One span per request (or per upstream attempt): ids, timing and Envoy's tags. Created by
// Tracer.startSpan, written by the HTTP connection manager (setTag, inject, finish) and handed
// to the provider's exporter when finished and sampled. A class with plain fields: no closures
// per request.
import { injectContext, type TraceHeaders } from './trace-context';
import type { PropagationFormat } from './tracing-config';

export type SpanKind = 'SERVER' | 'CLIENT';

/** What an exporter receives. */
export interface SpanSink {
  report(span: Span): void;
}

/** Response-side facts the HCM knows when the stream ends (Envoy finalizeDownstreamSpan). */
export interface SpanResult {
  readonly statusCode: number;
  readonly requestSize: number;
  readonly responseSize: number;
  /** Envoy short response flags ("UF,URX"), '' when none. */
  readonly responseFlags: string;
  /** Cluster the request was routed to, '' when none. */
  readonly upstreamCluster: string;
  /** Observability name of that cluster (upstream_cluster.name tag), defaults to upstreamCluster. */
  readonly upstreamClusterName?: string;
  readonly endTimeMs?: number;
}

export class Span {
  /** Tag keys and values in insertion order (flat pairs; cheaper than a Map per request). */
  readonly tags: string[] = [];
  durationUs = 0;
  private finished = false;

  constructor(
    private readonly sink: SpanSink | undefined,
    readonly traceId: string,
    readonly id: string,
    readonly parentId: string,
    readonly kind: SpanKind,
    public name: string,
    readonly sampled: boolean,
    /** True when this span reuses the caller's span id (Zipkin shared_span_context). */
    readonly shared: boolean,
    readonly startUs: number,
    readonly traceState: string,
    private readonly injectFormats: readonly PropagationFormat[],
  ) {}

  setTag(key: string, value: string): void {
    for (let i = 0; i < this.tags.length; i += 2) {
      if (this.tags[i] === key) {
        this.tags[i + 1] = value;
        return;
      }
    }
    this.tags.push(key, value);
  }

  tag(key: string): string | undefined {
    for (let i = 0; i < this.tags.length; i += 2) if (this.tags[i] === key) return this.tags[i + 1];
    return undefined;
  }

  /** Writes this span's context into the upstream request headers (the upstream's parent is this span). */
  inject(h: TraceHeaders): void {
    injectContext(h, this.injectFormats, this.traceId, this.id, this.parentId, this.sampled, this.traceState);
  }

  /** Sets Envoy's response tags, stops the clock and reports the span when sampled. Idempotent. */
  finish(r: SpanResult): void {
    if (this.finished) return;
    this.finished = true;
    const endUs = (r.endTimeMs ?? Date.now()) * 1000;
    this.durationUs = Math.max(1, Math.round(endUs - this.startUs));
    this.setTag('request_size', String(r.requestSize));
    this.setTag('response_size', String(r.responseSize));
    this.setTag('upstream_cluster', r.upstreamCluster || '-');
    this.setTag('upstream_cluster.name', r.upstreamClusterName ?? (r.upstreamCluster || '-'));
    this.setTag('http.status_code', String(r.statusCode));
    this.setTag('response_flags', r.responseFlags || '-');
    if (r.statusCode >= 500 || r.statusCode === 0) this.setTag('error', 'true');
    if (this.sampled && this.sink) this.sink.report(this);
  }
}
