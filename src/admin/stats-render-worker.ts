// Worker-thread side of off-loop stats rendering (see stats-render-thread.ts): merges the
// per-process snapshots and renders /stats or /stats/prometheus, keeping its Prometheus renderer
// (and that renderer's tag-extraction cache) across scrapes.
import { parentPort } from 'node:worker_threads';
import { PrometheusRenderer } from '../stats/render-prometheus';
import { renderStatsJson, renderStatsText } from '../stats/render-text';
import { mergeSnapshots, type StatsSnapshot } from '../stats/snapshot';
import type { StatsOptionsSpec } from '../stats/stats-options';
import { parseStatsParams } from '../stats/stats-params';

export interface RenderRequest {
  readonly id: number;
  readonly parts: readonly StatsSnapshot[];
  readonly query: string;
  readonly endpoint: 'stats' | 'prometheus';
  readonly options: Pick<StatsOptionsSpec, 'statsTags' | 'useAllDefaultTags'>;
}

export type RenderReply = { readonly id: number; readonly body: string; readonly contentType: 'text' | 'json' | 'prometheus' } | { readonly id: number; readonly error: string };

let renderer: PrometheusRenderer | undefined;
let rendererKey = '';

function render(m: RenderRequest): RenderReply {
  const p = parseStatsParams(m.query);
  if (!p.ok) return { id: m.id, error: p.errors.map((e) => e.reason).join('\n') };
  const snap = mergeSnapshots(m.parts);
  const key = JSON.stringify(m.options);
  if (!renderer || key !== rendererKey) {
    renderer = new PrometheusRenderer(m.options);
    rendererKey = key;
  }
  if (m.endpoint === 'prometheus' || p.value.format === 'prometheus') return { id: m.id, body: renderer.render(snap, p.value), contentType: 'prometheus' };
  if (p.value.format === 'json') return { id: m.id, body: renderStatsJson(snap, p.value), contentType: 'json' };
  return { id: m.id, body: renderStatsText(snap, p.value), contentType: 'text' };
}

parentPort?.on('message', (m: RenderRequest) => {
  let reply: RenderReply;
  try {
    reply = render(m);
  } catch (err) {
    reply = { id: m.id, error: (err as Error).message };
  }
  parentPort!.postMessage(reply);
});
