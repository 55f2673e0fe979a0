// RING_HASH and MAGLEV: exact placements Envoy's own unit tests expect for the same hosts,
// lookup correctness against brute force, weight shares, and stability when a host leaves.
import { xxhash64Into } from '../../../common/hash/xxhash64';
import { createLoadBalancer } from './create-load-balancer';
import type { HostHealth, LbContext, LbHost, LbOptions, LoadBalancer } from './lb-types';
import { MaglevTable } from './maglev-lb';
import { buildPrioritySet } from './priority-set';
import { SeededRandomGenerator } from './random-generator';
import { RingHashTable } from './ring-hash-lb';

class TestHost implements LbHost {
  activeRequests = 0;
  constructor(
    readonly addressKey: string,
    readonly weight = 1,
    readonly health: HostHealth = 'healthy',
    readonly priority = 0,
    readonly localityKey = '',
    readonly localityWeight = 0,
    readonly hostname = '',
  ) {}
}

const ctx: LbContext = { hasHash: true, hashHi: 0, hashLo: 0, attempt: 0 };
function withHash(h: bigint, attempt = 0): LbContext {
  ctx.hashHi = Number(h >> 32n);
  ctx.hashLo = Number(h & 0xffffffffn);
  ctx.attempt = attempt;
  return ctx;
}

const envoyTestHosts = () => [90, 91, 92, 93, 94, 95].map((p) => new TestHost(`127.0.0.1:${p}`));

function lbFor(options: LbOptions, hosts: LbHost[]): LoadBalancer {
  return createLoadBalancer(options, buildPrioritySet(hosts), new SeededRandomGenerator(1));
}

/** Hash of request key i, as a hash policy on a header value would produce. */
const keyHashes = (n: number): BigUint64Array => {
  const out = new Uint32Array(2);
  const a = new BigUint64Array(n);
  for (let i = 0; i < n; i++) {
    xxhash64Into(`user-${i}`, out);
    a[i] = (BigInt(out[0]!) << 32n) | BigInt(out[1]!);
  }
  return a;
};

/** Route 50k keys before and after removing hosts[removed]; report what moved. */
function measureRemoval(options: LbOptions, hosts: LbHost[], removed: number) {
  const before = lbFor(options, hosts);
  const after = lbFor(options, hosts.filter((_, i) => i !== removed));
  const keys = keyHashes(50_000);
  let moved = 0, othersKeys = 0, movedFromOthers = 0, removedKeysStayed = 0;
  for (const k of keys) {
    const a = before.chooseHost(withHash(k));
    const b = after.chooseHost(withHash(k));
    if (a !== hosts[removed]) othersKeys++;
    if (b === hosts[removed]) removedKeysStayed++;
    if (a !== b) {
      moved++;
      if (a !== hosts[removed]) movedFromOthers++;
    }
  }
  return { share: moved / keys.length, othersShare: movedFromOthers / othersKeys, movedFromOthers, removedKeysStayed };
}

