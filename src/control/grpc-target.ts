// Where an xDS gRPC stream connects, and how: the bootstrap names a static cluster (envoy_grpc
// cluster_name, Istio's xds-grpc and sds-grpc) or a google_grpc target, and the control side
// dials that cluster's single endpoint directly (a Unix pipe for pilot-agent, or a socket
// address). When the cluster has a TLS transport socket (UpstreamTlsContext), the channel speaks
// TLS with its material: client certificate (mTLS), trusted CA, SAN matchers and SNI, as Envoy's
// gRPC client does through the cluster's transport socket. Certificates come inline, from files
// (read at translate time) or from SDS secrets that are static or file-based (path config
// source); an SDS secret that itself comes over xDS cannot secure the xDS stream. Used for the
// ADS stream and every api_config_source stream (api-source-streams.ts); the data path's cluster
// manager is not involved, as the control side never runs on a worker.
import { createHash } from 'node:crypto';
import { resolve as resolvePath } from 'node:path';
import * as tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { ErrorSink } from '../common/result';
import type { BootstrapConfig } from '../config/model/bootstrap';
import type { ClusterConfig } from '../config/model/cluster';
import type { GrpcServiceTarget } from '../config/model/config-source';
import type { SecretConfig } from '../config/model/secret';
import type { UpstreamTlsContextConfig } from '../config/model/tls';
import { translateSecret } from '../config/translate/secret';
import { compileSanMatchers, parseSubjectAltNames } from '../engine/tls/san-matcher';
import type { AdsClientOptions } from '../xds/ads-client';
import { SECRET_TYPE_URL } from '../xds/type-urls';
import { FileSource } from './file-source';

/** A dialable xDS server: target string plus TLS credentials and options when the cluster has TLS. */
export interface GrpcTarget {
  readonly target: string;
  /** Set for a TLS cluster; plaintext otherwise. */
  readonly credentials?: grpc.ChannelCredentials;
  /** Channel options TLS needs (SNI through grpc.ssl_target_name_override). */
  readonly channelOptions?: grpc.ChannelOptions;
  /** Identity of the TLS material, to notice rotation. */
  readonly credentialsKey?: string;
  readonly warnings: string[];
}

/**
 * AdsClient options for a resolved service: its credentials, and a refresher that re-reads the
 * TLS material (file SDS secrets, rotated by the agent or a mounted volume) before each
 * reconnect, so a new connection presents the current certificate.
 */
export function channelClientOptions(bootstrap: BootstrapConfig, t: GrpcServiceTarget, what: string, resolved: GrpcTarget): Pick<AdsClientOptions, 'credentials' | 'channelOptions' | 'credentialsKey' | 'refreshCredentials'> {
  if (!resolved.credentials) return {};
  return {
    credentials: resolved.credentials,
    ...(resolved.channelOptions ? { channelOptions: resolved.channelOptions } : {}),
    ...(resolved.credentialsKey ? { credentialsKey: resolved.credentialsKey } : {}),
    refreshCredentials: () => {
      const r = resolveGrpcService(bootstrap, t, what);
      // A failed re-read (a file mid-rotation) keeps the current channel.
      if ('error' in r || !r.credentials || !r.credentialsKey) return undefined;
      return { credentials: r.credentials, ...(r.channelOptions ? { channelOptions: r.channelOptions } : {}), key: r.credentialsKey };
    },
  };
}

export type GrpcTargetResult = GrpcTarget | { readonly error: string };

/** A grpc_services entry: google_grpc targets are dialled as given; envoy_grpc via the cluster. */
export function resolveGrpcService(bootstrap: BootstrapConfig, t: GrpcServiceTarget, what: string): GrpcTargetResult {
  if (t.kind === 'google_grpc') return { target: t.targetUri, warnings: [] };
  return resolveClusterTarget(bootstrap, t.clusterName, what);
}

/**
 * The gRPC target (`unix:///abs/path` or `host:port`) of a static cluster with exactly one
 * pipe or socket endpoint, with TLS credentials when it has a TLS transport socket. `what`
 * prefixes messages (e.g. `ads_config`, `sds 'default'`).
 */
export function resolveClusterTarget(bootstrap: BootstrapConfig, clusterName: string, what: string): GrpcTargetResult {
  const cluster = bootstrap.staticClusters.find((c) => c.name === clusterName);
  if (!cluster) return { error: `${what}: unknown static cluster '${clusterName}'` };
  const endpoints = (cluster.loadAssignment?.localities ?? []).flatMap((l) => l.endpoints);
  if (endpoints.length !== 1) return { error: `${what}: cluster '${clusterName}' must have exactly one endpoint (has ${endpoints.length})` };
  const a = endpoints[0]!.address;
  let target: string;
  switch (a.kind) {
    case 'pipe':
      // Istio's bootstrap names pipes relative to the working directory (./etc/istio/proxy/XDS,
      // ./var/run/secrets/workload-spiffe-uds/socket).
      target = `unix://${resolvePath(a.path)}`;
      break;
    case 'socket':
      target = a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
      break;
    default:
      return { error: `${what}: cluster '${clusterName}' endpoint must be a pipe or a socket address` };
  }
  const ts = cluster.transportSocket;
  if (!ts || ts.name.endsWith('raw_buffer') || ts.typeUrl.endsWith('RawBuffer')) return { target, warnings: [] };
  const creds = tlsCredentials(bootstrap, cluster, what);
  return 'error' in creds ? creds : { target, ...creds };
}

