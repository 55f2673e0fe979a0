// grpc-timeout parsing and formatting as Envoy's Grpc::Common does.
import { parseGrpcTimeout, toGrpcTimeout } from './grpc-timeout';

describe('grpc-timeout header', () => {
  it.each([
    ['1H', 3_600_000],
    ['2M', 120_000],
    ['3S', 3000],
    ['250m', 250],
    ['1500u', 2],
    ['1000u', 1],
    ['1n', 1],
    ['0m', 0],
    ['99999999m', 99_999_999],
    ['000000005S', 5000],
    ['100000000m', undefined],
    ['10', undefined],
    ['m', undefined],
    ['1.5S', undefined],
    ['-1S', undefined],
    ['5s', undefined],
    [undefined, undefined],
  ])('%s -> %s ms', (v, ms) => {
    expect(parseGrpcTimeout(v)).toBe(ms);
  });

  it.each([
    [250, '250m'],
    [99_999_999, '99999999m'],
    [100_000_000, '100000S'],
    [10_000_000_000_000, '2777777H'],
  ])('%s ms -> %s', (ms, v) => {
    expect(toGrpcTimeout(ms)).toBe(v);
  });
});
