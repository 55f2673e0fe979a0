// Parse half of envoy.filters.listener.original_src: decoded from real protobuf, found in the
// built-in registry by type URL and by name, and located among a listener's filters.
import { ErrorSink } from '../../../../common/result';
import type { Msg } from '../../../../config/translate/proto-util';
import { lookupType } from '../../../../gen/proto-root';
import { builtinParsers } from '../../../parsers';
import type { ParseContext } from '../../../registry';
import { findOriginalSrc, ORIGINAL_SRC_TYPE_URL, originalSrcParser, type OriginalSrcConfig } from './config';

const ctx = {} as ParseContext; // original_src parses no nested extensions

function decode(obj: object): Msg {
  const T = lookupType('envoy.extensions.filters.listener.original_src.v3.OriginalSrc');
  return T.decode(T.encode(T.fromObject(obj)).finish()) as unknown as Msg;
}

describe('original_src parser', () => {
  test("istiod's TPROXY virtualInbound shape: mark 1337", () => {
    const errors = ErrorSink.create();
    expect(originalSrcParser.parse(decode({ mark: 1337 }), ctx, errors)).toEqual({ kind: 'original_src', mark: 1337, bindPort: false });
    expect(errors.errors).toEqual([]);
  });

  test('empty config and selection by name alone: no mark; bind_port is carried', () => {
    const errors = ErrorSink.create();
    expect(originalSrcParser.parse(undefined, ctx, errors)).toEqual({ kind: 'original_src', mark: 0, bindPort: false });
    expect(originalSrcParser.parse(decode({ bindPort: true, mark: 0xffffffff }), ctx, errors)).toEqual({ kind: 'original_src', mark: 0xffffffff, bindPort: true });
    expect(errors.errors).toEqual([]);
  });

  test('registered for the listener category under its type URL and both names', () => {
    const reg = builtinParsers();
    expect(reg.lookup('listener', ORIGINAL_SRC_TYPE_URL, '')).toBe(originalSrcParser);
    expect(reg.lookup('listener', '', 'envoy.filters.listener.original_src')).toBe(originalSrcParser);
    expect(reg.lookup('listener', '', 'envoy.listener.original_src')).toBe(originalSrcParser);
  });

  test('findOriginalSrc picks the original_src entry among listener filters', () => {
    const cfg: OriginalSrcConfig = { kind: 'original_src', mark: 1337, bindPort: false };
    expect(findOriginalSrc([{ config: { passThrough: true } }, { config: cfg }, {}])).toBe(cfg);
    expect(findOriginalSrc([{ config: { kind: 'tls_inspector' } }])).toBeUndefined();
  });
});
