// Translates the bootstrap `stats_config` (envoy.config.metrics.v3.StatsConfig, a decoded
// protobufjs message) into the StatsConfig model, checking everything the stats subsystem relies
// on: tag regexes compile (Envoy compiles custom stats_tags with std::regex in ECMAScript mode;
// we rewrite its POSIX bracket classes such as `[[:digit:]]`, which V8 lacks, and compile the
// result), tag names without a regex name one of Envoy's default tags, stats_matcher and
// histogram_bucket_settings string matchers are valid (safe_regex checked with re2js), buckets are
// non-empty, unique and > 0. Errors carry field paths relative to stats_config.
import { RE2JS } from 're2js';
import { ErrorSink, type Result } from '../../common/result';
import {
  DEFAULT_STATS_CONFIG,
  ENVOY_DEFAULT_TAG_NAMES,
  type HistogramBucketConfig,
  type StatsConfig,
  type StatsMatcherConfig,
  type StatsStringMatcherConfig,
  type TagSpecifierConfig,
} from '../model/stats';
import { wrapped, type Msg } from './proto-util';

/**
 * Which member of a oneof is set. Works for messages decoded from binary (set members are own
 * properties) and for protojson.fromJson output, which is plain objects without `$type`.
 */
function oneofMember(msg: Msg, members: readonly string[]): string | undefined {
  for (const f of members) if (Object.prototype.hasOwnProperty.call(msg, f) && msg[f] !== null && msg[f] !== undefined) return f;
  return undefined;
}

const STRING_MATCH_PATTERN = ['exact', 'prefix', 'suffix', 'safeRegex', 'contains', 'custom'] as const;
const STATS_MATCHER = ['rejectAll', 'inclusionList', 'exclusionList'] as const;
const TAG_VALUE = ['regex', 'fixedValue'] as const;

const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alnum: 'a-zA-Z0-9',
  alpha: 'a-zA-Z',
  blank: ' \\t',
  cntrl: '\\x00-\\x1f\\x7f',
  digit: '0-9',
  d: '0-9',
  graph: '\\x21-\\x7e',
  lower: 'a-z',
  print: '\\x20-\\x7e',
  punct: '!-\\/:-@\\[-`{-~',
  space: ' \\t\\n\\r\\f\\v',
  s: ' \\t\\n\\r\\f\\v',
  upper: 'A-Z',
  xdigit: '0-9A-Fa-f',
  w: '\\w',
};

/**
 * Rewrites a std::regex (ECMAScript grammar) pattern into V8 syntax: POSIX classes inside
 * brackets (`[_.[:digit:]]` -> `[_.0-9]`) are expanded; everything else is the same language.
 * Throws on collating elements and equivalence classes (`[.x.]`, `[=x=]`), which V8 cannot express.
 */
export function stdRegexToEcma(src: string): string {
  let out = '';
  let inClass = false;
  let classStart = -1;
  for (let i = 0; i < src.length; i++) {
    const ch = src[i]!;
    if (ch === '\\') {
      out += src.slice(i, i + 2);
      i++;
      continue;
    }
    if (!inClass) {
      if (ch === '[') {
        inClass = true;
        classStart = out.length + 1;
        if (src[i + 1] === '^') {
          out += '[^';
          i++;
          classStart++;
          continue;
        }
      }
      out += ch;
      continue;
    }
    // Inside a bracket expression.
    if (ch === '[' && (src[i + 1] === ':' || src[i + 1] === '.' || src[i + 1] === '=')) {
      const kind = src[i + 1]!;
      const close = src.indexOf(`${kind}]`, i + 2);
      if (close < 0) throw new Error(`unterminated [${kind} in bracket expression`);
      const name = src.slice(i + 2, close);
      if (kind !== ':') throw new Error(`[${kind}${name}${kind}] is not supported`);
      const expansion = POSIX_CLASSES[name];
      if (expansion === undefined) throw new Error(`unknown character class [:${name}:]`);
      out += expansion;
      i = close + 1;
      continue;
    }
    if (ch === ']' && out.length > classStart) inClass = false;
    out += ch;
  }
  return out;
}

function translateStringMatcher(m: Msg | null | undefined, errors: ErrorSink): StatsStringMatcherConfig | undefined {
  if (!m) {
    errors.add('', 'string matcher is required');
    return undefined;
  }
  const ignoreCase = Boolean(m.ignoreCase);
  const which = oneofMember(m, STRING_MATCH_PATTERN);
  switch (which) {
    case 'exact':
      return { kind: 'exact', value: String(m.exact), ignoreCase };
    case 'prefix':
    case 'suffix':
    case 'contains': {
      const kind = which;
      const value = String(m[kind]);
      if (value === '') {
        errors.add(kind, 'value length must be at least 1 characters');
        return undefined;
      }
      return { kind, value, ignoreCase };
    }
    case 'safeRegex': {
      const regex: string = m.safeRegex?.regex ?? '';
      if (regex === '') {
        errors.add('safe_regex.regex', 'value length must be at least 1 characters');
        return undefined;
      }
      try {
        RE2JS.compile(regex);
      } catch (err) {
        errors.add('safe_regex.regex', `invalid regex: ${(err as Error).message}`);
        return undefined;
      }
      return { kind: 'safe_regex', value: regex, ignoreCase };
    }
    case 'custom':
      errors.add('custom', 'custom string matchers are not supported in stats_config');
      return undefined;
    default:
      errors.add('', 'match_pattern is required');
      return undefined;
  }
}

