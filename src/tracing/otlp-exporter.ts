// OpenTelemetry export over OTLP/gRPC (TraceService/Export) to the configured envoy_grpc
// cluster, with @grpc/grpc-js and our own OTLP descriptors (otlp-proto.ts). Spans are batched
// like the Zipkin exporter (count or interval) into one ExportTraceServiceRequest with a
// Resource carrying service.name. The collector address comes from the caller's cluster
// manager via `resolve`; one grpc-js client per address, reused. Failures are counted, spans dropped.
import * as grpc from '@grpc/grpc-js';
import type { Span, SpanSink } from './span';
import type { LocalNodeInfo } from './tracer';
import type { OpenTelemetryProviderConfig } from './tracing-config';
import type { CollectorAddress, ExporterStats } from './zipkin-exporter';
import { OTLP_EXPORT_PATH, otlpRoot } from './otlp-proto';

export interface OtlpExporterOptions {
  readonly config: OpenTelemetryProviderConfig;
  readonly node: LocalNodeInfo;
  readonly resolve: (cluster: string) => CollectorAddress | undefined;
  readonly minFlushSpans?: number;
  readonly flushIntervalMs?: number;
  readonly maxBufferedSpans?: number;
}

const KIND = { SERVER: 2, CLIENT: 3 } as const;

function hexBytes(hex: string): Buffer {
  return Buffer.from(hex, 'hex');
}

function attr(key: string, value: string): object {
  return { key, value: { stringValue: value } };
}

/** The ExportTraceServiceRequest (plain object) for a batch. */
export function otlpRequest(spans: readonly Span[], serviceName: string): object {
  return {
    resourceSpans: [
      {
        resource: { attributes: [attr('service.name', serviceName)] },
        scopeSpans: [
          {
            scope: { name: 'meshproxy' },
            spans: spans.map((s) => {
              const attributes: object[] = [];
              for (let i = 0; i < s.tags.length; i += 2) attributes.push(attr(s.tags[i], s.tags[i + 1]));
              const startNs = BigInt(Math.round(s.startUs)) * 1000n;
              const err = s.tag('error') === 'true';
              return {
                traceId: hexBytes(s.traceId.padStart(32, '0')),
                spanId: hexBytes(s.id),
                traceState: s.traceState,
                parentSpanId: s.parentId ? hexBytes(s.parentId) : Buffer.alloc(0),
                name: s.name,
                kind: KIND[s.kind],
                startTimeUnixNano: startNs.toString(),
                endTimeUnixNano: (startNs + BigInt(s.durationUs) * 1000n).toString(),
                attributes,
                status: err ? { code: 2 } : undefined,
              };
            }),
          },
        ],
      },
    ],
  };
}

export class OtlpGrpcExporter implements SpanSink {
  readonly stats: ExporterStats = { spansSent: 0, spansDropped: 0, reportsFailed: 0 };
  private buffer: Span[] = [];
  private readonly timer: NodeJS.Timeout;
  private client: { key: string; c: grpc.Client } | undefined;
  private readonly reqType = otlpRoot().lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
  private readonly resType = otlpRoot().lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');
  private readonly inflight = new Set<Promise<void>>();

  constructor(private readonly opts: OtlpExporterOptions) {
    if (opts.config.transport.kind !== 'grpc') throw new Error('OtlpGrpcExporter needs a grpc_service transport');
    this.timer = setInterval(() => void this.flush(), opts.flushIntervalMs ?? 5000);
    this.timer.unref();
  }

  report(span: Span): void {
    if (this.buffer.length >= (this.opts.maxBufferedSpans ?? 10_000)) {
      this.buffer.shift();
      this.stats.spansDropped++;
    }
    this.buffer.push(span);
    if (this.buffer.length >= (this.opts.minFlushSpans ?? 5)) void this.flush();
  }

  flush(): Promise<void> {
    if (this.buffer.length === 0) return Promise.all(this.inflight).then(() => undefined);
    const spans = this.buffer;
    this.buffer = [];
    const t = this.opts.config.transport as Extract<OpenTelemetryProviderConfig['transport'], { kind: 'grpc' }>;
    const target = this.opts.resolve(t.cluster);
    if (!target) {
      this.stats.spansDropped += spans.length;
      this.stats.reportsFailed++;
      return Promise.resolve();
    }
    const key = `${target.host}:${target.port}`;
    if (this.client?.key !== key) {
      this.client?.c.close();
      this.client = { key, c: new grpc.Client(target.host.includes(':') ? `[${target.host}]:${target.port}` : key, grpc.credentials.createInsecure(), { 'grpc.default_authority': t.authority }) };
    }
    const msg = this.reqType.fromObject(otlpRequest(spans, this.opts.config.serviceName));
    const deadline = Date.now() + (t.timeoutMs > 0 ? t.timeoutMs : 5000);
    const p = new Promise<void>((resolve) => {
      this.client!.c.makeUnaryRequest(
        OTLP_EXPORT_PATH,
        (m: typeof msg) => Buffer.from(this.reqType.encode(m).finish()),
        (b: Buffer) => this.resType.decode(b),
        msg,
        new grpc.Metadata(),
        { deadline },
        (err) => {
          if (err) {
            this.stats.reportsFailed++;
            this.stats.spansDropped += spans.length;
          } else this.stats.spansSent += spans.length;
          resolve();
        },
      );
    });
    this.inflight.add(p);
    void p.then(() => this.inflight.delete(p));
    return p;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    this.client?.c.close();
  }
}
