// envoy.extensions.transport_sockets.tls.v3.Secret -> SecretConfig. Data sources may be inline
// (inline_bytes / inline_string) or files (filename, read at translate time; file watching comes
// with SDS-over-files). Istio's SDS server sends inline PEM. The TLS context parse half
// (extensions/transport-sockets/tls/config.ts) reuses the certificate and validation helpers.
import { readFileSync } from 'node:fs';
import type { ErrorSink } from '../../common/result';
import { RE2JS } from 're2js';
import type { SanMatcherConfig, SecretConfig, TlsCertificateConfig, ValidationContextConfig } from '../model/secret';
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

function stringMatch(m: Msg, errors: ErrorSink | undefined, path: string): SanMatcherConfig | undefined {
  const ignoreCase = m.ignoreCase ? { ignoreCase: true } : {};
  if (m.exact !== undefined && m.exact !== null && m.exact !== '') return { kind: 'exact', value: String(m.exact), ...ignoreCase };
  if (m.prefix) return { kind: 'prefix', value: String(m.prefix), ...ignoreCase };
  if (m.suffix) return { kind: 'suffix', value: String(m.suffix), ...ignoreCase };
  if (m.contains) return { kind: 'contains', value: String(m.contains), ...ignoreCase };
  if (m.safeRegex) {
    const value = String(m.safeRegex.regex ?? '');
    try {
      // Envoy compiles SAN regexes with RE2; re2js accepts the same syntax.
      RE2JS.compile(value);
    } catch (err) {
      errors?.add(`${path}.safe_regex.regex`, `invalid regex: ${(err as Error).message}`);
      return undefined;
    }
    return { kind: 'regex', value };
  }
  errors?.add(path, 'a string matcher (exact, prefix, suffix, contains or safe_regex) is required');
  return undefined;
}

/**
 * SAN matchers of a CertificateValidationContext: match_typed_subject_alt_names, then the
 * deprecated match_subject_alt_names (which Envoy applies to DNS, URI, email and IP SANs).
 */
export function sanMatchers(vc: Msg | null | undefined, errors?: ErrorSink, path = 'validation_context'): SanMatcherConfig[] {
  const out: SanMatcherConfig[] = [];
  ((vc?.matchTypedSubjectAltNames ?? []) as Msg[]).forEach((t, i) => {
    const p = `${path}.match_typed_subject_alt_names[${i}]`;
    const m = t.matcher ? stringMatch(t.matcher, errors, `${p}.matcher`) : undefined;
    const st = typeof t.sanType === 'number' ? SAN_TYPES[t.sanType] : t.sanType;
    if (!st || st === 'SAN_TYPE_UNSPECIFIED') errors?.add(`${p}.san_type`, 'must be specified');
    if (m) out.push({ ...m, ...(st && st !== 'SAN_TYPE_UNSPECIFIED' ? { sanType: st } : {}) });
  });
  ((vc?.matchSubjectAltNames ?? []) as Msg[]).forEach((legacy, i) => {
    const m = stringMatch(legacy, errors, `${path}.match_subject_alt_names[${i}]`);
    if (m) out.push(m);
  });
  return out;
}

/** CertificateValidationContext -> ValidationContextConfig (file data sources read now). */
export function translateValidationContext(vc: Msg, errors: ErrorSink, path: string): ValidationContextConfig | undefined {
  const trustedCaPem = dataSourceText(vc.trustedCa, errors, `${path}.trusted_ca`) ?? '';
  const crlPem = dataSourceText(vc.crl, errors, `${path}.crl`);
  const matchSubjectAltNames = sanMatchers(vc, errors, path);
  const trust = vc.trustChainVerification;
  const acceptUntrusted = trust === 1 || trust === 'ACCEPT_UNTRUSTED';
  if (vc.customValidatorConfig) errors.add(`${path}.custom_validator_config`, 'custom certificate validators are not supported');
  if (((vc.verifyCertificateSpki ?? []) as unknown[]).length) errors.add(`${path}.verify_certificate_spki`, 'is not supported');
  if (((vc.verifyCertificateHash ?? []) as unknown[]).length) errors.add(`${path}.verify_certificate_hash`, 'is not supported');
  if (errors.failed) return undefined;
  return { trustedCaPem, ...(crlPem ? { crlPem } : {}), matchSubjectAltNames, ...(acceptUntrusted ? { acceptUntrusted } : {}) };
}

/** TlsCertificate -> TlsCertificateConfig (chain and key required; file data sources read now). */
export function translateTlsCertificate(tc: Msg, errors: ErrorSink, path: string): TlsCertificateConfig | undefined {
  const certificateChainPem = dataSourceText(tc.certificateChain, errors, `${path}.certificate_chain`);
  const privateKeyPem = dataSourceText(tc.privateKey, errors, `${path}.private_key`);
  if (!certificateChainPem) errors.add(`${path}.certificate_chain`, 'is required');
  if (!privateKeyPem) errors.add(`${path}.private_key`, 'is required');
  if (tc.privateKeyProvider) errors.add(`${path}.private_key_provider`, 'private key providers are not supported');
  if (tc.password && (tc.password.inlineString || tc.password.filename || (tc.password.inlineBytes as Uint8Array | undefined)?.length)) errors.add(`${path}.password`, 'encrypted private keys are not supported');
  if (!certificateChainPem || !privateKeyPem) return undefined;
  return { certificateChainPem, privateKeyPem };
}

export function translateSecret(msg: Msg, errors: ErrorSink): SecretConfig | undefined {
  const name = String(msg.name ?? '');
  if (!name) errors.add('name', 'must not be empty');
  if (msg.tlsCertificate) {
    const tlsCertificate = translateTlsCertificate(msg.tlsCertificate as Msg, errors, 'tls_certificate');
    if (errors.failed || !tlsCertificate) return undefined;
    return { name, kind: 'tls_certificate', tlsCertificate };
  }
  if (msg.validationContext) {
    const validationContext = translateValidationContext(msg.validationContext as Msg, errors, 'validation_context');
    if (errors.failed || !validationContext) return undefined;
    return { name, kind: 'validation_context', validationContext };
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
