// translateStatsConfig: bootstrap stats_config (decoded from protojson, as the bootstrap loader
// does) -> StatsConfig model, with field-path errors for what Envoy would reject.
import protojson from 'protobufjs/ext/protojson.js';
import { lookupType } from '../../gen/proto-root';
import { DEFAULT_STATS_CONFIG } from '../model/stats';
import { stdRegexToEcma, translateStatsConfig } from './stats-config';
import type { Msg } from './proto-util';

function decode(json: unknown): Msg {
  return protojson.fromJson(lookupType('envoy.config.metrics.v3.StatsConfig'), json) as Msg;
}

describe('stdRegexToEcma', () => {
  it('expands POSIX bracket classes and leaves the rest alone', () => {
    expect(stdRegexToEcma('^listener\\.(((?:[_.[:digit:]]*|[_\\[\\]aAbBcCdDeEfF[:digit:]]*))\\.)')).toBe(
      '^listener\\.(((?:[_.0-9]*|[_\\[\\]aAbBcCdDeEfF0-9]*))\\.)',
    );
    expect(stdRegexToEcma('[^[:space:]x]+')).toBe('[^ \\t\\n\\r\\f\\vx]+');
    // Outside brackets `[:digit:]` is itself a bracket expression of the characters :digt.
    expect(stdRegexToEcma('a\\[[:digit:]')).toBe('a\\[[:digit:]');
    expect(() => stdRegexToEcma('[[:nope:]]')).toThrow(/unknown character class/);
    expect(() => stdRegexToEcma('[[=a=]]')).toThrow(/not supported/);
  });
});

describe('translateStatsConfig', () => {
  it('gives Envoy defaults when stats_config is unset', () => {
    const r = translateStatsConfig(undefined);
    expect(r).toEqual({ ok: true, value: DEFAULT_STATS_CONFIG });
    const empty = translateStatsConfig(decode({}));
    expect(empty.ok && empty.value.useAllDefaultTags).toBe(true);
    expect(empty.ok && empty.value.statsMatcher.kind).toBe('all');
  });

  it('translates tags, matchers and bucket settings', () => {
    const r = translateStatsConfig(
      decode({
        use_all_default_tags: false,
        stats_tags: [
          { tag_name: 'cluster_name', regex: '^cluster(\\.(.+);)' },
          { tag_name: 'zone', fixed_value: 'z1' },
          { tag_name: 'envoy.cluster_name' },
        ],
        stats_matcher: {
          exclusion_list: { patterns: [{ prefix: 'cluster.' }, { safe_regex: { regex: 'vhost\\..*' }, ignore_case: true }, { contains: 'x' }] },
        },
        histogram_bucket_settings: [{ match: { exact: 'cluster.a.upstream_rq_time' }, buckets: [100, 1, 10] }],
      }),
    );
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.value).toEqual({
      useAllDefaultTags: false,
      statsTags: [
        { tagName: 'cluster_name', regex: '^cluster(\\.(.+);)', ecmaRegex: '^cluster(\\.(.+);)', fixedValue: undefined },
        { tagName: 'zone', regex: undefined, ecmaRegex: undefined, fixedValue: 'z1' },
        { tagName: 'envoy.cluster_name', regex: undefined, ecmaRegex: undefined, fixedValue: undefined },
      ],
      statsMatcher: {
        kind: 'exclusion',
        patterns: [
          { kind: 'prefix', value: 'cluster.', ignoreCase: false },
          { kind: 'safe_regex', value: 'vhost\\..*', ignoreCase: true },
          { kind: 'contains', value: 'x', ignoreCase: false },
        ],
      },
      histogramBucketSettings: [{ match: { kind: 'exact', value: 'cluster.a.upstream_rq_time', ignoreCase: false }, buckets: [1, 10, 100] }],
    });
    expect(Object.isFrozen(r.value.statsTags[0])).toBe(true);
    expect(structuredClone(r.value)).toEqual(r.value);
    const reject = translateStatsConfig(decode({ stats_matcher: { reject_all: true } }));
    expect(reject.ok && reject.value.statsMatcher.kind).toBe('reject_all');
    const notReject = translateStatsConfig(decode({ stats_matcher: { reject_all: false } }));
    expect(notReject.ok && notReject.value.statsMatcher.kind).toBe('all');
  });

  it('reports every problem with its field path', () => {
    const r = translateStatsConfig(
      decode({
        stats_tags: [{ tag_name: 'ok', regex: '^a(\\.b)' }, { tag_name: 'bad', regex: '^a((' }, { regex: 'x' }, { tag_name: 'unknown_default' }],
        stats_matcher: { inclusion_list: { patterns: [{ safe_regex: { regex: '(?=x)' } }, { prefix: '' }, {}] } },
        histogram_bucket_settings: [{ match: { prefix: 'a' }, buckets: [] }, { match: { prefix: 'b' }, buckets: [1, 1, -2] }],
      }),
    );
    expect(r.ok).toBe(false);
    const paths = !r.ok ? r.errors.map((e) => e.path) : [];
    expect(paths).toEqual([
      'stats_tags[1].regex',
      'stats_tags[2].tag_name',
      'stats_tags[3].tag_name',
      'stats_matcher.inclusion_list.patterns[0].safe_regex.regex',
      'stats_matcher.inclusion_list.patterns[1].prefix',
      'stats_matcher.inclusion_list.patterns[2]',
      'histogram_bucket_settings[0].buckets',
      'histogram_bucket_settings[1].buckets[2]',
      'histogram_bucket_settings[1].buckets',
    ]);
    expect(!r.ok && r.errors[2]!.reason).toMatch(/no default regex for name: 'unknown_default'/);
  });
});
