// Parse halves of transport sockets: raw_buffer and internal_upstream are recognised as
// pass-through; envoy.transport_sockets.tls has a real parser (tls/config.ts).
import { passThroughParsers, T, type Accepted } from '../accepted';
import type { ExtensionParser } from '../registry';
import { tlsTransportSocketParser } from './tls/config';

const ACCEPTED: readonly Accepted[] = [
  { category: 'transport_socket', names: ['envoy.transport_sockets.raw_buffer', 'raw_buffer'], typeUrls: [`${T}envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer`] },
  { category: 'transport_socket', names: ['envoy.transport_sockets.internal_upstream'], typeUrls: [`${T}envoy.extensions.transport_sockets.internal_upstream.v3.InternalUpstreamTransport`] },
];

export function transportSocketParsers(): ExtensionParser[] {
  return [...passThroughParsers(ACCEPTED), tlsTransportSocketParser];
}
