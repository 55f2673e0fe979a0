// RING_HASH consistent hashing (Envoy source/extensions/load_balancing_policies/ring_hash/
// ring_hash_lb.cc, Ketama-style). Build, per priority, at refresh:
//   scale     = min(ceil(minWeight * min_ring_size) / minWeight, max_ring_size)
//   each host in order adds hashes while the running count < running target (+= scale*weight),
//   entry i hashing "<address>_<i>" with xxHash64 seed 0 (hostname with use_hostname_for_hashing)
//   entries sorted by hash.
// Lookup: the first entry whose hash >= request hash, wrapping to entry 0; attempt > 0 moves
// attempt entries further along the ring (Envoy's retry host predicate behaviour). Only
// XX_HASH is implemented (MURMUR_HASH_2 is not). Same hosts, weights and key => same host as
// Envoy.
//
// Storage: three parallel typed arrays sorted by (hashHi, hashLo):
//   hashHi[k] | hashLo[k] | host[k] (index into hosts)
// chooseHost() is a binary search over them, allocation-free.

import { xxhash64Into } from '../../../common/hash/xxhash64';
import { HashingLoadBalancer, hostHashKey, type HashingTable, type NormalizedHostWeight } from './hashing-lb';
import {
  DEFAULT_MAX_RING_SIZE,
  DEFAULT_MIN_RING_SIZE,
  type LbHost,
  type LbOptions,
  type LbStats,
  type RandomGenerator,
} from './lb-types';

export class RingHashTable implements HashingTable {
  private readonly hashHi: Uint32Array;
  private readonly hashLo: Uint32Array;
  private readonly hostIndex: Uint32Array;
  private readonly hosts: LbHost[] = [];
  /** Envoy's ring_hash_lb gauges for this ring. */
  readonly ringSize: number = 0;
  readonly minHashesPerHost: number = 0;
  readonly maxHashesPerHost: number = 0;

  constructor(
    weights: readonly NormalizedHostWeight[],
    minNormalizedWeight: number,
    minRingSize: number,
    maxRingSize: number,
    useHostname: boolean,
  ) {
    if (weights.length === 0) {
      this.hashHi = new Uint32Array(0);
      this.hashLo = new Uint32Array(0);
      this.hostIndex = new Uint32Array(0);
      return;
    }
    const scale = Math.min(Math.ceil(minNormalizedWeight * minRingSize) / minNormalizedWeight, maxRingSize);
    const ringSize = Math.ceil(scale);
    const his: number[] = [];
    const los: number[] = [];
    const idx: number[] = [];
    const out = new Uint32Array(2);
    let current = 0;
    let target = 0;
    let minHashes = ringSize;
    let maxHashes = 0;
    for (let h = 0; h < weights.length; h++) {
      const { host, weight } = weights[h]!;
      this.hosts.push(host);
      const prefix = hostHashKey(host, useHostname) + '_';
      target += scale * weight;
      let i = 0;
      while (current < target) {
        xxhash64Into(prefix + i, out);
        his.push(out[0]!);
        los.push(out[1]!);
        idx.push(h);
        i++;
        current++;
      }
      if (i < minHashes) minHashes = i;
      if (i > maxHashes) maxHashes = i;
    }
    const n = his.length;
    const order = new Uint32Array(n);
    for (let k = 0; k < n; k++) order[k] = k;
    order.sort((a, b) => his[a]! - his[b]! || los[a]! - los[b]! || a - b);
    this.hashHi = new Uint32Array(n);
    this.hashLo = new Uint32Array(n);
    this.hostIndex = new Uint32Array(n);
    for (let k = 0; k < n; k++) {
      const o = order[k]!;
      this.hashHi[k] = his[o]!;
      this.hashLo[k] = los[o]!;
      this.hostIndex[k] = idx[o]!;
    }
    this.ringSize = ringSize;
    this.minHashesPerHost = minHashes;
    this.maxHashesPerHost = maxHashes;
  }

  /** Number of entries on the ring. */
  get length(): number {
    return this.hashHi.length;
  }

  chooseHost(hashHi: number, hashLo: number, attempt: number): LbHost | null {
    const n = this.hashHi.length;
    if (n === 0) return null;
    // lower bound: first k with ring[k] >= hash (what Envoy's ketama search finds)
    let lo = 0;
    let hi = n;
    const hh = this.hashHi, hl = this.hashLo;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const mh = hh[mid]!;
      if (mh < hashHi || (mh === hashHi && hl[mid]! < hashLo)) lo = mid + 1;
      else hi = mid;
    }
    let k = lo === n ? 0 : lo;
    if (attempt > 0) k = (k + attempt) % n;
    return this.hosts[this.hostIndex[k]!]!;
  }
}

export function createRingHashLoadBalancer(options: LbOptions, random: RandomGenerator): HashingLoadBalancer {
  const minRing = options.minRingSize ?? DEFAULT_MIN_RING_SIZE;
  const maxRing = options.maxRingSize ?? DEFAULT_MAX_RING_SIZE;
  if (minRing > maxRing) {
    // Envoy rejects this config; translate should too. Fail loudly rather than build garbage.
    throw new Error(`ring hash: minimum_ring_size (${minRing}) > maximum_ring_size (${maxRing})`);
  }
  const useHostname = options.useHostnameForHashing ?? false;
  return new HashingLoadBalancer('RING_HASH', options, random, (stats: LbStats) => (weights, min) => {
    const ring = new RingHashTable(weights, min, minRing, maxRing, useHostname);
    if (weights.length > 0) {
      // Envoy sets the gauges from each ring it builds; the last built wins.
      stats.ringSize = ring.ringSize;
      stats.minHashesPerHost = ring.minHashesPerHost;
      stats.maxHashesPerHost = ring.maxHashesPerHost;
    }
    return ring;
  });
}
