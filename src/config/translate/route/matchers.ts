// Translation of the shared matcher protos used by route tables (StringMatcher, RegexMatcher,
// RegexMatchAndSubstitute, HeaderMatcher, QueryParameterMatcher, FractionalPercent) into the
// config model (config/model/matchers.ts). Control side only. Every regex is compiled with re2js
// here so the worker can compile it again without failing: Envoy uses RE2, and a V8 RegExp would
// accept patterns (lookaround, backreferences) that RE2 rejects and could backtrack without bound.
import { RE2JS } from 're2js';
import type { ErrorSink } from '../../../common/result';
import type {
  FractionalPercentConfig,
  FractionalPercentDenominator,
  HeaderMatcherConfig,
  HeaderMatchSpecifierConfig,
  QueryParameterMatcherConfig,
  RegexMatchAndSubstituteConfig,
  RuntimeFractionConfig,
  StringMatcherConfig,
} from '../../model/matchers';
import { num, oneofCase, type Msg } from '../proto-util';

/** Compiles `pattern` with RE2 semantics; records an error at `path` and returns false when it does not compile. */
export function checkRegex(pattern: string, errors: ErrorSink, path: string): boolean {
  try {
    RE2JS.compile(pattern);
    return true;
  } catch (err) {
    errors.add(path, `invalid regex '${pattern}': ${(err as Error).message}`);
    return false;
  }
}

/** envoy.type.matcher.v3.RegexMatcher -> pattern string (validated), or undefined on error. */
export function translateRegexMatcher(msg: Msg | null | undefined, errors: ErrorSink, path: string): string | undefined {
  if (!msg) {
    errors.add(path, 'regex matcher is required');
    return undefined;
  }
  const regex: string = msg.regex ?? '';
  if (regex === '') {
    // PGV: regex min_len 1.
    errors.add(`${path}.regex`, 'value length must be at least 1 characters');
    return undefined;
  }
  return checkRegex(regex, errors, `${path}.regex`) ? regex : undefined;
}

/**
 * envoy.type.matcher.v3.RegexMatchAndSubstitute. The substitution may reference capture groups
 * as `\N`; a reference to a group the pattern does not have is rejected, as RE2::Rewrite would
 * fail on every request.
 */
export function translateRegexMatchAndSubstitute(
  msg: Msg | null | undefined,
  errors: ErrorSink,
  path: string,
): RegexMatchAndSubstituteConfig | undefined {
  if (!msg) return undefined;
  const pattern = translateRegexMatcher(msg.pattern, errors, `${path}.pattern`);
  if (pattern === undefined) return undefined;
  const substitution: string = msg.substitution ?? '';
  const groups = RE2JS.compile(pattern).groupCount();
  for (let i = 0; i < substitution.length; i++) {
    if (substitution[i] !== '\\') continue;
    const next = substitution[i + 1];
    if (next === undefined) {
      errors.add(`${path}.substitution`, 'trailing backslash in substitution');
      return undefined;
    }
    if (next >= '0' && next <= '9') {
      if (Number(next) > groups) {
        errors.add(`${path}.substitution`, `substitution references group \\${next} but the pattern has ${groups} capture group(s)`);
        return undefined;
      }
    } else if (next !== '\\') {
      errors.add(`${path}.substitution`, `invalid escape '\\${next}' in substitution (use \\\\ for a backslash)`);
      return undefined;
    }
    i++;
  }
  return { pattern, substitution };
}

/** envoy.type.matcher.v3.StringMatcher. */
export function translateStringMatcher(msg: Msg | null | undefined, errors: ErrorSink, path: string): StringMatcherConfig | undefined {
  if (!msg) {
    errors.add(path, 'string matcher is required');
    return undefined;
  }
  const ignoreCase = msg.ignoreCase === true;
  const which = oneofCase(msg, 'match_pattern');
  switch (which) {
    case 'exact':
      return { kind: 'exact', value: msg.exact, ignoreCase };
    case 'prefix':
    case 'suffix':
    case 'contains': {
      const value: string = msg[which];
      // PGV: prefix/suffix/contains min_len 1.
      if (value === '') {
        errors.add(`${path}.${which}`, 'value length must be at least 1 characters');
        return undefined;
      }
      return { kind: which, value, ignoreCase };
    }
    case 'safeRegex': {
      const regex = translateRegexMatcher(msg.safeRegex, errors, `${path}.safe_regex`);
      return regex === undefined ? undefined : { kind: 'safe_regex', regex };
    }
    case 'custom':
      errors.add(`${path}.custom`, 'custom string matcher extensions are not supported');
      return undefined;
    default:
      errors.add(path, 'match_pattern is required');
      return undefined;
  }
}

