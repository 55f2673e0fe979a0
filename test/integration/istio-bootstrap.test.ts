// pilot-agent's real bootstrap (Istio's default golden) run as pilot-agent runs it, with ports
// moved to 0: admin comes up, both static listeners (15090, 15021) bind, the readiness probe
// pilot-agent sends passes, and the Istio stats inclusion list applies (server.* kept, other
// stats dropped).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, startProxy } from '../support/proxy-process';

const GOLDEN = join(REPO, '..', 'shared', 'corpus', 'istio', 'bootstrap', 'golden', 'default_golden.json');

it('runs the default Istio bootstrap with pilot-agent flags', async () => {
  const b = JSON.parse(readFileSync(GOLDEN, 'utf8'));
  b.admin.address.socket_address.port_value = 0;
  for (const l of b.static_resources.listeners) l.address.socket_address.port_value = 0;
  b.admin.profile_path = '/tmp/meshproxy-test.prof';
  const p = await startProxy(b, ['--drain-time-s', '45', '--drain-strategy', 'immediate', '--local-address-ip-version', 'v4', '--file-flush-interval-msec', '1000', '--disable-hot-restart', '--allow-unknown-static-fields', '-l', 'warning', '--component-log-level', 'misc:error', '--skip-deprecated-logs']);
  try {
    const s15090 = await p.listener('0.0.0.0_15090');
    const s15021 = await p.listener('0.0.0.0_15021');
    expect(s15090.port).toBeGreaterThan(0);
    expect(s15021.port).toBeGreaterThan(0);
    const ready = await p.get('/stats?usedonly&filter=^(server\\.state|listener_manager\\.workers_started)');
    expect(ready.body).toMatch(/^server\.state: 0$/m);
    expect(ready.body).toMatch(/^listener_manager\.workers_started: 1$/m);
    const all = await p.get('/stats');
    // The inclusion list keeps server.* and cluster.xds-grpc, drops listener.* stats.
    expect(all.body).toMatch(/^server\.concurrency: \d+$/m);
    expect(all.body).not.toMatch(/^listener\./m);
    const info = JSON.parse((await p.get('/server_info')).body);
    expect(info.state).toBe('LIVE');
    expect(info.node.id).toBe(b.node.id);
    expect(info.command_line_options.drain_strategy).toBe('Immediate');
  } finally {
    expect(await p.stop()).toBe(0);
  }
}, 30_000);
