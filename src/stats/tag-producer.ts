// Tag extraction (Envoy Stats::TagProducerImpl): turns a full stat name such as
// `cluster.outbound|80||a.ns.svc.cluster.local;.upstream_rq_200` into a tag-extracted name
// (`cluster.upstream_rq`) plus tags (`cluster_name`, `response_code`), which /stats/prometheus
// prints as the metric name and labels. Runs on the control side when rendering, with a cache
// per full name, never on the request path.
//
// Envoy's rules, reproduced here:
// - every extractor looks at the original full name; the characters each one removes are
//   unioned and cut out at the end;
// - custom `stats_tags` regexes are std::regex (ECMAScript) searches: group 1 is removed, group 2
//   (when the regex has one) is the value; translate/ has already rewritten them to V8 syntax;
// - `fixed_value` tags are added to every stat;
// - extractors whose regex or token pattern starts with a literal first token (`^http\.`,
//   `cluster.$.**`) only run for names with that first token; the others run for every name, and
//   run first (Envoy's prefix map), which is what decides label order;
// - when several extractors share a tag name, only the first that matches adds a tag.
import { DEFAULT_TAG_DESCRIPTORS, type DefaultTagDescriptor } from './default-tags';
import type { StatTag } from './snapshot';
import type { StatsOptionsSpec, TagSpecifierSpec } from './stats-options';

export interface ExtractedName {
  readonly extractedName: string;
  readonly tags: readonly StatTag[];
}

type Interval = [number, number];

interface Extractor {
  readonly name: string;
  /** First dot-token a name must have for this extractor to run, or '' for every name. */
  readonly prefixToken: string;
  sharedName: boolean;
  /** Pushes a tag and the interval to remove, returns true on a match. */
  extract(name: string, tokens: () => readonly string[], tags: StatTag[], remove: Interval[]): boolean;
}

/** Envoy's extractRegexPrefix: `^word\.` or `^word(?=\.)` gives "word". */
function regexPrefixToken(regex: string): string {
  const m = /^\^([A-Za-z0-9_]+)(?:\\\.|\(\?=\\\.\))/.exec(regex);
  return m ? m[1]! : '';
}

class StdRegexExtractor implements Extractor {
  sharedName = false;
  readonly prefixToken: string;
  private readonly re: RegExp;
  private readonly groupCount: number;

  constructor(
    readonly name: string,
    source: string,
  ) {
    this.re = new RegExp(source, 'd');
    this.groupCount = new RegExp(`${source}|`).exec('')!.length - 1;
    this.prefixToken = regexPrefixToken(source);
  }

  extract(name: string, _tokens: () => readonly string[], tags: StatTag[], remove: Interval[]): boolean {
    if (this.groupCount < 1) return false;
    const m = this.re.exec(name);
    if (!m) return false;
    const value = this.groupCount >= 2 ? (m[2] ?? '') : (m[1] ?? '');
    tags.push({ name: this.name, value });
    const at = m.indices?.[1];
    if (at) remove.push([at[0], at[1]]);
    return true;
  }
}

class Re2StyleExtractor implements Extractor {
  sharedName = false;
  readonly prefixToken: string;
  private readonly re: RegExp;

  constructor(
    readonly name: string,
    source: string,
    private readonly substr: string,
    private readonly negativeMatch: string,
  ) {
    this.re = new RegExp(source, 'd');
    this.prefixToken = regexPrefixToken(source);
  }

  extract(name: string, _tokens: () => readonly string[], tags: StatTag[], remove: Interval[]): boolean {
    if (this.substr && !name.includes(this.substr)) return false;
    const m = this.re.exec(name);
    if (!m || !m[1]) return false;
    const value = m[2] ? m[2] : m[1];
    if (this.negativeMatch && value === this.negativeMatch) return false;
    tags.push({ name: this.name, value });
    const at = m.indices![1]!;
    remove.push([at[0], at[1]]);
    return true;
  }
}

class TokensExtractor implements Extractor {
  sharedName = false;
  readonly prefixToken: string;
  private readonly pattern: readonly string[];
  private readonly matchIndex: number;

  constructor(
    readonly name: string,
    pattern: string,
  ) {
    this.pattern = pattern.split('.');
    this.matchIndex = this.pattern.indexOf('$');
    const first = this.pattern[0]!;
    this.prefixToken = first === '$' || first === '*' || first === '**' ? '' : first;
  }

  extract(_name: string, tokens: () => readonly string[], tags: StatTag[], remove: Interval[]): boolean {
    const input = tokens();
    const found = this.search(input, 0, 0, 0);
    if (!found) return false;
    let [start, index] = found;
    const value = input[index]!;
    let end = start + value.length;
    if (index < input.length - 1) end++; // remove the dot after the token
    else if (start > 0) start--; // last token: remove the dot before it
    tags.push({ name: this.name, value });
    remove.push([start, end]);
    return true;
  }

