// The configuration the stats subsystem consumes: which stats exist (stats matcher), how names
// become Prometheus labels (tag specifiers) and histogram buckets. It is the structural shape of
// config/model/stats.ts `StatsConfig` (stats/ may import only common/, so the shape is repeated
// here; the model is assignable to it and a test checks that). Used on the control side (tag
// extraction when rendering) and on every worker (matcher and buckets when stats are created).

/** Envoy StringMatcher, reduced to what stats_matcher and histogram_bucket_settings use. */
export interface StatsStringMatcherSpec {
  readonly kind: 'exact' | 'prefix' | 'suffix' | 'contains' | 'safe_regex';
  /** The literal, or an RE2 pattern for safe_regex (full match, as Envoy's RegexMatcher). */
  readonly value: string;
  readonly ignoreCase: boolean;
}

/** envoy.config.metrics.v3.StatsMatcher: `all` when unset (every stat is real). */
export interface StatsMatcherSpec {
  readonly kind: 'all' | 'reject_all' | 'inclusion' | 'exclusion';
  readonly patterns: readonly StatsStringMatcherSpec[];
}

/** envoy.config.metrics.v3.TagSpecifier. */
export interface TagSpecifierSpec {
  readonly tagName: string;
  /**
   * The regex in ECMAScript syntax (translate/ turns Envoy's std::regex ECMAScript dialect,
   * e.g. POSIX `[[:digit:]]` classes, into V8 syntax and checks it). Undefined together with
   * fixedValue undefined means "Envoy's default extractors named tagName".
   */
  readonly ecmaRegex: string | undefined;
  readonly fixedValue: string | undefined;
}

/** envoy.config.metrics.v3.HistogramBucketSettings: the first matching rule wins. */
export interface HistogramBucketRuleSpec {
  readonly match: StatsStringMatcherSpec;
  /** Sorted ascending, unique, all > 0. */
  readonly buckets: readonly number[];
}

export interface StatsOptionsSpec {
  readonly statsTags: readonly TagSpecifierSpec[];
  readonly useAllDefaultTags: boolean;
  readonly statsMatcher: StatsMatcherSpec;
  readonly histogramBucketSettings: readonly HistogramBucketRuleSpec[];
}

/** What Envoy does with no stats_config at all: every stat, all default tags, default buckets. */
export const DEFAULT_STATS_OPTIONS: StatsOptionsSpec = Object.freeze({
  statsTags: Object.freeze([]) as readonly TagSpecifierSpec[],
  useAllDefaultTags: true,
  statsMatcher: Object.freeze({ kind: 'all', patterns: Object.freeze([]) as readonly StatsStringMatcherSpec[] }) as StatsMatcherSpec,
  histogramBucketSettings: Object.freeze([]) as readonly HistogramBucketRuleSpec[],
});

/** Envoy's default histogram buckets (docs/root/operations/admin.rst, histogram_buckets). */
export const DEFAULT_HISTOGRAM_BUCKETS: readonly number[] = Object.freeze([
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
]);
