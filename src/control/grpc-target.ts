// Where an xDS gRPC stream connects: the bootstrap names a static cluster (envoy_grpc
// cluster_name, Istio's xds-grpc and sds-grpc), and the control side dials that cluster's single
// endpoint directly (a Unix pipe for pilot-agent, or a socket address). Used for the ADS stream
// (xds-controller.ts) and for api_config_source SDS streams (sds-streams.ts); the data path's
// cluster manager is not involved, as the control side never runs on a worker.
import { resolve as resolvePath } from 'node:path';
import type { BootstrapConfig } from '../config/model/bootstrap';

export type GrpcTargetResult = { readonly target: string; readonly warnings: string[] } | { readonly error: string };

/**
 * The gRPC target (`unix:///abs/path` or `host:port`) of a static cluster with exactly one
 * pipe or socket endpoint. `what` prefixes messages (e.g. `ads_config`, `sds 'default'`).
 */
export function resolveClusterTarget(bootstrap: BootstrapConfig, clusterName: string, what: string): GrpcTargetResult {
  const warnings: string[] = [];
  const cluster = bootstrap.staticClusters.find((c) => c.name === clusterName);
  if (!cluster) return { error: `${what}: unknown static cluster '${clusterName}'` };
  const endpoints = (cluster.loadAssignment?.localities ?? []).flatMap((l) => l.endpoints);
  if (endpoints.length !== 1) return { error: `${what}: cluster '${clusterName}' must have exactly one endpoint (has ${endpoints.length})` };
  if (cluster.transportSocket && !/raw_buffer/.test(cluster.transportSocket.name + cluster.transportSocket.typeUrl)) {
    warnings.push(`${what}: cluster '${clusterName}' has a transport socket; TLS towards the xDS server is not supported yet, connecting in plaintext`);
  }
  const a = endpoints[0]!.address;
  switch (a.kind) {
    case 'pipe':
      // Istio's bootstrap names pipes relative to the working directory (./etc/istio/proxy/XDS,
      // ./var/run/secrets/workload-spiffe-uds/socket).
      return { target: `unix://${resolvePath(a.path)}`, warnings };
    case 'socket':
      return { target: a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`, warnings };
    default:
      return { error: `${what}: cluster '${clusterName}' endpoint must be a pipe or a socket address` };
  }
}
