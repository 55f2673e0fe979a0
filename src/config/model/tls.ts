// TLS transport socket configuration model (from envoy.extensions.transport_sockets.tls.v3
// DownstreamTlsContext / UpstreamTlsContext and the cluster's transport_socket_matches).
// Plain data built by the parse half (extensions/transport-sockets/tls/config.ts) on the control
// side; workers turn it into SecureContexts (engine/tls). Certificates appear inline (PEM text)
// or by SDS secret name, resolved against ConnectionRuntime.secrets at connection time so a
// rotated secret is picked up by the next handshake.
import type { TransportSocketConfig } from './listener';
import type { SanMatcherConfig, TlsCertificateConfig, ValidationContextConfig } from './secret';

export type { SanMatcherConfig } from './secret';

export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

/** envoy.extensions.transport_sockets.tls.v3.TlsParameters; unset fields take Envoy's defaults in engine/tls. */
export interface TlsParamsConfig {
  readonly minVersion?: TlsVersion;
  readonly maxVersion?: TlsVersion;
  /** BoringSSL cipher names, equal-preference groups already flattened ('[A|B]' -> A, B). */
  readonly cipherSuites: readonly string[];
  readonly ecdhCurves: readonly string[];
}

/** Where the peer-validation material comes from. */
export interface ValidationConfig {
  /** Inline validation_context (trusted_ca / crl as PEM, SAN matchers). */
  readonly inline?: ValidationContextConfig;
  /** validation_context_sds_secret_config name (Istio: ROOTCA). */
  readonly sdsName?: string;
  /** combined_validation_context.default_validation_context SAN matchers (Istio: the peer's SPIFFE ids). */
  readonly sanMatchers: readonly SanMatcherConfig[];
  /** trust_chain_verification ACCEPT_UNTRUSTED: skip the chain check, keep SAN checks. */
  readonly acceptUntrusted: boolean;
}

/** envoy.extensions.transport_sockets.tls.v3.CommonTlsContext, translated. */
export interface CommonTlsContextConfig {
  /** tls_certificates (inline or file contents read at translate time). */
  readonly tlsCertificates: readonly TlsCertificateConfig[];
  /** tls_certificate_sds_secret_configs names (Istio: default). */
  readonly tlsCertificateSdsNames: readonly string[];
  readonly validation?: ValidationConfig;
  readonly alpnProtocols: readonly string[];
  readonly tlsParams: TlsParamsConfig;
}

/** Where an SDS secret named by a context comes from. */
export interface SdsSourceConfig {
  readonly name: string;
  /**
   * 'ads': over the ADS stream; 'api': its own SDS stream to `clusterNames` (Istio: sds-grpc);
   * 'path': a DiscoveryResponse file, whose path is `clusterNames[0]`.
   */
  readonly source: 'ads' | 'api' | 'path' | 'other';
  readonly clusterNames: readonly string[];
}

interface SdsNames {
  /** SDS names loaded over ADS: the store subscribes to them and warms on them (store/dependencies.ts). */
  readonly adsSecretNames: readonly string[];
  /** Every SDS name with its config source. */
  readonly sdsSources: readonly SdsSourceConfig[];
}

export interface DownstreamTlsContextConfig extends SdsNames {
  readonly kind: 'downstream';
  readonly common: CommonTlsContextConfig;
  readonly requireClientCertificate: boolean;
  readonly requireSni: boolean;
  readonly sessionTimeoutMs?: number;
  /** disable_stateless_session_resumption: no session tickets. */
  readonly disableSessionTickets: boolean;
}

export interface UpstreamTlsContextConfig extends SdsNames {
  readonly kind: 'upstream';
  readonly common: CommonTlsContextConfig;
  /** SNI to send ('' sends none, as Envoy without auto_sni). */
  readonly sni: string;
  /** max_session_keys (Envoy default 1); 0 disables client session resumption. */
  readonly maxSessionKeys: number;
}

export type TlsContextConfig = DownstreamTlsContextConfig | UpstreamTlsContextConfig;

/** One entry of Cluster.transport_socket_matches (Istio: tlsMode-istio, tlsMode-disabled). */
export interface TransportSocketMatchConfig {
  readonly name: string;
  /** Keys that must all equal the endpoint's filter_metadata["envoy.transport_socket_match"] values. */
  readonly match: Readonly<Record<string, unknown>>;
  readonly transportSocket: TransportSocketConfig;
}

/** The metadata namespace endpoint matches read (Envoy's well-known name). */
export const TRANSPORT_SOCKET_MATCH_NAMESPACE = 'envoy.transport_socket_match';
