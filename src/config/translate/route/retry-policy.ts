// Translation of envoy.config.route.v3.RetryPolicy and HedgePolicy (virtual host and route
// level) into the config model. Control side only. The router (engine/http, others) carries
// out retries; this file only fixes defaults and rejects what Envoy rejects.
import type { ErrorSink } from '../../../common/result';
import type { HeaderMatcherConfig } from '../../model/matchers';
import type { HedgePolicyConfig, RetryBackOffConfig, RetryPolicyConfig } from '../../model/route';
import { durationMs, num, wrapped, type Msg } from '../proto-util';
import { translateFractionalPercent, translateHeaderMatcher } from './matchers';

function headerMatchers(list: Msg[] | undefined, errors: ErrorSink, path: string): HeaderMatcherConfig[] {
  const out: HeaderMatcherConfig[] = [];
  (list ?? []).forEach((m, i) => {
    const h = translateHeaderMatcher(m, errors, `${path}[${i}]`);
    if (h) out.push(h);
  });
  return out;
}

/** Checks a Duration is non-negative; returns ms or undefined. PGV on these fields: gte 0. */
function nonNegativeMs(d: Msg | null | undefined, errors: ErrorSink, path: string): number | undefined {
  const ms = durationMs(d);
  if (ms !== undefined && ms < 0) {
    errors.add(path, 'duration must be non-negative');
    return undefined;
  }
  return ms;
}

function translateBackOff(msg: Msg | null | undefined, errors: ErrorSink, path: string): RetryBackOffConfig | undefined {
  if (!msg) return undefined;
  const base = durationMs(msg.baseInterval);
  if (base === undefined || base <= 0) {
    // PGV: base_interval required, gt 0.
    errors.add(`${path}.base_interval`, 'value is required and must be greater than 0s');
    return undefined;
  }
  const max = durationMs(msg.maxInterval);
  if (max !== undefined && max <= 0) {
    errors.add(`${path}.max_interval`, 'value must be greater than 0s');
    return undefined;
  }
  if (max !== undefined && max < base) {
    // Envoy RetryPolicyImpl: "max_interval must be greater than or equal to the base_interval".
    errors.add(`${path}.max_interval`, 'max_interval must be greater than or equal to the base_interval');
    return undefined;
  }
  return { baseIntervalMs: base, maxIntervalMs: max ?? base * 10 };
}

/** envoy.config.route.v3.RetryPolicy, with Envoy's defaults (num_retries 1, host_selection_retry_max_attempts 1). */
export function translateRetryPolicy(msg: Msg | null | undefined, errors: ErrorSink, path: string): RetryPolicyConfig | undefined {
  if (!msg) return undefined;
  const retryOn = String(msg.retryOn ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const retryHostPredicates: string[] = [];
  ((msg.retryHostPredicate ?? []) as Msg[]).forEach((p, i) => {
    const name: string = p.name || p.typedConfig?.typeUrl || '';
    if (name === '') errors.add(`${path}.retry_host_predicate[${i}].name`, 'retry host predicate needs a name or typed_config');
    else retryHostPredicates.push(name);
  });
  const retriableStatusCodes: number[] = [];
  ((msg.retriableStatusCodes ?? []) as number[]).forEach((c, i) => {
    const code = num(c);
    if (code < 100 || code > 599) errors.add(`${path}.retriable_status_codes[${i}]`, `invalid HTTP status ${code}`);
    else retriableStatusCodes.push(code);
  });
  const perTryTimeoutMs = nonNegativeMs(msg.perTryTimeout, errors, `${path}.per_try_timeout`);
  const perTryIdleTimeoutMs = nonNegativeMs(msg.perTryIdleTimeout, errors, `${path}.per_try_idle_timeout`);
  const retryBackOff = translateBackOff(msg.retryBackOff, errors, `${path}.retry_back_off`);
  const retryPriority: string | undefined = msg.retryPriority ? msg.retryPriority.name || msg.retryPriority.typedConfig?.typeUrl : undefined;
  const hostAttempts = msg.hostSelectionRetryMaxAttempts === null || msg.hostSelectionRetryMaxAttempts === undefined ? 0 : num(msg.hostSelectionRetryMaxAttempts);
  return {
    retryOn,
    numRetries: wrapped<number>(msg.numRetries) ?? 1,
    ...(perTryTimeoutMs !== undefined ? { perTryTimeoutMs } : {}),
    ...(perTryIdleTimeoutMs !== undefined ? { perTryIdleTimeoutMs } : {}),
    retryHostPredicates,
    ...(retryPriority ? { retryPriority } : {}),
    // Envoy: 0 (unset) means the default of one attempt.
    hostSelectionRetryMaxAttempts: hostAttempts > 0 ? hostAttempts : 1,
    retriableStatusCodes,
    ...(retryBackOff ? { retryBackOff } : {}),
    retriableHeaders: headerMatchers(msg.retriableHeaders, errors, `${path}.retriable_headers`),
    retriableRequestHeaders: headerMatchers(msg.retriableRequestHeaders, errors, `${path}.retriable_request_headers`),
  };
}

/** envoy.config.route.v3.HedgePolicy (initial_requests defaults to 1, must be >= 1). */
export function translateHedgePolicy(msg: Msg | null | undefined, errors: ErrorSink, path: string): HedgePolicyConfig | undefined {
  if (!msg) return undefined;
  const initialRequests = wrapped<number>(msg.initialRequests) ?? 1;
  if (initialRequests < 1) {
    errors.add(`${path}.initial_requests`, 'value must be greater than or equal to 1');
    return undefined;
  }
  const chance = translateFractionalPercent(msg.additionalRequestChance, errors, `${path}.additional_request_chance`);
  return { initialRequests, ...(chance ? { additionalRequestChance: chance } : {}), hedgeOnPerTryTimeout: msg.hedgeOnPerTryTimeout === true };
}
