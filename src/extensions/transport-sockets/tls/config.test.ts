// TLS context parse half on real Istio 1.26 sidecar config (LDS/CDS/SDS from a config dump in
// ../shared/corpus): inbound DownstreamTlsContexts, outbound transport_socket_matches with the
// tlsMode-istio UpstreamTlsContext, SDS secrets; plus field-path errors for what we refuse.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorSink } from '../../../common/result';
import { fromProtoJson } from '../../../config/bootstrap/proto-json';
import type { DownstreamTlsContextConfig, UpstreamTlsContextConfig } from '../../../config/model/tls';
import { createExtensionTranslator } from '../../../config/translate/extension';
import { translateListener } from '../../../config/translate/listener';
import { translateSecret } from '../../../config/translate/secret';
import { lookupType } from '../../../gen/proto-root';
import { builtinParsers } from '../../parsers';
import { translateTransportSocketMatches } from '../transport-socket-matches';
import { parseTlsContext } from './config';

const DIR = join(__dirname, '..', '..', '..', '..', '..', 'shared', 'corpus', 'derived', 'xds-from-dumps', 'istio-1.26.2-sidecar-frontend');
const load = (f: string) => JSON.parse(readFileSync(join(DIR, f), 'utf8')) as { resources: Record<string, unknown>[] };
const ext = createExtensionTranslator(builtinParsers());
const T = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.';

test('Istio inbound listener: every TLS chain parses to a DownstreamTlsContext on default/ROOTCA from sds-grpc', () => {
  const vi = load('lds.json').resources.find((r) => r.name === 'virtualInbound')!;
  const errors = ErrorSink.create();
  const l = translateListener(fromProtoJson(lookupType('envoy.config.listener.v3.Listener'), vi), ext, errors);
  expect(errors.errors).toEqual([]);
  const tlsChains = l!.filterChains.filter((c) => c.transportSocket?.name === 'envoy.transport_sockets.tls');
  expect(tlsChains.length).toBeGreaterThan(0);
  for (const c of tlsChains) {
    const cfg = c.transportSocket!.config as DownstreamTlsContextConfig;
    expect(cfg.kind).toBe('downstream');
    expect(cfg.requireClientCertificate).toBe(true);
    expect(cfg.common.tlsCertificateSdsNames).toEqual(['default']);
    expect(cfg.common.validation?.sdsName).toBe('ROOTCA');
    expect(cfg.common.tlsParams.minVersion).toBe('TLSv1.2');
    expect(cfg.sdsSources).toEqual([
      { name: 'default', source: 'api', clusterNames: ['sds-grpc'] },
      { name: 'ROOTCA', source: 'api', clusterNames: ['sds-grpc'] },
    ]);
    expect(cfg.adsSecretNames).toEqual([]);
  }
});

test('Istio outbound clusters: transport_socket_matches give tlsMode-istio mTLS with SNI, ALPN and SPIFFE SANs', () => {
  const clusters = load('cds.json').resources.filter((r) => r.transport_socket_matches);
  expect(clusters.length).toBeGreaterThan(0);
  for (const c of clusters) {
    const msg = fromProtoJson(lookupType('envoy.config.cluster.v3.Cluster'), c);
    const errors = ErrorSink.create();
    const m = translateTransportSocketMatches(msg.transportSocketMatches, ext, errors);
    expect(errors.errors).toEqual([]);
    expect(m.map((x) => x.name)).toEqual(['tlsMode-istio', 'tlsMode-disabled']);
    expect(m[0]!.match).toEqual({ tlsMode: 'istio' });
    const up = m[0]!.transportSocket.config as UpstreamTlsContextConfig;
    expect(up.kind).toBe('upstream');
    expect(up.sni).toMatch(/^outbound_\.\d+_\./);
    expect(up.common.alpnProtocols).toContain('istio');
    expect(up.common.validation?.sanMatchers.every((s) => s.value.startsWith('spiffe://'))).toBe(true);
  }
});

test('Istio SDS secrets translate (default: certificate chain + key; ROOTCA: trust bundle)', () => {
  for (const s of load('sds.json').resources) {
    const errors = ErrorSink.create();
    const out = translateSecret(fromProtoJson(lookupType(`${T.slice('type.googleapis.com/'.length)}Secret`), s), errors);
    expect(errors.errors).toEqual([]);
    expect(out?.kind).toBe(s.name === 'ROOTCA' ? 'validation_context' : 'tls_certificate');
  }
});

function parse(type: 'DownstreamTlsContext' | 'UpstreamTlsContext', json: object) {
  const errors = ErrorSink.create();
  const out = parseTlsContext(fromProtoJson(lookupType(`envoy.extensions.transport_sockets.tls.v3.${type}`), json), errors);
  return { out, errors: errors.errors.map((e) => `${e.path}: ${e.reason}`) };
}

test('field-path errors', () => {
  expect(parse('DownstreamTlsContext', { require_client_certificate: true, common_tls_context: {} }).errors).toEqual([
    'common_tls_context: a server context needs tls_certificates or tls_certificate_sds_secret_configs',
    'require_client_certificate: needs a validation context to verify client certificates',
  ]);
  expect(parse('UpstreamTlsContext', { allow_renegotiation: true, common_tls_context: { tls_params: { tls_minimum_protocol_version: 'TLSv1_3', tls_maximum_protocol_version: 'TLSv1_2' } } }).errors).toEqual([
    'common_tls_context.tls_params.tls_minimum_protocol_version: minimum TLSv1.3 is above maximum TLSv1.2',
    'allow_renegotiation: TLS renegotiation is not supported',
  ]);
  expect(parse('UpstreamTlsContext', { common_tls_context: { validation_context: { match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { safe_regex: { regex: '(' } } }] } } }).errors[0]).toMatch(/^common_tls_context\.validation_context\.match_typed_subject_alt_names\[0\]\.matcher\.safe_regex\.regex: invalid regex/);
  expect(parse('UpstreamTlsContext', { common_tls_context: { tls_certificates: [{ certificate_chain: { filename: '/nonexistent/cert.pem' }, private_key: { inline_string: 'x' } }] } }).errors[0]).toBe('common_tls_context.tls_certificates[0].certificate_chain.filename: cannot read /nonexistent/cert.pem: ENOENT');
});

test('ADS-delivered secret names are exposed for the store; BoringSSL cipher groups are flattened', () => {
  const { out, errors } = parse('UpstreamTlsContext', {
    common_tls_context: { tls_certificate_sds_secret_configs: [{ name: 'kubernetes://cred', sds_config: { ads: {} } }], tls_params: { cipher_suites: ['[ECDHE-ECDSA-AES128-GCM-SHA256|ECDHE-ECDSA-CHACHA20-POLY1305]', 'AES128-GCM-SHA256'] } },
  });
  expect(errors).toEqual([]);
  const up = out as UpstreamTlsContextConfig;
  expect(up.adsSecretNames).toEqual(['kubernetes://cred']);
  expect(up.common.tlsParams.cipherSuites).toEqual(['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'AES128-GCM-SHA256']);
  expect(up.maxSessionKeys).toBe(1);
});
