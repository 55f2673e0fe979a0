// /stats/prometheus rendering (admin side, over a merged snapshot) in Prometheus text format
// 0.0.4, as Envoy's PrometheusStatsFormatter writes it: stats grouped by tag-extracted name,
// one `# TYPE` line per group, counters then gauges then (with text_readouts) text readouts as
// gauges then histograms, a blank line after each group; names sanitised to [a-zA-Z0-9_] and
// prefixed `envoy_` unless they sit in a custom stat namespace (Istio's `istiocustom.` ->
// `istio_requests_total`); tags from stats_config become labels; histograms print cumulative
// `_bucket{le=...}` lines, `+Inf`, `_sum` and `_count`.
//
// prom-client (a mandated dependency) supplies the exposition content type
// (`prometheusContentType`, served by the admin) and `validateMetricName`, which checks the
// names of custom-namespace stats that are exported without a prefix (Envoy drops those that
// would not be valid names). prom-client's own Registry and metric objects are not used for the
// data: they need label names fixed per metric and cost an object per series, while Envoy's
// stats are free-form names (10k clusters x 20 stats) that we render straight from the snapshot.
import { prometheusContentType, validateMetricName } from 'prom-client';
import type { HistogramData } from './histogram';
import type { StatTag, StatsSnapshot, TaggedStatName } from './snapshot';
import type { StatsOptionsSpec } from './stats-options';
import type { StatsParams } from './stats-params';
import { TagProducer, type ExtractedName } from './tag-producer';

/** Content-Type of the /stats/prometheus response. */
export const PROMETHEUS_CONTENT_TYPE: string = prometheusContentType;

const INVALID_NAME_CHARS = /[^a-zA-Z0-9_]/g;

export function sanitizePrometheusName(name: string): string {
  return name.replace(INVALID_NAME_CHARS, '_');
}

