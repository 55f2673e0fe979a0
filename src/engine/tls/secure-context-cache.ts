// SecureContexts for TLS contexts on a worker, cached by the content they are built from.
//
//   TlsContextConfig + runtime.secrets --resolve--> material {certs[], ca, crl} --key--> SecureContext
//
// A context's certificates and trust bundle may come from SDS secrets (Istio: `default`,
// `ROOTCA`), so the material is resolved against the runtime a connection was accepted (or an
// upstream connection was started) under. The cache key is a digest of the material and the
// TLS parameters, computed once per secret object (WeakMap), so a rotated secret yields a new
// context for the next handshake while existing connections keep theirs; an unchanged secret in
// a new snapshot (a new object after structured clone) hashes to the same key and reuses the
// context. Building a SecureContext parses PEM and keys (~1 ms), far too slow per connection.
import { constants as cryptoConstants, createHash, X509Certificate } from 'node:crypto';
import * as tls from 'node:tls';
import type { SecretConfig, TlsCertificateConfig, ValidationContextConfig } from '../../config/model/secret';
import type { CommonTlsContextConfig, TlsContextConfig } from '../../config/model/tls';

/** Envoy's default curves and ciphers (BoringSSL names; OpenSSL accepts the same spellings). */
const DEFAULT_CURVES = 'X25519:P-256';
const DEFAULT_CIPHERS = ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-CHACHA20-POLY1305', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384'].join(':');
const MAX_CONTEXTS = 256;

/** One certificate with what SNI selection needs to know about it. */
export interface ResolvedCertificate {
  readonly cert: TlsCertificateConfig;
  readonly key: string;
  /** DNS SANs (or the CN when there are none), lower case. */
  readonly names: readonly string[];
  readonly keyType: string;
  readonly serial: string;
}

export interface ResolvedMaterial {
  readonly certificates: readonly ResolvedCertificate[];
  readonly validation?: ValidationContextConfig;
  /** Digest of everything above. */
  readonly key: string;
}

export type ResolveResult = { readonly ok: true; readonly material: ResolvedMaterial } | { readonly ok: false; readonly reason: string };

const certInfo = new WeakMap<object, ResolvedCertificate>();
const validationKeys = new WeakMap<object, string>();

function sha(...parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('base64url').slice(0, 22);
}

function describe(cert: TlsCertificateConfig): ResolvedCertificate {
  let r = certInfo.get(cert);
  if (r) return r;
  let names: string[] = [];
  let keyType = 'unknown';
  let serial = '';
  try {
    const x = new X509Certificate(cert.certificateChainPem);
    names = (x.subjectAltName ?? '')
      .split(', ')
      .filter((s) => s.startsWith('DNS:'))
      .map((s) => s.slice(4).toLowerCase());
    if (names.length === 0) {
      const cn = /(?:^|\n)CN=([^\n]*)/.exec(x.subject);
      if (cn) names = [cn[1]!.toLowerCase()];
    }
    keyType = x.publicKey.asymmetricKeyType ?? 'unknown';
    serial = x.serialNumber;
  } catch {
    // Left for createSecureContext to report with a proper error.
  }
  r = { cert, key: sha(cert.certificateChainPem, cert.privateKeyPem), names, keyType, serial };
  certInfo.set(cert, r);
  return r;
}

function validationKey(v: ValidationContextConfig): string {
  let k = validationKeys.get(v);
  if (k === undefined) {
    k = sha(v.trustedCaPem, v.crlPem ?? '');
    validationKeys.set(v, k);
  }
  return k;
}

/**
 * Resolves a context's certificates and trust bundle against the runtime's secrets. Fails when
 * a named secret is missing or of the wrong kind (Envoy keeps such a listener or cluster warming;
 * a connection that gets here anyway is refused).
 */
export function resolveMaterial(common: CommonTlsContextConfig, secrets: ReadonlyMap<string, SecretConfig>): ResolveResult {
  const certificates: ResolvedCertificate[] = [];
  for (const c of common.tlsCertificates) certificates.push(describe(c));
  for (const name of common.tlsCertificateSdsNames) {
    const s = secrets.get(name);
    if (!s || s.kind !== 'tls_certificate') return { ok: false, reason: `secret '${name}' (tls_certificate) is not available` };
    certificates.push(describe(s.tlsCertificate));
  }
  let validation: ValidationContextConfig | undefined;
  const v = common.validation;
  if (v?.sdsName) {
    const s = secrets.get(v.sdsName);
    if (!s || s.kind !== 'validation_context') return { ok: false, reason: `secret '${v.sdsName}' (validation_context) is not available` };
    validation = s.validationContext;
  } else if (v?.inline) {
    validation = v.inline;
  }
  const key = sha(...certificates.map((c) => c.key), validation ? validationKey(validation) : '');
  return { ok: true, material: { certificates, ...(validation ? { validation } : {}), key } };
}