describe('ring hash', () => {
  // Positions listed in Envoy's ring_hash_lb_test.cc (Basic) for 127.0.0.1:90..95 and
  // minimum_ring_size 12: xxHash64("<address>_<i>"), two entries per host.
  const ENVOY_RING: Array<[number, bigint]> = [
    [94, 833437586790550860n], [92, 928266305478181108n], [90, 1033482794131418490n],
    [95, 3551244743356806947n], [93, 3851675632748031481n], [91, 5583722120771150861n],
    [91, 6311230543546372928n], [93, 7700377290971790572n], [95, 13144177310400110813n],
    [92, 13444792449719432967n], [94, 15516499411664133160n], [90, 16117243373044804889n],
  ];

  test("builds Envoy's ring for its Basic test hosts (size 12, 2 hashes per host) and looks up like Envoy", () => {
    const hosts = envoyTestHosts();
    const lb = lbFor({ policy: 'RING_HASH', minRingSize: 12 }, hosts);
    expect([lb.stats.ringSize, lb.stats.minHashesPerHost, lb.stats.maxHashesPerHost]).toEqual([12, 2, 2]);
    const port = (h: LbHost | null) => Number(h!.addressKey.split(':')[1]);
    for (let k = 0; k < ENVOY_RING.length; k++) {
      const [p, pos] = ENVOY_RING[k]!;
      expect(port(lb.chooseHost(withHash(pos)))).toBe(p); // exactly on the point
      expect(port(lb.chooseHost(withHash(pos - 1n)))).toBe(p); // just before it
      const next = ENVOY_RING[(k + 1) % ENVOY_RING.length]![0];
      if (pos < 0xffffffffffffffffn) expect(port(lb.chooseHost(withHash(pos + 1n)))).toBe(next);
    }
    // The lookups Envoy's test asserts.
    expect(lb.chooseHost(withHash(0n))).toBe(hosts[4]);
    expect(lb.chooseHost(withHash(0xffffffffffffffffn))).toBe(hosts[4]);
    expect(lb.chooseHost(withHash(3551244743356806947n))).toBe(hosts[5]);
    expect(lb.chooseHost(withHash(3551244743356806948n))).toBe(hosts[3]);
    // attempt > 0 walks further along the ring (retry host predicate behaviour).
    expect(lb.chooseHost(withHash(0n, 1))).toBe(hosts[2]);
  });

  test('binary search equals a linear scan for 5000 random hashes', () => {
    const hosts = Array.from({ length: 7 }, (_, i) => new TestHost(`10.1.0.${i}:8080`, 1 + (i % 3)));
    const ring = new RingHashTable(hosts.map((h) => ({ host: h, weight: h.weight / 14 })), 1 / 14, 64, 1 << 23, false);
    // Reference: the same ring definition built naively here, searched linearly.
    const entries: Array<[bigint, LbHost]> = [];
    const out = new Uint32Array(2);
    const scale = Math.min(Math.ceil((1 / 14) * 64) / (1 / 14), 1 << 23);
    let cur = 0, target = 0;
    for (const h of hosts) {
      target += scale * (h.weight / 14);
      for (let i = 0; cur < target; i++, cur++) {
        xxhash64Into(`${h.addressKey}_${i}`, out);
        entries.push([(BigInt(out[0]!) << 32n) | BigInt(out[1]!), h]);
      }
    }
    entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    expect(ring.length).toBe(entries.length);
    const rnd = new SeededRandomGenerator(9);
    for (let i = 0; i < 5000; i++) {
      const h = (BigInt(rnd.nextUint32()) << 32n) | BigInt(rnd.nextUint32());
      const hit = entries.find((e) => e[0] >= h) ?? entries[0]!;
      expect(ring.chooseHost(Number(h >> 32n), Number(h & 0xffffffffn), 0)).toBe(hit[1]);
    }
  });

  test('weights 1:2:3 give key shares within 3 points of 1/6, 2/6, 3/6 (min ring 4096)', () => {
    const hosts = [new TestHost('10.0.0.1:80', 1), new TestHost('10.0.0.2:80', 2), new TestHost('10.0.0.3:80', 3)];
    const lb = lbFor({ policy: 'RING_HASH', minRingSize: 4096 }, hosts);
    const keys = keyHashes(60_000);
    const counts = new Map<LbHost, number>();
    for (const k of keys) {
      const h = lb.chooseHost(withHash(k))!;
      counts.set(h, (counts.get(h) ?? 0) + 1);
    }
    hosts.forEach((h, i) => expect(Math.abs(counts.get(h)! / keys.length - (i + 1) / 6)).toBeLessThan(0.03));
  });

  // Envoy sizes the ring as ceil(min_ring_size / N) points per host, so going from 10 to 9
  // hosts also gives each remaining host new points (103 -> 114), and those capture a few keys
  // of other hosts. Old points never move, so keys only ever move to a point that is new.
  test('removing 1 of 10 hosts (default ring) moves its keys plus under 10% of other hosts\' keys', () => {
    const hosts = Array.from({ length: 10 }, (_, i) => new TestHost(`10.2.0.${i}:9080`));
    const r = measureRemoval({ policy: 'RING_HASH' }, hosts, 3);
    console.log(
      `ring hash (min ring 1024): removing 1 of 10 hosts moved ${(r.share * 100).toFixed(2)}% of keys; ` +
        `${(r.othersShare * 100).toFixed(2)}% of the other hosts' keys (they gained ring points)`,
    );
    expect(r.removedKeysStayed).toBe(0);
    expect(r.share).toBeGreaterThan(0.05);
    expect(r.share).toBeLessThan(0.2);
    expect(r.othersShare).toBeLessThan(0.1);
  });

  test('when every host keeps its ring points (min ring 9 -> 1 point per host for 10 and 9 hosts), no key of another host moves', () => {
    const hosts = Array.from({ length: 10 }, (_, i) => new TestHost(`10.2.0.${i}:9080`));
    const r = measureRemoval({ policy: 'RING_HASH', minRingSize: 9 }, hosts, 3);
    console.log(`ring hash (1 point per host): removing 1 of 10 hosts moved ${(r.share * 100).toFixed(2)}% of keys; other hosts' keys moved: ${r.movedFromOthers}`);
    expect(r.movedFromOthers).toBe(0);
    expect(r.removedKeysStayed).toBe(0);
  });

  // Without a hash Envoy hashes a random value onto the ring, so each host's share is its arc
  // of the ring (about 25% each with 256 points per host), not exactly 25%.
  test('no request hash: picks are random, each of 4 hosts within 5 points of 25%', () => {
    const hosts = Array.from({ length: 4 }, (_, i) => new TestHost(`10.3.0.${i}:80`));
    const lb = lbFor({ policy: 'RING_HASH' }, hosts);
    const counts = new Map<LbHost, number>();
    for (let i = 0; i < 40_000; i++) {
      const h = lb.chooseHost(null)!;
      counts.set(h, (counts.get(h) ?? 0) + 1);
    }
    for (const h of hosts) expect(Math.abs(counts.get(h)! / 40_000 - 0.25)).toBeLessThan(0.05);
  });

  test('use_hostname_for_hashing hashes the hostname instead of the address', () => {
    const a = [new TestHost('10.0.0.1:80', 1, 'healthy', 0, '', 0, 'a.example'), new TestHost('10.0.0.2:80', 1, 'healthy', 0, '', 0, 'b.example')];
    const b = [new TestHost('10.9.9.1:81', 1, 'healthy', 0, '', 0, 'a.example'), new TestHost('10.9.9.2:81', 1, 'healthy', 0, '', 0, 'b.example')];
    const la = lbFor({ policy: 'RING_HASH', useHostnameForHashing: true }, a);
    const lbb = lbFor({ policy: 'RING_HASH', useHostnameForHashing: true }, b);
    for (const k of keyHashes(500)) expect(la.chooseHost(withHash(k))!.hostname).toBe(lbb.chooseHost(withHash(k))!.hostname);
  });

  test('minimum_ring_size > maximum_ring_size is refused', () => {
    expect(() => lbFor({ policy: 'RING_HASH', minRingSize: 100, maxRingSize: 10 }, envoyTestHosts())).toThrow(/minimum_ring_size/);
  });
});

