// hash_policy evaluation against Envoy's definitions (source/common/http/hash_policy.cc):
// XXH64 seed 0 of the value, chained seeds for several header values after sorting,
// rotl64(h, 1) ^ next to combine, terminal policies, generated cookies.
import { xxhash64 } from '../../../common/hash/xxhash64';
import type { HashPolicyConfig } from '../../../config/model/route';
import { HeaderMap } from '../header-map';
import { CompiledHashPolicy, parseCookieValue, uint64ToHex, type HashPolicyRequest } from './hash-policy';
import { firstQueryValue } from './matchers';

const M64 = (1n << 64n) - 1n;
const rotl1 = (h: bigint): bigint => ((h << 1n) | (h >> 63n)) & M64;

function req(headers: string[], extra: Partial<HashPolicyRequest> = {}): HashPolicyRequest {
  return {
    requestHeaders: new HeaderMap(headers),
    method: 'GET',
    authority: 'example.com',
    path: '/p?user=alice&x&user=bob',
    scheme: 'http',
    downstreamRemoteIp: '10.1.2.3',
    downstreamDirectRemoteAddress: '127.0.0.1:40000',
    downstreamLocalAddress: '127.0.0.1:15001',
    filterState: (k: string) => (k === 'fs.key' ? 'fs-value' : undefined),
    ...extra,
  };
}

function run(policies: HashPolicyConfig[], r: HashPolicyRequest): { hash: bigint | null; cookies: string[] } {
  const cookies: string[] = [];
  const out = new Uint32Array(2);
  const ok = new CompiledHashPolicy(policies).generate(r, out, { addDownstreamSetCookie: (v) => cookies.push(v) });
  return { hash: ok ? (BigInt(out[0]!) << 32n) | BigInt(out[1]!) : null, cookies };
}

const header = (headerName: string, terminal = false): HashPolicyConfig => ({ kind: 'header', headerName, terminal });
const query = (name: string, terminal = false): HashPolicyConfig => ({ kind: 'query_parameter', name, terminal });

