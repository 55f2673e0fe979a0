// Peer certificate SAN checks (CertificateValidationContext.match_typed_subject_alt_names and the
// legacy match_subject_alt_names), compiled once per TLS context and run once per handshake.
// Istio pins outbound peers to SPIFFE URIs (spiffe://<td>/ns/<ns>/sa/<sa>) with exact matchers;
// prefix matchers appear with trust-domain aliases. Semantics follow Envoy's
// DefaultCertValidator: any matcher matching any SAN of its type accepts the certificate; a
// matcher without a type (legacy list) looks at DNS, URI, email and IP SANs; DNS matchers honour
// wildcard certificates (*.example.com matches an exact a.example.com).
import { RE2JS } from 're2js';
import type { SanMatcherConfig } from '../../config/model/secret';

export type SanType = 'DNS' | 'URI' | 'EMAIL' | 'IP_ADDRESS' | 'OTHER_NAME';

export interface SubjectAltName {
  readonly type: SanType;
  readonly value: string;
}

const PREFIXES: readonly (readonly [string, SanType])[] = [
  ['DNS:', 'DNS'],
  ['URI:', 'URI'],
  ['IP Address:', 'IP_ADDRESS'],
  ['email:', 'EMAIL'],
  ['othername:', 'OTHER_NAME'],
];

/**
 * Parses Node's subjectaltname text ("DNS:a, URI:spiffe://x, IP Address:1.2.3.4"). Node quotes a
 * value as a JSON string when it contains a comma or quote, so split with that in mind.
 */
export function parseSubjectAltNames(text: string | undefined): SubjectAltName[] {
  const out: SubjectAltName[] = [];
  if (!text) return out;
  let i = 0;
  while (i < text.length) {
    while (text[i] === ' ' || text[i] === ',') i++;
    if (i >= text.length) break;
    let type: SanType | undefined;
    for (const [p, t] of PREFIXES) {
      if (text.startsWith(p, i)) {
        type = t;
        i += p.length;
        break;
      }
    }
    let value: string;
    if (text[i] === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      try {
        value = JSON.parse(text.slice(i, j + 1)) as string;
      } catch {
        value = text.slice(i + 1, j);
      }
      i = j + 1;
    } else {
      const j = text.indexOf(', ', i);
      const end = j < 0 ? text.length : j;
      value = text.slice(i, end);
      i = end;
    }
    if (type) out.push({ type, value });
  }
  return out;
}

type Test = (value: string) => boolean;

function dnsWildcardMatch(certName: string, wanted: string): boolean {
  // Envoy's dnsNameMatch: "*.example.com" covers exactly one label.
  if (!certName.startsWith('*.')) return false;
  const dot = wanted.indexOf('.');
  return dot > 0 && wanted.slice(dot).toLowerCase() === certName.slice(1).toLowerCase();
}

function compileOne(m: SanMatcherConfig): { types: readonly SanType[]; test: Test; dnsExact?: string } {
  const types: readonly SanType[] = m.sanType ? [m.sanType] : ['DNS', 'URI', 'EMAIL', 'IP_ADDRESS'];
  const v = m.ignoreCase ? m.value.toLowerCase() : m.value;
  const norm = m.ignoreCase ? (s: string) => s.toLowerCase() : (s: string) => s;
  let test: Test;
  switch (m.kind) {
    case 'exact':
      test = (s) => norm(s) === v;
      break;
    case 'prefix':
      test = (s) => norm(s).startsWith(v);
      break;
    case 'suffix':
      test = (s) => norm(s).endsWith(v);
      break;
    case 'contains':
      test = (s) => norm(s).includes(v);
      break;
    case 'regex': {
      const re = RE2JS.compile(m.value);
      test = (s) => re.matches(s);
      break;
    }
  }
  return { types, test, ...(m.kind === 'exact' ? { dnsExact: m.value } : {}) };
}

/** A compiled SAN check: true when the list is empty or some matcher accepts some SAN. */
export type SanCheck = (sans: readonly SubjectAltName[]) => boolean;

export function compileSanMatchers(list: readonly SanMatcherConfig[]): SanCheck | undefined {
  if (list.length === 0) return undefined;
  const compiled = list.map(compileOne);
  return (sans) => {
    for (const c of compiled) {
      for (const san of sans) {
        if (!c.types.includes(san.type)) continue;
        if (c.test(san.value)) return true;
        if (san.type === 'DNS' && c.dnsExact !== undefined && dnsWildcardMatch(san.value, c.dnsExact)) return true;
      }
    }
    return false;
  };
}
