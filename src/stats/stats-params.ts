// Query parameters of Envoy's /stats and /stats/prometheus admin endpoints, parsed once per
// admin request into plain options for the renderers: usedonly, filter (an RE2 regex matched
// anywhere in the name, compiled with re2js, never V8 RegExp, because it comes from the
// request), type, format, text_readouts. Errors carry Envoy's 400 messages.
import { RE2JS } from 're2js';
import { fail, ok, type Result } from '../common/result';

export type StatsTypeFilter = 'All' | 'Counters' | 'Gauges' | 'Histograms' | 'TextReadouts';

export interface StatsParams {
  readonly usedOnly: boolean;
  /** Partial-match predicate over full stat names; undefined when no filter was given. */
  readonly filter: ((name: string) => boolean) | undefined;
  readonly type: StatsTypeFilter;
  /** `format=` of /stats; /stats/prometheus ignores it. */
  readonly format: 'text' | 'json' | 'prometheus';
  /** /stats/prometheus?text_readouts: export text readouts as gauges with a text_value label. */
  readonly textReadouts: boolean;
}

const TYPES: readonly StatsTypeFilter[] = ['All', 'Counters', 'Gauges', 'Histograms', 'TextReadouts'];

/** Parses `usedonly&filter=...&type=...&format=...`; a leading `?` is allowed. */
export function parseStatsParams(query: string | URLSearchParams): Result<StatsParams> {
  const q = typeof query === 'string' ? new URLSearchParams(query.startsWith('?') ? query.slice(1) : query) : query;
  let filter: StatsParams['filter'];
  const filterSrc = q.get('filter');
  if (filterSrc !== null && filterSrc !== '') {
    try {
      const re = RE2JS.compile(filterSrc);
      filter = (name) => re.test(name);
    } catch (err) {
      return fail([{ path: 'filter', reason: `Invalid re2 regex: ${(err as Error).message}` }]);
    }
  }
  const typeParam = q.get('type') ?? 'All';
  if (!(TYPES as readonly string[]).includes(typeParam)) return fail([{ path: 'type', reason: 'invalid &type= param' }]);
  const formatParam = q.get('format') ?? 'text';
  if (formatParam !== 'text' && formatParam !== 'json' && formatParam !== 'prometheus') {
    return fail([{ path: 'format', reason: `usage: /stats?format=(json|prometheus|text)` }]);
  }
  return ok({
    usedOnly: q.has('usedonly'),
    filter,
    type: typeParam as StatsTypeFilter,
    format: formatParam,
    textReadouts: q.has('text_readouts'),
  });
}

export const DEFAULT_STATS_PARAMS: StatsParams = Object.freeze({
  usedOnly: false,
  filter: undefined,
  type: 'All',
  format: 'text',
  textReadouts: false,
});
