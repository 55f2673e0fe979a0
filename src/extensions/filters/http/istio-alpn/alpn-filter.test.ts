// Unit tests of istio.alpn: the parse half on the FilterConfig istiod emits, and the choice of
// ALPN list from the cluster's protocol options, the downstream protocol and the
// istio.alpn_override opt-out.
import { ErrorSink } from '../../../../common/result';
import { fromProtoJson } from '../../../../config/bootstrap/proto-json';
import type { ClusterConfig } from '../../../../config/model/cluster';
import { lookupType } from '../../../../gen/proto-root';
import { alpnFor } from './alpn-filter';
import { istioAlpnParser, type IstioAlpnConfig } from './config';

// What istiod 1.2x puts in every outbound HCM (pilot/pkg/xds/filters/filters.go).
const ISTIO = {
  alpn_override: [
    { upstream_protocol: 'HTTP10', alpn_override: ['istio-http/1.0', 'istio', 'http/1.0'] },
    { upstream_protocol: 'HTTP11', alpn_override: ['istio-http/1.1', 'istio', 'http/1.1'] },
    { upstream_protocol: 'HTTP2', alpn_override: ['istio-h2', 'istio', 'h2'] },
  ],
};

function parse(json: object): { config: IstioAlpnConfig; errors: ErrorSink } {
  const t = lookupType('istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig');
  const errors = ErrorSink.create();
  const config = istioAlpnParser.parse(fromProtoJson(t, json), { parseNested: () => undefined }, errors) as IstioAlpnConfig;
  return { config, errors };
}

function cluster(upstreamHttpProtocol: ClusterConfig['upstreamHttpProtocol'], metadata: Record<string, unknown> = {}): ClusterConfig {
  return { upstreamHttpProtocol, metadata } as unknown as ClusterConfig;
}

describe('istio.alpn', () => {
  const { config } = parse(ISTIO);

  test('parses the per-protocol lists istiod sends', () => {
    expect(config).toEqual({ http10: ['istio-http/1.0', 'istio', 'http/1.0'], http11: ['istio-http/1.1', 'istio', 'http/1.1'], http2: ['istio-h2', 'istio', 'h2'] });
  });

  test('an empty config overrides nothing', () => {
    const { config: empty } = parse({});
    expect(alpnFor(empty, cluster('USE_DOWNSTREAM'), 'HTTP/1.1')).toBeUndefined();
  });

  test('USE_DOWNSTREAM follows the downstream protocol', () => {
    const c = cluster('USE_DOWNSTREAM');
    expect(alpnFor(config, c, 'HTTP/1.0')).toEqual(['istio-http/1.0', 'istio', 'http/1.0']);
    expect(alpnFor(config, c, 'HTTP/1.1')).toEqual(['istio-http/1.1', 'istio', 'http/1.1']);
    expect(alpnFor(config, c, 'HTTP/2')).toEqual(['istio-h2', 'istio', 'h2']);
  });

  test('a fixed cluster protocol wins over the downstream protocol (Envoy upstreamHttpProtocol)', () => {
    expect(alpnFor(config, cluster('HTTP2'), 'HTTP/1.1')).toEqual(['istio-h2', 'istio', 'h2']);
    expect(alpnFor(config, cluster('HTTP1'), 'HTTP/2')).toEqual(['istio-http/1.1', 'istio', 'http/1.1']);
    expect(alpnFor(config, cluster('HTTP1'), 'HTTP/1.0')).toEqual(['istio-http/1.1', 'istio', 'http/1.1']);
  });

  test('istio.alpn_override "false" in cluster metadata skips the override', () => {
    expect(alpnFor(config, cluster('USE_DOWNSTREAM', { istio: { alpn_override: 'false' } }), 'HTTP/1.1')).toBeUndefined();
    expect(alpnFor(config, cluster('USE_DOWNSTREAM', { istio: { alpn_override: 'true' } }), 'HTTP/1.1')).toEqual(['istio-http/1.1', 'istio', 'http/1.1']);
  });
});
