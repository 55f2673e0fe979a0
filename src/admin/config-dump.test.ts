// /config_dump round trip against a real Envoy 1.34 / Istio 1.26 sidecar dump, strict parse of
// our output as envoy.admin.v3.ConfigDump, and Envoy's query parameters and error texts.
import protojson from 'protobufjs/ext/protojson.js';
import { lookupType, TYPE_URL_PREFIX } from '../gen/proto-root';
import { findUnknownFields } from '../config/bootstrap/proto-json';
import { corpusSource, encodeResource, loadDump, sectionOf } from '../../test/support/admin-corpus-source';
import type { ConfigDumpSource, DumpedResource, XdsKind } from './config-dump-source';
import { handleConfigDump } from './config-dump';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type J = Record<string, any>;

const dump = loadDump();
const src = corpusSource(dump);

function get(q = '', s: ConfigDumpSource | undefined = src): { status: number; json: J; body: string } {
  const r = handleConfigDump(s, new URLSearchParams(q));
  let json: J = {};
  try {
    json = JSON.parse(r.body) as J;
  } catch {
    /* text reply */
  }
  return { status: r.status, json, body: r.body };
}

describe('config_dump round trip (navigator Istio 1.26.2 sidecar dump)', () => {
  const ours = get().json;

  test('sections in Envoy order with their @type', () => {
    expect(ours.configs.map((c: J) => c['@type'])).toEqual(dump.configs.map((c: J) => c['@type']));
  });

  test.each(['BootstrapConfigDump', 'ClustersConfigDump', 'ListenersConfigDump', 'ScopedRoutesConfigDump', 'SecretsConfigDump'])('%s is byte-identical (field order, timestamps included)', (t) => {
    expect(JSON.stringify(sectionOf(ours, t), null, 2)).toBe(JSON.stringify(sectionOf(dump, t), null, 2));
  });

  test('RoutesConfigDump: dynamic identical; inline (static) route configs equal as a multiset', () => {
    const a = sectionOf(ours, 'RoutesConfigDump');
    const b = sectionOf(dump, 'RoutesConfigDump');
    expect(JSON.stringify(a.dynamic_route_configs)).toBe(JSON.stringify(b.dynamic_route_configs));
    // Envoy keeps inline route providers in a hash set (order is not reproducible) and stamps
    // them with the provider's creation time; we use the owning listener's time.
    const norm = (xs: J[]): string[] => xs.map((x) => JSON.stringify(x.route_config)).sort();
    expect(norm(a.static_route_configs)).toEqual(norm(b.static_route_configs));
    expect(a.static_route_configs).toHaveLength(6);
  });

  test('private key printed as base64 "[redacted]"', () => {
    const s = sectionOf(ours, 'SecretsConfigDump').dynamic_active_secrets.find((x: J) => x.name === 'default');
    expect(s.secret.tls_certificate.private_key.inline_bytes).toBe(Buffer.from('[redacted]').toString('base64'));
  });

  test('strict parse as envoy.admin.v3.ConfigDump: no unknown fields, protojson accepts it', () => {
    const t = lookupType('envoy.admin.v3.ConfigDump');
    expect(findUnknownFields(t, ours)).toEqual([]);
    expect(() => protojson.fromJson(t, ours)).not.toThrow();
  });
});

