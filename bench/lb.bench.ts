// Micro benchmark: host picks per second for each built-in load balancer, plus xxHash64 of a
// typical header value (the per-request cost of a hash policy). Not a test. Run:
//   npx tsc --outDir /tmp/lb-bench --rootDir . --module commonjs --target es2022 --skipLibCheck \
//     --types node bench/lb.bench.ts && node /tmp/lb-bench/bench/lb.bench.js
// Each scenario runs a bounded number of picks (and at most ~1 s), after a warm-up.

import { xxhash64Into } from '../src/common/hash/xxhash64';
import { createLoadBalancer } from '../src/engine/upstream/lb/create-load-balancer';
import type { HostHealth, LbContext, LbHost, LbOptions } from '../src/engine/upstream/lb/lb-types';
import { buildPrioritySet } from '../src/engine/upstream/lb/priority-set';

class BenchHost implements LbHost {
  activeRequests = 0;
  readonly hostname = '';
  readonly localityKey: string;
  readonly localityWeight = 1;
  constructor(
    readonly addressKey: string,
    readonly weight: number,
    readonly health: HostHealth,
    readonly priority: number,
    zone: number,
  ) {
    this.localityKey = `zone-${zone}`;
  }
}

const HOSTS = 50;
const MAX_PICKS = 5_000_000;
const MAX_MS = 1000;

function hosts(weighted: boolean): BenchHost[] {
  return Array.from(
    { length: HOSTS },
    (_, i) => new BenchHost(`10.0.${i >> 8}.${i & 255}:8080`, weighted ? 1 + (i % 5) : 1, 'healthy', 0, i % 3),
  );
}

function run(name: string, options: LbOptions, weighted: boolean, hashed: boolean): void {
  const hs = hosts(weighted);
  const t0 = process.hrtime.bigint();
  const lb = createLoadBalancer(options, buildPrioritySet(hs));
  const buildMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const ctx: LbContext = { hasHash: hashed, hashHi: 0, hashLo: 0, attempt: 0 };
  let sink = 0;
  const step = (i: number): void => {
    ctx.hashHi = Math.imul(i, 0x9e3779b1) >>> 0;
    ctx.hashLo = Math.imul(i ^ 0x5bd1e995, 0x85ebca6b) >>> 0;
    const h = lb.chooseHost(ctx) as BenchHost;
    h.activeRequests = (h.activeRequests + 1) & 7; // keep LEAST_REQUEST's inputs moving
    sink += h.weight;
  };
  for (let i = 0; i < 200_000; i++) step(i); // warm-up
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(MAX_MS) * 1_000_000n;
  let n = 0;
  while (n < MAX_PICKS) {
    for (let j = 0; j < 10_000; j++) step(n + j);
    n += 10_000;
    if (process.hrtime.bigint() > deadline) break;
  }
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  const rate = n / secs;
  console.log(
    `${name.padEnd(40)} ${(rate / 1e6).toFixed(2).padStart(6)} M picks/s  ${(1e9 / rate).toFixed(0).padStart(5)} ns/pick  build ${buildMs.toFixed(1)} ms  (${sink > 0 ? 'ok' : ''})`,
  );
}

function benchHash(): void {
  const out = new Uint32Array(2);
  const values = Array.from({ length: 1024 }, (_, i) => `user-session-${i}-4f1c2a9e7b`);
  for (let i = 0; i < 200_000; i++) xxhash64Into(values[i & 1023]!, out);
  const start = process.hrtime.bigint();
  let n = 0;
  while (n < MAX_PICKS) {
    for (let j = 0; j < 10_000; j++) xxhash64Into(values[(n + j) & 1023]!, out);
    n += 10_000;
    if (process.hrtime.bigint() - start > BigInt(MAX_MS) * 1_000_000n) break;
  }
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`${'xxhash64Into (27-byte string)'.padEnd(40)} ${(n / secs / 1e6).toFixed(2).padStart(6)} M hashes/s ${(secs * 1e9 / n).toFixed(0).padStart(5)} ns/hash`);
}

console.log(`node ${process.version}, ${HOSTS} hosts, one priority, up to ${MAX_MS} ms per scenario`);
run('ROUND_ROBIN equal weights', { policy: 'ROUND_ROBIN' }, false, false);
run('ROUND_ROBIN weighted (EDF)', { policy: 'ROUND_ROBIN' }, true, false);
run('ROUND_ROBIN locality weighted', { policy: 'ROUND_ROBIN', localityWeightedLb: true }, false, false);
run('LEAST_REQUEST equal weights (P2C)', { policy: 'LEAST_REQUEST' }, false, false);
run('LEAST_REQUEST weighted (EDF)', { policy: 'LEAST_REQUEST' }, true, false);
run('RANDOM', { policy: 'RANDOM' }, false, false);
run('RING_HASH (min ring 1024), hashed', { policy: 'RING_HASH' }, false, true);
run('RING_HASH weighted, hashed', { policy: 'RING_HASH' }, true, true);
run('MAGLEV (65537), hashed', { policy: 'MAGLEV' }, false, true);
run('MAGLEV, no hash (random)', { policy: 'MAGLEV' }, false, false);
benchHash();
