// The tracing entry point the HTTP connection manager calls per request:
// `tracer.startSpan(requestHeaders, request)` extracts the incoming B3/W3C context, takes
// Envoy's sampling decision, creates the span with Envoy's request tags (node_id, zone,
// guid:x-request-id, http.url, http.method, downstream_cluster, user_agent, http.protocol,
// peer.address, component=proxy) and returns it; the HCM then calls span.inject(upstream
// headers) and span.finish(result). One Tracer per HCM tracing config, built at materialize time.
//
// Span ids as in Envoy's Zipkin driver: with an incoming context an ingress (SERVER) span
// shares the caller's span id when shared_span_context is on (Zipkin default), otherwise it is
// a child (parentId = caller's span id); egress (CLIENT) spans are always children. Without a
// context a new trace starts.
import { tracingDecision } from './sampling';
import { Span, type SpanKind, type SpanSink } from './span';
import { newSpanId, newTraceId } from './span-ids';
import { extractB3SamplingOnly, extractContext, type TraceHeaders } from './trace-context';
import type { TracingConfig } from './tracing-config';

/** The node facts Envoy stamps on every span. */
export interface LocalNodeInfo {
  readonly nodeId: string;
  readonly zone: string;
  /** Zipkin localEndpoint.serviceName / OTel service.name (Envoy: --service-cluster / node.cluster). */
  readonly serviceName: string;
  readonly localIp: string;
}

/** Request facts the HCM already has parsed (no header map walks here). */
export interface SpanRequest {
  readonly kind: SpanKind;
  /** Span name: route decorator operation, else Envoy's default "<authority><path>" form. */
  readonly operationName: string;
  readonly method: string;
  /** Full URL for http.url (scheme://authority/path), cut to max_path_tag_length. */
  readonly url: string;
  /** "HTTP/1.1", "HTTP/2"... */
  readonly protocol: string;
  readonly peerAddress: string;
  readonly startTimeMs?: number;
}

export class Tracer {
  private readonly preferW3c: boolean;
  private readonly sharedSpanContext: boolean;
  private readonly traceId128: boolean;

  constructor(
    readonly config: TracingConfig,
    private readonly node: LocalNodeInfo,
    private readonly sink: SpanSink | undefined,
  ) {
    const p = config.provider;
    this.preferW3c = p?.kind === 'opentelemetry';
    this.sharedSpanContext = p?.kind === 'zipkin' ? p.sharedSpanContext : false;
    this.traceId128 = p?.kind === 'opentelemetry' || (p?.kind === 'zipkin' && p.traceId128bit);
  }

  startSpan(h: TraceHeaders, req: SpanRequest): Span {
    const reason = tracingDecision(h, this.config);
    const ctx = extractContext(h, this.preferW3c);
    const local = reason === 'forced' || reason === 'client' || reason === 'sampled';
    const sampled = ctx?.sampled ?? extractB3SamplingOnly(h) ?? local;
    const inject = this.config.provider?.inject ?? ['b3'];
    const startUs = (req.startTimeMs ?? Date.now()) * 1000;
    let span: Span;
    if (!ctx) {
      const traceId = newTraceId(this.traceId128);
      span = new Span(this.sink, traceId, traceId.slice(-16), '', req.kind, req.operationName, sampled, false, startUs, '', inject);
    } else if (req.kind === 'SERVER' && this.sharedSpanContext && ctx.format !== 'w3c') {
      span = new Span(this.sink, ctx.traceId, ctx.spanId, ctx.parentId, req.kind, req.operationName, sampled, true, startUs, ctx.traceState, inject);
    } else {
      span = new Span(this.sink, ctx.traceId, newSpanId(), ctx.spanId, req.kind, req.operationName, sampled, false, startUs, ctx.traceState, inject);
    }
    const max = this.config.maxPathTagLength;
    span.setTag('component', 'proxy');
    span.setTag('node_id', this.node.nodeId);
    span.setTag('zone', this.node.zone);
    span.setTag('guid:x-request-id', h.get('x-request-id') ?? '');
    span.setTag('http.url', req.url.length > max ? req.url.slice(0, max) : req.url);
    span.setTag('http.method', req.method);
    span.setTag('downstream_cluster', h.get('x-envoy-downstream-service-cluster') ?? '-');
    span.setTag('user_agent', h.get('user-agent') ?? '-');
    span.setTag('http.protocol', req.protocol);
    span.setTag('peer.address', req.peerAddress);
    return span;
  }

  get localNode(): LocalNodeInfo {
    return this.node;
  }
}
