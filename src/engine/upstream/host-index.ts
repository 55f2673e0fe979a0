// A cluster's hosts by key (Host.key), with the few Map operations ClusterRuntime uses. Most
// clusters have a handful of hosts: a plain array searched in order costs ~60 bytes where a Map
// keeps a hash table of ~400 (10,000 clusters x 2 Maps was ~8 MB). Past SMALL hosts a Map index
// is built next to the array, so large clusters still look up in O(1).
import type { Host } from './upstream-host';

const SMALL = 16;

export class HostIndex {
  private list: Host[] = [];
  private byKey: Map<string, Host> | undefined;

  get size(): number {
    return this.list.length;
  }

  get(key: string): Host | undefined {
    if (this.byKey) return this.byKey.get(key);
    for (const h of this.list) if (h.key === key) return h;
    return undefined;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Adds `h` under its own key, replacing a host of the same key. */
  set(h: Host): void {
    const i = this.byKey && !this.byKey.has(h.key) ? -1 : this.list.findIndex((x) => x.key === h.key);
    if (i >= 0) this.list[i] = h;
    else this.list.push(h);
    if (this.byKey) this.byKey.set(h.key, h);
    else if (this.list.length > SMALL) this.byKey = new Map(this.list.map((x) => [x.key, x]));
  }

  delete(key: string): boolean {
    const i = this.list.findIndex((x) => x.key === key);
    if (i < 0) return false;
    this.list.splice(i, 1);
    this.byKey?.delete(key);
    return true;
  }

  /** The hosts in insertion order (a copy the caller may keep). Called after each bulk change,
   *  it also trims the index's own array to its length (one built by push keeps spare room). */
  toArray(): Host[] {
    this.list = this.list.slice();
    return this.list.slice();
  }

  [Symbol.iterator](): IterableIterator<Host> {
    return this.list[Symbol.iterator]();
  }
}