/** envoy.config.route.v3.HeaderMatcher. */
export function translateHeaderMatcher(msg: Msg, errors: ErrorSink, path: string): HeaderMatcherConfig | undefined {
  const rawName: string = msg.name ?? '';
  if (rawName === '') {
    errors.add(`${path}.name`, 'value length must be at least 1 characters');
    return undefined;
  }
  if (/[\0\r\n]/.test(rawName)) {
    errors.add(`${path}.name`, 'header name must not contain NUL, CR or LF');
    return undefined;
  }
  const name = rawName.toLowerCase();
  let match: HeaderMatchSpecifierConfig | undefined;
  const which = oneofCase(msg, 'header_match_specifier');
  switch (which) {
    case 'exactMatch':
      match = { kind: 'exact', value: msg.exactMatch };
      break;
    case 'safeRegexMatch': {
      const regex = translateRegexMatcher(msg.safeRegexMatch, errors, `${path}.safe_regex_match`);
      if (regex !== undefined) match = { kind: 'safe_regex', regex };
      break;
    }
    case 'rangeMatch': {
      const start = num(msg.rangeMatch.start);
      const end = num(msg.rangeMatch.end);
      if (start >= end) errors.add(`${path}.range_match`, `range start ${start} must be less than end ${end}`);
      else match = { kind: 'range', start, end };
      break;
    }
    case 'presentMatch':
      match = { kind: 'present', present: msg.presentMatch === true };
      break;
    case 'prefixMatch':
    case 'suffixMatch':
    case 'containsMatch': {
      const value: string = msg[which];
      if (value === '') {
        errors.add(`${path}.${which.replace('Match', '_match')}`, 'value length must be at least 1 characters');
        break;
      }
      match = { kind: which === 'prefixMatch' ? 'prefix' : which === 'suffixMatch' ? 'suffix' : 'contains', value };
      break;
    }
    case 'stringMatch': {
      const matcher = translateStringMatcher(msg.stringMatch, errors, `${path}.string_match`);
      if (matcher) match = { kind: 'string_match', matcher };
      break;
    }
    default:
      // No specifier: Envoy treats the matcher as a presence check.
      match = { kind: 'present', present: true };
  }
  if (!match) return undefined;
  return { name, match, invertMatch: msg.invertMatch === true, treatMissingHeaderAsEmpty: msg.treatMissingHeaderAsEmpty === true };
}

/** envoy.config.route.v3.QueryParameterMatcher. */
export function translateQueryParameterMatcher(msg: Msg, errors: ErrorSink, path: string): QueryParameterMatcherConfig | undefined {
  const name: string = msg.name ?? '';
  if (name === '' || name.length > 1024) {
    errors.add(`${path}.name`, 'value length must be between 1 and 1024 bytes');
    return undefined;
  }
  const which = oneofCase(msg, 'query_parameter_match_specifier');
  if (which === 'stringMatch') {
    const matcher = translateStringMatcher(msg.stringMatch, errors, `${path}.string_match`);
    return matcher ? { name, match: { kind: 'string_match', matcher } } : undefined;
  }
  if (which === 'presentMatch') return { name, match: { kind: 'present', present: msg.presentMatch === true } };
  // Neither set: Envoy treats it as "the key must be present".
  return { name, match: { kind: 'present', present: true } };
}

const DENOMINATORS: Record<string, FractionalPercentDenominator> = {
  HUNDRED: 100,
  TEN_THOUSAND: 10000,
  MILLION: 1000000,
  '0': 100,
  '1': 10000,
  '2': 1000000,
};

/** envoy.type.v3.FractionalPercent. Envoy clamps numerators above the denominator when evaluating; so do we. */
export function translateFractionalPercent(msg: Msg | null | undefined, errors: ErrorSink, path: string): FractionalPercentConfig | undefined {
  if (!msg) return undefined;
  const denominator = DENOMINATORS[String(msg.denominator ?? 0)];
  if (denominator === undefined) {
    errors.add(`${path}.denominator`, `unknown denominator ${String(msg.denominator)}`);
    return undefined;
  }
  return { numerator: Math.min(num(msg.numerator), denominator), denominator };
}

/** envoy.config.core.v3.RuntimeFractionalPercent (default_value is required). */
export function translateRuntimeFraction(msg: Msg | null | undefined, errors: ErrorSink, path: string): RuntimeFractionConfig | undefined {
  if (!msg) return undefined;
  if (!msg.defaultValue) {
    errors.add(`${path}.default_value`, 'value is required');
    return undefined;
  }
  const defaultValue = translateFractionalPercent(msg.defaultValue, errors, `${path}.default_value`);
  return defaultValue ? { defaultValue, runtimeKey: msg.runtimeKey ?? '' } : undefined;
}