/** Label value escaping of the text format: backslash, double quote and newline. */
export function escapeLabelValue(v: string): string {
  if (!/[\\"\n]/.test(v)) return v;
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function formatTags(tags: readonly StatTag[]): string {
  let s = '';
  for (let i = 0; i < tags.length; i++) {
    if (i > 0) s += ',';
    s += `${sanitizePrometheusName(tags[i]!.name)}="${escapeLabelValue(tags[i]!.value)}"`;
  }
  return s;
}

/** Envoy PrometheusStatsFormatter::metricName; undefined when the stat cannot be exported. */
export function prometheusMetricName(extractedName: string, customNamespaces: readonly string[]): string | undefined {
  for (const ns of customNamespaces) {
    if (extractedName.startsWith(`${ns}.`)) {
      const stripped = sanitizePrometheusName(extractedName.slice(ns.length + 1));
      return stripped !== '' && validateMetricName(stripped) ? stripped : undefined;
    }
  }
  return `envoy_${sanitizePrometheusName(extractedName)}`;
}

/** Prometheus family name (undefined: not exportable) and label text of one full stat name. */
interface SeriesKey {
  readonly metric: string | undefined;
  readonly labels: string;
}

interface Series {
  readonly fullName: string;
  readonly labels: string;
  readonly index: number;
}

/**
 * Renders /stats/prometheus. Holds the tag producer built from stats_config and caches tag
 * extraction per full name, so repeated scrapes do no regex work for known stats.
 */
export class PrometheusRenderer {
  private readonly tagProducer: TagProducer;
  /** Family name and labels per full name, valid for one set of custom namespaces. */
  private keys = new Map<string, SeriesKey>();
  private keysNamespaces = '';

  constructor(options: Pick<StatsOptionsSpec, 'statsTags' | 'useAllDefaultTags'>) {
    this.tagProducer = new TagProducer(options);
  }

  /** Tag-extracted name and tags for one full stat name (explicitly tagged stats first). */
  extract(fullName: string, tagged: ReadonlyMap<string, TaggedStatName>): ExtractedName {
    const t = tagged.get(fullName);
    return t ? { extractedName: t.extractedName, tags: t.tags } : this.tagProducer.cached(fullName);
  }

  render(snap: StatsSnapshot, p: StatsParams): string {
    const total = snap.counters.names.length + snap.gauges.names.length + snap.histograms.length + snap.textReadouts.names.length;
    if (this.tagProducer.cacheSize > 2 * total + 50_000) this.tagProducer.clearCache();
    const ns = snap.customNamespaces.join('\n');
    if (ns !== this.keysNamespaces || this.keys.size > 2 * total + 50_000) {
      this.keys = new Map();
      this.keysNamespaces = ns;
    }
    const tagged = new Map<string, TaggedStatName>();
    for (const t of snap.tagged) tagged.set(t.fullName, t);
    const emitted = new Set<string>();
    const out: string[] = [];

    const c = snap.counters;
    this.section(out, emitted, 'counter', c.names, c.used, p, tagged, snap.customNamespaces, (s, name) => {
      out.push(`${name}{${s.labels}} ${c.values[s.index]}\n`);
    });
    const g = snap.gauges;
    this.section(out, emitted, 'gauge', g.names, g.used, p, tagged, snap.customNamespaces, (s, name) => {
      out.push(`${name}{${s.labels}} ${g.values[s.index]}\n`);
    });
    if (p.textReadouts) {
      const t = snap.textReadouts;
      this.section(out, emitted, 'gauge', t.names, t.used, p, tagged, snap.customNamespaces, (s, name) => {
        const extra = `text_value="${escapeLabelValue(t.values[s.index]!)}"`;
        out.push(`${name}{${s.labels ? `${s.labels},` : ''}${extra}} 1\n`);
      });
    }
    const hs = snap.histograms;
    this.section(
      out,
      emitted,
      'histogram',
      hs.map((h) => h.name),
      hs.map((h) => h.used),
      p,
      tagged,
      snap.customNamespaces,
      (s, name) => renderHistogram(out, name, s.labels, hs[s.index]!),
    );
    return out.join('');
  }

  private section(
    out: string[],
    emitted: Set<string>,
    type: string,
    names: readonly string[],
    used: readonly boolean[],
    p: StatsParams,
    tagged: ReadonlyMap<string, TaggedStatName>,
    namespaces: readonly string[],
    line: (s: Series, metricName: string) => void,
  ): void {
    const groups = new Map<string, Series[]>();
    for (let i = 0; i < names.length; i++) {
      const full = names[i]!;
      if (p.usedOnly && !used[i]) continue;
      if (p.filter && !p.filter(full)) continue;
      let key = this.keys.get(full);
      if (!key) {
        const e = this.extract(full, tagged);
        key = { metric: prometheusMetricName(e.extractedName, namespaces), labels: formatTags(e.tags) };
        this.keys.set(full, key);
      }
      const metric = key.metric;
      if (metric === undefined) continue;
      const series: Series = { fullName: full, labels: key.labels, index: i };
      const list = groups.get(metric);
      if (list) list.push(series);
      else groups.set(metric, [series]);
    }
    const metrics = [...groups.keys()].sort();
    for (const metric of metrics) {
      // A family name already written under another type would make the exposition invalid
      // (Envoy writes it twice; Prometheus rejects the scrape). Keep the first.
      if (emitted.has(metric)) continue;
      emitted.add(metric);
      out.push(`# TYPE ${metric} ${type}\n`);
      const list = groups.get(metric)!;
      list.sort((a, b) => (a.fullName < b.fullName ? -1 : a.fullName > b.fullName ? 1 : 0));
      for (const s of list) line(s, metric);
      out.push('\n');
    }
  }
}

function renderHistogram(out: string[], name: string, labels: string, h: HistogramData): void {
  const lead = labels ? `${labels},` : '';
  let cumulative = 0;
  for (let i = 0; i < h.bounds.length; i++) {
    cumulative += h.bucketCounts[i]!;
    out.push(`${name}_bucket{${lead}le="${h.bounds[i]}"} ${cumulative}\n`);
  }
  out.push(`${name}_bucket{${lead}le="+Inf"} ${h.count}\n`);
  out.push(`${name}_sum{${labels}} ${h.sum}\n`);
  out.push(`${name}_count{${labels}} ${h.count}\n`);
}