function translateMatcher(m: Msg | null | undefined, errors: ErrorSink): StatsMatcherConfig {
  if (!m) return DEFAULT_STATS_CONFIG.statsMatcher;
  const which = oneofMember(m, STATS_MATCHER);
  if (which === 'rejectAll') return { kind: m.rejectAll ? 'reject_all' : 'all', patterns: [] };
  if (which === 'inclusionList' || which === 'exclusionList') {
    const field = which === 'inclusionList' ? 'inclusion_list' : 'exclusion_list';
    const patterns: StatsStringMatcherConfig[] = [];
    ((m[which]?.patterns ?? []) as Msg[]).forEach((p, i) => {
      const sm = translateStringMatcher(p, errors.at(`${field}.patterns[${i}]`));
      if (sm) patterns.push(sm);
    });
    return { kind: which === 'inclusionList' ? 'inclusion' : 'exclusion', patterns };
  }
  errors.add('', 'one of reject_all, inclusion_list, exclusion_list is required');
  return DEFAULT_STATS_CONFIG.statsMatcher;
}

function translateTag(t: Msg, errors: ErrorSink): TagSpecifierConfig | undefined {
  const tagName: string = t.tagName ?? '';
  if (tagName === '') {
    errors.add('tag_name', 'tag_name cannot be empty');
    return undefined;
  }
  const which = oneofMember(t, TAG_VALUE);
  if (which === 'fixedValue') return { tagName, regex: undefined, ecmaRegex: undefined, fixedValue: String(t.fixedValue) };
  const regex: string = which === 'regex' ? String(t.regex ?? '') : '';
  if (regex === '') {
    if (!ENVOY_DEFAULT_TAG_NAMES.includes(tagName)) {
      errors.add('tag_name', `No regex specified for tag specifier and no default regex for name: '${tagName}'`);
      return undefined;
    }
    return { tagName, regex: undefined, ecmaRegex: undefined, fixedValue: undefined };
  }
  if (regex.length > 1024) {
    errors.add('regex', 'value length must be at most 1024 characters');
    return undefined;
  }
  let ecma: string;
  try {
    ecma = stdRegexToEcma(regex);
    new RegExp(ecma, 'd');
  } catch (err) {
    errors.add('regex', `invalid regex: ${(err as Error).message}`);
    return undefined;
  }
  return { tagName, regex, ecmaRegex: ecma, fixedValue: undefined };
}

function translateBuckets(b: Msg, errors: ErrorSink): HistogramBucketConfig | undefined {
  const match = translateStringMatcher(b.match, errors.at('match'));
  const raw = ((b.buckets ?? []) as unknown[]).map(Number);
  let ok = match !== undefined;
  if (raw.length === 0) {
    errors.add('buckets', 'value must contain at least 1 item(s)');
    ok = false;
  }
  raw.forEach((v, i) => {
    if (!(v > 0)) {
      errors.add(`buckets[${i}]`, 'value must be greater than 0');
      ok = false;
    }
  });
  if (new Set(raw).size !== raw.length) {
    errors.add('buckets', 'repeated value must contain unique items');
    ok = false;
  }
  if (!ok) return undefined;
  return { match: match!, buckets: Object.freeze(raw.slice().sort((x, y) => x - y)) };
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}

/**
 * StatsConfig proto -> model. An unset stats_config (null/undefined) gives Envoy's defaults.
 * Error paths are relative to stats_config (the bootstrap translator prefixes them).
 */
export function translateStatsConfig(msg: Msg | null | undefined): Result<StatsConfig> {
  const errors = ErrorSink.create();
  if (!msg) return errors.result(DEFAULT_STATS_CONFIG);
  const statsTags: TagSpecifierConfig[] = [];
  ((msg.statsTags ?? []) as Msg[]).forEach((t, i) => {
    const tag = translateTag(t, errors.at(`stats_tags[${i}]`));
    if (tag) statsTags.push(tag);
  });
  // BoolValue: present means set, even when protojson leaves `value` out for false.
  const useAll = msg.useAllDefaultTags ? Boolean(wrapped<boolean>(msg.useAllDefaultTags)) : undefined;
  const statsMatcher = translateMatcher(msg.statsMatcher, errors.at('stats_matcher'));
  const histogramBucketSettings: HistogramBucketConfig[] = [];
  ((msg.histogramBucketSettings ?? []) as Msg[]).forEach((b, i) => {
    const hb = translateBuckets(b, errors.at(`histogram_bucket_settings[${i}]`));
    if (hb) histogramBucketSettings.push(hb);
  });
  return errors.result(
    deepFreeze({
      statsTags,
      useAllDefaultTags: useAll ?? true,
      statsMatcher,
      histogramBucketSettings,
    }),
  );
}
