// HTTP through the built proxy against Envoy's upstream semantics the router now applies:
// max_requests overflow is answered 503 with response flag UO exactly at the configured limit,
// and a host answering 5xx is ejected by outlier detection (consecutive_5xx) so traffic moves to
// the healthy host; /clusters shows per-host rq_* counts.
import { spawn, spawnSync } from 'node:child_process';
import * as http from 'node:http';
import * as net from 'node:net';
import { cluster, hcmBootstrap, upstream } from '../support/http-harness';
import { startProxy } from '../support/proxy-process';

function get(port: number, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

function withAdmin(b: object): object {
  return { ...b, admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } } };
}

describe('HTTP router with circuit breakers and outlier detection', () => {
  it('answers 503 UO beyond max_requests, exactly at the limit', async () => {
    const pending: http.ServerResponse[] = [];
    const up = await upstream((_q, r) => pending.push(r));
    const b = hcmBootstrap({
      virtualHosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'app', timeout: '10s' } }] }],
      clusters: [cluster('app', [up.port], { circuit_breakers: { thresholds: [{ max_requests: 3 }] } })],
      hcm: { access_log: [] },
    });
    const proxy = await startProxy(withAdmin(b));
    try {
      const { port } = await proxy.listener('http');
      const inflight = [get(port), get(port), get(port)];
      for (let i = 0; i < 100 && pending.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
      expect(pending).toHaveLength(3);
      const over = await get(port);
      expect(over.status).toBe(503);
      expect(over.body).toBe('upstream connect error or disconnect/reset before headers. reset reason: overflow');
      for (const r of pending) r.end('ok');
      expect((await Promise.all(inflight)).map((r) => r.status)).toEqual([200, 200, 200]);
      // Slots are released: the next request goes through.
      const after = get(port);
      for (let i = 0; i < 100 && pending.length < 4; i++) await new Promise((r) => setTimeout(r, 20));
      pending[3]!.end('ok');
      expect((await after).status).toBe(200);
      const stats = await proxy.get('/stats?filter=^cluster\\.app\\.upstream_rq_pending_overflow$');
      expect(stats.body).toMatch(/: 1$/m);
    } finally {
      for (const r of pending) if (!r.writableEnded) r.end();
      await proxy.stop();
      await up.close();
    }
  }, 30_000);

  it('queues requests beyond max_connections as pending, up to max_pending_requests (Istio maxConnections / http1MaxPendingRequests)', async () => {
    const held: http.ServerResponse[] = [];
    const up = await upstream((_q, r) => held.push(r));
    let connections = 0;
    up.server.on('connection', () => connections++);
    const b = hcmBootstrap({
      virtualHosts: [
        {
          name: 'all',
          domains: ['*'],
          routes: [
            { match: { prefix: '/short' }, route: { cluster: 'app', timeout: '0.3s' } },
            { match: { prefix: '/' }, route: { cluster: 'app', timeout: '10s' } },
          ],
        },
      ],
      clusters: [cluster('app', [up.port], { circuit_breakers: { thresholds: [{ max_connections: 1, max_pending_requests: 1, max_requests: 100 }] } })],
      hcm: { access_log: [] },
    });
    const proxy = await startProxy(withAdmin(b));
    const waitHeld = async (n: number) => {
      for (let i = 0; i < 150 && held.length < n; i++) await new Promise((r) => setTimeout(r, 20));
      expect(held).toHaveLength(n);
    };
    const stat = async (name: string) => Number(/: (\d+)$/m.exec((await proxy.get(`/stats?filter=^cluster\\.app\\.${name}$`)).body)?.[1] ?? NaN);
    try {
      const { port } = await proxy.listener('http');
      // First request takes the only connection; the second waits in the pending queue.
      const first = get(port);
      await waitHeld(1);
      const second = get(port);
      for (let i = 0; i < 100 && (await stat('upstream_rq_pending_active')) < 1; i++) await new Promise((r) => setTimeout(r, 20));
      expect(await stat('upstream_rq_pending_active')).toBe(1);
      // A third finds the pending queue full: 503 UO at once, nothing sent upstream.
      const third = await get(port);
      expect(third.status).toBe(503);
      expect(third.body).toBe('upstream connect error or disconnect/reset before headers. reset reason: overflow');
      expect(await stat('upstream_rq_pending_overflow')).toBe(1);
      // The first response frees the connection; the waiting request is sent on it.
      held[0]!.end('one');
      expect(await first).toEqual({ status: 200, body: 'one' });
      await waitHeld(2);
      held[1]!.end('two');
      expect(await second).toEqual({ status: 200, body: 'two' });
      // A request that times out while waiting leaves the queue and frees its pending slot.
      const busy = get(port);
      await waitHeld(3);
      const timedOut = await get(port, '/short');
      expect(timedOut.status).toBe(504);
      expect(await stat('upstream_rq_pending_active')).toBe(0);
      const next = get(port);
      for (let i = 0; i < 100 && (await stat('upstream_rq_pending_active')) < 1; i++) await new Promise((r) => setTimeout(r, 20));
      held[2]!.end('three');
      expect(await busy).toEqual({ status: 200, body: 'three' });
      await waitHeld(4);
      held[3]!.end('four');
      expect(await next).toEqual({ status: 200, body: 'four' });
      // One upstream connection carried every request.
      expect(connections).toBe(1);
      // Pending: the first (while its connection opened), the second, the timed-out one and the last.
      expect(await stat('upstream_rq_pending_total')).toBe(4);
      expect(await stat('upstream_rq_pending_overflow')).toBe(1);
    } finally {
      for (const r of held) if (!r.writableEnded) r.end();
      await proxy.stop();
      await up.close();
    }
  }, 30_000);

  // python3 holds a listener that never accepts (Node's net.Server always accepts).
  const withPython = spawnSync('python3', ['-c', 'pass']).status === 0 ? it : it.skip;
  withPython('HTTP/2 upstream: a request waiting for its session holds a pending slot; beyond it 503 UO; a timed-out wait frees the slot', async () => {
    // A listener that never accepts, with its accept queue filled: further SYNs are dropped, so
    // the proxy's connect stays in progress and its requests wait as pending.
    const py = spawn('python3', ['-c', 'import socket,sys,time\ns=socket.socket();s.bind(("127.0.0.1",0));s.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(60)'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<number>((resolve) => py.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
    const fillers: net.Socket[] = [];
    for (let i = 0; i < 3; i++) fillers.push(net.connect(port, '127.0.0.1').on('error', () => {}));
    await new Promise((r) => setTimeout(r, 200));
    const b = hcmBootstrap({
      virtualHosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'h2', timeout: '0.6s' } }] }],
      clusters: [cluster('h2', [port], { connect_timeout: '10s', http2_protocol_options: {}, circuit_breakers: { thresholds: [{ max_pending_requests: 1 }] } })],
      hcm: { access_log: [] },
    });
    const proxy = await startProxy(withAdmin(b));
    const stat = async (name: string) => Number(/: (\d+)$/m.exec((await proxy.get(`/stats?filter=^cluster\\.h2\\.${name}$`)).body)?.[1] ?? NaN);
    try {
      const { port: lp } = await proxy.listener('http');
      const waiting = get(lp);
      // The cluster's HTTP stats appear with its first request (NaN until then).
      for (let i = 0; i < 100 && !((await stat('upstream_rq_pending_active')) >= 1); i++) await new Promise((r) => setTimeout(r, 10));
      expect(await stat('upstream_rq_pending_active')).toBe(1);
      const over = await get(lp);
      expect(over.status).toBe(503);
      expect(over.body).toBe('upstream connect error or disconnect/reset before headers. reset reason: overflow');
      expect((await waiting).status).toBe(504);
      expect(await stat('upstream_rq_pending_active')).toBe(0);
      // The slot is free again: the next request waits (and times out) instead of overflowing.
      expect((await get(lp)).status).toBe(504);
      expect(await stat('upstream_rq_pending_overflow')).toBe(1);
      expect(await stat('upstream_rq_pending_total')).toBe(2);
    } finally {
      await proxy.stop();
      for (const f of fillers) f.destroy();
      py.kill();
    }
  }, 30_000);

  it('ejects a host that answers 5xx (consecutive_5xx) and moves traffic to the healthy one', async () => {
    const bad = await upstream((_q, r) => {
      r.statusCode = 500;
      r.end('bad');
    });
    const good = await upstream((_q, r) => r.end('good'));
    const b = hcmBootstrap({
      virtualHosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'app' } }] }],
      clusters: [cluster('app', [bad.port, good.port], { outlier_detection: { consecutive_5xx: 3, interval: '0.2s', base_ejection_time: '30s', max_ejection_percent: 50 } })],
    });
    const proxy = await startProxy(withAdmin(b));
    try {
      const { port } = await proxy.listener('http');
      const first: number[] = [];
      for (let i = 0; i < 12; i++) first.push((await get(port)).status);
      expect(first.filter((s) => s === 500).length).toBeGreaterThanOrEqual(3);
      // After the ejection, the bad host gets nothing.
      const later: string[] = [];
      for (let i = 0; i < 20; i++) later.push((await get(port)).body);
      expect(later.every((b) => b === 'good')).toBe(true);
      const ej = await proxy.get('/stats?filter=^cluster\\.app\\.outlier_detection\\.ejections_enforced_consecutive_5xx$');
      expect(ej.body).toMatch(/: 1$/m);
      const clusters = JSON.parse((await proxy.get('/clusters?format=json')).body) as { cluster_statuses: { name: string; host_statuses: { address: { socket_address: { port_value: number } }; stats: { name: string; value?: string }[]; health_status: { failed_outlier_check?: boolean } }[] }[] };
      const hosts = clusters.cluster_statuses.find((c) => c.name === 'app')!.host_statuses;
      const badHost = hosts.find((h) => h.address.socket_address.port_value === bad.port)!;
      expect(badHost.health_status.failed_outlier_check).toBe(true);
      const rqError = Number(badHost.stats.find((s) => s.name === 'rq_error')?.value ?? 0);
      expect(rqError).toBeGreaterThanOrEqual(3);
    } finally {
      await proxy.stop();
      await bad.close();
      await good.close();
    }
  }, 30_000);
});