/** Secrets an xDS channel's TLS context may use: static ones, and SDS files read now. */
function channelSecrets(bootstrap: BootstrapConfig, cfg: UpstreamTlsContextConfig, what: string): Map<string, SecretConfig> | { error: string } {
  const secrets = new Map<string, SecretConfig>(bootstrap.staticSecrets.map((s) => [s.name, s]));
  for (const src of cfg.sdsSources) {
    if (secrets.has(src.name) && src.source !== 'path') continue;
    if (src.source !== 'path' || !src.clusterNames[0]) {
      return { error: `${what}: TLS secret '${src.name}' comes over ${src.source === 'path' ? 'an unknown source' : `${src.source} SDS`}; an xDS channel can use only inline, file or static and file-based SDS secrets` };
    }
    const file = src.clusterNames[0];
    let found: SecretConfig | undefined;
    const reasons: string[] = [];
    const fs = new FileSource(file, SECRET_TYPE_URL, false, (u) => {
      for (const r of u.resources) {
        if (r.name !== src.name) continue;
        const sink = ErrorSink.create();
        found = translateSecret(r.message, sink);
        reasons.push(...sink.errors.map((e) => `${e.path}: ${e.reason}`));
      }
      return { errors: [] };
    }, { info() {}, warn() {} });
    const loaded = fs.load();
    if (!found) return { error: `${what}: TLS secret '${src.name}' not loaded from ${file}${[...loaded.errors.map((e) => e.reason), ...reasons].map((r) => `: ${r}`).join('')}` };
    secrets.set(src.name, found);
  }
  return secrets;
}

function tlsCredentials(bootstrap: BootstrapConfig, cluster: ClusterConfig, what: string): Omit<GrpcTarget, 'target'> | { error: string } {
  const cfg = cluster.transportSocket!.config as UpstreamTlsContextConfig | undefined;
  if (!cfg || cfg.kind !== 'upstream') return { error: `${what}: cluster '${cluster.name}' transport socket is not an UpstreamTlsContext` };
  const secrets = channelSecrets(bootstrap, cfg, what);
  if ('error' in secrets) return secrets;
  const c = cfg.common;
  const certs = [...c.tlsCertificates];
  for (const name of c.tlsCertificateSdsNames) {
    const s = secrets.get(name);
    if (s?.kind !== 'tls_certificate') return { error: `${what}: secret '${name}' (tls_certificate) is not available` };
    certs.push(s.tlsCertificate);
  }
  let ca: string | undefined;
  let acceptUntrusted = false;
  const sanMatchers = [...(c.validation?.sanMatchers ?? [])];
  if (c.validation?.sdsName) {
    const s = secrets.get(c.validation.sdsName);
    if (s?.kind !== 'validation_context') return { error: `${what}: secret '${c.validation.sdsName}' (validation_context) is not available` };
    ca = s.validationContext.trustedCaPem;
    sanMatchers.push(...s.validationContext.matchSubjectAltNames);
    acceptUntrusted = !!s.validationContext.acceptUntrusted || c.validation.acceptUntrusted;
  } else if (c.validation?.inline) {
    ca = c.validation.inline.trustedCaPem;
    acceptUntrusted = c.validation.acceptUntrusted;
  }
  const warnings: string[] = [];
  if (certs.length > 1) warnings.push(`${what}: cluster '${cluster.name}' has several client certificates; the first is used`);
  let secureContext: tls.SecureContext;
  try {
    secureContext = tls.createSecureContext({
      ...(ca ? { ca } : {}),
      ...(certs[0] ? { cert: certs[0].certificateChainPem, key: certs[0].privateKeyPem } : {}),
      ...(c.tlsParams.minVersion ? { minVersion: c.tlsParams.minVersion } : {}),
      ...(c.tlsParams.maxVersion ? { maxVersion: c.tlsParams.maxVersion } : {}),
    });
  } catch (err) {
    return { error: `${what}: cluster '${cluster.name}' TLS material is unusable: ${(err as Error).message}` };
  }
  // Envoy verifies the chain only against a configured trusted CA, never the host name; the SAN
  // matchers are the identity check (a mismatch fails the handshake, so the stream retries).
  const sanCheck = compileSanMatchers(sanMatchers);
  const verify = !!ca && !acceptUntrusted;
  if (!verify && sanMatchers.length > 0) warnings.push(`${what}: cluster '${cluster.name}' has SAN matchers without a trusted CA; the server certificate is not verified`);
  const credentials = grpc.credentials.createFromSecureContext(secureContext, {
    rejectUnauthorized: verify,
    checkServerIdentity: (_host, cert) => {
      if (!sanCheck || sanCheck(parseSubjectAltNames(cert.subjectaltname))) return undefined;
      return new Error(`xDS server certificate SANs (${cert.subjectaltname ?? 'none'}) match none of cluster '${cluster.name}' SAN matchers`);
    },
  });
  const credentialsKey = createHash('sha256')
    .update(JSON.stringify([certs[0]?.certificateChainPem, certs[0]?.privateKeyPem, ca, sanMatchers, acceptUntrusted, cfg.sni, c.tlsParams]))
    .digest('hex');
  return { credentials, credentialsKey, ...(cfg.sni ? { channelOptions: { 'grpc.ssl_target_name_override': cfg.sni } } : {}), warnings };
}
