// envoy.config.core.v3.ConfigSource -> our config-source model, with Envoy's checks on an
// api_config_source (config/utility.cc checkApiConfigSourceNames, checkTransportVersion): a gRPC
// api_type needs exactly one grpc_service and no cluster_names, and the transport must be V3 (v2
// and AUTO are gone). REST and the AGGREGATED_* types are not supported for a per-type source.
// Used for the bootstrap's lds/cds_config, an HCM's rds.config_source and eds_config.
import type { ErrorSink } from '../../common/result';
import type { ApiConfigSourceConfig, GrpcServiceTarget, XdsSourceRef } from '../model/config-source';
import type { Msg } from './proto-util';

const API_TYPES = ['DEPRECATED_AND_UNAVAILABLE_DO_NOT_USE', 'REST', 'GRPC', 'DELTA_GRPC', 'AGGREGATED_GRPC', 'AGGREGATED_DELTA_GRPC'];
const API_VERSIONS = ['AUTO', 'V2', 'V3'];

function enumName(v: unknown, names: readonly string[]): string {
  return typeof v === 'number' ? (names[v] ?? String(v)) : String(v ?? names[0]);
}

/** One grpc_services entry, or an error at `path`. */
export function translateGrpcService(g: Msg, errors: ErrorSink, path: string): GrpcServiceTarget | undefined {
  if (g.envoyGrpc) {
    const clusterName = String(g.envoyGrpc.clusterName ?? '');
    if (!clusterName) errors.add(`${path}.envoy_grpc.cluster_name`, 'must not be empty');
    return clusterName ? { kind: 'envoy_grpc', clusterName } : undefined;
  }
  if (g.googleGrpc) {
    const targetUri = String(g.googleGrpc.targetUri ?? '');
    if (!targetUri) errors.add(`${path}.google_grpc.target_uri`, 'must not be empty');
    return targetUri ? { kind: 'google_grpc', targetUri } : undefined;
  }
  errors.add(path, 'envoy_grpc or google_grpc is required');
  return undefined;
}

/** ApiConfigSource (api_type GRPC or DELTA_GRPC) -> the stream it names. */
export function translateApiConfigSource(a: Msg, errors: ErrorSink, path: string): ApiConfigSourceConfig | undefined {
  const apiType = enumName(a.apiType, API_TYPES);
  const before = errors.errors.length;
  if (apiType !== 'GRPC' && apiType !== 'DELTA_GRPC') errors.add(`${path}.api_type`, `${apiType} is not supported; use GRPC or DELTA_GRPC (or ads {})`);
  const version = enumName(a.transportApiVersion, API_VERSIONS);
  if (version !== 'V3') errors.add(`${path}.transport_api_version`, `must be V3 (the ${version} xDS transport is no longer supported)`);
  if (((a.clusterNames ?? []) as unknown[]).length > 0) errors.add(`${path}.cluster_names`, `must not be set for ${apiType}; use grpc_services`);
  const services = (a.grpcServices ?? []) as Msg[];
  if (services.length !== 1) errors.add(`${path}.grpc_services`, `${apiType} needs exactly one gRPC service (has ${services.length})`);
  const target = services.length === 1 ? translateGrpcService(services[0]!, errors, `${path}.grpc_services[0]`) : undefined;
  if (errors.errors.length > before || !target) return undefined;
  return { apiType: apiType as 'GRPC' | 'DELTA_GRPC', target, setNodeOnFirstMessageOnly: !!a.setNodeOnFirstMessageOnly };
}

/**
 * rds.config_source / eds_config: `ads {}` (and an absent source, Envoy's default for EDS) or an
 * api_config_source. `self` means the source of the resource naming it, which for ours is ADS or
 * the bootstrap's; we map it to ADS. A path source is not supported for RDS/EDS.
 */
export function translateResourceSource(msg: Msg | null | undefined, errors: ErrorSink, path: string): XdsSourceRef | undefined {
  if (!msg || msg.ads || msg.self) return { kind: 'ads' };
  if (msg.apiConfigSource) {
    const api = translateApiConfigSource(msg.apiConfigSource as Msg, errors, `${path}.api_config_source`);
    return api ? { kind: 'api', api } : undefined;
  }
  errors.add(path, 'only ads, self and api_config_source are supported here');
  return undefined;
}
