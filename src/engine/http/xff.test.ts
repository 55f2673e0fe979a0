// x-forwarded-for: the trusted client address, internal/edge decisions and XFF appends, table
// cases from Envoy's documentation (configuration/http/http_conn_man/headers, x-forwarded-for
// examples 1-6) plus the fallbacks its rules describe.
import { HeaderMap } from './header-map';
import { isInternalAddress, lastAddressFromXff, mutateForwardedFor, type XffResult } from './xff';

interface Case {
  name: string;
  useRemoteAddress: boolean;
  hops: number;
  peer: string;
  xff?: string;
  want: { client: string; port: number; internal: boolean; edge: boolean; xff: string | undefined };
}

const cases: Case[] = [
  {
    name: 'example 1: edge proxy, no trusted proxy: XFF ignored, peer appended',
    useRemoteAddress: true,
    hops: 0,
    peer: '192.0.2.5',
    xff: '203.0.113.128, 203.0.113.10, 203.0.113.1',
    want: { client: '192.0.2.5', port: 4444, internal: false, edge: true, xff: '203.0.113.128, 203.0.113.10, 203.0.113.1,192.0.2.5' },
  },
  {
    name: 'example 2: internal proxy behind example 1: last XFF address',
    useRemoteAddress: false,
    hops: 0,
    peer: '10.11.12.13',
    xff: '203.0.113.128, 203.0.113.10, 203.0.113.1,192.0.2.5',
    want: { client: '192.0.2.5', port: 0, internal: false, edge: false, xff: '203.0.113.128, 203.0.113.10, 203.0.113.1,192.0.2.5' },
  },
  {
    name: 'example 3: edge proxy with two trusted proxies: 2nd to last XFF address',
    useRemoteAddress: true,
    hops: 2,
    peer: '192.0.2.5',
    xff: '203.0.113.128, 203.0.113.10, 203.0.113.1',
    want: { client: '203.0.113.10', port: 0, internal: false, edge: true, xff: '203.0.113.128, 203.0.113.10, 203.0.113.1,192.0.2.5' },
  },
  {
    name: 'example 4: internal proxy behind example 3: (N+1)th from the right',
    useRemoteAddress: false,
    hops: 2,
    peer: '10.11.12.13',
    xff: '203.0.113.128, 203.0.113.10, 203.0.113.1, 192.0.2.5',
    want: { client: '203.0.113.10', port: 0, internal: false, edge: false, xff: '203.0.113.128, 203.0.113.10, 203.0.113.1, 192.0.2.5' },
  },
  {
    name: 'example 5: internal client, no XFF, not using remote address: external',
    useRemoteAddress: false,
    hops: 0,
    peer: '10.20.30.40',
    want: { client: '10.20.30.40', port: 4444, internal: false, edge: false, xff: undefined },
  },
  {
    name: 'example 6: single internal XFF address: internal',
    useRemoteAddress: false,
    hops: 0,
    peer: '10.20.30.50',
    xff: '10.20.30.40',
    want: { client: '10.20.30.40', port: 0, internal: true, edge: false, xff: '10.20.30.40' },
  },
  {
    name: 'use_remote_address, internal peer without XFF: internal, XFF created',
    useRemoteAddress: true,
    hops: 0,
    peer: '10.1.1.1',
    want: { client: '10.1.1.1', port: 4444, internal: true, edge: false, xff: '10.1.1.1' },
  },
  {
    name: 'use_remote_address, internal peer with XFF: external (edge)',
    useRemoteAddress: true,
    hops: 0,
    peer: '10.1.1.1',
    xff: '10.2.2.2',
    want: { client: '10.1.1.1', port: 4444, internal: false, edge: true, xff: '10.2.2.2,10.1.1.1' },
  },
  {
    name: 'use_remote_address, loopback peer: the local node address is appended',
    useRemoteAddress: true,
    hops: 0,
    peer: '::ffff:127.0.0.1',
    want: { client: '127.0.0.1', port: 4444, internal: true, edge: false, xff: '10.9.9.9' },
  },
  {
    name: 'fewer XFF entries than trusted hops: the peer',
    useRemoteAddress: true,
    hops: 3,
    peer: '192.0.2.5',
    xff: '203.0.113.1',
    want: { client: '192.0.2.5', port: 4444, internal: false, edge: true, xff: '203.0.113.1,192.0.2.5' },
  },
  {
    name: 'an XFF entry that is not an IP: the peer, not internal',
    useRemoteAddress: false,
    hops: 0,
    peer: '10.0.0.1',
    xff: 'unknown',
    want: { client: '10.0.0.1', port: 4444, internal: false, edge: false, xff: 'unknown' },
  },
  {
    name: 'IPv6 ULA single XFF address: internal',
    useRemoteAddress: false,
    hops: 0,
    peer: '10.0.0.1',
    xff: ' fd00::1 ',
    want: { client: 'fd00::1', port: 0, internal: true, edge: false, xff: ' fd00::1 ' },
  },
];

describe('x-forwarded-for', () => {
  it.each(cases)('$name', (c) => {
    const h = new HeaderMap(c.xff === undefined ? [] : ['X-Forwarded-For', c.xff]);
    const out: XffResult = { remoteIp: '', remotePort: 0, internal: false, edge: false };
    mutateForwardedFor({ useRemoteAddress: c.useRemoteAddress, xffNumTrustedHops: c.hops, skipXffAppend: false }, c.peer, 4444, '10.9.9.9', h, out);
    expect({ client: out.remoteIp, port: out.remotePort, internal: out.internal, edge: out.edge, xff: h.get('x-forwarded-for') }).toEqual(c.want);
  });

  it('skip_xff_append leaves XFF alone but still picks the client', () => {
    const h = new HeaderMap(['x-forwarded-for', '198.51.100.7']);
    const out: XffResult = { remoteIp: '', remotePort: 0, internal: false, edge: false };
    mutateForwardedFor({ useRemoteAddress: true, xffNumTrustedHops: 1, skipXffAppend: true }, '192.0.2.5', 1, '10.9.9.9', h, out);
    expect([out.remoteIp, h.get('x-forwarded-for')]).toEqual(['198.51.100.7', '198.51.100.7']);
  });

  it('getLastAddressFromXFF details', () => {
    expect(lastAddressFromXff('1.1.1.1,2.2.2.2', 0)).toEqual({ ip: '2.2.2.2', single: false });
    expect(lastAddressFromXff('1.1.1.1,2.2.2.2', 1)).toEqual({ ip: '1.1.1.1', single: false });
    expect(lastAddressFromXff('1.1.1.1,2.2.2.2', 2)).toBeNull();
    expect(lastAddressFromXff('1.1.1.1', 0)).toEqual({ ip: '1.1.1.1', single: true });
    expect(lastAddressFromXff('1.1.1.1:80', 0)).toBeNull();
    expect(lastAddressFromXff(undefined, 0)).toBeNull();
  });

  it.each([
    ['10.0.0.1', true],
    ['172.16.0.1', true],
    ['172.32.0.1', false],
    ['192.168.1.1', true],
    ['127.0.0.1', true],
    ['::1', true],
    ['fd12:3456::1', true],
    ['fd::1', false],
    ['8.8.8.8', false],
  ])('internal address %s: %s', (ip, want) => {
    expect(isInternalAddress(ip)).toBe(want);
  });
});
