// SAN matching: Node's subjectaltname text, SPIFFE exact/prefix/regex, typed vs legacy matchers,
// DNS wildcard certificates, ignore_case.
import { compileSanMatchers, parseSubjectAltNames } from './san-matcher';

const sans = parseSubjectAltNames('URI:spiffe://cluster.local/ns/default/sa/server, DNS:*.example.com, IP Address:10.0.0.1, email:a@b.c, DNS:"x,y.example"');

test('parses Node subjectaltname text, including quoted values', () => {
  expect(sans).toEqual([
    { type: 'URI', value: 'spiffe://cluster.local/ns/default/sa/server' },
    { type: 'DNS', value: '*.example.com' },
    { type: 'IP_ADDRESS', value: '10.0.0.1' },
    { type: 'EMAIL', value: 'a@b.c' },
    { type: 'DNS', value: 'x,y.example' },
  ]);
  expect(parseSubjectAltNames(undefined)).toEqual([]);
});

test.each([
  [[{ kind: 'exact', value: 'spiffe://cluster.local/ns/default/sa/server', sanType: 'URI' }], true],
  [[{ kind: 'exact', value: 'spiffe://cluster.local/ns/default/sa/other', sanType: 'URI' }], false],
  [[{ kind: 'prefix', value: 'spiffe://cluster.local/ns/default/', sanType: 'URI' }], true],
  [[{ kind: 'prefix', value: 'spiffe://other.td/', sanType: 'URI' }], false],
  [[{ kind: 'regex', value: 'spiffe://cluster\\.local/ns/[a-z]+/sa/server', sanType: 'URI' }], true],
  [[{ kind: 'regex', value: 'spiffe://cluster\\.local/ns/[a-z]+', sanType: 'URI' }], false],
  [[{ kind: 'exact', value: 'spiffe://cluster.local/ns/default/sa/server', sanType: 'DNS' }], false],
  [[{ kind: 'exact', value: 'spiffe://cluster.local/ns/default/sa/server' }], true],
  [[{ kind: 'exact', value: 'api.example.com', sanType: 'DNS' }], true],
  [[{ kind: 'exact', value: 'a.b.example.com', sanType: 'DNS' }], false],
  [[{ kind: 'exact', value: '10.0.0.1', sanType: 'IP_ADDRESS' }], true],
  [[{ kind: 'exact', value: 'SPIFFE://CLUSTER.LOCAL/ns/default/sa/server', sanType: 'URI', ignoreCase: true }], true],
  [[{ kind: 'suffix', value: '/sa/nope', sanType: 'URI' }, { kind: 'contains', value: 'b.c', sanType: 'EMAIL' }], true],
] as const)('%j -> %s', (matchers, want) => {
  expect(compileSanMatchers(matchers)!(sans)).toBe(want);
});

test('no matchers means no check', () => {
  expect(compileSanMatchers([])).toBeUndefined();
});
