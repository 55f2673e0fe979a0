// Create half of envoy.filters.http.fault: injects a delay (the stream stops decoding, then
// continues after the delay) and/or an abort (local reply with the configured HTTP status, or a
// gRPC status for gRPC requests) for the configured share of requests, or as asked by the
// x-envoy-fault-* request headers when header control is on. Response flags DI / FI and Envoy's
// stats http.<prefix>.fault.{delays_injected,aborts_injected,active_faults} (Envoy
// source/extensions/filters/http/fault/fault_filter.cc).
import { timer } from '../../../../engine/http/timer';
import type { HttpFilter, HttpFilterFactory, HttpStreamCallbacks, FilterStatus } from '../../../../engine/http/filter-api';
import { CONTINUE, STOP } from '../../../../engine/http/filter-api';
import { HeaderMatcher } from '../../../../engine/http/route/matchers';
import type { TypedPerFilterConfig } from '../../../../config/model/route';
import type { Counter } from '../../../../stats/counter';
import type { Gauge } from '../../../../stats/gauge';
import type { HttpFilterContext } from '../factories';
import type { FaultConfig, PercentConfig } from './config';

function hit(p: PercentConfig, override: string | undefined): boolean {
  let num = p.numerator;
  if (override !== undefined && /^\d+$/.test(override)) num = Math.min(num, Number(override));
  return Math.random() * p.denominator < num;
}

/** A fault config with its header matchers compiled (the filter's own, or a route's override). */
class FaultSettings {
  readonly headers: readonly HeaderMatcher[];
  constructor(readonly config: FaultConfig) {
    this.headers = config.headers.map((h) => new HeaderMatcher(h));
  }
}

export class FaultFilterFactory implements HttpFilterFactory {
  readonly name = 'envoy.filters.http.fault';
  readonly delaysInjected: Counter;
  readonly abortsInjected: Counter;
  readonly activeFaults: Gauge;
  private readonly settings: FaultSettings;
  /** typed_per_filter_config HTTPFault overrides, compiled on first use. */
  private readonly perRoute = new WeakMap<TypedPerFilterConfig, FaultSettings>();
  active = 0;

  constructor(
    readonly config: FaultConfig,
    ctx: HttpFilterContext,
  ) {
    const s = ctx.stats.scope(`${ctx.statPrefix}fault.`);
    this.delaysInjected = s.counter('delays_injected');
    this.abortsInjected = s.counter('aborts_injected');
    this.activeFaults = s.gauge('active_faults');
    this.settings = new FaultSettings(config);
  }

  /** A route's HTTPFault replaces the filter's config for that route (Envoy FaultFilter). */
  create(perRoute?: TypedPerFilterConfig): HttpFilter {
    let settings = this.settings;
    const parsed = perRoute?.parsed as FaultConfig | undefined;
    if (parsed !== undefined && Array.isArray(parsed.headers)) {
      let c = this.perRoute.get(perRoute!);
      if (c === undefined) this.perRoute.set(perRoute!, (c = new FaultSettings(parsed)));
      settings = c;
    }
    return new FaultFilter(this, settings);
  }
}

class FaultFilter implements HttpFilter {
  private timer: NodeJS.Timeout | null = null;
  private s: HttpStreamCallbacks | null = null;
  private counted = false;

  constructor(
    private readonly f: FaultFilterFactory,
    private readonly settings: FaultSettings,
  ) {}

  decodeHeaders(s: HttpStreamCallbacks, _end: boolean): FilterStatus {
    const f = this.f;
    const c = this.settings.config;
    if (c.upstreamCluster !== '' && s.route?.cluster !== c.upstreamCluster) return CONTINUE;
    const headers = this.settings.headers;
    for (let i = 0; i < headers.length; i++) if (!headers[i]!.match(s)) return CONTINUE;
    if (c.maxActiveFaults !== undefined && f.active >= c.maxActiveFaults) return CONTINUE;
    this.s = s;
    const h = s.requestHeaders;
    const d = c.delay;
    if (d !== undefined) {
      let ms = d.fixedDelayMs;
      if (d.headerDelay) {
        const v = h.get('x-envoy-fault-delay-request');
        ms = v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
      }
      if (ms !== undefined && ms > 0 && hit(d.percent, h.get('x-envoy-fault-delay-request-percentage'))) {
        this.begin();
        f.delaysInjected.inc();
        s.setResponseFlag('DI');
        this.timer = timer(this.afterDelay, ms);
        return STOP;
      }
    }
    return this.maybeAbort(s) ? STOP : CONTINUE;
  }

  private begin(): void {
    if (this.counted) return;
    this.counted = true;
    this.f.active++;
    this.f.activeFaults.inc();
  }

  private maybeAbort(s: HttpStreamCallbacks): boolean {
    const a = this.settings.config.abort;
    if (a === undefined) return false;
    const h = s.requestHeaders;
    let status = a.httpStatus;
    let grpc = a.grpcStatus;
    if (a.headerAbort) {
      const v = h.get('x-envoy-fault-abort-request');
      status = v !== undefined && /^\d+$/.test(v) && Number(v) >= 200 && Number(v) < 600 ? Number(v) : undefined;
      const g = h.get('x-envoy-fault-abort-grpc-request');
      grpc = g !== undefined && /^\d+$/.test(g) ? Number(g) : undefined;
    }
    if (status === undefined && grpc === undefined) return false;
    if (!hit(a.percent, h.get('x-envoy-fault-abort-request-percentage'))) return false;
    this.begin();
    this.f.abortsInjected.inc();
    s.sendLocalReply(status ?? 200, 'fault filter abort', 'fault_filter_abort', 'FI', undefined, grpc);
    return true;
  }

  private readonly afterDelay = (): void => {
    this.timer = null;
    const s = this.s!;
    if (!this.maybeAbort(s)) s.continueDecoding();
  };

  onDestroy(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.counted) {
      this.f.active--;
      this.f.activeFaults.dec();
    }
  }
}
