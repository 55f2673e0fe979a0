// Compiles Envoy StringMatchers (stats_matcher patterns, histogram bucket rules) into plain
// predicates over stat names. Runs when a stat is created (config time for the engine), never
// per request. safe_regex uses re2js with a full match, as Envoy's RegexMatcher does.
import { RE2JS } from 're2js';
import type { StatsMatcherSpec, StatsStringMatcherSpec } from './stats-options';

export type NamePredicate = (name: string) => boolean;

export function compileStringMatcher(m: StatsStringMatcherSpec): NamePredicate {
  if (m.kind === 'safe_regex') {
    const re = RE2JS.compile(m.value, m.ignoreCase ? RE2JS.CASE_INSENSITIVE : 0);
    return (name) => re.matches(name);
  }
  const v = m.ignoreCase ? m.value.toLowerCase() : m.value;
  const norm = m.ignoreCase ? (s: string) => s.toLowerCase() : (s: string) => s;
  switch (m.kind) {
    case 'exact':
      return (name) => norm(name) === v;
    case 'prefix':
      return (name) => norm(name).startsWith(v);
    case 'suffix':
      return (name) => norm(name).endsWith(v);
    case 'contains':
      return (name) => norm(name).includes(v);
  }
}

/**
 * Envoy's StatsMatcherImpl: decides at creation whether a stat is real (true) or a null stat.
 * inclusion_list: only matching names; exclusion_list: all but matching names; reject_all: none.
 */
export function compileStatsMatcher(spec: StatsMatcherSpec): NamePredicate {
  switch (spec.kind) {
    case 'all':
      return () => true;
    case 'reject_all':
      return () => false;
    case 'inclusion': {
      const ps = spec.patterns.map(compileStringMatcher);
      return (name) => ps.some((p) => p(name));
    }
    case 'exclusion': {
      const ps = spec.patterns.map(compileStringMatcher);
      return (name) => !ps.some((p) => p(name));
    }
  }
}
