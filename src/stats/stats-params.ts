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

const LITERAL = /[A-Za-z0-9_\-:;,=/ ]/;

/** The literal text a regex alternative starts with, cut before any quantified character. */
function literalPrefix(alt: string): string {
  let out = '';
  for (let i = 0; i < alt.length; i++) {
    let ch = alt[i]!;
    let width = 1;
    if (ch === '\\') {
      const next = alt[i + 1];
      if (next === undefined || !/[.\-\\\/|()[\]{}*+?^$]/.test(next)) break;
      ch = next;
      width = 2;
    } else if (!LITERAL.test(ch)) break;
    const after = alt[i + width];
    if (after === '?' || after === '*' || after === '{') break;
    out += ch;
    i += width - 1;
  }
  return out;
}

/** True when `s` has a `|` outside groups and brackets (an alternation of the whole pattern). */
function hasTopLevelBar(s: string): boolean {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '\\') i++;
    else if (inClass) inClass = ch !== ']';
    else if (ch === '[') inClass = true;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === '|' && depth <= 0) return true;
  }
  return false;
}

/**
 * For `^lit...` or `^(lit1...|lit2...)...`, the literal prefixes every matching name must start
 * with; undefined when the pattern has another shape (then only the regex decides).
 */
export function requiredPrefixes(re: string): string[] | undefined {
  if (!re.startsWith('^')) return undefined;
  const s = re.slice(1);
  let alts: string[];
  if (s.startsWith('(') && !s.startsWith('(?')) {
    let close = -1;
    for (let i = 1; i < s.length; i++) {
      const ch = s[i]!;
      if (ch === '\\') {
        i++;
        continue;
      }
      if (ch === '(' || ch === '[') return undefined;
      if (ch === ')') {
        close = i;
        break;
      }
    }
    if (close < 0) return undefined;
    const after = s[close + 1];
    if (after === '?' || after === '*' || after === '{') return undefined;
    if (hasTopLevelBar(s.slice(close + 1))) return undefined;
    alts = s.slice(1, close).split('|');
  } else {
    if (hasTopLevelBar(s)) return undefined;
    alts = [s];
  }
  const prefixes = alts.map(literalPrefix);
  return prefixes.some((p) => p === '') ? undefined : prefixes;
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
      const prefixes = requiredPrefixes(filterSrc);
      // A cheap necessary condition first: pilot-agent's probes are anchored literals, and most
      // names fail on the first characters without running the regex engine.
      filter = prefixes ? (name) => prefixes.some((pre) => name.startsWith(pre)) && re.test(name) : (name) => re.test(name);
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
