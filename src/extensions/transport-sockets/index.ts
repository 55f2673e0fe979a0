// Parse halves of transport sockets (raw_buffer, tls, ...). Entries in ACCEPTED are
// recognised; TLS gets a real parser with the TLS work.
import { passThroughParsers, T, type Accepted } from '../accepted';
import type { ExtensionParser } from '../registry';

const ACCEPTED: readonly Accepted[] = [
  { category: 'transport_socket', names: ['envoy.transport_sockets.raw_buffer', 'raw_buffer'], typeUrls: [`${T}envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer`] },
  { category: 'transport_socket', names: ['envoy.transport_sockets.tls', 'tls'], typeUrls: [`${T}envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext`, `${T}envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext`] },
  { category: 'transport_socket', names: ['envoy.transport_sockets.internal_upstream'], typeUrls: [`${T}envoy.extensions.transport_sockets.internal_upstream.v3.InternalUpstreamTransport`] },
];

export function transportSocketParsers(): ExtensionParser[] {
  return passThroughParsers(ACCEPTED);
}
