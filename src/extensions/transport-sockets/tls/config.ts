// Parse half of envoy.transport_sockets.tls: DownstreamTlsContext (listener filter chains) and
// UpstreamTlsContext (clusters) -> TlsContextConfig. Control side only. Inline and file
// certificates are read here; SDS names (Istio: `default`, `ROOTCA` from sds-grpc) stay names and
// are resolved by workers against the snapshot's secrets, so rotation needs no new listener.
import type { ErrorSink } from '../../../common/result';
import type { CommonTlsContextConfig, DownstreamTlsContextConfig, SdsSourceConfig, TlsContextConfig, TlsParamsConfig, TlsVersion, UpstreamTlsContextConfig, ValidationConfig } from '../../../config/model/tls';
import { durationMs, wrapped, type Msg } from '../../../config/translate/proto-util';
import { translateTlsCertificate, translateValidationContext } from '../../../config/translate/secret';
import type { ExtensionParser } from '../../registry';

const T = 'type.googleapis.com/';
export const DOWNSTREAM_TLS_CONTEXT_URL = `${T}envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext`;
export const UPSTREAM_TLS_CONTEXT_URL = `${T}envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext`;

// TlsParameters.TlsProtocol: TLS_AUTO = 0, TLSv1_0 .. TLSv1_3 = 1 .. 4.
const VERSIONS: readonly (TlsVersion | undefined)[] = [undefined, 'TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];
const VERSION_NAMES: Record<string, TlsVersion | undefined> = { TLS_AUTO: undefined, TLSv1_0: 'TLSv1', TLSv1_1: 'TLSv1.1', TLSv1_2: 'TLSv1.2', TLSv1_3: 'TLSv1.3' };
const ORDER: readonly TlsVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

function version(v: unknown): TlsVersion | undefined {
  if (typeof v === 'number') return VERSIONS[v];
  if (typeof v === 'string') return VERSION_NAMES[v];
  return undefined;
}

function tlsParams(p: Msg | null | undefined, errors: ErrorSink, path: string): TlsParamsConfig {
  const minVersion = version(p?.tlsMinimumProtocolVersion);
  const maxVersion = version(p?.tlsMaximumProtocolVersion);
  if (minVersion && maxVersion && ORDER.indexOf(minVersion) > ORDER.indexOf(maxVersion)) {
    errors.add(`${path}.tls_minimum_protocol_version`, `minimum ${minVersion} is above maximum ${maxVersion}`);
  }
  // BoringSSL's "[A|B]" equal-preference groups have no OpenSSL equivalent: keep the order.
  const cipherSuites: string[] = [];
  for (const c of (p?.cipherSuites ?? []) as string[]) for (const part of String(c).replace(/[[\]]/g, '').split('|')) if (part) cipherSuites.push(part);
  const ecdhCurves = ((p?.ecdhCurves ?? []) as string[]).map(String);
  if (((p?.signatureAlgorithms ?? []) as unknown[]).length) errors.add(`${path}.signature_algorithms`, 'is not supported');
  return { ...(minVersion ? { minVersion } : {}), ...(maxVersion ? { maxVersion } : {}), cipherSuites, ecdhCurves };
}

/** Collects the SdsSecretConfigs of one context while it is parsed. */
type SdsCollector = SdsSourceConfig[];

function sdsName(cfg: Msg, errors: ErrorSink, path: string, sink?: SdsCollector): string | undefined {
  const name = String(cfg.name ?? '');
  if (!name) errors.add(`${path}.name`, 'must not be empty');
  if (name && sink) {
    const src = (cfg.sdsConfig ?? {}) as Msg;
    const api = src.apiConfigSource as Msg | undefined;
    const clusterNames: string[] = [];
    for (const g of (api?.grpcServices ?? []) as Msg[]) if (g.envoyGrpc?.clusterName) clusterNames.push(String(g.envoyGrpc.clusterName));
    const source: SdsSourceConfig['source'] = src.ads ? 'ads' : api ? 'api' : src.path || src.pathConfigSource ? 'path' : 'other';
    // A file source names its file where a stream source names its cluster.
    if (source === 'path') clusterNames.push(String(src.pathConfigSource?.path ?? src.path));
    if (!sink.some((s) => s.name === name)) sink.push({ name, source, clusterNames });
  }
  return name || undefined;
}

function validation(ctx: Msg, errors: ErrorSink, sink: SdsCollector): ValidationConfig | undefined {
  if (ctx.validationContext) {
    const inline = translateValidationContext(ctx.validationContext as Msg, errors, 'common_tls_context.validation_context');
    return inline ? { inline, sanMatchers: inline.matchSubjectAltNames, acceptUntrusted: !!inline.acceptUntrusted } : undefined;
  }
  if (ctx.validationContextSdsSecretConfig) {
    const name = sdsName(ctx.validationContextSdsSecretConfig as Msg, errors, 'common_tls_context.validation_context_sds_secret_config', sink);
    return name ? { sdsName: name, sanMatchers: [], acceptUntrusted: false } : undefined;
  }
  if (ctx.combinedValidationContext) {
    // Istio's shape: SAN matchers inline (default_validation_context), trusted CA over SDS (ROOTCA).
    const c = ctx.combinedValidationContext as Msg;
    const path = 'common_tls_context.combined_validation_context';
    const def = (c.defaultValidationContext ?? {}) as Msg;
    const inline = translateValidationContext(def, errors, `${path}.default_validation_context`);
    const name = c.validationContextSdsSecretConfig ? sdsName(c.validationContextSdsSecretConfig as Msg, errors, `${path}.validation_context_sds_secret_config`, sink) : undefined;
    if (!c.validationContextSdsSecretConfig) errors.add(`${path}.validation_context_sds_secret_config`, 'is required');
    if (!inline || !name) return undefined;
    return { ...(inline.trustedCaPem ? { inline } : {}), sdsName: name, sanMatchers: inline.matchSubjectAltNames, acceptUntrusted: !!inline.acceptUntrusted };
  }
  return undefined;
}

function commonTlsContext(ctx: Msg | null | undefined, errors: ErrorSink, sink: SdsCollector): CommonTlsContextConfig {
  const c = (ctx ?? {}) as Msg;
  const tlsCertificates = ((c.tlsCertificates ?? []) as Msg[]).flatMap((tc, i) => translateTlsCertificate(tc, errors, `common_tls_context.tls_certificates[${i}]`) ?? []);
  const tlsCertificateSdsNames = ((c.tlsCertificateSdsSecretConfigs ?? []) as Msg[]).flatMap((s, i) => sdsName(s, errors, `common_tls_context.tls_certificate_sds_secret_configs[${i}]`, sink) ?? []);
  if (c.tlsCertificateProviderInstance || c.tlsCertificateCertificateProviderInstance) errors.add('common_tls_context.tls_certificate_provider_instance', 'certificate provider instances are not supported');
  if (((c.tlsCertificates ?? []) as unknown[]).length && tlsCertificateSdsNames.length) {
    // Envoy allows only one of the two sources per context.
    errors.add('common_tls_context', 'tls_certificates and tls_certificate_sds_secret_configs are mutually exclusive');
  }
  const v = validation(c, errors, sink);
  return {
    tlsCertificates,
    tlsCertificateSdsNames,
    ...(v ? { validation: v } : {}),
    alpnProtocols: ((c.alpnProtocols ?? []) as string[]).map(String),
    tlsParams: tlsParams(c.tlsParams, errors, 'common_tls_context.tls_params'),
  };
}

function sdsFields(sink: SdsCollector): { adsSecretNames: string[]; sdsSources: SdsSourceConfig[] } {
  return { adsSecretNames: sink.filter((s) => s.source === 'ads').map((s) => s.name), sdsSources: sink };
}

function downstream(msg: Msg, errors: ErrorSink): DownstreamTlsContextConfig {
  const sink: SdsCollector = [];
  const common = commonTlsContext(msg.commonTlsContext, errors, sink);
  if (!common.tlsCertificates.length && !common.tlsCertificateSdsNames.length) {
    errors.add('common_tls_context', 'a server context needs tls_certificates or tls_certificate_sds_secret_configs');
  }
  const requireClientCertificate = !!wrapped<boolean>(msg.requireClientCertificate);
  if (requireClientCertificate && !common.validation) errors.add('require_client_certificate', 'needs a validation context to verify client certificates');
  if (msg.ocspStaplePolicy === 2 || msg.ocspStaplePolicy === 'MUST_STAPLE') errors.add('ocsp_staple_policy', 'MUST_STAPLE is not supported');
  if (msg.sessionTicketKeys || msg.sessionTicketKeysSdsSecretConfig) errors.add('session_ticket_keys', 'configured session ticket keys are not supported');
  const sessionTimeoutMs = durationMs(msg.sessionTimeout);
  return {
    kind: 'downstream',
    common,
    requireClientCertificate,
    requireSni: !!wrapped<boolean>(msg.requireSni),
    ...(sessionTimeoutMs !== undefined ? { sessionTimeoutMs } : {}),
    disableSessionTickets: !!msg.disableStatelessSessionResumption,
    ...sdsFields(sink),
  };
}

function upstream(msg: Msg, errors: ErrorSink): UpstreamTlsContextConfig {
  const sink: SdsCollector = [];
  const common = commonTlsContext(msg.commonTlsContext, errors, sink);
  const sni = String(msg.sni ?? '');
  if (sni.length > 255) errors.add('sni', 'must be at most 255 characters');
  if (msg.allowRenegotiation) errors.add('allow_renegotiation', 'TLS renegotiation is not supported');
  if (msg.autoHostSni || msg.autoSniSanValidation) errors.add('auto_host_sni', 'auto SNI from the request host is not supported');
  return { kind: 'upstream', common, sni, maxSessionKeys: wrapped<number>(msg.maxSessionKeys) ?? 1, ...sdsFields(sink) };
}

/** Parses a decoded DownstreamTlsContext or UpstreamTlsContext (told apart by the message type). */
export function parseTlsContext(msg: Msg | undefined, errors: ErrorSink): TlsContextConfig | undefined {
  if (!msg) {
    errors.add('', 'envoy.transport_sockets.tls requires a typed_config (DownstreamTlsContext or UpstreamTlsContext)');
    return undefined;
  }
  const typeName = (msg as { $type?: { fullName?: string } }).$type?.fullName ?? '';
  const isDownstream = typeName ? typeName.endsWith('.DownstreamTlsContext') : 'requireClientCertificate' in msg;
  const out = isDownstream ? downstream(msg, errors) : upstream(msg, errors);
  return errors.failed ? undefined : out;
}

export const tlsTransportSocketParser: ExtensionParser = {
  category: 'transport_socket',
  names: ['envoy.transport_sockets.tls', 'tls'],
  typeUrls: [DOWNSTREAM_TLS_CONTEXT_URL, UPSTREAM_TLS_CONTEXT_URL],
  parse: (msg, _ctx, errors) => parseTlsContext(msg, errors),
};
