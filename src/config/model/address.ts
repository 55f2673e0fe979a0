// Addresses in the config model: a TCP/UDP socket address, a Unix pipe, or an Envoy internal
// listener name. Plain data; the engine turns these into listen/connect options.

/** envoy.config.core.v3.Address, translated. */
export type AddressConfig =
  | {
      readonly kind: 'socket';
      readonly protocol: 'TCP' | 'UDP';
      /** Literal IP ("0.0.0.0", "::", "127.0.0.1") or, for clusters with DNS types, a hostname. */
      readonly address: string;
      /** Port (0 = any free port when listening). */
      readonly port: number;
      /** For "::" listeners: also accept IPv4 (Envoy ipv4_compat). */
      readonly ipv4Compat: boolean;
      /** Named port (resolved by the cluster type), rarely used. */
      readonly namedPort?: string;
    }
  | { readonly kind: 'pipe'; readonly path: string; readonly mode: number }
  | { readonly kind: 'internal'; readonly serverListenerName: string; readonly endpointId: string };

/** Envoy's textual form of an address, as used in stat names and admin output ("127.0.0.1:80", "/tmp/s"). */
export function addressToString(a: AddressConfig): string {
  switch (a.kind) {
    case 'socket':
      return a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
    case 'pipe':
      return a.path;
    case 'internal':
      return `envoy://${a.serverListenerName}/${a.endpointId}`;
  }
}

/** A CIDR range as in envoy.config.core.v3.CidrRange. */
export interface CidrRangeConfig {
  readonly addressPrefix: string;
  readonly prefixLen: number;
}
