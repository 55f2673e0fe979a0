// Random trace and span ids as lowercase hex, drawn from a pooled random buffer refilled in
// 4 KiB chunks so that a traced request costs a few string slices, not a crypto call.
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let offset = POOL_BYTES;

function take(bytes: number): string {
  if (offset + bytes > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const s = pool.toString('hex', offset, offset + bytes);
  offset += bytes;
  // An all-zero id is invalid in B3 and W3C; astronomically rare, but cheap to rule out.
  return /^0+$/.test(s) ? take(bytes) : s;
}

/** 16 hex digits. */
export function newSpanId(): string {
  return take(8);
}

/** 16 or 32 hex digits. */
export function newTraceId(bits128: boolean): string {
  return take(bits128 ? 16 : 8);
}
