// Config model for the generic matchers that route tables (and later RBAC, retry policies,
// access-log filters...) share: envoy.type.matcher.v3.StringMatcher, RegexMatcher,
// RegexMatchAndSubstitute, envoy.config.route.v3.HeaderMatcher / QueryParameterMatcher and
// envoy.type.v3.FractionalPercent. Produced by config/translate (control side), compiled into
// matcher objects by the engine at materialize time (worker side). Plain readonly data only.

/**
 * A validated RE2 regular expression (envoy.type.matcher.v3.RegexMatcher). The pattern was
 * compiled with re2js at translate time, so the engine may compile it again without errors.
 * Envoy matches RegexMatcher against the whole input (full match), never a substring.
 */
export interface RegexMatcherConfig {
  readonly regex: string;
}

/**
 * envoy.type.matcher.v3.StringMatcher. `ignoreCase` applies to exact/prefix/suffix/contains only;
 * Envoy documents that it has no effect on `safe_regex`. An `exact` of "" matches only "".
 */
export type StringMatcherConfig =
  | { readonly kind: 'exact'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'prefix'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'suffix'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'contains'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'safe_regex'; readonly regex: string };

/**
 * envoy.type.matcher.v3.RegexMatchAndSubstitute: every match of `pattern` in the input is
 * replaced by `substitution`, where `\N` refers to capture group N (RE2::GlobalReplace syntax).
 */
export interface RegexMatchAndSubstituteConfig {
  readonly pattern: string;
  readonly substitution: string;
}

/**
 * How a HeaderMatcher compares the header value. `exact` with an empty value is Envoy's legacy
 * "exact_match: ''", which matches any present value. `range` is [start, end) over the value
 * parsed as a signed integer.
 */
export type HeaderMatchSpecifierConfig =
  | { readonly kind: 'exact'; readonly value: string }
  | { readonly kind: 'safe_regex'; readonly regex: string }
  | { readonly kind: 'range'; readonly start: number; readonly end: number }
  | { readonly kind: 'present'; readonly present: boolean }
  | { readonly kind: 'prefix'; readonly value: string }
  | { readonly kind: 'suffix'; readonly value: string }
  | { readonly kind: 'contains'; readonly value: string }
  | { readonly kind: 'string_match'; readonly matcher: StringMatcherConfig };

/**
 * envoy.config.route.v3.HeaderMatcher. `name` is lower-cased at translate time (HTTP header names
 * are case-insensitive); pseudo-headers such as `:authority` and `:method` are allowed. When the
 * proto sets no specifier, Envoy treats the matcher as `present_match: true`.
 */
export interface HeaderMatcherConfig {
  readonly name: string;
  readonly match: HeaderMatchSpecifierConfig;
  readonly invertMatch: boolean;
  /** Match a missing header as if it were present with value "" (Envoy treat_missing_header_as_empty). */
  readonly treatMissingHeaderAsEmpty: boolean;
}

/**
 * envoy.config.route.v3.QueryParameterMatcher. Only the first value of a repeated key is
 * considered (Envoy's legacy behaviour). `present` with `present: false` matches when the key is
 * absent; a `string_match` requires the key to be present and its raw (not decoded) value to match.
 */
export interface QueryParameterMatcherConfig {
  readonly name: string;
  readonly match:
    | { readonly kind: 'present'; readonly present: boolean }
    | { readonly kind: 'string_match'; readonly matcher: StringMatcherConfig };
}

/** Denominator of an envoy.type.v3.FractionalPercent, kept as the numeric value (100, 10 000, 1 000 000). */
export type FractionalPercentDenominator = 100 | 10000 | 1000000;

/**
 * envoy.type.v3.FractionalPercent. Envoy evaluates it as `random % denominator < numerator`
 * (source/common/protobuf/utility.h evaluateFractionalPercent).
 */
export interface FractionalPercentConfig {
  readonly numerator: number;
  readonly denominator: FractionalPercentDenominator;
}

/**
 * envoy.config.core.v3.RuntimeFractionalPercent. We have no runtime layer overrides yet, so
 * `defaultValue` is what is evaluated; `runtimeKey` is kept for config_dump and future use.
 */
export interface RuntimeFractionConfig {
  readonly defaultValue: FractionalPercentConfig;
  readonly runtimeKey: string;
}
