// Parse halves of listener filters (original_dst, tls_inspector, http_inspector, ...).
// Entries in ACCEPTED are recognised but pass-through until their runtime exists.
import { passThroughParsers, T, type Accepted } from '../../accepted';
import type { ExtensionParser } from '../../registry';

const ACCEPTED: readonly Accepted[] = [
  { category: 'listener', names: ['envoy.filters.listener.original_dst', 'envoy.listener.original_dst'], typeUrls: [`${T}envoy.extensions.filters.listener.original_dst.v3.OriginalDst`] },
  { category: 'listener', names: ['envoy.filters.listener.original_src', 'envoy.listener.original_src'], typeUrls: [`${T}envoy.extensions.filters.listener.original_src.v3.OriginalSrc`] },
  { category: 'listener', names: ['envoy.filters.listener.tls_inspector', 'envoy.listener.tls_inspector'], typeUrls: [`${T}envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector`] },
  { category: 'listener', names: ['envoy.filters.listener.http_inspector', 'envoy.listener.http_inspector'], typeUrls: [`${T}envoy.extensions.filters.listener.http_inspector.v3.HttpInspector`] },
  { category: 'listener', names: ['envoy.filters.listener.proxy_protocol', 'envoy.listener.proxy_protocol'], typeUrls: [`${T}envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol`] },
];

export function listenerFilterParsers(): ExtensionParser[] {
  return passThroughParsers(ACCEPTED);
}