  /** Returns [char offset of the captured token, its token index] or undefined. */
  private search(input: readonly string[], ii: number, pi: number, charAt: number): [number, number] | undefined {
    let start = -1;
    let matchAt = -1;
    for (; ii < input.length && pi < this.pattern.length; ii++, pi++) {
      if (pi === this.matchIndex) {
        start = charAt;
        matchAt = ii;
        charAt += input[ii]!.length + 1;
        continue;
      }
      const want = this.pattern[pi]!;
      if (want === '**') {
        if (pi === this.pattern.length - 1) return matchAt >= 0 ? [start, matchAt] : undefined;
        for (let k = ii; k < input.length; k++) {
          const rest = this.search(input, k, pi + 1, charAt);
          if (rest) return matchAt >= 0 ? [start, matchAt] : rest;
          charAt += input[k]!.length + 1;
        }
        return undefined;
      }
      if (want !== '*' && want !== input[ii]) return undefined;
      charAt += input[ii]!.length + 1;
    }
    if (pi === this.pattern.length && ii === input.length && matchAt >= 0) return [start, matchAt];
    return undefined;
  }
}

class FixedExtractor implements Extractor {
  sharedName = false;
  readonly prefixToken = '';
  constructor(
    readonly name: string,
    private readonly value: string,
  ) {}
  extract(_name: string, _tokens: () => readonly string[], tags: StatTag[]): boolean {
    tags.push({ name: this.name, value: this.value });
    return true;
  }
}

function fromDescriptor(d: DefaultTagDescriptor): Extractor {
  return d.kind === 'regex' ? new Re2StyleExtractor(d.name, d.regex, d.substr, d.negativeMatch) : new TokensExtractor(d.name, d.pattern);
}

/** Cuts the union of `remove` intervals out of `name`. */
function removeIntervals(name: string, remove: Interval[]): string {
  if (remove.length === 0) return name;
  remove.sort((a, b) => a[0] - b[0]);
  let out = '';
  let pos = 0;
  for (const [s, e] of remove) {
    if (s > pos) out += name.slice(pos, s);
    if (e > pos) pos = e;
  }
  return out + name.slice(pos);
}

export class TagProducer {
  private readonly withoutPrefix: Extractor[] = [];
  private readonly byPrefix = new Map<string, Extractor[]>();
  private readonly cache = new Map<string, ExtractedName>();

  /**
   * Throws on a tag specifier that translate/ would have rejected (empty name, unknown default
   * tag name, bad regex): the control side validates stats_config before building this.
   */
  constructor(spec: Pick<StatsOptionsSpec, 'statsTags' | 'useAllDefaultTags'>) {
    const byName = new Map<string, Extractor>();
    const add = (x: Extractor) => {
      const other = byName.get(x.name);
      if (other) {
        other.sharedName = true;
        x.sharedName = true;
      } else byName.set(x.name, x);
      if (!x.prefixToken) this.withoutPrefix.push(x);
      else {
        const list = this.byPrefix.get(x.prefixToken);
        if (list) list.push(x);
        else this.byPrefix.set(x.prefixToken, [x]);
      }
    };
    if (spec.useAllDefaultTags) for (const d of DEFAULT_TAG_DESCRIPTORS) add(fromDescriptor(d));
    for (const t of spec.statsTags) for (const x of TagProducer.extractorsFor(t)) add(x);
  }

  private static extractorsFor(t: TagSpecifierSpec): Extractor[] {
    if (!t.tagName) throw new Error('tag_name cannot be empty');
    if (t.fixedValue !== undefined) return [new FixedExtractor(t.tagName, t.fixedValue)];
    if (t.ecmaRegex) return [new StdRegexExtractor(t.tagName, t.ecmaRegex)];
    const defaults = DEFAULT_TAG_DESCRIPTORS.filter((d) => d.name === t.tagName).map(fromDescriptor);
    if (defaults.length === 0) throw new Error(`No regex specified for tag specifier and no default regex for name: '${t.tagName}'`);
    return defaults;
  }

  /** Tag-extracted name and tags of a full stat name (uncached). */
  produceTags(name: string): ExtractedName {
    const tags: StatTag[] = [];
    const remove: Interval[] = [];
    let split: string[] | undefined;
    const tokens = () => (split ??= name.split('.'));
    let seen: Set<string> | undefined;
    const run = (x: Extractor) => {
      if (x.sharedName && seen?.has(x.name)) return;
      if (x.extract(name, tokens, tags, remove) && x.sharedName) (seen ??= new Set()).add(x.name);
    };
    for (const x of this.withoutPrefix) run(x);
    const dot = name.indexOf('.');
    if (dot >= 0) {
      const list = this.byPrefix.get(name.slice(0, dot));
      if (list) for (const x of list) run(x);
    }
    return { extractedName: removeIntervals(name, remove), tags };
  }

  /** produceTags with a cache keyed by full name (names repeat on every scrape). */
  cached(name: string): ExtractedName {
    let e = this.cache.get(name);
    if (!e) {
      e = this.produceTags(name);
      this.cache.set(name, e);
    }
    return e;
  }

  get cacheSize(): number {
    return this.cache.size;
  }

  /** Drops the cache (renderers do this when it has grown far past the live stat count). */
  clearCache(): void {
    this.cache.clear();
  }
}
