// A fake pilot-agent SDS server for tests: FakeAdsServer serving SecretDiscoveryService
// (StreamSecrets, SotW) on its own Unix socket, holding Istio-shaped secrets — `default` as a
// tls_certificate with inline PEM bytes, `ROOTCA` as a validation_context with trusted_ca inline
// bytes (contract 5.2) — and pushing a secret again on rotation. Test-only.
import { lookupType } from '../../src/gen/proto-root';
import { SECRET_TYPE_URL } from '../../src/xds/type-urls';
import { FakeAdsServer, type RecordedRequest } from './fake-ads-server';

const SECRET = 'envoy.extensions.transport_sockets.tls.v3.Secret';

/** Secret bytes as pilot-agent sends them. */
export function certificateSecret(name: string, certPem: string, keyPem: string): Uint8Array {
  const t = lookupType(SECRET);
  return t.encode(t.fromObject({ name, tlsCertificate: { certificateChain: { inlineBytes: Buffer.from(certPem) }, privateKey: { inlineBytes: Buffer.from(keyPem) } } })).finish();
}

export function rootSecret(name: string, caPem: string): Uint8Array {
  const t = lookupType(SECRET);
  return t.encode(t.fromObject({ name, validationContext: { trustedCa: { inlineBytes: Buffer.from(caPem) } } })).finish();
}

export class FakeSdsServer {
  private version = 0;

  private constructor(readonly ads: FakeAdsServer) {}

  static async start(): Promise<FakeSdsServer> {
    return new FakeSdsServer(await FakeAdsServer.start({ services: ['sds'] }));
  }

  /** The socket path (for the bootstrap's sds-grpc pipe). */
  get socketPath(): string {
    return this.ads.target.replace(/^unix:\/\//, '');
  }

  get requests(): RecordedRequest[] {
    return this.ads.requests;
  }

  /**
   * Sets (or rotates) `default`-style and `ROOTCA`-style secrets and pushes them to streams
   * watching them; returns the response version (pilot-agent: a time plus a counter).
   */
  set(secrets: { name: string; cert?: { certPem: string; keyPem: string }; caPem?: string }[], push = true): string {
    const version = `${new Date().toISOString()}/${++this.version}`;
    const resources = secrets.map((s) => ({ name: s.name, value: s.cert ? certificateSecret(s.name, s.cert.certPem, s.cert.keyPem) : rootSecret(s.name, s.caPem!) }));
    this.ads.upsertResources(SECRET_TYPE_URL, resources, version);
    if (push) this.ads.push(SECRET_TYPE_URL, { names: secrets.map((s) => s.name) });
    return version;
  }

  /** Resolves when a stream ACKed the response of `version` (from request index `from`). */
  waitForAck(version: string, timeoutMs = 5000, from = 0): Promise<RecordedRequest> {
    return this.ads.waitForRequest((r) => r.typeUrl === SECRET_TYPE_URL && String(r.request.responseNonce).startsWith(`${version}/`) && !r.request.errorDetail, timeoutMs, from);
  }

  stop(): Promise<void> {
    return this.ads.stop();
  }
}

// ---- Istio-shaped config naming the fake's secrets (protojson, for bootstraps and fake ADS) ----

const T = 'type.googleapis.com/';

/** SdsSecretConfig.sds_config exactly as istiod writes it for `default` and `ROOTCA`. */
export const ISTIO_SDS_CONFIG = {
  api_config_source: { api_type: 'GRPC', set_node_on_first_message_only: true, transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'sds-grpc' } }] },
  initial_fetch_timeout: '0s',
  resource_api_version: 'V3',
};

function istioCommonTlsContext(alpn: string[], sanExact: string[] | undefined): object {
  return {
    tls_params: { tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_3' },
    alpn_protocols: alpn,
    tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: ISTIO_SDS_CONFIG }],
    combined_validation_context: {
      default_validation_context: sanExact ? { match_subject_alt_names: sanExact.map((exact) => ({ exact })) } : {},
      validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: ISTIO_SDS_CONFIG },
    },
  };
}

/** Inbound mTLS transport socket (contract 5.3) with an optional exact SAN matcher on clients. */
export function istioDownstreamTls(clientSans?: string[]): object {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: { '@type': `${T}envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext`, require_client_certificate: true, common_tls_context: istioCommonTlsContext(['istio-peer-exchange', 'h2', 'http/1.1'], clientSans) },
  };
}

/**
 * Outbound ISTIO_MUTUAL transport socket (contract 5.3): SNI and the server's SPIFFE SAN.
 * `maxSessionKeys` sets max_session_keys (Envoy's default, 1, when absent; 0 = no resumption).
 */
export function istioUpstreamTls(sni: string, serverSans: string[], maxSessionKeys?: number): object {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': `${T}envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext`,
      sni,
      common_tls_context: istioCommonTlsContext(['istio-peer-exchange', 'istio'], serverSans),
      ...(maxSessionKeys !== undefined ? { max_session_keys: maxSessionKeys } : {}),
    },
  };
}

/** A pipe cluster as pilot-agent's bootstrap has them (xds-grpc, sds-grpc: HTTP/2 over a UDS). */
export function pipeCluster(name: string, path: string): object {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': `${T}envoy.extensions.upstreams.http.v3.HttpProtocolOptions`, explicit_http_config: { http2_protocol_options: {} } },
    },
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { pipe: { path } } } }] }] },
  };
}

/** A sidecar bootstrap: LDS/CDS over SotW ADS on xds-grpc, secrets over sds-grpc, admin on port 0. */
export function sidecarBootstrap(nodeId: string, adsSocket: string, sdsSocket: string): object {
  return {
    node: { id: nodeId, cluster: nodeId.split('~')[2] ?? 'test' },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
    dynamic_resources: {
      lds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' },
      cds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' },
      ads_config: { api_type: 'GRPC', set_node_on_first_message_only: true, transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }] },
    },
    static_resources: { clusters: [pipeCluster('xds-grpc', adsSocket), pipeCluster('sds-grpc', sdsSocket)] },
  };
}
