// pilot-agent's stop sequence against the built proxy: POST /drain_listeners?graceful (and
// ?inboundonly) starts a drain: server.state goes DRAINING (1), HTTP/1 responses on the drained
// listener carry Connection: close from then on (--drain-strategy immediate) while the listener
// keeps accepting, outbound listeners are left alone with inboundonly, and without skip_exit the
// proxy exits by itself when --drain-time-s ends; with skip_exit it stays up.
import * as http from 'node:http';
import { hcmBootstrap, cluster, upstream } from '../support/http-harness';
import { startProxy } from '../support/proxy-process';

function get(port: number, agent: http.Agent): Promise<{ status: number; connection: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }));
      })
      .on('error', reject);
  });
}

function bootstrap(upPort: number, direction: 'INBOUND' | 'OUTBOUND'): object {
  const b = hcmBootstrap({ virtualHosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'app' } }] }], clusters: [cluster('app', [upPort])] }) as {
    admin?: object;
    static_resources: { listeners: { traffic_direction?: string }[] };
  };
  b.admin = { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } };
  b.static_resources.listeners[0]!.traffic_direction = direction;
  return b;
}

describe('drain_listeners as pilot-agent sends it', () => {
  it('graceful drain: DRAINING, Connection: close on the inbound listener, still accepting, exits after the drain time', async () => {
    const up = await upstream((_q, r) => r.end('hello'));
    const proxy = await startProxy(bootstrap(up.port, 'INBOUND'), ['--drain-time-s', '2', '--drain-strategy', 'immediate']);
    try {
      const { port } = await proxy.listener('http');
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const before = await get(port, agent);
      expect(before).toMatchObject({ status: 200, body: 'hello' });
      expect(before.connection).not.toBe('close');
      const t0 = Date.now();
      expect((await proxy.get('/drain_listeners?inboundonly&graceful', 'POST')).status).toBe(200);
      const state = await proxy.get('/stats?usedonly&filter=^server\\.state$');
      expect(state.body).toMatch(/^server\.state: 1$/m);
      // Still accepting during the drain window, but telling clients to go away.
      const during = await get(port, agent);
      expect(during).toMatchObject({ status: 200, body: 'hello', connection: 'close' });
      const fresh = await get(port, new http.Agent({ keepAlive: true }));
      expect(fresh).toMatchObject({ status: 200, connection: 'close' });
      // No skip_exit: the proxy exits on its own once --drain-time-s has passed.
      const code = await new Promise<number | null>((resolve) => proxy.child.once('exit', (c) => resolve(c)));
      expect(code).toBe(0);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1800);
      agent.destroy();
    } finally {
      await proxy.stop();
      await up.close();
    }
  }, 30_000);

  it('inboundonly leaves outbound listeners alone; skip_exit keeps the proxy up', async () => {
    const up = await upstream((_q, r) => r.end('out'));
    const proxy = await startProxy(bootstrap(up.port, 'OUTBOUND'), ['--drain-time-s', '1']);
    try {
      const { port } = await proxy.listener('http');
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      expect((await proxy.get('/drain_listeners?inboundonly&graceful&skip_exit', 'POST')).status).toBe(200);
      const r = await get(port, agent);
      expect(r).toMatchObject({ status: 200, body: 'out' });
      expect(r.connection).not.toBe('close');
      await new Promise((res) => setTimeout(res, 1500));
      expect(proxy.child.exitCode).toBeNull();
      agent.destroy();
    } finally {
      await proxy.stop();
      await up.close();
    }
  }, 30_000);
});