describe('hash_policy', () => {
  const cases: { name: string; policies: HashPolicyConfig[]; headers: string[]; want: bigint | null }[] = [
    { name: 'header value', policies: [header('x-user')], headers: ['X-User', 'alice'], want: xxhash64('alice') },
    { name: 'absent header gives no hash', policies: [header('x-user')], headers: [], want: null },
    { name: 'several header values: sorted, chained seeds', policies: [header('x-user')], headers: ['x-user', 'zed', 'x-user', 'amy'], want: xxhash64('zed', xxhash64('amy')) },
    { name: 'several header values in the other order hash the same', policies: [header('x-user')], headers: ['x-user', 'amy', 'x-user', 'zed'], want: xxhash64('zed', xxhash64('amy')) },
    {
      name: 'header regex_rewrite applies before hashing',
      policies: [{ kind: 'header', headerName: 'x-session', terminal: false, regexRewrite: { pattern: '^([a-z]+)-\\d+$', substitution: '\\1' } }],
      headers: ['x-session', 'alice-42'],
      want: xxhash64('alice'),
    },
    { name: ':authority pseudo-header', policies: [header(':authority')], headers: [], want: xxhash64('example.com') },
    { name: 'cookie value (quotes removed)', policies: [{ kind: 'cookie', name: 'sid', path: '', attributes: [], terminal: false }], headers: ['cookie', 'a=1; sid="abc"', 'cookie', 'sid=later'], want: xxhash64('abc') },
    { name: 'absent cookie without ttl gives no hash', policies: [{ kind: 'cookie', name: 'sid', path: '', attributes: [], terminal: false }], headers: ['cookie', 'a=1'], want: null },
    { name: 'source_ip hashes the IP without port', policies: [{ kind: 'connection_properties', sourceIp: true, terminal: false }], headers: [], want: xxhash64('10.1.2.3') },
    { name: 'connection_properties without source_ip hashes nothing', policies: [{ kind: 'connection_properties', sourceIp: false, terminal: false }], headers: [], want: null },
    { name: 'query parameter: first value', policies: [query('user')], headers: [], want: xxhash64('alice') },
    { name: 'query parameter without "=" has the empty value', policies: [query('x')], headers: [], want: xxhash64('') },
    { name: 'absent query parameter gives no hash', policies: [query('nope')], headers: [], want: null },
    { name: 'filter_state string value', policies: [{ kind: 'filter_state', key: 'fs.key', terminal: false }], headers: [], want: xxhash64('fs-value') },
    { name: 'two policies: rotl(first, 1) ^ second', policies: [header('x-a'), header('x-b')], headers: ['x-a', 'one', 'x-b', 'two'], want: rotl1(xxhash64('one')) ^ xxhash64('two') },
    { name: 'identical policies do not cancel out', policies: [header('x-a'), header('x-a')], headers: ['x-a', 'one'], want: rotl1(xxhash64('one')) ^ xxhash64('one') },
    { name: 'missing first policy: the second alone', policies: [header('x-missing'), header('x-b')], headers: ['x-b', 'two'], want: xxhash64('two') },
    { name: 'terminal policy with a hash stops', policies: [header('x-a', true), header('x-b')], headers: ['x-a', 'one', 'x-b', 'two'], want: xxhash64('one') },
    { name: 'terminal policy without a hash does not stop', policies: [header('x-missing', true), header('x-b')], headers: ['x-b', 'two'], want: xxhash64('two') },
    { name: 'terminal later policy stops after an earlier hash', policies: [header('x-a'), header('x-b', true), header('x-c')], headers: ['x-a', 'one', 'x-b', 'two', 'x-c', 'three'], want: rotl1(xxhash64('one')) ^ xxhash64('two') },
  ];
  it.each(cases)('$name', ({ policies, headers, want }) => {
    expect(run(policies, req(headers)).hash).toBe(want);
  });

  it('generates a cookie when absent and ttl is set, sets it on the response and hashes its value', () => {
    const policy: HashPolicyConfig = { kind: 'cookie', name: 'sticky', ttlMs: 3_600_500, path: '/app', attributes: [{ name: 'SameSite', value: 'Strict' }, { name: 'Secure', value: '' }], terminal: false };
    const r = run([policy], req(['cookie', 'other=1']));
    const cookieHash = xxhash64('127.0.0.1:40000127.0.0.1:15001');
    const hex = cookieHash.toString(16).padStart(16, '0');
    expect(r.cookies).toEqual([`sticky="${hex}"; Max-Age=3600; Path=/app; SameSite=Strict; Secure; HttpOnly`]);
    expect(r.hash).toBe(xxhash64(hex));
    // The client sends the cookie back: same hash, nothing new set.
    const again = run([policy], req(['cookie', `sticky="${hex}"`]));
    expect(again.hash).toBe(r.hash);
    expect(again.cookies).toEqual([]);
  });

  it('a zero ttl makes a session cookie (no Max-Age)', () => {
    const r = run([{ kind: 'cookie', name: 's', ttlMs: 0, path: '', attributes: [], terminal: false }], req([]));
    expect(r.cookies[0]).toMatch(/^s="[0-9a-f]{16}"; HttpOnly$/);
  });

  it('parses cookies and query strings as Envoy does', () => {
    expect(parseCookieValue(new HeaderMap(['Cookie', 'a=1;  b=2', 'cookie', 'b=3']), 'b')).toBe('2');
    expect(parseCookieValue(new HeaderMap(['cookie', 'ab=1']), 'b')).toBe('');
    expect(firstQueryValue('/x?a=1&b=2&a=3', 'a')).toBe('1');
    expect(firstQueryValue('/x?a%20b=1', 'a b')).toBeUndefined();
    expect(firstQueryValue('/x', 'a')).toBeUndefined();
    expect(uint64ToHex(0x1, 0xabc)).toBe('0000000100000abc');
  });
});
