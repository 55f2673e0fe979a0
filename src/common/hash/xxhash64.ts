// xxHash64 (XXH64), our own implementation, bit-exact with the reference C library that Envoy
// links (Envoy's HashUtil::xxHash64(input, seed) is XXH64(data, len, seed)). Used on the data
// path for hash-policy request hashes and at LB build time for ring hash / maglev tables, so
// the same key lands on the same host as it would in Envoy.
//
// Representation: JavaScript has no fast 64-bit integer, and BigInt arithmetic allocates, so
// the core works on pairs of uint32 halves (hi, lo) held in module-level "registers". The hot
// entry point, xxhash64Into(), writes [hi, lo] into a caller-owned Uint32Array and allocates
// nothing (string input is UTF-8 encoded into a reused scratch buffer). xxhash64() returns a
// bigint for tests, config-time code and logs.

// The five 64-bit primes of XXH64, split into (hi, lo).
const P1H = 0x9e3779b1, P1L = 0x85ebca87;
const P2H = 0xc2b2ae3d, P2L = 0x27d4eb4f;
const P3H = 0x165667b1, P3L = 0x9e3779f9;
const P4H = 0x85ebca77, P4L = 0xc2b2ae63;
const P5H = 0x27d4eb2f, P5L = 0x165667c5;
// 2^64 - P1 (two's complement; P1's low half is non-zero so no carry into the high half).
const NP1H = ~P1H >>> 0, NP1L = -P1L >>> 0;

// Result registers of the 64-bit helpers below (avoid returning tuples). A typed array, not
// module-level lets: V8 boxes a double >= 2^30 stored in a context slot (one allocation per
// operation); typed array stores do not allocate.
const R = new Uint32Array(2);

/** (ah,al) * (bh,bl) mod 2^64 -> R[0], R[1]. The low 32x32 product is split into 16-bit limbs so
 * every intermediate stays an exact integer in a double. */
