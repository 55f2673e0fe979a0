// envoy.extensions.transport_sockets.tls.v3.Secret -> SecretConfig. Data sources may be inline
// (inline_bytes / inline_string) or files (filename, read at translate time; file watching comes
// with SDS-over-files). Istio's SDS server sends inline PEM.
import { readFileSync } from 'node:fs';
import type { ErrorSink } from '../../common/result';
import type { SecretConfig } from '../model/secret';
import type { Msg } from './proto-util';

/** Reads an envoy.config.core.v3.DataSource as text; undefined when unset. */
export function dataSourceText(ds: Msg | null | undefined, errors: ErrorSink, path: string): string | undefined {
  if (!ds) return undefined;
  if (ds.inlineString) return String(ds.inlineString);
  if (ds.inlineBytes && (ds.inlineBytes as Uint8Array).length) return Buffer.from(ds.inlineBytes as Uint8Array).toString('utf8');
  if (ds.filename) {
    try {
      return readFileSync(String(ds.filename), 'utf8');
    } catch (err) {
      errors.add(`${path}.filename`, `cannot read ${String(ds.filename)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      return undefined;
    }
  }
  if (ds.environmentVariable) {
    const v = process.env[String(ds.environmentVariable)];
    if (v === undefined) errors.add(`${path}.environment_variable`, `${String(ds.environmentVariable)} is not set`);
    return v;
  }
  return undefined;
}

const SAN_TYPES = ['SAN_TYPE_UNSPECIFIED', 'EMAIL', 'DNS', 'URI', 'IP_ADDRESS', 'OTHER_NAME'] as const;

function stringMatch(m: Msg): { kind: 'exact' | 'prefix' | 'suffix' | 'contains' | 'regex'; value: string } | undefined {
  if (m.exact !== undefined && m.exact !== '') return { kind: 'exact', value: String(m.exact) };
  if (m.prefix) return { kind: 'prefix', value: String(m.prefix) };
  if (m.suffix) return { kind: 'suffix', value: String(m.suffix) };
  if (m.contains) return { kind: 'contains', value: String(m.contains) };
  if (m.safeRegex) return { kind: 'regex', value: String(m.safeRegex.regex ?? '') };
  return undefined;
}

/** SAN matchers of a CertificateValidationContext (match_typed_subject_alt_names and the legacy list). */
export function sanMatchers(vc: Msg | null | undefined): { kind: 'exact' | 'prefix' | 'suffix' | 'contains' | 'regex'; value: string; sanType?: 'DNS' | 'URI' | 'EMAIL' | 'IP_ADDRESS' | 'OTHER_NAME' }[] {
  const out: { kind: 'exact' | 'prefix' | 'suffix' | 'contains' | 'regex'; value: string; sanType?: 'DNS' | 'URI' | 'EMAIL' | 'IP_ADDRESS' | 'OTHER_NAME' }[] = [];
  for (const t of (vc?.matchTypedSubjectAltNames ?? []) as Msg[]) {
    const m = t.matcher ? stringMatch(t.matcher) : undefined;
    const st = typeof t.sanType === 'number' ? SAN_TYPES[t.sanType] : t.sanType;
    if (m) out.push({ ...m, ...(st && st !== 'SAN_TYPE_UNSPECIFIED' ? { sanType: st } : {}) });
  }
  for (const legacy of (vc?.matchSubjectAltNames ?? []) as Msg[]) {
    const m = stringMatch(legacy);
    if (m) out.push(m);
  }
  return out;
}

export function translateSecret(msg: Msg, errors: ErrorSink): SecretConfig | undefined {
  const name = String(msg.name ?? '');
  if (!name) errors.add('name', 'must not be empty');
  if (msg.tlsCertificate) {
    const tc = msg.tlsCertificate as Msg;
    const certificateChainPem = dataSourceText(tc.certificateChain, errors, 'tls_certificate.certificate_chain');
    const privateKeyPem = dataSourceText(tc.privateKey, errors, 'tls_certificate.private_key');
    if (!certificateChainPem) errors.add('tls_certificate.certificate_chain', 'is required');
    if (!privateKeyPem) errors.add('tls_certificate.private_key', 'is required');
    if (errors.failed) return undefined;
    return { name, kind: 'tls_certificate', tlsCertificate: { certificateChainPem: certificateChainPem!, privateKeyPem: privateKeyPem! } };
  }
  if (msg.validationContext) {
    const vc = msg.validationContext as Msg;
    const trustedCaPem = dataSourceText(vc.trustedCa, errors, 'validation_context.trusted_ca') ?? '';
    const crlPem = dataSourceText(vc.crl, errors, 'validation_context.crl');
    if (errors.failed) return undefined;
    return { name, kind: 'validation_context', validationContext: { trustedCaPem, ...(crlPem ? { crlPem } : {}), matchSubjectAltNames: sanMatchers(vc) } };
  }
  if (msg.genericSecret) {
    const text = msg.genericSecret.secret?.inlineBytes ? Buffer.from(msg.genericSecret.secret.inlineBytes as Uint8Array).toString('base64') : Buffer.from(dataSourceText(msg.genericSecret.secret, errors, 'generic_secret.secret') ?? '').toString('base64');
    return { name, kind: 'generic', secretBase64: text };
  }
  if (msg.sessionTicketKeys) {
    errors.add('session_ticket_keys', 'session ticket key secrets are not supported');
    return undefined;
  }
  errors.add('type', 'one of tls_certificate, validation_context or generic_secret is required');
  return undefined;
}
