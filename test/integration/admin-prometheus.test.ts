// A real Prometheus server (Debian package `prometheus`) scrapes the admin's /stats/prometheus
// on loopback, and a counter is read back through Prometheus' HTTP query API. Skipped with a
// message when the prometheus binary is missing. Bounded: 1 s scrape interval, 20 s deadline.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { AdminServer } from '../../src/admin/admin-server';
import { testAdminView } from '../support/admin-test-view';

const hasPrometheus = spawnSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' }).status === 0;
if (!hasPrometheus) console.warn('prometheus not installed (Debian package prometheus): skipping the real-Prometheus scrape test');
const maybe = hasPrometheus ? test : test.skip;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

maybe(
  'Prometheus scrapes /stats/prometheus and answers a query for an Envoy counter',
  async () => {
    const t = testAdminView();
    t.stats.counter('cluster.xds-grpc.upstream_cx_total').add(7);
    const admin = new AdminServer(t.view, pino({ level: 'silent' }));
    const adminAddr = await admin.start({ kind: 'socket', address: '127.0.0.1', port: 0 } as never);
    const dir = mkdtempSync(join(tmpdir(), 'meshproxy-prom-'));
    const webPort = await freePort();
    writeFileSync(
      join(dir, 'prometheus.yml'),
      ['global:', '  scrape_interval: 1s', '  scrape_timeout: 1s', 'scrape_configs:', '  - job_name: meshproxy', '    metrics_path: /stats/prometheus', '    static_configs:', `      - targets: ['${adminAddr}']`, ''].join('\n'),
    );
    let prom: ChildProcess | undefined;
    let log = '';
    try {
      prom = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${webPort}`], { stdio: ['ignore', 'pipe', 'pipe'] });
      prom.stdout!.on('data', (d: Buffer) => (log += d.toString()));
      prom.stderr!.on('data', (d: Buffer) => (log += d.toString()));
      const deadline = Date.now() + 20_000;
      let result: { metric: Record<string, string>; value: [number, string] }[] = [];
      while (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        try {
          const r = await fetch(`http://127.0.0.1:${webPort}/api/v1/query?query=${encodeURIComponent('envoy_cluster_upstream_cx_total')}`);
          if (r.status !== 200) continue;
          const body = (await r.json()) as { data: { result: typeof result } };
          result = body.data.result;
          if (result.length > 0) break;
        } catch {
          /* not up yet */
        }
      }
      if (result.length === 0) throw new Error(`no sample scraped within 20 s; prometheus log:\n${log.slice(-2000)}`);
      expect(result[0].metric).toMatchObject({ __name__: 'envoy_cluster_upstream_cx_total', envoy_cluster_name: 'xds-grpc', job: 'meshproxy' });
      expect(result[0].value[1]).toBe('7');
      // The scrape itself was healthy.
      const up = (await (await fetch(`http://127.0.0.1:${webPort}/api/v1/query?query=up`)).json()) as { data: { result: { value: [number, string] }[] } };
      expect(up.data.result[0].value[1]).toBe('1');
    } finally {
      prom?.kill('SIGTERM');
      await new Promise((r) => (prom && prom.exitCode === null ? prom.once('exit', r) : r(undefined)));
      admin.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
  30_000,
);
