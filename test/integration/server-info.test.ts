// server.* stats and /server_info as Envoy exposes them: /server_info parses strictly as
// envoy.admin.v3.ServerInfo (no unknown fields) with the command line options pilot-agent passed,
// and server.total_connections counts open downstream connections summed over workers.
import * as net from 'node:net';
import { findUnknownFields, fromProtoJson } from '../../src/config/bootstrap/proto-json';
import { lookupType } from '../../src/gen/proto-root';
import { startProxy, tcpProxyBootstrap } from '../support/proxy-process';

async function stat(p: { get(path: string): Promise<{ body: string }> }, name: string): Promise<number> {
  const r = await p.get(`/stats?filter=${encodeURIComponent(`^${name.replace(/\./g, '\\.')}$`)}`);
  const m = /: (\d+)$/m.exec(r.body);
  return m ? Number(m[1]) : NaN;
}

describe.each([1, 2])('server stats and /server_info (--concurrency %i)', (concurrency) => {
  it('reports Envoy-shaped server info and live server.* stats', async () => {
    const up = net.createServer((s) => s.on('error', () => {}));
    await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
    const proxy = await startProxy(tcpProxyBootstrap((up.address() as net.AddressInfo).port), ['--concurrency', String(concurrency), '--drain-time-s', '45', '--drain-strategy', 'immediate', '--disable-hot-restart', '--allow-unknown-static-fields']);
    const clients: net.Socket[] = [];
    try {
      for (let i = 0; i < 100 && (await proxy.get('/ready')).body !== 'LIVE\n'; i++) await new Promise((r) => setTimeout(r, 50));
      const info = JSON.parse((await proxy.get('/server_info')).body) as Record<string, unknown>;
      const type = lookupType('envoy.admin.v3.ServerInfo');
      expect(findUnknownFields(type, info)).toEqual([]);
      const msg = fromProtoJson(type, info);
      expect(msg.state === 0 || msg.state === 'LIVE').toBe(true);
      expect(msg.commandLineOptions.concurrency).toBe(concurrency);
      expect(msg.commandLineOptions.drainStrategy === 1 || msg.commandLineOptions.drainStrategy === 'Immediate').toBe(true);
      expect(msg.commandLineOptions.disableHotRestart).toBe(true);
      expect(msg.node.id).toMatch(/~/);
      const { port } = await proxy.listener('tcp');
      for (let i = 0; i < 3; i++) {
        const c = net.connect(port, '127.0.0.1');
        c.on('error', () => {});
        await new Promise((r) => c.once('connect', r));
        clients.push(c);
      }
      let total = 0;
      for (let i = 0; i < 50 && total !== 3; i++) {
        await new Promise((r) => setTimeout(r, 50));
        total = await stat(proxy, 'server.total_connections');
      }
      expect(total).toBe(3);
      expect(await stat(proxy, 'server.memory_allocated')).toBeGreaterThan(1_000_000);
      expect(await stat(proxy, 'server.concurrency')).toBe(concurrency);
      expect(await stat(proxy, 'server.state')).toBe(0);
      expect(await stat(proxy, 'server.hot_restart_epoch')).toBe(0);
    } finally {
      for (const c of clients) c.destroy();
      await proxy.stop();
      up.close();
    }
  }, 30_000);
});