describe('config_dump query parameters', () => {
  test('mask as istioctl sends for clusters keeps only the Clusters section', () => {
    const r = get('mask=dynamic_active_clusters,dynamic_warming_clusters,static_clusters');
    expect(r.status).toBe(200);
    expect(r.json.configs).toHaveLength(1);
    expect(Object.keys(r.json.configs[0])).toEqual(['@type', 'static_clusters', 'dynamic_active_clusters']);
  });

  test('mask=bootstrap.node.id trims inside the bootstrap', () => {
    const r = get('mask=bootstrap.node.id');
    expect(r.json.configs).toEqual([{ '@type': `${TYPE_URL_PREFIX}envoy.admin.v3.BootstrapConfigDump`, bootstrap: { node: { id: 'sidecar~10.244.1.4~frontend-694f65c7d-g7hz4.demo~demo.svc.cluster.local' } } }]);
  });

  test('mask fitting no section -> 400 with Envoy text', () => {
    const r = get('mask=nope');
    expect(r.status).toBe(400);
    expect(r.body).toBe('FieldMask nope could not be successfully applied to any configs.');
  });

  test('resource= lists entries with their own @type, mask reaches into the Any', () => {
    const r = get('resource=dynamic_active_clusters&mask=cluster.name');
    expect(r.status).toBe(200);
    expect(r.json.configs).toHaveLength(17);
    expect(r.json.configs[0]).toEqual({ '@type': `${TYPE_URL_PREFIX}envoy.admin.v3.ClustersConfigDump.DynamicCluster`, cluster: { '@type': `${TYPE_URL_PREFIX}envoy.config.cluster.v3.Cluster`, name: 'BlackHoleCluster' } });
  });

  test('resource errors: unknown 404, singular 400, bad mask 400', () => {
    expect(get('resource=foo')).toMatchObject({ status: 404, body: 'foo not found in config dump' });
    expect(get('resource=version_info')).toMatchObject({ status: 400, body: 'version_info is not a repeated field. Use ?mask=version_info to get only this field' });
    expect(get('resource=static_clusters&mask=cluster.bogus').status).toBe(400);
  });

  test('name_regex full-matches names across sections; bad regex is 400', () => {
    const r = get('resource=dynamic_listeners&name_regex=virtual.*');
    expect(r.json.configs.map((c: J) => c.name)).toEqual(['virtualOutbound', 'virtualInbound']);
    const all = get('name_regex=outbound\\|8080.*');
    expect(sectionOf(all.json, 'ClustersConfigDump').dynamic_active_clusters).toHaveLength(3);
    expect(sectionOf(all.json, 'ListenersConfigDump').dynamic_listeners).toBeUndefined();
    const bad = get('name_regex=(');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatch(/^INVALID_ARGUMENT: Error while parsing name_regex from \(/);
  });

  test('include_eds adds EndpointsConfigDump last, static ones from clusters load_assignment', () => {
    const r = get('include_eds');
    const types = r.json.configs.map((c: J) => c['@type']);
    expect(types[types.length - 1]).toBe(`${TYPE_URL_PREFIX}envoy.admin.v3.EndpointsConfigDump`);
    const eds = sectionOf(r.json, 'EndpointsConfigDump');
    expect(eds.static_endpoint_configs.map((e: J) => e.endpoint_config.cluster_name).sort()).toEqual(['BlackHoleCluster', 'InboundPassthroughCluster', 'PassthroughCluster', 'agent', 'inbound|8080||', 'prometheus_stats', 'sds-grpc', 'xds-grpc'].filter((n) => JSON.stringify(sectionOf(dump, 'ClustersConfigDump')).includes(`"cluster_name":"${n}"`)).sort());
  });

  test('no source: still a non-empty dump that names every section', () => {
    const r = get('', undefined);
    expect(r.status).toBe(200);
    expect(r.json.configs.length).toBeGreaterThanOrEqual(6);
    expect(r.json.configs.every((c: J) => typeof c['@type'] === 'string')).toBe(true);
  });
});

describe('warming, error_state, rejected-only resources', () => {
  const listener = encodeResource({ '@type': `${TYPE_URL_PREFIX}envoy.config.listener.v3.Listener`, name: 'l1', address: { socket_address: { address: '127.0.0.1', port_value: 1 } } });
  const cluster = encodeResource({ '@type': `${TYPE_URL_PREFIX}envoy.config.cluster.v3.Cluster`, name: 'c1', type: 'EDS' });
  const res: Record<XdsKind, DumpedResource[]> = {
    lds: [{ name: 'l1', typeUrl: listener.typeUrl, raw: listener.raw, versionInfo: 'v2', lastUpdatedMs: 1_700_000_000_000, state: 'WARMING', errorState: { lastUpdateAttemptMs: 1_700_000_001_500, details: 'bad thing', versionInfo: 'v3', failedConfigurationRaw: listener.raw } }],
    cds: [{ name: 'c1', typeUrl: cluster.typeUrl, raw: cluster.raw, versionInfo: 'v1', lastUpdatedMs: 1_700_000_000_000, state: 'WARMING' }],
    rds: [],
    eds: [],
    sds: [],
  };
  const s: ConfigDumpSource = {
    bootstrap: () => ({ message: {}, loadedAtMs: 0 }),
    resources: (k) => res[k],
    versionInfo: (k) => (k === 'lds' ? 'v2' : ''),
    rejected: (k) => (k === 'lds' ? [{ name: 'l2', errorState: { lastUpdateAttemptMs: 1_700_000_002_000, details: 'no such thing', versionInfo: 'v3' } }] : []),
  };
  const r = get('', s).json;

  test('warming listener with error_state, rejected listener with only error_state', () => {
    expect(sectionOf(r, 'ListenersConfigDump').dynamic_listeners).toEqual([
      {
        name: 'l1',
        warming_state: { version_info: 'v2', listener: { '@type': listener.typeUrl, name: 'l1', address: { socket_address: { address: '127.0.0.1', port_value: 1 } } }, last_updated: '2023-11-14T22:13:20Z' },
        error_state: { failed_configuration: { '@type': listener.typeUrl, name: 'l1', address: { socket_address: { address: '127.0.0.1', port_value: 1 } } }, last_update_attempt: '2023-11-14T22:13:21.500Z', details: 'bad thing', version_info: 'v3' },
      },
      { name: 'l2', error_state: { last_update_attempt: '2023-11-14T22:13:22Z', details: 'no such thing', version_info: 'v3' } },
    ]);
  });

  test('warming cluster under dynamic_warming_clusters', () => {
    const c = sectionOf(r, 'ClustersConfigDump');
    expect(c.dynamic_warming_clusters[0].cluster).toEqual({ '@type': cluster.typeUrl, name: 'c1', type: 'EDS' });
    expect(c.dynamic_active_clusters).toBeUndefined();
  });
});
