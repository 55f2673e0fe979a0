// Listener filters: parse halves (control side) for original_dst and proxy_protocol (recognised,
// pass-through), original_src (mark, read by the listener), tls_inspector and http_inspector; and
// the worker-side create half for the byte inspectors, used by engine/listener/listener-filter-runner.ts.
// TODO(meshproxy): re-export createListenerInspector from extensions/factories.ts so engine/
// imports only that file (STYLE 1.1); it lives here until factories.ts is touched.
import type { ListenerFilterConfig } from '../../../config/model/listener';
import type { StatsScope } from '../../../stats/stats-store';
import { passThroughParsers, T, type Accepted } from '../../accepted';
import type { ExtensionParser } from '../../registry';
import { httpInspectorParser } from './http-inspector/config';
import { HttpInspector } from './http-inspector/http-inspector';
import type { ListenerInspector } from './inspector';
import { originalSrcParser } from './original-src/config';
import { tlsInspectorParser } from './tls-inspector/config';
import { TlsInspector } from './tls-inspector/tls-inspector';

const ACCEPTED: readonly Accepted[] = [
  { category: 'listener', names: ['envoy.filters.listener.original_dst', 'envoy.listener.original_dst'], typeUrls: [`${T}envoy.extensions.filters.listener.original_dst.v3.OriginalDst`] },
  { category: 'listener', names: ['envoy.filters.listener.proxy_protocol', 'envoy.listener.proxy_protocol'], typeUrls: [`${T}envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol`] },
];

export function listenerFilterParsers(): ExtensionParser[] {
  return [...passThroughParsers(ACCEPTED), originalSrcParser, tlsInspectorParser, httpInspectorParser];
}

/** The byte inspector for a configured listener filter, or undefined for filters that do not read bytes. */
export function createListenerInspector(f: ListenerFilterConfig, scope: StatsScope): ListenerInspector | undefined {
  const kind = (f.config as { kind?: string } | undefined)?.kind;
  if (kind === 'tls_inspector') return new TlsInspector(scope);
  if (kind === 'http_inspector') return new HttpInspector(scope);
  return undefined;
}
