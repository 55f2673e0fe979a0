// Header edit and header format tests: Envoy's HeaderParser order (remove, then overwrite, then
// append; values formatted against the unmodified headers), append actions, keep_empty_value,
// level order with most_specific_header_mutations_wins, and %COMMAND% evaluation.
import { parseHeaderFormat, HEADER_FORMAT_COMMANDS } from '../../../config/translate/route/header-format';
import type { HeaderValueOptionConfig } from '../../../config/model/route';
import { HeaderEditList } from './header-edits';
import { addressPort, addressWithoutPort, HeaderFormatter, isSupportedFormatCommand } from './header-format';
import type { HeaderFormatContext, MutableHeaders } from './route-request';

class Headers implements MutableHeaders {
  readonly m = new Map<string, string[]>();
  constructor(init: Record<string, string> = {}) {
    for (const [k, v] of Object.entries(init)) this.m.set(k, [v]);
  }
  get(n: string): string | undefined {
    return this.m.get(n)?.join(',');
  }
  set(n: string, v: string): void {
    this.m.set(n, [v]);
  }
  add(n: string, v: string): void {
    this.m.set(n, [...(this.m.get(n) ?? []), v]);
  }
  remove(n: string): void {
    this.m.delete(n);
  }
}

const ctx: HeaderFormatContext = {
  downstreamRemoteAddress: '10.0.0.1:5555',
  downstreamDirectRemoteAddress: '[2001:db8::1]:443',
  downstreamLocalAddress: '127.0.0.1:15006',
  upstreamRemoteAddress: '',
  upstreamLocalAddress: '',
  upstreamCluster: 'outbound|80||a',
  protocol: 'HTTP/1.1',
  startTimeMs: Date.UTC(2024, 0, 2, 3, 4, 5, 678),
  routeName: 'r1',
  requestedServerName: '',
  connectionId: 7,
  responseCode: 0,
  responseFlags: '',
  tls: null,
  requestHeader: (n) => ({ 'x-a': 'A', 'x-b': 'B' })[n],
  responseHeader: () => undefined,
  upstreamMetadata: (ns, path) => (ns === 'istio' && path[0] === 'canary' ? true : ns === 'istio' && path[0] === 'obj' ? { a: 1 } : undefined),
  dynamicMetadata: () => undefined,
  clusterMetadata: () => undefined,
  filterState: () => undefined,
};

function fmt(value: string): string {
  const p = parseHeaderFormat(value);
  if (!p.ok) throw new Error(p.reason);
  return new HeaderFormatter(p.parts).format(ctx);
}

function opt(name: string, value: string, appendAction: HeaderValueOptionConfig['appendAction'] = 'APPEND_IF_EXISTS_OR_ADD', keepEmptyValue = false): HeaderValueOptionConfig {
  const p = parseHeaderFormat(value);
  if (!p.ok) throw new Error(p.reason);
  return { name, value, format: p.parts, appendAction, keepEmptyValue };
}

describe('header value formats', () => {
  test.each([
    ['plain', 'plain'],
    ['100%%', '100%'],
    ['%DOWNSTREAM_REMOTE_ADDRESS%', '10.0.0.1:5555'],
    ['ip=%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%;', 'ip=10.0.0.1;'],
    ['%DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT%', '2001:db8::1'],
    ['%DOWNSTREAM_LOCAL_PORT%', '15006'],
    ['%REQ(X-A)%/%REQ(x-missing?x-b)%/%REQ(x-none)%', 'A/B/'],
    ['%UPSTREAM_METADATA(["istio","canary"])%', 'true'],
    ['%UPSTREAM_METADATA(istio:obj)%', '{"a":1}'],
    ['%PROTOCOL%', 'HTTP/1.1'],
    ['%START_TIME%', '2024-01-02T03:04:05.678Z'],
    ['%START_TIME(%Y/%m/%d %H:%M:%E3S)%', '2024/01/02 03:04:05.678'],
    ['%UPSTREAM_CLUSTER%:3', 'outbound|80||a:3'],
    ['%ROUTE_NAME%', 'r1'],
  ])('%s -> %s', (value, expected) => {
    expect(fmt(value)).toBe(expected);
  });

  test.each(['%', '50% off', '%NOT_A_COMMAND%', '%REQ%', '%PROTOCOL(x)%', '%UPSTREAM_METADATA(["istio"])%'])('rejects %s', (value) => {
    expect(parseHeaderFormat(value).ok).toBe(false);
  });

  test('truncation :N', () => {
    expect(fmt('%REQ(x-a):0%x')).toBe('x');
  });

  test('every command translate accepts has an evaluator', () => {
    for (const name of Object.keys(HEADER_FORMAT_COMMANDS)) expect([name, isSupportedFormatCommand(name)]).toEqual([name, true]);
  });

  test('address helpers', () => {
    expect([addressWithoutPort('1.2.3.4:80'), addressPort('1.2.3.4:80'), addressWithoutPort('[::1]:80'), addressPort('[::1]:80'), addressWithoutPort('::1'), addressPort('::1')]).toEqual([
      '1.2.3.4',
      '80',
      '::1',
      '80',
      '::1',
      '',
    ]);
  });
});

describe('header edit application', () => {
  test('remove, then overwrite, then append; values see the headers before edits', () => {
    const h = new Headers({ 'x-a': 'old', 'x-drop': '1', 'x-keep': 'k' });
    new HeaderEditList(
      [
        opt('x-a', 'new', 'OVERWRITE_IF_EXISTS_OR_ADD'),
        opt('x-a', 'more'),
        opt('x-keep', 'ignored', 'ADD_IF_ABSENT'),
        opt('x-fresh', 'f', 'ADD_IF_ABSENT'),
        opt('x-only-if', 'no', 'OVERWRITE_IF_EXISTS'),
        opt('x-empty', ''),
        opt('x-empty-kept', '', 'APPEND_IF_EXISTS_OR_ADD', true),
        opt('x-copy', '%REQ(x-a)%'),
      ],
      ['x-drop'],
    ).apply(h, ctx);
    expect(Object.fromEntries(h.m)).toEqual({
      'x-a': ['new', 'more'],
      'x-keep': ['k'],
      'x-fresh': ['f'],
      'x-empty-kept': [''],
      'x-copy': ['A'],
    });
  });
});
