// /certs: the certificates of every TLS context in the current config, in Envoy's
// envoy.admin.v3.Certificates JSON shape — per context the CA certificates and the certificate
// chain, each with serial, SANs, days until expiration, validity window. Built from the config
// snapshot (inline PEM and SDS secrets by name), so a rotated SDS certificate shows at once.
import { X509Certificate } from 'node:crypto';
import type { ConfigSnapshot } from '../config/model/snapshot';
import type { SecretConfig } from '../config/model/secret';
import type { TlsContextConfig } from '../config/model/tls';
import type { TransportSocketConfig } from '../config/model/listener';

interface CertDetails {
  path: string;
  serial_number: string;
  subject_alt_names: Record<string, string>[];
  days_until_expiration: string;
  valid_from: string;
  expiration_time: string;
}

function pemBlocks(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}

function details(pem: string, path: string, nowMs: number): CertDetails[] {
  const out: CertDetails[] = [];
  for (const block of pemBlocks(pem)) {
    let x: X509Certificate;
    try {
      x = new X509Certificate(block);
    } catch {
      continue;
    }
    const sans: Record<string, string>[] = [];
    for (const part of (x.subjectAltName ?? '').split(', ')) {
      const i = part.indexOf(':');
      if (i < 0) continue;
      const kind = part.slice(0, i);
      const value = part.slice(i + 1);
      if (kind === 'URI') sans.push({ uri: value });
      else if (kind === 'DNS') sans.push({ dns: value });
      else if (kind === 'IP Address') sans.push({ ip_address: value });
    }
    const to = Date.parse(x.validTo);
    out.push({
      path,
      serial_number: x.serialNumber.toLowerCase(),
      subject_alt_names: sans,
      days_until_expiration: String(Math.max(0, Math.floor((to - nowMs) / 86_400_000))),
      valid_from: new Date(Date.parse(x.validFrom)).toISOString().replace('.000Z', 'Z'),
      expiration_time: new Date(to).toISOString().replace('.000Z', 'Z'),
    });
  }
  return out;
}

function tlsContexts(snap: ConfigSnapshot): TlsContextConfig[] {
  const out: TlsContextConfig[] = [];
  const add = (ts: TransportSocketConfig | undefined) => {
    const c = ts?.config as TlsContextConfig | undefined;
    if (c && (c.kind === 'downstream' || c.kind === 'upstream') && c.common) out.push(c);
  };
  for (const l of snap.listeners) {
    for (const fc of l.filterChains) add(fc.transportSocket);
    add(l.defaultFilterChain?.transportSocket);
  }
  for (const c of snap.clusters) {
    add(c.transportSocket);
    for (const m of c.transportSocketMatches ?? []) add(m.transportSocket);
  }
  return out;
}

/** envoy.admin.v3.Certificates for the snapshot (one entry per distinct TLS context). */
export function certificatesJson(snap: ConfigSnapshot | undefined, nowMs = Date.now()): { certificates: { ca_cert: CertDetails[]; cert_chain: CertDetails[] }[] } {
  if (!snap) return { certificates: [] };
  const secrets = new Map<string, SecretConfig>(snap.secrets.map((s) => [s.name, s]));
  const seen = new Set<string>();
  const certificates: { ca_cert: CertDetails[]; cert_chain: CertDetails[] }[] = [];
  for (const ctx of tlsContexts(snap)) {
    const chain: CertDetails[] = [];
    for (const c of ctx.common.tlsCertificates) chain.push(...details(c.certificateChainPem, '<inline>', nowMs));
    for (const name of ctx.common.tlsCertificateSdsNames) {
      const s = secrets.get(name);
      if (s?.kind === 'tls_certificate') chain.push(...details(s.tlsCertificate.certificateChainPem, `<sds:${name}>`, nowMs));
    }
    const ca: CertDetails[] = [];
    const v = ctx.common.validation;
    if (v?.inline?.trustedCaPem) ca.push(...details(v.inline.trustedCaPem, '<inline>', nowMs));
    if (v?.sdsName) {
      const s = secrets.get(v.sdsName);
      if (s?.kind === 'validation_context') ca.push(...details(s.validationContext.trustedCaPem, `<sds:${v.sdsName}>`, nowMs));
    }
    const key = JSON.stringify([ca.map((c) => c.serial_number), chain.map((c) => c.serial_number)]);
    if (seen.has(key) || (ca.length === 0 && chain.length === 0)) continue;
    seen.add(key);
    certificates.push({ ca_cert: ca, cert_chain: chain });
  }
  return { certificates };
}
