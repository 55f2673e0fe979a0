// /stats rendering (admin side, over a merged snapshot): Envoy's plain text and JSON formats.
// Text: text readouts (`name: "value"`), then counters and gauges together sorted by name
// (`name: value`), then histograms as a quantile summary `P0(interval,cumulative) ... P100(..)`
// or `No recorded values`. pilot-agent's readiness probe reads this text (`/stats?usedonly&
// filter=^(server\.state|listener_manager\.workers_started)`): lines are `name: <uint>` with no
// trailing text, which its parser (split on ':', trim, parse uint) needs.
import type { HistogramData } from './histogram';
import { quantilesOf, SUPPORTED_QUANTILES } from './log-linear-bins';
import type { StatsSnapshot } from './snapshot';
import type { StatsParams } from './stats-params';

const QUANTILE_LABELS = ['0', '25', '50', '75', '90', '95', '99', '99.5', '99.9', '100'];
const QUANTILE_PERCENTS = [0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100];

interface Row {
  readonly name: string;
  readonly text: string;
}

function show(name: string, used: boolean, p: StatsParams): boolean {
  return (!p.usedOnly || used) && (p.filter === undefined || p.filter(name));
}

function byName(a: Row, b: Row): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Shortest decimal of a quantile (float noise past 15 digits dropped); `nan` when empty. */
export function formatQuantile(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  return String(Number(v.toPrecision(15)));
}

/** Envoy ParentHistogram::quantileSummary. */
export function quantileSummary(h: HistogramData): string {
  if (!h.used || h.count === 0) return 'No recorded values';
  const interval = quantilesOf(h.intervalBins);
  const cumulative = quantilesOf(h.bins);
  const parts: string[] = [];
  for (let i = 0; i < SUPPORTED_QUANTILES.length; i++) {
    parts.push(`P${QUANTILE_LABELS[i]}(${formatQuantile(interval[i]!)},${formatQuantile(cumulative[i]!)})`);
  }
  return parts.join(' ');
}

function selected(snap: StatsSnapshot, p: StatsParams) {
  const wantText = p.type === 'All' || p.type === 'TextReadouts';
  const wantCounters = p.type === 'All' || p.type === 'Counters';
  const wantGauges = p.type === 'All' || p.type === 'Gauges';
  const wantHist = p.type === 'All' || p.type === 'Histograms';
  const texts: { name: string; value: string }[] = [];
  if (wantText) {
    const t = snap.textReadouts;
    for (let i = 0; i < t.names.length; i++) if (show(t.names[i]!, t.used[i]!, p)) texts.push({ name: t.names[i]!, value: t.values[i]! });
    texts.sort(byName as never);
  }
  const nums: { name: string; value: number }[] = [];
  if (wantCounters) {
    const c = snap.counters;
    for (let i = 0; i < c.names.length; i++) if (show(c.names[i]!, c.used[i]!, p)) nums.push({ name: c.names[i]!, value: c.values[i]! });
  }
  if (wantGauges) {
    const g = snap.gauges;
    for (let i = 0; i < g.names.length; i++) if (show(g.names[i]!, g.used[i]!, p)) nums.push({ name: g.names[i]!, value: g.values[i]! });
  }
  nums.sort(byName as never);
  const hists: HistogramData[] = [];
  if (wantHist) for (const h of snap.histograms) if (show(h.name, h.used, p)) hists.push(h);
  hists.sort(byName as never);
  return { texts, nums, hists };
}

/** /stats in Envoy's text format. */
export function renderStatsText(snap: StatsSnapshot, p: StatsParams): string {
  const { texts, nums, hists } = selected(snap, p);
  const out: string[] = [];
  for (const t of texts) out.push(`${t.name}: ${JSON.stringify(t.value)}\n`);
  for (const n of nums) out.push(`${n.name}: ${n.value}\n`);
  for (const h of hists) out.push(`${h.name}: ${quantileSummary(h)}\n`);
  return out.join('');
}

/** /stats?format=json in Envoy's shape: {"stats":[{name,value}...,{"histograms":{...}}]}. */
export function renderStatsJson(snap: StatsSnapshot, p: StatsParams): string {
  const { texts, nums, hists } = selected(snap, p);
  const stats: unknown[] = [];
  for (const t of texts) stats.push({ name: t.name, value: t.value });
  for (const n of nums) stats.push({ name: n.name, value: n.value });
  if (hists.length > 0) {
    stats.push({
      histograms: {
        supported_quantiles: QUANTILE_PERCENTS,
        computed_quantiles: hists.map((h) => {
          const empty = !h.used || h.count === 0;
          const interval = empty ? [] : quantilesOf(h.intervalBins);
          const cumulative = empty ? [] : quantilesOf(h.bins);
          return {
            name: h.name,
            values: QUANTILE_PERCENTS.map((_, i) => ({
              interval: jsonNumber(interval[i]),
              cumulative: jsonNumber(cumulative[i]),
            })),
          };
        }),
      },
    });
  }
  return JSON.stringify({ stats });
}

function jsonNumber(v: number | undefined): number | null {
  return v === undefined || Number.isNaN(v) ? null : Number(v.toPrecision(15));
}
