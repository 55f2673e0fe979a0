// xDS resource type URLs the ADS client knows by name, and the per-type facts the protocol
// needs: whether a type is wildcard (LDS/CDS: full state, absence means delete) and which field
// of the decoded message carries the resource name. Used by the decoder and the per-type
// subscription state in xds/; nothing here touches the wire.

export const LISTENER_TYPE_URL = 'type.googleapis.com/envoy.config.listener.v3.Listener';
export const ROUTE_TYPE_URL = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
export const CLUSTER_TYPE_URL = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
export const ENDPOINT_TYPE_URL = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
export const SECRET_TYPE_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';
export const EXTENSION_CONFIG_TYPE_URL = 'type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig';
export const SCOPED_ROUTE_TYPE_URL = 'type.googleapis.com/envoy.config.route.v3.ScopedRouteConfiguration';
export const VIRTUAL_HOST_TYPE_URL = 'type.googleapis.com/envoy.config.route.v3.VirtualHost';
/** SotW responses may wrap each resource in this (Envoy accepts it for TTLs and heartbeats). */
export const RESOURCE_WRAPPER_TYPE_URL = 'type.googleapis.com/envoy.service.discovery.v3.Resource';

/**
 * Types whose SotW responses carry the full set (xds_protocol "Resource types ... LDS and CDS
 * are state-of-the-world for the whole type"): a subscription to them is wildcard by default
 * and a resource missing from a response is deleted. RDS, EDS, SDS and ECDS are named.
 */
export const WILDCARD_TYPE_URLS: ReadonlySet<string> = new Set([LISTENER_TYPE_URL, CLUSTER_TYPE_URL]);

export function isWildcardType(typeUrl: string): boolean {
  return WILDCARD_TYPE_URLS.has(typeUrl);
}

const SHORT_NAMES: ReadonlyMap<string, string> = new Map([
  [LISTENER_TYPE_URL, 'lds'],
  [ROUTE_TYPE_URL, 'rds'],
  [CLUSTER_TYPE_URL, 'cds'],
  [ENDPOINT_TYPE_URL, 'eds'],
  [SECRET_TYPE_URL, 'sds'],
  [EXTENSION_CONFIG_TYPE_URL, 'ecds'],
  [SCOPED_ROUTE_TYPE_URL, 'srds'],
  [VIRTUAL_HOST_TYPE_URL, 'vhds'],
]);

/** Short name for logs ("lds", "cds"...); the message name for types we do not name. */
export function shortTypeName(typeUrl: string): string {
  const s = SHORT_NAMES.get(typeUrl);
  if (s) return s;
  const slash = typeUrl.lastIndexOf('/');
  return slash >= 0 ? typeUrl.slice(slash + 1) : typeUrl;
}

/** Field (protobufjs lowerCamelCase) holding the resource name; `name` unless listed. */
const NAME_FIELDS: ReadonlyMap<string, string> = new Map([[ENDPOINT_TYPE_URL, 'clusterName']]);

export function nameFieldFor(typeUrl: string): string {
  return NAME_FIELDS.get(typeUrl) ?? 'name';
}
