// Unit tests for NACK error_detail text: sorting, joining, truncation under the 4 KiB limit.
import { buildNackMessage } from './nack-message';

describe('buildNackMessage', () => {
  test('one line per resource, sorted, joined with "; "', () => {
    expect(
      buildNackMessage([
        { name: 'b', reason: 'second' },
        { name: 'a', reason: 'first\nwith newline' },
      ]),
    ).toBe('a: first with newline; b: second');
  });

  test('truncates under the limit and counts what was cut', () => {
    const errors = Array.from({ length: 500 }, (_, i) => ({ name: `cluster-${String(i).padStart(3, '0')}`, reason: 'x'.repeat(40) }));
    const msg = buildNackMessage(errors);
    expect(Buffer.byteLength(msg)).toBeLessThanOrEqual(4096);
    const m = /; \.\.\. \((\d+) more\)$/.exec(msg)!;
    const kept = msg.slice(0, m.index).split('; ').length;
    expect(kept + Number(m[1])).toBe(500);
    expect(msg.startsWith('cluster-000: ')).toBe(true);
  });

  test('a single huge reason is clipped but still fits', () => {
    const msg = buildNackMessage([
      { name: 'a', reason: 'é'.repeat(5000) },
      { name: 'b', reason: 'short' },
    ], 100);
    expect(Buffer.byteLength(msg)).toBeLessThanOrEqual(100);
    expect(msg.endsWith('; ... (1 more)')).toBe(true);
    expect(msg).not.toContain('\uFFFD');
  });
});