describe('maglev', () => {
  test("builds Envoy's table for its Basic test hosts (table size 7)", () => {
    const hosts = envoyTestHosts();
    const lb = lbFor({ policy: 'MAGLEV', maglevTableSize: 7 }, hosts);
    // Envoy maglev_lb_test.cc Basic: slots 0..6 -> :92 :94 :90 :91 :95 :90 :93
    const expected = [2, 4, 0, 1, 5, 0, 3];
    for (let i = 0; i < 3 * expected.length; i++) {
      expect(lb.chooseHost(withHash(BigInt(i)))).toBe(hosts[expected[i % 7]!]);
    }
    expect([lb.stats.minEntriesPerHost, lb.stats.maxEntriesPerHost]).toEqual([1, 2]);
  });

  test('weights 1:2:3 give table shares within 1 point of 1/6, 2/6, 3/6', () => {
    const hosts = [new TestHost('10.0.0.1:80', 1), new TestHost('10.0.0.2:80', 2), new TestHost('10.0.0.3:80', 3)];
    const table = new MaglevTable(hosts.map((h) => ({ host: h, weight: h.weight / 6 })), 3 / 6, 65537, false);
    const counts = new Map<LbHost | null, number>();
    for (let s = 0; s < 65537; s++) {
      const h = table.slotHost(s);
      counts.set(h, (counts.get(h) ?? 0) + 1);
    }
    expect(counts.get(null)).toBeUndefined();
    hosts.forEach((h, i) => expect(Math.abs(counts.get(h)! / 65537 - (i + 1) / 6)).toBeLessThan(0.01));
  });

  test('removing 1 of 10 hosts moves about 1/10 of keys, and under 3% of the other hosts\' keys', () => {
    const hosts = Array.from({ length: 10 }, (_, i) => new TestHost(`10.2.0.${i}:9080`));
    const r = measureRemoval({ policy: 'MAGLEV' }, hosts, 3);
    console.log(`maglev: removing 1 of 10 hosts moved ${(r.share * 100).toFixed(2)}% of keys; ${(r.othersShare * 100).toFixed(2)}% of the other hosts' keys`);
    expect(r.removedKeysStayed).toBe(0);
    expect(r.share).toBeGreaterThan(0.05);
    expect(r.share).toBeLessThan(0.15);
    expect(r.othersShare).toBeLessThan(0.03);
  });

  test('attempt > 0 XORs the hash with 2^64 - attempt before the lookup', () => {
    const hosts = envoyTestHosts();
    const lb = lbFor({ policy: 'MAGLEV', maglevTableSize: 7 }, hosts);
    const expected = [2, 4, 0, 1, 5, 0, 3];
    const h = 12345n;
    const mutated = h ^ (0xffffffffffffffffn - 2n + 1n);
    expect(lb.chooseHost(withHash(h, 2))).toBe(hosts[expected[Number(mutated % 7n)]!]);
  });

  test('table size must be prime', () => {
    expect(() => lbFor({ policy: 'MAGLEV', maglevTableSize: 8 }, envoyTestHosts())).toThrow(/prime/);
  });
});
