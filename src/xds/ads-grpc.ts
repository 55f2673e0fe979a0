// gRPC plumbing for envoy.service.discovery.v3.AggregatedDiscoveryService and for the per-type
// discovery services an api_config_source streams from (Listener/Cluster/Route/Endpoint/
// SecretDiscoveryService; pilot-agent's SDS on the sds-grpc socket is one; same
// DiscoveryRequest/DiscoveryResponse messages, other method paths), built straight from our
// protobufjs root (build/proto-root.json) instead of @grpc/proto-loader, so requests and
// responses are protobufjs messages of the same root the translators use. Used by AdsClient on
// the control side and by the test fake control plane.
import * as grpc from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import { lookupType } from '../gen/proto-root';

export const ADS_SERVICE_NAME = 'envoy.service.discovery.v3.AggregatedDiscoveryService';
export const SOTW_METHOD_PATH = `/${ADS_SERVICE_NAME}/StreamAggregatedResources`;
export const DELTA_METHOD_PATH = `/${ADS_SERVICE_NAME}/DeltaAggregatedResources`;
export const SDS_SERVICE_NAME = 'envoy.service.secret.v3.SecretDiscoveryService';
export const SDS_SOTW_METHOD_PATH = `/${SDS_SERVICE_NAME}/StreamSecrets`;
export const SDS_DELTA_METHOD_PATH = `/${SDS_SERVICE_NAME}/DeltaSecrets`;

/**
 * Which discovery service a stream speaks: the aggregated one (every type on one stream) or a
 * single-type service. Envoy opens the per-type service when a config source is an
 * api_config_source rather than `ads {}` (Istio's sds-grpc for SDS; any type in general).
 */
export type XdsService = 'ads' | 'lds' | 'cds' | 'rds' | 'eds' | 'sds';

interface MethodPaths {
  readonly sotw: string;
  readonly delta: string;
  readonly sotwName: string;
  readonly deltaName: string;
}

function methods(service: string, noun: string): MethodPaths {
  return { sotw: `/${service}/Stream${noun}`, delta: `/${service}/Delta${noun}`, sotwName: `Stream${noun}`, deltaName: `Delta${noun}` };
}

const METHOD_PATHS: Readonly<Record<XdsService, MethodPaths>> = {
  ads: methods(ADS_SERVICE_NAME, 'AggregatedResources'),
  lds: methods('envoy.service.listener.v3.ListenerDiscoveryService', 'Listeners'),
  cds: methods('envoy.service.cluster.v3.ClusterDiscoveryService', 'Clusters'),
  rds: methods('envoy.service.route.v3.RouteDiscoveryService', 'Routes'),
  eds: methods('envoy.service.endpoint.v3.EndpointDiscoveryService', 'Endpoints'),
  sds: methods(SDS_SERVICE_NAME, 'Secrets'),
};

/** The method names of a service's SotW and delta streams (for a server's handlers). */
export function serviceMethodNames(service: XdsService): { readonly sotw: string; readonly delta: string } {
  return { sotw: METHOD_PATHS[service].sotwName, delta: METHOD_PATHS[service].deltaName };
}

/**
 * istiod (through pilot-agent) can answer with whole-mesh CDS/EDS far above gRPC's default
 * 4 MiB receive limit (contract 3.1: the agent itself accepts up to MaxInt32), so lift it.
 */
export const ADS_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': -1,
  'grpc.max_send_message_length': -1,
  // HTTP/2 receive window: Envoy's gRPC client defaults to 256 MiB stream and connection windows
  // (Http2ProtocolOptions initial_*_window_size); with HTTP/2's 64 KiB a 5 MiB CDS response
  // needs ~80 WINDOW_UPDATE round trips, and an EDS update queued behind it waits for them.
  'grpc-node.flow_control_window': 64 * 1024 * 1024,
};

export interface AdsMessageTypes {
  readonly request: protobuf.Type;
  readonly response: protobuf.Type;
  readonly deltaRequest: protobuf.Type;
  readonly deltaResponse: protobuf.Type;
  readonly node: protobuf.Type;
  readonly resource: protobuf.Type;
}

let types: AdsMessageTypes | undefined;

/** The discovery message types, looked up once. */
export function adsMessageTypes(): AdsMessageTypes {
  if (!types) {
    types = {
      request: lookupType('envoy.service.discovery.v3.DiscoveryRequest'),
      response: lookupType('envoy.service.discovery.v3.DiscoveryResponse'),
      deltaRequest: lookupType('envoy.service.discovery.v3.DeltaDiscoveryRequest'),
      deltaResponse: lookupType('envoy.service.discovery.v3.DeltaDiscoveryResponse'),
      node: lookupType('envoy.config.core.v3.Node'),
      resource: lookupType('envoy.service.discovery.v3.Resource'),
    };
  }
  return types;
}

function serializer(type: protobuf.Type): (value: object) => Buffer {
  return (value) => {
    const bytes = type.encode(value).finish();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

function deserializer(type: protobuf.Type): (bytes: Buffer) => protobuf.Message {
  return (bytes) => type.decode(bytes);
}

export interface AdsMethodCodecs {
  readonly path: string;
  readonly serializeRequest: (value: object) => Buffer;
  readonly deserializeRequest: (bytes: Buffer) => protobuf.Message;
  readonly serializeResponse: (value: object) => Buffer;
  readonly deserializeResponse: (bytes: Buffer) => protobuf.Message;
}

/** Codecs for one of a service's two streaming methods (SotW or delta). */
export function adsMethod(delta: boolean, service: XdsService = 'ads'): AdsMethodCodecs {
  const t = adsMessageTypes();
  const req = delta ? t.deltaRequest : t.request;
  const res = delta ? t.deltaResponse : t.response;
  return {
    path: delta ? METHOD_PATHS[service].delta : METHOD_PATHS[service].sotw,
    serializeRequest: serializer(req),
    deserializeRequest: deserializer(req),
    serializeResponse: serializer(res),
    deserializeResponse: deserializer(res),
  };
}

/**
 * Service definition for grpc.Server.addService (the fake control plane in tests): ADS's
 * StreamAggregatedResources/DeltaAggregatedResources, or a per-type service's pair (SDS's
 * StreamSecrets/DeltaSecrets, CDS's StreamClusters/DeltaClusters, ...).
 */
export function adsServiceDefinition(service: XdsService = 'ads'): grpc.ServiceDefinition {
  const def: Record<string, grpc.MethodDefinition<object, object>> = {};
  const paths = METHOD_PATHS[service];
  for (const [name, delta] of [
    [paths.sotwName, false],
    [paths.deltaName, true],
  ] as const) {
    const m = adsMethod(delta, service);
    def[name] = {
      path: m.path,
      requestStream: true,
      responseStream: true,
      requestSerialize: m.serializeRequest,
      requestDeserialize: m.deserializeRequest,
      responseSerialize: m.serializeResponse,
      responseDeserialize: m.deserializeResponse,
      originalName: name,
    } as grpc.MethodDefinition<object, object>;
  }
  return def as grpc.ServiceDefinition;
}

/**
 * A channel to the management server. Targets: `unix:///abs/path` (pilot-agent's UDS),
 * `unix:relative/path`, or `host:port`; plaintext unless TLS credentials are given (with
 * `options` such as grpc.ssl_target_name_override for SNI).
 */
export function createAdsChannelClient(target: string, credentials?: grpc.ChannelCredentials, options?: grpc.ChannelOptions): grpc.Client {
  return new grpc.Client(target, credentials ?? grpc.credentials.createInsecure(), { ...ADS_CHANNEL_OPTIONS, ...options });
}
