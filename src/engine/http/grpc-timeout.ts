// The gRPC `grpc-timeout` request header (gRPC over HTTP/2 spec: 1 to 8 digits and a unit
// H, M, S, m, u or n), read and written as Envoy's Grpc::Common::getGrpcTimeout and
// toGrpcTimeout do: sub-millisecond units round up to whole milliseconds; values too large for
// 8 digits move to a coarser unit.

const MAX_GRPC_TIMEOUT_VALUE = 99_999_999;

/** The header's timeout in ms, or undefined when absent or malformed. */
export function parseGrpcTimeout(v: string | undefined): number | undefined {
  if (v === undefined || v.length < 2) return undefined;
  let n = 0;
  for (let i = 0; i < v.length - 1; i++) {
    const c = v.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    n = n * 10 + c;
    if (n > MAX_GRPC_TIMEOUT_VALUE) return undefined;
  }
  switch (v.charCodeAt(v.length - 1)) {
    case 72 /* H */:
      return n * 3_600_000;
    case 77 /* M */:
      return n * 60_000;
    case 83 /* S */:
      return n * 1000;
    case 109 /* m */:
      return n;
    case 117 /* u */:
      return Math.ceil(n / 1000);
    case 110 /* n */:
      return Math.ceil(n / 1_000_000);
    default:
      return undefined;
  }
}

const UNITS = 'mSMH';

/** A grpc-timeout value for `ms` milliseconds. */
export function toGrpcTimeout(ms: number): string {
  let t = Math.floor(ms);
  let unit = 0;
  while (t > MAX_GRPC_TIMEOUT_VALUE) {
    if (unit >= UNITS.length - 1) {
      t = MAX_GRPC_TIMEOUT_VALUE;
      break;
    }
    t = Math.floor(t / (unit === 0 ? 1000 : 60));
    unit++;
  }
  return `${t}${UNITS[unit]}`;
}
