// Compiled forms of the shared matchers (StringMatcher, HeaderMatcher, QueryParameterMatcher,
// runtime fractions) used by the route table. Built once at materialize time on the worker;
// each match() call only compares strings. Regexes are RE2 (re2js) and always full-match, as
// Envoy's RegexMatcher is.
import { RE2JS } from 're2js';
import type {
  FractionalPercentConfig,
  HeaderMatcherConfig,
  QueryParameterMatcherConfig,
  StringMatcherConfig,
} from '../../../config/model/matchers';
import type { RouteRequest } from './route-request';

const EXACT = 0;
const PREFIX = 1;
const SUFFIX = 2;
const CONTAINS = 3;
const REGEX = 4;

/** A compiled envoy.type.matcher.v3.StringMatcher. */
export class StringMatcher {
  private readonly kind: number;
  private readonly value: string;
  private readonly ignoreCase: boolean;
  private readonly regex: RE2JS | null;

  constructor(config: StringMatcherConfig) {
    this.regex = null;
    this.value = '';
    this.ignoreCase = false;
    switch (config.kind) {
      case 'safe_regex':
        this.kind = REGEX;
        this.regex = RE2JS.compile(config.regex);
        return;
      case 'exact':
        this.kind = EXACT;
        break;
      case 'prefix':
        this.kind = PREFIX;
        break;
      case 'suffix':
        this.kind = SUFFIX;
        break;
      case 'contains':
        this.kind = CONTAINS;
        break;
    }
    this.ignoreCase = config.ignoreCase;
    this.value = config.ignoreCase ? config.value.toLowerCase() : config.value;
  }

  match(input: string): boolean {
    if (this.kind === REGEX) return this.regex!.testExact(input);
    const v = this.ignoreCase ? input.toLowerCase() : input;
    switch (this.kind) {
      case EXACT:
        return v === this.value;
      case PREFIX:
        return v.startsWith(this.value);
      case SUFFIX:
        return v.endsWith(this.value);
      default:
        return v.includes(this.value);
    }
  }
}

// Which request field a header matcher reads: pseudo-headers come from RouteRequest fields.
const SRC_HEADER = 0;
const SRC_METHOD = 1;
const SRC_AUTHORITY = 2;
const SRC_PATH = 3;
const SRC_SCHEME = 4;

const H_EXACT = 0;
const H_REGEX = 1;
const H_RANGE = 2;
const H_PRESENT = 3;
const H_PREFIX = 4;
const H_SUFFIX = 5;
const H_CONTAINS = 6;
const H_STRING = 7;

// absl::SimpleAtoi accepts surrounding ASCII whitespace and a sign.
const INTEGER = /^\s*[+-]?\d+\s*$/;

/** Reads the value a header matcher looks at; undefined when absent. */
function sourceValue(req: RouteRequest, source: number, name: string): string | undefined {
  switch (source) {
    case SRC_METHOD:
      return req.method;
    case SRC_AUTHORITY:
      return req.authority === '' ? undefined : req.authority;
    case SRC_PATH:
      return req.path === '' ? undefined : req.path;
    case SRC_SCHEME:
      return req.scheme;
    default:
      return req.header(name);
  }
}

/**
 * A compiled envoy.config.route.v3.HeaderMatcher, following Envoy's HeaderUtility::matchHeaders:
 * a missing header (unless treat_missing_header_as_empty) matches only `present_match: false`,
 * or `present_match: true` with invert_match; otherwise the comparison result is XORed with
 * invert_match.
 */
export class HeaderMatcher {
  readonly name: string;
  private readonly source: number;
  private readonly kind: number;
  private readonly value: string;
  private readonly present: boolean;
  private readonly start: number;
  private readonly end: number;
  private readonly regex: RE2JS | null;
  private readonly stringMatcher: StringMatcher | null;
  private readonly invert: boolean;
  private readonly missingAsEmpty: boolean;

