// Config sources as Envoy accepts them: api_config_source needs GRPC/DELTA_GRPC, exactly one
// grpc_service, no cluster_names and transport V3; errors carry the field path. Bootstrap
// lds/cds_config errors fail the load; an HCM's rds.config_source and a cluster's eds_config
// become the model's api sources.
import { ErrorSink } from '../../common/result';
import { lookupType } from '../../gen/proto-root';
import { BootstrapError, loadBootstrap } from '../bootstrap/load-bootstrap';
import { fromProtoJson } from '../bootstrap/proto-json';
import { apiSourceKey, parseApiSourceKey } from '../model/config-source';
import { translateResourceSource } from './config-source';

const msg = (json: object) => fromProtoJson(lookupType('envoy.config.core.v3.ConfigSource'), json);
const grpc = (extra: object = {}) => ({ api_config_source: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds-api' } }], ...extra } });

function errorsOf(json: object): string[] {
  const sink = ErrorSink.create();
  translateResourceSource(msg(json), sink, 'eds_config');
  return sink.errors.map((e) => `${e.path}: ${e.reason}`);
}

describe('translateResourceSource', () => {
  it('ads {} and self are the ADS stream; an absent source too', () => {
    const sink = ErrorSink.create();
    expect(translateResourceSource(msg({ ads: {} }), sink, 'x')).toEqual({ kind: 'ads' });
    expect(translateResourceSource(msg({ self: {} }), sink, 'x')).toEqual({ kind: 'ads' });
    expect(translateResourceSource(undefined, sink, 'x')).toEqual({ kind: 'ads' });
    expect(sink.errors).toEqual([]);
  });

  it('an api_config_source becomes its stream, keyed by type, node flag and service', () => {
    const sink = ErrorSink.create();
    const r = translateResourceSource(msg(grpc({ api_type: 'DELTA_GRPC', set_node_on_first_message_only: true })), sink, 'x');
    expect(r).toEqual({ kind: 'api', api: { apiType: 'DELTA_GRPC', setNodeOnFirstMessageOnly: true, target: { kind: 'envoy_grpc', clusterName: 'xds-api' } } });
    const key = apiSourceKey((r as { api: Parameters<typeof apiSourceKey>[0] }).api);
    expect(parseApiSourceKey(key)).toEqual((r as { api: object }).api);
    expect(key).not.toBe(apiSourceKey({ apiType: 'GRPC', setNodeOnFirstMessageOnly: true, target: { kind: 'envoy_grpc', clusterName: 'xds-api' } }));
  });

  it.each([
    [{ transport_api_version: 'AUTO' }, 'eds_config.api_config_source.transport_api_version: must be V3'],
    [{ api_type: 'REST' }, 'eds_config.api_config_source.api_type: REST is not supported'],
    [{ cluster_names: ['c'] }, 'eds_config.api_config_source.cluster_names: must not be set'],
    [{ grpc_services: [] }, 'eds_config.api_config_source.grpc_services: GRPC needs exactly one gRPC service (has 0)'],
    [{ grpc_services: [{ envoy_grpc: { cluster_name: '' } }] }, 'eds_config.api_config_source.grpc_services[0].envoy_grpc.cluster_name: must not be empty'],
  ])('rejects %j', (extra, expected) => {
    expect(errorsOf(grpc(extra)).join('\n')).toContain(expected);
  });

  it('rejects a path source for RDS/EDS', () => {
    expect(errorsOf({ path_config_source: { path: '/x' } })).toEqual(['eds_config: only ads, self and api_config_source are supported here']);
  });
});

describe('bootstrap lds_config / cds_config', () => {
  const load = (dyn: object) => loadBootstrap({ configPath: undefined, configYaml: JSON.stringify({ node: { id: 'n', cluster: 'c' }, dynamic_resources: dyn, static_resources: { clusters: [{ name: 'xds-api', type: 'STATIC', load_assignment: { cluster_name: 'xds-api', endpoints: [{ lb_endpoints: [{ endpoint: { address: { pipe: { path: '/tmp/x' } } } }] }] } }] } }), allowUnknownStaticFields: false, serviceNode: undefined, serviceCluster: undefined, serviceZone: undefined });
  const messages = (dyn: object) => {
    try {
      load(dyn);
    } catch (err) {
      return (err as BootstrapError).message;
    }
    return '';
  };

  it('an api_config_source loads into the model', () => {
    const b = load({ lds_config: grpc(), cds_config: grpc({ api_type: 'DELTA_GRPC' }) });
    expect(b.config.dynamicResources.lds).toEqual({ kind: 'api', api: { apiType: 'GRPC', setNodeOnFirstMessageOnly: false, target: { kind: 'envoy_grpc', clusterName: 'xds-api' } }, initialFetchTimeoutMs: 15000 });
    expect(b.config.dynamicResources.cds).toMatchObject({ kind: 'api', api: { apiType: 'DELTA_GRPC' } });
  });

  it('a static EDS cluster may stream from its own api_config_source, which must name a static cluster', () => {
    const boot = (cluster: string) => ({
      node: { id: 'n', cluster: 'c' },
      static_resources: { clusters: [{ name: 'xds-api', type: 'STATIC', load_assignment: { cluster_name: 'xds-api', endpoints: [] } }, { name: 'svc', type: 'EDS', eds_cluster_config: { eds_config: grpc({ grpc_services: [{ envoy_grpc: { cluster_name: cluster } }] }) } }] },
    });
    const flags = { configPath: undefined, allowUnknownStaticFields: false, serviceNode: undefined, serviceCluster: undefined, serviceZone: undefined };
    expect(loadBootstrap({ ...flags, configYaml: JSON.stringify(boot('xds-api')) }).config.staticClusters[1]!.edsApiSource).toMatchObject({ target: { clusterName: 'xds-api' } });
    expect(() => loadBootstrap({ ...flags, configYaml: JSON.stringify(boot('nope')) })).toThrow(/static_resources\.clusters\[1\]\.eds_cluster_config\.eds_config\.api_config_source\.grpc_services\[0\]\.envoy_grpc\.cluster_name: unknown static cluster 'nope'/);
  });

  it('fails the load with the field path', () => {
    expect(messages({ cds_config: grpc({ transport_api_version: 'V2' }) })).toContain('dynamic_resources.cds_config.api_config_source.transport_api_version');
    expect(messages({ lds_config: { api_config_source: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'nope' } }] } } })).toContain("dynamic_resources.lds_config.api_config_source.grpc_services[0].envoy_grpc.cluster_name: unknown static cluster 'nope'");
  });
});
