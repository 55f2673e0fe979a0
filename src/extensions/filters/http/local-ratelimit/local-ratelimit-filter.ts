// Create half of envoy.filters.http.local_ratelimit: one token bucket per filter chain (refilled
// lazily from elapsed time: tokens_per_fill every fill_interval, capped at max_tokens); a request
// takes a token when the filter is enabled for it, and when none is left and enforcement applies
// it gets Envoy's local reply: 429 "local_rate_limited", flag RL. Stats under
// <stat_prefix>.http_local_rate_limit.{enabled,enforced,rate_limited,ok}. A route's
// typed_per_filter_config LocalRateLimit replaces the filter's config for that route with its
// own bucket (made once per override, shared by the route's streams) and its own stat_prefix.
import type { TypedPerFilterConfig } from '../../../../config/model/route';
import type { FilterStatus, HttpFilter, HttpFilterFactory, HttpStreamCallbacks } from '../../../../engine/http/filter-api';
import { CONTINUE } from '../../../../engine/http/filter-api';
import type { Counter } from '../../../../stats/counter';
import type { HttpFilterContext } from '../factories';
import type { PercentConfig } from '../fault/config';
import type { LocalRateLimitConfig } from './config';

function hit(p: PercentConfig): boolean {
  return p.numerator >= p.denominator || Math.random() * p.denominator < p.numerator;
}

export class LocalRateLimitFilterFactory implements HttpFilterFactory {
  readonly name = 'envoy.filters.http.local_ratelimit';
  private readonly limiter: LocalRateLimiter;
  private readonly perRoute = new WeakMap<TypedPerFilterConfig, LocalRateLimiter>();

  constructor(
    config: LocalRateLimitConfig,
    private readonly ctx: HttpFilterContext,
  ) {
    this.limiter = new LocalRateLimiter(config, ctx);
  }

  /** Stateless per stream: the (route's) limiter is the filter instance. */
  create(perRoute?: TypedPerFilterConfig): HttpFilter {
    const parsed = perRoute?.parsed as LocalRateLimitConfig | undefined;
    if (parsed === undefined || typeof parsed.statPrefix !== 'string') return this.limiter;
    let l = this.perRoute.get(perRoute!);
    if (l === undefined) this.perRoute.set(perRoute!, (l = new LocalRateLimiter(parsed, this.ctx)));
    return l;
  }
}

/** One token bucket with its enable/enforce fractions and stats. */
class LocalRateLimiter implements HttpFilter {
  private tokens: number;
  private lastFill = Date.now();
  private readonly enabled: Counter;
  private readonly enforced: Counter;
  private readonly rateLimited: Counter;
  private readonly ok: Counter;
  private readonly extra: string[];

  constructor(
    readonly config: LocalRateLimitConfig,
    ctx: HttpFilterContext,
  ) {
    this.tokens = config.tokenBucket?.maxTokens ?? 0;
    const s = ctx.stats.scope(`${config.statPrefix}.http_local_rate_limit.`);
    this.enabled = s.counter('enabled');
    this.enforced = s.counter('enforced');
    this.rateLimited = s.counter('rate_limited');
    this.ok = s.counter('ok');
    // Static header values only (formatted values would need the stream; Istio sends literals).
    this.extra = config.responseHeadersToAdd.flatMap((h) => [h.name, h.value]);
  }

  private take(): boolean {
    const tb = this.config.tokenBucket;
    if (tb === undefined) return true;
    const now = Date.now();
    const fills = Math.floor((now - this.lastFill) / tb.fillIntervalMs);
    if (fills > 0) {
      this.tokens = Math.min(tb.maxTokens, this.tokens + fills * tb.tokensPerFill);
      this.lastFill += fills * tb.fillIntervalMs;
    }
    if (this.tokens <= 0) return false;
    this.tokens--;
    return true;
  }

  decodeHeaders(s: HttpStreamCallbacks, _end: boolean): FilterStatus {
    if (!hit(this.config.filterEnabled)) return CONTINUE;
    this.enabled.inc();
    if (this.take()) {
      this.ok.inc();
      return CONTINUE;
    }
    this.rateLimited.inc();
    if (!hit(this.config.filterEnforced)) return CONTINUE;
    this.enforced.inc();
    s.sendLocalReply(this.config.status, 'local_rate_limited', 'local_rate_limited', 'RL', this.extra);
    return CONTINUE;
  }
}
