// MAGLEV consistent hashing (Envoy source/extensions/load_balancing_policies/maglev/
// maglev_lb.cc; Maglev paper, pseudocode listing 1). Build, per priority, at refresh:
//   hosts sorted by hash key (address, or hostname with use_hostname_for_hashing)
//   offset = xxHash64(key, seed 0) % table_size, skip = xxHash64(key, seed 1) % (size - 1) + 1
//   fill rounds: in round r a host takes its next free preferred slot when
//   r * weight >= target (target += max normalized weight each time it takes one), so slot
//   counts follow weights.
// Lookup: table[hash % table_size]; attempt > 0 first XORs the hash with 2^64 - attempt, as
// Envoy does for retry host predicates. Same hosts, weights and key => same host as Envoy
// (Envoy's "compact" table variant holds the same assignments).
//
// Storage: table Int32Array(table_size) of indexes into the sorted host array.

import { mod64, xxhash64Into } from '../../../common/hash/xxhash64';
import { HashingLoadBalancer, hostHashKey, type HashingTable, type NormalizedHostWeight } from './hashing-lb';
import { DEFAULT_MAGLEV_TABLE_SIZE, type LbHost, type LbOptions, type LbStats, type RandomGenerator } from './lb-types';

interface BuildEntry {
  readonly host: LbHost;
  readonly offset: number;
  readonly skip: number;
  readonly weight: number;
  target: number;
  next: number;
  count: number;
}

export class MaglevTable implements HashingTable {
  private readonly table: Int32Array;
  private readonly hosts: LbHost[] = [];
  readonly minEntriesPerHost: number = 0;
  readonly maxEntriesPerHost: number = 0;

  constructor(
    weights: readonly NormalizedHostWeight[],
    maxNormalizedWeight: number,
    readonly tableSize: number,
    useHostname: boolean,
  ) {
    if (weights.length === 0) {
      this.table = new Int32Array(0);
      return;
    }
    // Stable order by key: the table depends on fill order (Envoy sorts for the same reason).
    const sorted = weights
      .map((w, i) => ({ key: hostHashKey(w.host, useHostname), w, i }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.i - b.i));
    const out = new Uint32Array(2);
    const entries: BuildEntry[] = sorted.map(({ key, w }) => {
      xxhash64Into(key, out, 0);
      const offset = mod64(out[0]!, out[1]!, tableSize);
      xxhash64Into(key, out, 1);
      const skip = mod64(out[0]!, out[1]!, tableSize - 1) + 1;
      return { host: w.host, offset, skip, weight: w.weight, target: 0, next: 0, count: 0 };
    });
    for (const e of entries) this.hosts.push(e.host);
    const table = new Int32Array(tableSize).fill(-1);
    let filled = 0;
    for (let iteration = 1; filled < tableSize; iteration++) {
      for (let i = 0; i < entries.length && filled < tableSize; i++) {
        const e = entries[i]!;
        if (iteration * e.weight < e.target) continue;
        e.target += maxNormalizedWeight;
        let c = (e.offset + e.skip * e.next) % tableSize;
        while (table[c] !== -1) {
          e.next++;
          c = (e.offset + e.skip * e.next) % tableSize;
        }
        table[c] = i;
        e.next++;
        e.count++;
        filled++;
      }
    }
    this.table = table;
    let min = tableSize;
    let max = 0;
    for (const e of entries) {
      if (e.count < min) min = e.count;
      if (e.count > max) max = e.count;
    }
    this.minEntriesPerHost = min;
    this.maxEntriesPerHost = max;
  }

  chooseHost(hashHi: number, hashLo: number, attempt: number): LbHost | null {
    if (this.hosts.length === 0) return null;
    if (attempt > 0) {
      hashHi = (hashHi ^ 0xffffffff) >>> 0;
      hashLo = (hashLo ^ (-attempt >>> 0)) >>> 0;
    }
    return this.hosts[this.table[mod64(hashHi, hashLo, this.tableSize)]!]!;
  }

  /** Host index per slot (for tests and admin dumps). */
  slotHost(slot: number): LbHost | null {
    const i = this.table[slot];
    return i === undefined || i < 0 ? null : this.hosts[i]!;
  }
}

function isPrime(n: number): boolean {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

export function createMaglevLoadBalancer(options: LbOptions, random: RandomGenerator): HashingLoadBalancer {
  const tableSize = options.maglevTableSize ?? DEFAULT_MAGLEV_TABLE_SIZE;
  if (!isPrime(tableSize) || tableSize > 5000011) {
    // Envoy: "The table size of maglev must be prime number" (and the proto caps it at 5000011).
    throw new Error(`maglev: table_size ${tableSize} must be a prime number <= 5000011`);
  }
  const useHostname = options.useHostnameForHashing ?? false;
  return new HashingLoadBalancer('MAGLEV', options, random, (stats: LbStats) => (weights, _min, max) => {
    const table = new MaglevTable(weights, max, tableSize, useHostname);
    if (weights.length > 0) {
      stats.minEntriesPerHost = table.minEntriesPerHost;
      stats.maxEntriesPerHost = table.maxEntriesPerHost;
    }
    return table;
  });
}