function mul(ah: number, al: number, bh: number, bl: number): void {
  const a0 = al & 0xffff, a1 = al >>> 16, b0 = bl & 0xffff, b1 = bl >>> 16;
  const mid = a0 * b1 + a1 * b0; // < 2^33
  const midLow = mid & 0xffff;
  const low = a0 * b0 + midLow * 65536; // < 2^33
  R[1] = low >>> 0;
  const carry = low > 0xffffffff ? 1 : 0;
  R[0] = (a1 * b1 + (mid - midLow) / 65536 + carry + Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0;
}

/** (ah,al) + (bh,bl) mod 2^64 -> R[0], R[1]. */
function add(ah: number, al: number, bh: number, bl: number): void {
  const lo = al + bl;
  R[1] = lo >>> 0;
  R[0] = (ah + bh + (lo > 0xffffffff ? 1 : 0)) >>> 0;
}

/** rotate left by r, 0 < r < 32 -> R[0], R[1]. (XXH64 only rotates by 1..31.) */
function rotl(h: number, l: number, r: number): void {
  R[0] = ((h << r) | (l >>> (32 - r))) >>> 0;
  R[1] = ((l << r) | (h >>> (32 - r))) >>> 0;
}

/** XXH64_round: acc = rotl(acc + input * P2, 31) * P1 -> R[0], R[1]. */
function round(accH: number, accL: number, inH: number, inL: number): void {
  mul(inH, inL, P2H, P2L);
  add(accH, accL, R[0], R[1]);
  rotl(R[0], R[1], 31);
  mul(R[0], R[1], P1H, P1L);
}

/** XXH64_mergeRound: acc = (acc ^ round(0, val)) * P1 + P4 -> R[0], R[1]. */
function mergeRound(accH: number, accL: number, valH: number, valL: number): void {
  round(0, 0, valH, valL);
  mul((accH ^ R[0]) >>> 0, (accL ^ R[1]) >>> 0, P1H, P1L);
  add(R[0], R[1], P4H, P4L);
}

function read32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

/** Core: hash b[0, len) with seed (seedH, seedL); result in R[0], R[1]. */
function hashBytes(b: Uint8Array, len: number, seedH: number, seedL: number): void {
  let p = 0;
  let hH: number, hL: number;
  if (len >= 32) {
    add(seedH, seedL, P1H, P1L);
    add(R[0], R[1], P2H, P2L);
    let v1H = R[0], v1L = R[1];
    add(seedH, seedL, P2H, P2L);
    let v2H = R[0], v2L = R[1];
    let v3H = seedH, v3L = seedL;
    // seed - P1 == seed + (2^64 - P1)
    add(seedH, seedL, NP1H, NP1L);
    let v4H = R[0], v4L = R[1];
    const limit = len - 32;
    do {
      round(v1H, v1L, read32(b, p + 4), read32(b, p)); v1H = R[0]; v1L = R[1];
      round(v2H, v2L, read32(b, p + 12), read32(b, p + 8)); v2H = R[0]; v2L = R[1];
      round(v3H, v3L, read32(b, p + 20), read32(b, p + 16)); v3H = R[0]; v3L = R[1];
      round(v4H, v4L, read32(b, p + 28), read32(b, p + 24)); v4H = R[0]; v4L = R[1];
      p += 32;
    } while (p <= limit);
    rotl(v1H, v1L, 1); hH = R[0]; hL = R[1];
    rotl(v2H, v2L, 7); add(hH, hL, R[0], R[1]); hH = R[0]; hL = R[1];
    rotl(v3H, v3L, 12); add(hH, hL, R[0], R[1]); hH = R[0]; hL = R[1];
    rotl(v4H, v4L, 18); add(hH, hL, R[0], R[1]); hH = R[0]; hL = R[1];
    mergeRound(hH, hL, v1H, v1L); hH = R[0]; hL = R[1];
    mergeRound(hH, hL, v2H, v2L); hH = R[0]; hL = R[1];
    mergeRound(hH, hL, v3H, v3L); hH = R[0]; hL = R[1];
    mergeRound(hH, hL, v4H, v4L); hH = R[0]; hL = R[1];
  } else {
    add(seedH, seedL, P5H, P5L); hH = R[0]; hL = R[1];
  }
  // h += len (len < 2^53; split it)
  add(hH, hL, Math.floor(len / 4294967296) >>> 0, len >>> 0); hH = R[0]; hL = R[1];

  while (p + 8 <= len) {
    round(0, 0, read32(b, p + 4), read32(b, p));
    rotl((hH ^ R[0]) >>> 0, (hL ^ R[1]) >>> 0, 27);
    mul(R[0], R[1], P1H, P1L);
    add(R[0], R[1], P4H, P4L); hH = R[0]; hL = R[1];
    p += 8;
  }
  if (p + 4 <= len) {
    mul(0, read32(b, p), P1H, P1L);
    rotl((hH ^ R[0]) >>> 0, (hL ^ R[1]) >>> 0, 23);
    mul(R[0], R[1], P2H, P2L);
    add(R[0], R[1], P3H, P3L); hH = R[0]; hL = R[1];
    p += 4;
  }
  while (p < len) {
    mul(0, b[p]!, P5H, P5L);
    rotl((hH ^ R[0]) >>> 0, (hL ^ R[1]) >>> 0, 11);
    mul(R[0], R[1], P1H, P1L); hH = R[0]; hL = R[1];
    p++;
  }
  R[0] = hH;
  R[1] = hL;
}

/** XXH64_avalanche on (hH, hL) -> R[0], R[1]. */
function avalanche(hH: number, hL: number): void {
  // h ^= h >> 33
  hL = (hL ^ (hH >>> 1)) >>> 0;
  mul(hH, hL, P2H, P2L); hH = R[0]; hL = R[1];
  // h ^= h >> 29
  hL = (hL ^ ((hL >>> 29) | (hH << 3))) >>> 0;
  hH = (hH ^ (hH >>> 29)) >>> 0;
  mul(hH, hL, P3H, P3L); hH = R[0]; hL = R[1];
  // h ^= h >> 32
  R[0] = hH;
  R[1] = (hL ^ hH) >>> 0;
}

let scratch = Buffer.allocUnsafe(256);

function encode(input: string): number {
  const n = input.length;
  const max = n * 3;
  if (max > scratch.length) scratch = Buffer.allocUnsafe(Math.max(max, scratch.length * 2));
  // ASCII fast path (header values, addresses): copy code units, no native call.
  let i = 0;
  for (; i < n; i++) {
    const c = input.charCodeAt(i);
    if (c > 0x7f) break;
    scratch[i] = c;
  }
  return i === n ? n : scratch.write(input, 0, 'utf8');
}

function run(input: string | Uint8Array, seedH: number, seedL: number): void {
  if (typeof input === 'string') {
    const n = encode(input); // may replace scratch: read it after encoding
    hashBytes(scratch, n, seedH, seedL);
  } else {
    hashBytes(input, input.length, seedH, seedL);
  }
  avalanche(R[0], R[1]);
}

/**
 * Hash `input` (a string is hashed as its UTF-8 bytes, as Envoy hashes std::string bytes) and
 * write the 64-bit result into out[0] (high 32 bits) and out[1] (low 32 bits). Allocation-free.
 * `seed` is a uint32 or a bigint for the full 64-bit range.
 */
export function xxhash64Into(input: string | Uint8Array, out: Uint32Array, seed: number | bigint = 0): void {
  if (typeof seed === 'number') run(input, 0, seed >>> 0);
  else run(input, Number((seed >> 32n) & 0xffffffffn), Number(seed & 0xffffffffn));
  out[0] = R[0];
  out[1] = R[1];
}

/**
 * xxhash64Into with a full 64-bit seed given as halves (allocation-free). Envoy chains hashes
 * this way when it hashes a list of strings: each XXH64 result seeds the next one.
 */
export function xxhash64IntoSeeded(input: string | Uint8Array, out: Uint32Array, seedHi: number, seedLo: number): void {
  run(input, seedHi >>> 0, seedLo >>> 0);
  out[0] = R[0];
  out[1] = R[1];
}

/** Same as xxhash64Into but returns a bigint (allocates; for config time, tests and logs). */
export function xxhash64(input: string | Uint8Array, seed: number | bigint = 0): bigint {
  if (typeof seed === 'number') run(input, 0, seed >>> 0);
  else run(input, Number((seed >> 32n) & 0xffffffffn), Number(seed & 0xffffffffn));
  return (BigInt(R[0]) << 32n) | BigInt(R[1]);
}

/** (hi * 2^32 + lo) mod m for a 64-bit value in halves; exact for m < 2^26 (tables, 100). */
export function mod64(hi: number, lo: number, m: number): number {
  return ((hi % m) * (4294967296 % m) + (lo % m)) % m;
}
