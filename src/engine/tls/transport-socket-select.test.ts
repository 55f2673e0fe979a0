// transport_socket_matches selection with Istio's tlsMode metadata.
import type { TransportSocketConfig } from '../../config/model/listener';
import type { TransportSocketMatchConfig } from '../../config/model/tls';
import { selectTransportSocket } from './transport-socket-select';

const mtls: TransportSocketConfig = { name: 'envoy.transport_sockets.tls', typeUrl: 't/UpstreamTlsContext', config: { kind: 'upstream' } };
const raw: TransportSocketConfig = { name: 'envoy.transport_sockets.raw_buffer', typeUrl: 't/RawBuffer', config: {} };
const matches: TransportSocketMatchConfig[] = [
  { name: 'tlsMode-istio', match: { tlsMode: 'istio' }, transportSocket: mtls },
  { name: 'tlsMode-disabled', match: {}, transportSocket: raw },
];

test('tlsMode istio endpoints get mTLS, others plaintext', () => {
  expect(selectTransportSocket(matches, undefined, { 'envoy.transport_socket_match': { tlsMode: 'istio' } })).toBe(mtls);
  expect(selectTransportSocket(matches, undefined, { 'envoy.transport_socket_match': { tlsMode: 'disabled' } })).toBe(raw);
  expect(selectTransportSocket(matches, undefined, { istio: { workload: 'w' } })).toBe(raw);
  expect(selectTransportSocket(matches, undefined, undefined)).toBe(raw);
});

test('no matches: the cluster transport socket; no entry matching: the cluster default', () => {
  expect(selectTransportSocket([], mtls, {})).toBe(mtls);
  expect(selectTransportSocket(undefined, undefined, {})).toBeUndefined();
  expect(selectTransportSocket([matches[0]!], raw, {})).toBe(raw);
});
