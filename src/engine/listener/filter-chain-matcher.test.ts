// Table of filter-chain selection cases following Envoy's documented precedence
// (FilterChainMatch docs: port, destination IP, server name, transport protocol, application
// protocols, direct source IP, source type, source IP, source port; no fallback to a less
// specific branch once a more specific one matched; default chain otherwise).
import type { FilterChainConfig, FilterChainMatchConfig } from '../../config/model/listener';
import { FilterChainMatcher, type ConnectionMatchInfo } from './filter-chain-matcher';

function chain(name: string, m: Partial<FilterChainMatchConfig>): FilterChainConfig {
  return {
    name,
    filters: [],
    match: { prefixRanges: [], directSourcePrefixRanges: [], sourceType: 'ANY', sourcePrefixRanges: [], sourcePorts: [], serverNames: [], transportProtocol: '', applicationProtocols: [], ...m },
  };
}
const cidr = (s: string) => {
  const [a, l] = s.split('/');
  return { addressPrefix: a!, prefixLen: Number(l) };
};
const conn = (c: Partial<ConnectionMatchInfo>): ConnectionMatchInfo => ({ destinationIp: '10.0.0.1', destinationPort: 80, sourceIp: '192.0.2.9', sourcePort: 5555, directSourceIp: '192.0.2.9', ...c });

function matcher(chains: FilterChainConfig[], withDefault = false) {
  return new FilterChainMatcher(chains.map((config) => ({ config, chain: config.name })), withDefault ? 'default' : undefined);
}

// Istio's virtualInbound shape as in the 1.26 corpus listener (contract 3.7): blackhole on 15006,
// per-port chains with the PERMISSIVE rows, passthrough chains.
const istioInbound = [
  chain('virtualInbound-blackhole', { destinationPort: 15006 }),
  chain('virtualInbound', { transportProtocol: 'raw_buffer' }),
  chain('virtualInbound-catchall-http', { transportProtocol: 'raw_buffer', applicationProtocols: ['http/1.1', 'h2c'] }),
  chain('0.0.0.0_8080-mtls-http', { destinationPort: 8080, transportProtocol: 'tls', applicationProtocols: ['istio-http/1.0', 'istio-http/1.1', 'istio-h2'] }),
  chain('0.0.0.0_8080-plain-http', { destinationPort: 8080, transportProtocol: 'raw_buffer', applicationProtocols: ['http/1.1', 'h2c'] }),
  chain('0.0.0.0_8080-mtls-tcp', { destinationPort: 8080, transportProtocol: 'tls', applicationProtocols: ['istio-peer-exchange', 'istio'] }),
  chain('0.0.0.0_8080-plain-tcp', { destinationPort: 8080, transportProtocol: 'raw_buffer' }),
  chain('0.0.0.0_8080-tls-tcp', { destinationPort: 8080, transportProtocol: 'tls' }),
];

