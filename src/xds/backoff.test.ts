// Unit tests for the ADS reconnect backoff: doubling ceiling, 30 s cap, full jitter, reset.
import { Backoff } from './backoff';

describe('Backoff', () => {
  test('ceiling doubles from 500 ms up to 30 s and resets', () => {
    const b = new Backoff({ random: () => 0.999999 });
    const delays = Array.from({ length: 10 }, () => b.nextDelayMs());
    expect(delays.slice(0, 4)).toEqual([499, 999, 1999, 3999]);
    expect(Math.max(...delays)).toBeLessThan(30_000);
    expect(delays[9]).toBe(29_999);
    b.reset();
    expect(b.nextDelayMs()).toBe(499);
  });

  test('jitter draws below the ceiling, never under a small floor', () => {
    const b = new Backoff({ random: () => 0 });
    expect(b.nextDelayMs()).toBe(10);
    const r = new Backoff();
    for (let i = 0; i < 50; i++) {
      const ceiling = r.ceilingMs;
      const d = r.nextDelayMs();
      expect(d).toBeGreaterThanOrEqual(10);
      expect(d).toBeLessThan(ceiling);
    }
  });
});
