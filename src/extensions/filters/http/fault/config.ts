// Parse half of envoy.filters.http.fault: HTTPFault proto -> FaultConfig (delay and abort
// injection with percentages, header-controlled faults, max_active_faults, upstream cluster and
// header conditions).
import type { ErrorSink } from '../../../../common/result';
import type { HeaderMatcherConfig } from '../../../../config/model/matchers';
import { durationMs, oneofCase, wrapped, type Msg } from '../../../../config/translate/proto-util';
import { translateHeaderMatcher } from '../../../../config/translate/route/matchers';
import type { ExtensionParser } from '../../../registry';

/** A FractionalPercent as a probability numerator over a denominator. */
export interface PercentConfig {
  readonly numerator: number;
  readonly denominator: number;
}

export interface FaultConfig {
  readonly delay?: { readonly fixedDelayMs?: number; readonly headerDelay: boolean; readonly percent: PercentConfig };
  readonly abort?: { readonly httpStatus?: number; readonly grpcStatus?: number; readonly headerAbort: boolean; readonly percent: PercentConfig };
  readonly maxActiveFaults?: number;
  readonly upstreamCluster: string;
  readonly headers: readonly HeaderMatcherConfig[];
}

const DENOMS = [100, 10_000, 1_000_000];

export function translatePercent(p: Msg | null | undefined): PercentConfig {
  if (!p) return { numerator: 100, denominator: 100 };
  const d = typeof p.denominator === 'number' ? p.denominator : ['HUNDRED', 'TEN_THOUSAND', 'MILLION'].indexOf(String(p.denominator ?? 'HUNDRED'));
  return { numerator: Number(p.numerator ?? 0), denominator: DENOMS[d] ?? 100 };
}

export const faultParser: ExtensionParser = {
  category: 'http',
  names: ['envoy.filters.http.fault', 'envoy.fault'],
  typeUrls: ['type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault'],
  parse(msg: Msg | undefined, _ctx, errors: ErrorSink): FaultConfig {
    const m = msg ?? {};
    let delay: FaultConfig['delay'];
    if (m.delay) {
      const which = oneofCase(m.delay, 'faultDelaySecifier') ?? oneofCase(m.delay, 'fault_delay_secifier');
      const fixed = durationMs(m.delay.fixedDelay);
      delay = { ...(fixed !== undefined ? { fixedDelayMs: fixed } : {}), headerDelay: which === 'headerDelay' || !!m.delay.headerDelay, percent: translatePercent(m.delay.percentage) };
      if (fixed === undefined && !delay.headerDelay) errors.add('delay', 'one of fixed_delay or header_delay is required');
    }
    let abort: FaultConfig['abort'];
    if (m.abort) {
      const a = m.abort;
      const http = a.httpStatus ? Number(a.httpStatus) : undefined;
      if (http !== undefined && (http < 200 || http >= 600)) errors.add('abort.http_status', 'must be in [200, 600)');
      abort = {
        ...(http !== undefined ? { httpStatus: http } : {}),
        ...(a.grpcStatus !== null && a.grpcStatus !== undefined && oneofCase(a, 'errorType') === 'grpcStatus' ? { grpcStatus: Number(a.grpcStatus) } : {}),
        headerAbort: !!a.headerAbort,
        percent: translatePercent(a.percentage),
      };
    }
    const headers: HeaderMatcherConfig[] = [];
    ((m.headers ?? []) as Msg[]).forEach((h, i) => {
      const t = translateHeaderMatcher(h, errors, `headers[${i}]`);
      if (t) headers.push(t);
    });
    const maxActive = wrapped<number>(m.maxActiveFaults);
    return { ...(delay ? { delay } : {}), ...(abort ? { abort } : {}), ...(maxActive !== undefined ? { maxActiveFaults: maxActive } : {}), upstreamCluster: String(m.upstreamCluster ?? ''), headers };
  },
};
