// Every Istio bootstrap golden must load as pilot-agent starts us (with
// --allow-unknown-static-fields), and strict mode must name unknown fields by path.
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BootstrapError, loadBootstrap } from './load-bootstrap';

const CORPUS = join(__dirname, '../../../../shared/corpus');
const GOLDEN_DIR = join(CORPUS, 'istio/bootstrap/golden');
const base = { serviceNode: undefined, serviceCluster: undefined, serviceZone: undefined };

describe('Istio bootstrap goldens', () => {
  const files = readdirSync(GOLDEN_DIR).filter((f) => f.endsWith('_golden.json'));
  it('finds the corpus', () => expect(files.length).toBeGreaterThanOrEqual(25));
  it.each(files)('%s loads with --allow-unknown-static-fields', (f) => {
    const b = loadBootstrap({ ...base, configPath: join(GOLDEN_DIR, f), configYaml: undefined, allowUnknownStaticFields: true });
    expect(b.config.node.id).toMatch(/~/);
    expect(b.config.staticClusters.map((c) => c.name)).toEqual(expect.arrayContaining(['xds-grpc', 'prometheus_stats', 'agent']));
    expect(b.config.dynamicResources.ads?.targets[0]).toEqual({ kind: 'envoy_grpc', clusterName: 'xds-grpc' });
  });
  it('default golden: static listeners, ADS delta over the xds-grpc pipe, admin on 15000', () => {
    const b = loadBootstrap({ ...base, configPath: join(GOLDEN_DIR, 'default_golden.json'), configYaml: undefined, allowUnknownStaticFields: false });
    expect(b.config.staticListeners.map((l) => `${l.name}@${l.address.kind === 'socket' ? l.address.port : ''}`)).toEqual(['0.0.0.0_15090@15090', '0.0.0.0_15021@15021']);
    expect(b.config.dynamicResources.ads).toEqual({ apiType: 'DELTA_GRPC', targets: [{ kind: 'envoy_grpc', clusterName: 'xds-grpc' }], setNodeOnFirstMessageOnly: true });
    const xds = b.config.staticClusters.find((c) => c.name === 'xds-grpc')!;
    expect(xds.loadAssignment?.localities[0]?.endpoints[0]?.address).toEqual({ kind: 'pipe', path: '/tmp/XDS', mode: 0 });
    expect(xds.upstreamHttpProtocol).toBe('HTTP2');
    expect(b.config.admin?.address).toMatchObject({ kind: 'socket', address: '127.0.0.1', port: 15000 });
    expect(b.config.runtime['re2.max_program_size.error_level']).toBe('32768');
  });
});

describe('bootstrap errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mp-boot-'));
  const write = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const load = (configPath: string | undefined, extra: Partial<{ configYaml: string; allowUnknownStaticFields: boolean }> = {}) =>
    loadBootstrap({ ...base, configPath, configYaml: extra.configYaml, allowUnknownStaticFields: extra.allowUnknownStaticFields ?? false });
  const errorsOf = (fn: () => unknown): string[] => {
    try {
      fn();
    } catch (e) {
      if (e instanceof BootstrapError) return e.errors.map((x) => `${x.path}: ${x.reason}`);
      throw e;
    }
    throw new Error('expected a BootstrapError');
  };

  it('names unknown fields by path, in both spellings', () => {
    const p = write('u.yaml', 'node: {id: a, bogus: 1}\nstaticResources:\n  clusters:\n  - name: c\n    connect_timeout: 1s\n    whatever: true\n');
    expect(errorsOf(() => load(p))).toEqual([expect.stringMatching(/^node\.bogus: unknown field/), expect.stringMatching(/^static_resources\.clusters\[0\]\.whatever: unknown field/)]);
    expect(load(p, { allowUnknownStaticFields: true }).config.node.id).toBe('a');
  });
  it('rejects an unknown Any type even when unknown fields are allowed', () => {
    const p = write('any.yaml', 'static_resources:\n  listeners:\n  - name: l\n    address: {socket_address: {address: 127.0.0.1, port_value: 0}}\n    filter_chains:\n    - filters:\n      - name: x\n        typed_config: {"@type": type.googleapis.com/no.such.Type}\n');
    expect(errorsOf(() => load(p, { allowUnknownStaticFields: true }))).toEqual([expect.stringContaining("static_resources.listeners[0].filter_chains[0].filters[0].typed_config.@type: unknown type 'type.googleapis.com/no.such.Type'")]);
  });
  it('reports every translation problem with its path', () => {
    const p = write('bad.yaml', [
      'static_resources:',
      '  listeners:',
      '  - name: l',
      '    address: {socket_address: {address: not-an-ip, port_value: 1}}',
      '    filter_chains:',
      '    - filters:',
      '      - name: envoy.filters.network.tcp_proxy',
      '        typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy}',
      '  clusters:',
      '  - {name: c, connect_timeout: 0s}',
    ].join('\n'));
    expect(errorsOf(() => load(p))).toEqual([
      "static_resources.listeners[0].address.socket_address.address: 'not-an-ip' is not a valid IP address",
      'static_resources.listeners[0].filter_chains[0].filters[0].typed_config.stat_prefix: must not be empty',
      'static_resources.listeners[0].filter_chains[0].filters[0].typed_config.cluster_specifier: one of cluster or weighted_clusters is required',
      'static_resources.clusters[0].connect_timeout: must be greater than 0',
    ]);
  });
  it('merges --config-yaml over the file (scalars replace, repeated append)', () => {
    const p = write('m.json', JSON.stringify({ node: { id: 'file', cluster: 'c1' }, static_resources: { clusters: [{ name: 'a', connect_timeout: '1s' }] } }));
    const b = load(p, { configYaml: '{"node": {"id": "yaml"}, "staticResources": {"clusters": [{"name": "b", "connectTimeout": "2s"}]}}' });
    expect(b.config.node).toMatchObject({ id: 'yaml', cluster: 'c1' });
    expect(b.config.staticClusters.map((c) => [c.name, c.connectTimeoutMs])).toEqual([['a', 1000], ['b', 2000]]);
  });
  it('cluster_manager.local_cluster_name must name a static cluster (Envoy: "local cluster must be defined")', () => {
    const boot = (name: string) => JSON.stringify({ node: { id: 'n', locality: { region: 'r', zone: 'z' } }, cluster_manager: { local_cluster_name: name }, static_resources: { clusters: [{ name: 'self', connect_timeout: '1s' }] } });
    const b = load(write('lc.json', boot('self')));
    expect(b.config.localClusterName).toBe('self');
    expect(b.config.node.locality).toEqual({ region: 'r', zone: 'z', subZone: '' });
    expect(errorsOf(() => load(write('lc-bad.json', boot('other'))))).toEqual(["cluster_manager.local_cluster_name: local cluster 'other' must be defined"]);
  });
  it('unreadable and unparsable files are clear errors', () => {
    expect(errorsOf(() => load(join(dir, 'missing.json')))).toEqual([expect.stringContaining('cannot read bootstrap file')]);
    expect(errorsOf(() => load(write('x.json', '{')))).toEqual([expect.stringContaining('cannot parse JSON')]);
  });
});
