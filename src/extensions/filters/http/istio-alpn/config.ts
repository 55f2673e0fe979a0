// Parse half of Istio's istio.alpn HTTP filter
// (istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig, our proto in proto/istio/alpn/):
// the ALPN list to offer upstream for each upstream HTTP protocol. istiod emits it on outbound
// HCMs so that the peer sidecar's inbound listener can pick its HTTP filter chain from the
// client's offered ALPN (istio-http/1.0, istio-http/1.1, istio-h2) before any byte of HTTP.
import type { ErrorSink } from '../../../../common/result';
import type { Msg } from '../../../../config/translate/proto-util';
import type { ExtensionParser } from '../../../registry';

export interface IstioAlpnConfig {
  /** ALPN lists by upstream protocol; an empty list means "no override". */
  readonly http10: readonly string[];
  readonly http11: readonly string[];
  readonly http2: readonly string[];
}

const PROTOCOLS = ['HTTP10', 'HTTP11', 'HTTP2'] as const;

export const ISTIO_ALPN_TYPE_URL = 'type.googleapis.com/istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig';

export const istioAlpnParser: ExtensionParser = {
  category: 'http',
  names: ['istio.alpn'],
  typeUrls: [ISTIO_ALPN_TYPE_URL],
  parse(msg: Msg | undefined, _ctx, errors: ErrorSink): IstioAlpnConfig {
    const lists: Record<(typeof PROTOCOLS)[number], string[]> = { HTTP10: [], HTTP11: [], HTTP2: [] };
    const overrides = (msg?.alpnOverride ?? []) as Msg[];
    overrides.forEach((o, i) => {
      const raw = o.upstreamProtocol ?? 0;
      const p = typeof raw === 'number' ? PROTOCOLS[raw] : PROTOCOLS.find((x) => x === String(raw));
      if (p === undefined) {
        errors.add(`alpn_override[${i}].upstream_protocol`, `unknown protocol ${String(raw)}`);
        return;
      }
      // Istio's filter keeps the first entry per protocol (a map insert); so do we.
      if (lists[p].length > 0) return;
      lists[p] = ((o.alpnOverride ?? []) as unknown[]).map(String);
    });
    return { http10: lists.HTTP10, http11: lists.HTTP11, http2: lists.HTTP2 };
  },
};
