// Random sources for the load balancers (worker side). Envoy's LBs draw from
// Random::RandomGenerator; ours take a RandomGenerator so tests and benches can be
// deterministic. Both implementations allocate nothing per call.

import type { RandomGenerator } from './lb-types';

/** Production source: V8's Math.random (xorshift128+), scaled to a uint32. */
export class MathRandomGenerator implements RandomGenerator {
  nextUint32(): number {
    return (Math.random() * 4294967296) >>> 0;
  }
}

/** Seeded source (mulberry32): reproducible sequences for tests, benches and fuzzing. */
export class SeededRandomGenerator implements RandomGenerator {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
}
