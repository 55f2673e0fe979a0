// SDS secrets in the config model (from envoy.extensions.transport_sockets.tls.v3.Secret):
// certificates and validation contexts as PEM text, plain data for workers. Private keys
// never reach logs or config_dump (one redaction function, admin/redact).

export interface TlsCertificateConfig {
  readonly certificateChainPem: string;
  readonly privateKeyPem: string;
  /** Optional OCSP staple / password are not used by Istio. */
}

/** A SAN matcher (CertificateValidationContext.match_typed_subject_alt_names / match_subject_alt_names). */
export interface SanMatcherConfig {
  readonly kind: 'exact' | 'prefix' | 'suffix' | 'contains' | 'regex';
  readonly value: string;
  /** Restricts the matcher to one SAN type; absent means DNS, URI, EMAIL and IP (the legacy list). */
  readonly sanType?: 'DNS' | 'URI' | 'EMAIL' | 'IP_ADDRESS' | 'OTHER_NAME';
  readonly ignoreCase?: boolean;
}

export interface ValidationContextConfig {
  readonly trustedCaPem: string;
  readonly crlPem?: string;
  /** SAN matchers from the secret itself (Istio puts them in the combined context instead). */
  readonly matchSubjectAltNames: readonly SanMatcherConfig[];
  /** trust_chain_verification ACCEPT_UNTRUSTED: skip the chain check, keep SAN checks. */
  readonly acceptUntrusted?: boolean;
}

export type SecretConfig =
  | { readonly name: string; readonly kind: 'tls_certificate'; readonly tlsCertificate: TlsCertificateConfig }
  | { readonly name: string; readonly kind: 'validation_context'; readonly validationContext: ValidationContextConfig }
  | { readonly name: string; readonly kind: 'generic'; readonly secretBase64: string };