const cases: [string, FilterChainConfig[], boolean, Partial<ConnectionMatchInfo>, string | undefined][] = [
  ['exact destination port beats no port', [chain('any', {}), chain('p80', { destinationPort: 80 })], false, {}, 'p80'],
  ['no port chain when port differs', [chain('any', {}), chain('p81', { destinationPort: 81 })], false, {}, 'any'],
  ['longest destination prefix wins', [chain('wide', { prefixRanges: [cidr('10.0.0.0/8')] }), chain('narrow', { prefixRanges: [cidr('10.0.0.0/24')] })], false, {}, 'narrow'],
  ['destination prefix not matching falls to chains without prefixes', [chain('other', { prefixRanges: [cidr('172.16.0.0/12')] }), chain('none', {})], false, {}, 'none'],
  ['port level decides before IP level (no backtracking)', [chain('p80-otherip', { destinationPort: 80, prefixRanges: [cidr('172.16.0.0/12')] }), chain('anyport-ip', { prefixRanges: [cidr('10.0.0.0/8')] })], true, {}, 'default'],
  ['exact server name beats wildcard', [chain('wild', { serverNames: ['*.example.com'] }), chain('exact', { serverNames: ['api.example.com'] })], false, { serverName: 'api.example.com' }, 'exact'],
  ['longest wildcard wins', [chain('w1', { serverNames: ['*.com'] }), chain('w2', { serverNames: ['*.example.com'] })], false, { serverName: 'a.example.com' }, 'w2'],
  ['server names are case-insensitive', [chain('exact', { serverNames: ['api.example.com'] })], true, { serverName: 'API.Example.com' }, 'exact'],
  ['no SNI goes to chains without server names', [chain('named', { serverNames: ['a.b'] }), chain('plain', {})], false, {}, 'plain'],
  ['transport protocol exact beats empty', [chain('any', {}), chain('tls', { transportProtocol: 'tls' })], false, { transportProtocol: 'tls' }, 'tls'],
  ['raw_buffer connection skips tls chain', [chain('any', {}), chain('tls', { transportProtocol: 'tls' })], false, { transportProtocol: 'raw_buffer' }, 'any'],
  ['application protocol intersects offered list', [chain('h2', { applicationProtocols: ['h2'] }), chain('h1', { applicationProtocols: ['http/1.1'] })], false, { applicationProtocols: ['http/1.1', 'h2'] }, 'h2'],
  ['direct source prefix', [chain('any', {}), chain('src', { directSourcePrefixRanges: [cidr('192.0.2.0/24')] })], false, {}, 'src'],
  ['source type SAME_IP_OR_LOOPBACK for loopback peers', [chain('any', {}), chain('local', { sourceType: 'SAME_IP_OR_LOOPBACK' })], false, { sourceIp: '127.0.0.1', directSourceIp: '127.0.0.1' }, 'local'],
  ['source type EXTERNAL for remote peers', [chain('local', { sourceType: 'SAME_IP_OR_LOOPBACK' }), chain('ext', { sourceType: 'EXTERNAL' })], false, {}, 'ext'],
  ['source prefix longest match', [chain('s8', { sourcePrefixRanges: [cidr('192.0.0.0/8')] }), chain('s24', { sourcePrefixRanges: [cidr('192.0.2.0/24')] })], false, {}, 's24'],
  ['source port exact', [chain('any', {}), chain('sp', { sourcePorts: [5555] })], false, {}, 'sp'],
  ['IPv6 destination prefix', [chain('v4', { prefixRanges: [cidr('0.0.0.0/0')] }), chain('v6', { prefixRanges: [cidr('2001:db8::/32')] })], false, { destinationIp: '2001:db8::5' }, 'v6'],
  ['IPv4-mapped IPv6 destination matches IPv4 prefix', [chain('v4', { prefixRanges: [cidr('10.0.0.0/8')] })], true, { destinationIp: '::ffff:10.0.0.1' }, 'v4'],
  ['nothing matches and no default: undefined', [chain('p81', { destinationPort: 81 })], false, {}, undefined],
  ['nothing matches: default chain', [chain('p81', { destinationPort: 81 })], true, {}, 'default'],
  ['Istio inbound: mTLS HTTP on 8080', istioInbound, false, { destinationPort: 8080, transportProtocol: 'tls', applicationProtocols: ['istio-http/1.1', 'istio', 'http/1.1'] }, '0.0.0.0_8080-mtls-http'],
  ['Istio inbound: mTLS TCP on 8080', istioInbound, false, { destinationPort: 8080, transportProtocol: 'tls', applicationProtocols: ['istio-peer-exchange', 'istio'] }, '0.0.0.0_8080-mtls-tcp'],
  ['Istio inbound: plaintext HTTP on 8080 (PERMISSIVE)', istioInbound, false, { destinationPort: 8080, transportProtocol: 'raw_buffer', applicationProtocols: ['http/1.1'] }, '0.0.0.0_8080-plain-http'],
  ['Istio inbound: plaintext TCP on 8080', istioInbound, false, { destinationPort: 8080, transportProtocol: 'raw_buffer' }, '0.0.0.0_8080-plain-tcp'],
  ['Istio inbound: non-mesh TLS on 8080', istioInbound, false, { destinationPort: 8080, transportProtocol: 'tls', applicationProtocols: ['h2'] }, '0.0.0.0_8080-tls-tcp'],
  ['Istio inbound: traffic to 15006 itself is blackholed', istioInbound, false, { destinationPort: 15006 }, 'virtualInbound-blackhole'],
  ['Istio inbound: unknown port HTTP goes to catch-all http', istioInbound, false, { destinationPort: 9999, transportProtocol: 'raw_buffer', applicationProtocols: ['h2c'] }, 'virtualInbound-catchall-http'],
  ['Istio inbound: unknown port TCP goes to passthrough', istioInbound, false, { destinationPort: 9999, transportProtocol: 'raw_buffer' }, 'virtualInbound'],
];

describe('FilterChainMatcher (Envoy precedence)', () => {
  it.each(cases)('%s', (_name, chains, withDefault, info, expected) => {
    expect(matcher(chains, withDefault).match(conn(info))).toBe(expected);
  });
  it('reports which inspections the chains need', () => {
    expect(matcher(istioInbound).needsInspection()).toEqual({ serverName: false, transport: true, alpn: true });
  });
});
