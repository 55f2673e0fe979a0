// Zipkin export: finished, sampled spans are buffered and POSTed as a Zipkin v2 JSON array to
// the collector cluster's endpoint (ZipkinConfig.collector_endpoint, Host: collector_hostname),
// like Envoy's Zipkin driver: a flush when min_flush_spans are buffered (Envoy runtime
// tracing.zipkin.min_flush_spans, default 5) and every flush interval (tracing.zipkin.
// flush_interval_ms, default 5000). The collector address comes from the caller's cluster
// manager through `resolve` (called once per flush, not per span). Export failures are counted
// and dropped, never retried: tracing must not hold request memory.
import * as http from 'node:http';
import type { Span, SpanSink } from './span';
import type { LocalNodeInfo } from './tracer';
import type { ZipkinProviderConfig } from './tracing-config';

export interface CollectorAddress {
  readonly host: string;
  readonly port: number;
}

export interface ZipkinExporterOptions {
  readonly config: ZipkinProviderConfig;
  readonly node: LocalNodeInfo;
  /** Picks a collector host of config.collectorCluster; undefined when it has none. */
  readonly resolve: (cluster: string) => CollectorAddress | undefined;
  readonly minFlushSpans?: number;
  readonly flushIntervalMs?: number;
  /** Spans kept at most while the collector is slow; older ones are dropped. */
  readonly maxBufferedSpans?: number;
}

export interface ExporterStats {
  spansSent: number;
  spansDropped: number;
  reportsFailed: number;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** Zipkin v2 JSON for one span. */
export function zipkinSpanJson(s: Span, node: LocalNodeInfo): Record<string, unknown> {
  const tags: Record<string, string> = {};
  for (let i = 0; i < s.tags.length; i += 2) tags[s.tags[i]] = s.tags[i + 1];
  const localEndpoint: Record<string, unknown> = { serviceName: node.serviceName };
  if (IPV4.test(node.localIp)) localEndpoint.ipv4 = node.localIp;
  else if (node.localIp) localEndpoint.ipv6 = node.localIp;
  const out: Record<string, unknown> = { traceId: s.traceId, id: s.id, kind: s.kind, name: s.name, timestamp: Math.round(s.startUs), duration: s.durationUs, localEndpoint, tags };
  if (s.parentId !== '') out.parentId = s.parentId;
  if (s.shared) out.shared = true;
  return out;
}

export class ZipkinExporter implements SpanSink {
  readonly stats: ExporterStats = { spansSent: 0, spansDropped: 0, reportsFailed: 0 };
  private buffer: Span[] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  private readonly minFlush: number;
  private readonly maxBuffered: number;
  private inflight = new Set<Promise<void>>();

  constructor(private readonly opts: ZipkinExporterOptions) {
    this.minFlush = opts.minFlushSpans ?? 5;
    this.maxBuffered = opts.maxBufferedSpans ?? 10_000;
    this.timer = setInterval(() => void this.flush(), opts.flushIntervalMs ?? 5000);
    this.timer.unref();
  }

  report(span: Span): void {
    if (this.buffer.length >= this.maxBuffered) {
      this.buffer.shift();
      this.stats.spansDropped++;
    }
    this.buffer.push(span);
    if (this.buffer.length >= this.minFlush) void this.flush();
  }

  /** Sends everything buffered now; resolves when the collector answered (or failed). */
  flush(): Promise<void> {
    if (this.buffer.length === 0) return Promise.all(this.inflight).then(() => undefined);
    const spans = this.buffer;
    this.buffer = [];
    const target = this.opts.resolve(this.opts.config.collectorCluster);
    if (!target) {
      this.stats.spansDropped += spans.length;
      this.stats.reportsFailed++;
      return Promise.resolve();
    }
    const body = JSON.stringify(spans.map((s) => zipkinSpanJson(s, this.opts.node)));
    const p = new Promise<void>((resolve) => {
      const req = http.request(
        { host: target.host, port: target.port, method: 'POST', path: this.opts.config.collectorEndpoint, agent: this.agent, timeout: 5000, headers: { host: this.opts.config.collectorHostname, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300) this.stats.spansSent += spans.length;
            else {
              this.stats.reportsFailed++;
              this.stats.spansDropped += spans.length;
            }
            resolve();
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('zipkin collector timeout')));
      req.on('error', () => {
        this.stats.reportsFailed++;
        this.stats.spansDropped += spans.length;
        resolve();
      });
      req.end(body);
    });
    this.inflight.add(p);
    void p.then(() => this.inflight.delete(p));
    return p;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    this.agent.destroy();
  }
}
