// Off-loop stats rendering. With thousands of clusters /stats and /stats/prometheus have hundreds
// of thousands of lines; merging and rendering them takes seconds, which on the control side's
// event loop would stall the admin (pilot-agent's readiness probe) and xDS. Envoy renders on its
// main thread and takes seconds too; we hand large scrapes to one worker thread instead. Small
// ones (below STATS_THREAD_MIN stats, or when the thread's script is not built, as under the
// unit tests' TypeScript runner) render inline.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { StatsSnapshot } from '../stats/snapshot';
import type { StatsOptionsSpec } from '../stats/stats-options';
import type { RenderReply, RenderRequest } from './stats-render-worker';

/** Stats count from which a scrape renders off the loop (MESHPROXY_STATS_THREAD_MIN overrides). */
export const STATS_THREAD_MIN = Number(process.env.MESHPROXY_STATS_THREAD_MIN ?? 20_000);

export function statCount(parts: readonly StatsSnapshot[]): number {
  let n = 0;
  for (const p of parts) n += p.counters.names.length + p.gauges.names.length + p.histograms.length + p.textReadouts.names.length;
  return n;
}

export class StatsRenderThread {
  private worker: Worker | undefined;
  private seq = 0;
  private readonly pending = new Map<number, (r: RenderReply) => void>();
  private readonly script = join(__dirname, 'stats-render-worker.js');

  /** True when the thread can be used (the built script exists). */
  get available(): boolean {
    return existsSync(this.script);
  }

  render(parts: readonly StatsSnapshot[], query: string, endpoint: 'stats' | 'prometheus', options: RenderRequest['options']): Promise<RenderReply> {
    const w = this.ensure();
    const id = ++this.seq;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      w.postMessage({ id, parts, query, endpoint, options } satisfies RenderRequest);
    });
  }

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(this.script);
    w.unref();
    w.on('message', (r: RenderReply) => {
      const done = this.pending.get(r.id);
      this.pending.delete(r.id);
      done?.(r);
    });
    w.on('error', (err) => this.failAll(err.message));
    w.on('exit', () => {
      this.worker = undefined;
      this.failAll('stats render thread exited');
    });
    this.worker = w;
    return w;
  }

  private failAll(error: string): void {
    for (const [id, done] of this.pending) done({ id, error });
    this.pending.clear();
  }

  close(): void {
    void this.worker?.terminate();
    this.worker = undefined;
  }
}

export type { StatsOptionsSpec };