  constructor(config: HeaderMatcherConfig) {
    this.name = config.name;
    this.source =
      config.name === ':method' ? SRC_METHOD : config.name === ':authority' ? SRC_AUTHORITY : config.name === ':path' ? SRC_PATH : config.name === ':scheme' ? SRC_SCHEME : SRC_HEADER;
    this.invert = config.invertMatch;
    this.missingAsEmpty = config.treatMissingHeaderAsEmpty;
    this.value = '';
    this.present = false;
    this.start = 0;
    this.end = 0;
    this.regex = null;
    this.stringMatcher = null;
    const m = config.match;
    switch (m.kind) {
      case 'exact':
        this.kind = H_EXACT;
        this.value = m.value;
        break;
      case 'safe_regex':
        this.kind = H_REGEX;
        this.regex = RE2JS.compile(m.regex);
        break;
      case 'range':
        this.kind = H_RANGE;
        this.start = m.start;
        this.end = m.end;
        break;
      case 'present':
        this.kind = H_PRESENT;
        this.present = m.present;
        break;
      case 'prefix':
        this.kind = H_PREFIX;
        this.value = m.value;
        break;
      case 'suffix':
        this.kind = H_SUFFIX;
        this.value = m.value;
        break;
      case 'contains':
        this.kind = H_CONTAINS;
        this.value = m.value;
        break;
      case 'string_match':
        this.kind = H_STRING;
        this.stringMatcher = new StringMatcher(m.matcher);
        break;
    }
  }

  match(req: RouteRequest): boolean {
    let v = sourceValue(req, this.source, this.name);
    if (v === undefined) {
      if (!this.missingAsEmpty) {
        if (this.kind !== H_PRESENT) return false;
        return this.invert ? this.present : !this.present;
      }
      v = '';
    }
    let r: boolean;
    switch (this.kind) {
      case H_EXACT:
        r = this.value === '' || v === this.value;
        break;
      case H_REGEX:
        r = this.regex!.testExact(v);
        break;
      case H_RANGE: {
        if (!INTEGER.test(v)) {
          r = false;
          break;
        }
        const n = Number(v);
        r = n >= this.start && n < this.end;
        break;
      }
      case H_PRESENT:
        r = this.present;
        break;
      case H_PREFIX:
        r = v.startsWith(this.value);
        break;
      case H_SUFFIX:
        r = v.endsWith(this.value);
        break;
      case H_CONTAINS:
        r = v.includes(this.value);
        break;
      default:
        r = this.stringMatcher!.match(v);
    }
    return r !== this.invert;
  }
}

/**
 * First value of query key `name` in `path`, raw (not percent-decoded), '' for a bare key, or
 * undefined. Scans in place instead of building a map: Envoy's parseQueryString keeps the
 * first value and does not decode.
 */
export function firstQueryValue(path: string, name: string): string | undefined {
  const q = path.indexOf('?');
  if (q < 0) return undefined;
  let end = path.indexOf('#', q);
  if (end < 0) end = path.length;
  let i = q + 1;
  while (i <= end) {
    let amp = path.indexOf('&', i);
    if (amp < 0 || amp > end) amp = end;
    const eq = path.indexOf('=', i);
    const keyEnd = eq >= 0 && eq < amp ? eq : amp;
    if (keyEnd - i === name.length && path.startsWith(name, i)) return keyEnd === amp ? '' : path.slice(keyEnd + 1, amp);
    i = amp + 1;
  }
  return undefined;
}

/** A compiled envoy.config.route.v3.QueryParameterMatcher (Envoy's current present_match semantics). */
export class QueryParameterMatcher {
  private readonly name: string;
  private readonly present: boolean | null;
  private readonly matcher: StringMatcher | null;

  constructor(config: QueryParameterMatcherConfig) {
    this.name = config.name;
    this.present = config.match.kind === 'present' ? config.match.present : null;
    this.matcher = config.match.kind === 'string_match' ? new StringMatcher(config.match.matcher) : null;
  }

  match(path: string): boolean {
    const v = firstQueryValue(path, this.name);
    if (this.present !== null) return (v !== undefined) === this.present;
    return v !== undefined && this.matcher!.match(v);
  }
}

/** Envoy's evaluateFractionalPercent: `random % denominator < numerator`. */
export function fractionMatches(f: FractionalPercentConfig, random: number): boolean {
  return random % f.denominator < f.numerator;
}
