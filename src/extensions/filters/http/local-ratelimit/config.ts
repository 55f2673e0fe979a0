// Parse half of envoy.filters.http.local_ratelimit: LocalRateLimit proto -> LocalRateLimitConfig
// (token bucket, enabled/enforced fractions — both default to 0% as in Envoy —, reply status and
// response headers).
import type { ErrorSink } from '../../../../common/result';
import type { HeaderValueOptionConfig } from '../../../../config/model/route';
import { durationMs, type Msg } from '../../../../config/translate/proto-util';
import { translateHeaderValueOption } from '../../../../config/translate/route/header-edits';
import type { ExtensionParser } from '../../../registry';
import { translatePercent, type PercentConfig } from '../fault/config';

export interface LocalRateLimitConfig {
  readonly statPrefix: string;
  readonly tokenBucket?: { readonly maxTokens: number; readonly tokensPerFill: number; readonly fillIntervalMs: number };
  readonly filterEnabled: PercentConfig;
  readonly filterEnforced: PercentConfig;
  readonly status: number;
  readonly responseHeadersToAdd: readonly HeaderValueOptionConfig[];
  readonly perConnection: boolean;
}

const OFF: PercentConfig = { numerator: 0, denominator: 100 };

export const localRateLimitParser: ExtensionParser = {
  category: 'http',
  names: ['envoy.filters.http.local_ratelimit'],
  typeUrls: ['type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit'],
  parse(msg: Msg | undefined, _ctx, errors: ErrorSink): LocalRateLimitConfig {
    const m = msg ?? {};
    const statPrefix = String(m.statPrefix ?? '');
    if (statPrefix === '') errors.add('stat_prefix', 'must not be empty');
    let tokenBucket: LocalRateLimitConfig['tokenBucket'];
    if (m.tokenBucket) {
      const tb = m.tokenBucket;
      const fill = durationMs(tb.fillInterval) ?? 0;
      if (fill < 50) errors.add('token_bucket.fill_interval', 'must be at least 50ms');
      tokenBucket = { maxTokens: Number(tb.maxTokens ?? 0), tokensPerFill: Number(tb.tokensPerFill?.value ?? tb.maxTokens ?? 0) || Number(tb.maxTokens ?? 0), fillIntervalMs: fill };
      if (tb.tokensPerFill?.value !== undefined) tokenBucket = { ...tokenBucket, tokensPerFill: Number(tb.tokensPerFill.value) };
    }
    const responseHeadersToAdd: HeaderValueOptionConfig[] = [];
    ((m.responseHeadersToAdd ?? []) as Msg[]).forEach((h, i) => {
      const t = translateHeaderValueOption(h, errors, `response_headers_to_add[${i}]`);
      if (t) responseHeadersToAdd.push(t);
    });
    const status = Number(m.status?.code ?? 0);
    return {
      statPrefix,
      ...(tokenBucket ? { tokenBucket } : {}),
      filterEnabled: m.filterEnabled ? translatePercent(m.filterEnabled.defaultValue) : OFF,
      filterEnforced: m.filterEnforced ? translatePercent(m.filterEnforced.defaultValue) : OFF,
      status: status >= 400 ? status : 429,
      responseHeadersToAdd,
      perConnection: !!m.localRateLimitPerDownstreamConnection,
    };
  },
};