/** Bounded map of built contexts (insertion order approximates LRU: hits are re-inserted). */
export class SecureContextCache {
  private readonly contexts = new Map<string, tls.SecureContext>();
  builds = 0;

  /**
   * The SecureContext for `material` restricted to `certs` (a subset for SNI selection), built
   * with the context's TLS parameters. Throws what createSecureContext throws (bad PEM/key).
   */
  get(ctx: TlsContextConfig, material: ResolvedMaterial, certs: readonly ResolvedCertificate[]): tls.SecureContext {
    const key = `${ctx.kind}|${material.key}|${certs.map((c) => c.key).join(',')}|${paramsKey(ctx)}`;
    const hit = this.contexts.get(key);
    if (hit) {
      this.contexts.delete(key);
      this.contexts.set(key, hit);
      return hit;
    }
    const sc = tls.createSecureContext(contextOptions(ctx, material, certs));
    this.builds++;
    this.contexts.set(key, sc);
    if (this.contexts.size > MAX_CONTEXTS) this.contexts.delete(this.contexts.keys().next().value as string);
    return sc;
  }
}

const paramsKeys = new WeakMap<object, string>();

function paramsKey(ctx: TlsContextConfig): string {
  let k = paramsKeys.get(ctx);
  if (k === undefined) {
    const p = ctx.common.tlsParams;
    k = sha(p.minVersion ?? '', p.maxVersion ?? '', p.cipherSuites.join(':'), p.ecdhCurves.join(':'), ctx.kind === 'downstream' ? `${ctx.sessionTimeoutMs ?? ''}|${ctx.disableSessionTickets}` : '');
    paramsKeys.set(ctx, k);
  }
  return k;
}

function contextOptions(ctx: TlsContextConfig, material: ResolvedMaterial, certs: readonly ResolvedCertificate[]): tls.SecureContextOptions {
  const p = ctx.common.tlsParams;
  // Envoy's defaults: servers TLSv1.2..TLSv1.3, clients TLSv1.2..TLSv1.2.
  const minVersion = p.minVersion ?? 'TLSv1.2';
  const maxVersion = p.maxVersion ?? (ctx.kind === 'downstream' ? 'TLSv1.3' : 'TLSv1.2');
  const opts: tls.SecureContextOptions = {
    minVersion,
    maxVersion,
    ciphers: p.cipherSuites.length ? p.cipherSuites.join(':') : DEFAULT_CIPHERS,
    ecdhCurve: p.ecdhCurves.length ? p.ecdhCurves.join(':') : DEFAULT_CURVES,
    honorCipherOrder: true,
  };
  if (certs.length) {
    // One certificate per key type is allowed in one OpenSSL context; it picks by the
    // client's signature algorithms (Envoy's RSA/ECDSA selection).
    opts.cert = certs.map((c) => c.cert.certificateChainPem);
    opts.key = certs.map((c) => c.cert.privateKeyPem);
  }
  const v = material.validation;
  if (v?.trustedCaPem) opts.ca = v.trustedCaPem;
  if (v?.crlPem) opts.crl = v.crlPem;
  if (ctx.kind === 'downstream') {
    // A server that asks for client certificates needs a session id context, or OpenSSL aborts
    // every resumed handshake (ERR_SSL_SESSION_ID_CONTEXT_UNINITIALIZED). Envoy derives one per
    // server context from its certificates and validation settings; so do we (<= 32 bytes).
    const h = createHash('sha256');
    for (const c of certs) h.update(c.cert.certificateChainPem);
    h.update(v?.trustedCaPem ?? '');
    h.update(JSON.stringify(ctx.common.validation ?? null));
    opts.sessionIdContext = h.digest('hex').slice(0, 32);
    if (ctx.sessionTimeoutMs !== undefined) opts.sessionTimeout = Math.max(1, Math.round(ctx.sessionTimeoutMs / 1000));
    if (ctx.disableSessionTickets) opts.secureOptions = cryptoConstants.SSL_OP_NO_TICKET;
  }
  return opts;
}

/**
 * Certificates for a server name: those whose names match exactly, else by wildcard, else all
 * (Envoy falls back to the first certificate); then the first of each key type, so one context
 * can serve RSA and ECDSA clients.
 */
export function selectCertificates(all: readonly ResolvedCertificate[], serverName: string | undefined): ResolvedCertificate[] {
  let cands = all;
  if (serverName && all.length > 1) {
    const sni = serverName.toLowerCase();
    const exact = all.filter((c) => c.names.includes(sni));
    const dot = sni.indexOf('.');
    const wild = exact.length ? exact : dot > 0 ? all.filter((c) => c.names.includes(`*${sni.slice(dot)}`)) : [];
    if (wild.length) cands = wild;
  }
  const out: ResolvedCertificate[] = [];
  const seen = new Set<string>();
  for (const c of cands) {
    if (seen.has(c.keyType)) continue;
    seen.add(c.keyType);
    out.push(c);
  }
  return out;
}
