// File-based xDS with Envoy's own dynamic-config-fs example (corpus envoy/examples/dynamic-config-fs):
// the bootstrap's lds_config/cds_config point at lds.yaml/cds.yaml (DiscoveryResponse YAML). The
// proxy serves them, follows a cluster change made by renaming a new file into place (as Envoy's
// example does with mv), and keeps the last good config when a bad file appears (update_rejected,
// NACK in /config_history), then applies the next good one.
import { readFileSync, renameSync, writeFileSync, mkdtempSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { REPO, startProxy, type ProxyProcess } from '../support/proxy-process';

const EX = join(REPO, '..', 'shared', 'corpus', 'envoy', 'examples', 'dynamic-config-fs');

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        let b = '';
        res.on('data', (d: Buffer) => (b += d.toString()));
        res.on('end', () => resolve(`${res.statusCode} ${b}`));
      })
      .on('error', reject);
  });
}

async function until(fn: () => Promise<boolean>, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('file-based LDS/CDS (path_config_source) with the dynamic-config-fs example', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mp-fs-xds-'));
  const servers: http.Server[] = [];
  let proxy: ProxyProcess;
  let upPorts: number[] = [];
  const cds = () => YAML.parse(readFileSync(join(EX, 'configs', 'cds.yaml'), 'utf8')) as { resources: { load_assignment: { endpoints: { lb_endpoints: { endpoint: { address: { socket_address: { address: string; port_value: number } } } }[] }[] } }[] };
  /** Writes cds.yaml for upstream i the way the example does: new file, then rename over the old. */
  const writeCds = (i: number) => {
    const c = cds();
    const sa = c.resources[0]!.load_assignment.endpoints[0]!.lb_endpoints[0]!.endpoint.address.socket_address;
    sa.address = '127.0.0.1';
    sa.port_value = upPorts[i]!;
    writeFileSync(join(dir, 'cds.tmp'), YAML.stringify(c));
    renameSync(join(dir, 'cds.tmp'), join(dir, 'cds.yaml'));
  };

  beforeAll(async () => {
    for (const name of ['one', 'two']) {
      const s = http.createServer((_q, r) => r.end(name));
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      servers.push(s);
    }
    upPorts = servers.map((s) => (s.address() as { port: number }).port);
    const lds = YAML.parse(readFileSync(join(EX, 'configs', 'lds.yaml'), 'utf8')) as { resources: { address: { socket_address: { address: string; port_value: number } } }[] };
    lds.resources[0]!.address.socket_address = { address: '127.0.0.1', port_value: 0 };
    writeFileSync(join(dir, 'lds.yaml'), YAML.stringify(lds));
    writeCds(0);
    const boot = YAML.parse(readFileSync(join(EX, 'envoy.yaml'), 'utf8')) as { dynamic_resources: { cds_config: { path_config_source: { path: string } }; lds_config: { path_config_source: { path: string } } }; admin: { address: { socket_address: { address: string; port_value: number } } } };
    boot.dynamic_resources.cds_config.path_config_source.path = join(dir, 'cds.yaml');
    boot.dynamic_resources.lds_config.path_config_source.path = join(dir, 'lds.yaml');
    boot.admin.address.socket_address = { address: '127.0.0.1', port_value: 0 };
    proxy = await startProxy(boot);
  }, 30_000);

  afterAll(async () => {
    await proxy?.stop();
    for (const s of servers) s.close();
  });

  it('serves the files, follows a renamed-in cluster change, and rejects a bad file while serving the last good', async () => {
    const { port } = await proxy.listener('listener_0');
    expect(await get(port)).toBe('200 one');
    writeCds(1);
    await until(async () => (await get(port)) === '200 two');
    const before = await proxy.get('/stats?filter=^cluster_manager\\.cds\\.update_rejected$');
    writeFileSync(join(dir, 'cds.tmp'), 'resources:\n- "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster\n  name: example_proxy_cluster\n  connect_timeout: -1s\n');
    renameSync(join(dir, 'cds.tmp'), join(dir, 'cds.yaml'));
    await until(async () => /update_rejected: [1-9]/.test((await proxy.get('/stats?filter=^cluster_manager\\.cds\\.update_rejected$')).body));
    expect(before.body).toMatch(/update_rejected: 0/);
    expect(await get(port)).toBe('200 two');
    const hist = JSON.parse((await proxy.get('/config_history?type=cds')).body) as { updates: { result: string }[] };
    expect(hist.updates.some((u) => u.result === 'NACK')).toBe(true);
    writeCds(0);
    await until(async () => (await get(port)) === '200 one');
  }, 30_000);
});
