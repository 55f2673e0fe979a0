// The header map of one HTTP message on the worker: a flat [name0, value0, name1, value1, ...]
// list as the H1 parser produces it, with the ORIGINAL name case kept end to end (Envoy
// lowercases; our users asked for case preservation). Lookups are case-insensitive against a
// lazily built list of lower-cased names, so a request pays one toLowerCase per header at most.
// Implements the route table's MutableHeaders; the HCM, router and filters share it.
import type { MutableHeaders } from './route/route-request';

export class HeaderMap implements MutableHeaders {
  /** Flat name/value list in wire order. Mutate only through the methods below. */
  list: string[];
  private lower: string[] | null = null;

  /** `lower`, when given, must hold the lower-cased names of `list` (the H1 parser has them). */
  constructor(list: string[] = [], lower: string[] | null = null) {
    this.list = list;
    this.lower = lower;
  }

  /** Lower-cased names, index i <-> list[2i]. */
  private names(): string[] {
    let l = this.lower;
    if (l === null) {
      const list = this.list;
      l = new Array<string>(list.length >> 1);
      for (let i = 0, j = 0; i < list.length; i += 2, j++) l[j] = list[i]!.toLowerCase();
      this.lower = l;
    }
    return l;
  }

  get size(): number {
    return this.list.length >> 1;
  }

  /** First value of `name` (lower-case), or undefined. */
  get(name: string): string | undefined {
    const l = this.names();
    for (let j = 0; j < l.length; j++) if (l[j] === name) return this.list[2 * j + 1];
    return undefined;
  }

  /** All values joined by ',' (Envoy getAllOfHeaderAsString), or undefined. */
  getAll(name: string): string | undefined {
    const l = this.names();
    let out: string | undefined;
    for (let j = 0; j < l.length; j++) if (l[j] === name) out = out === undefined ? this.list[2 * j + 1] : `${out},${this.list[2 * j + 1]}`;
    return out;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Whether any header name starts with `prefix` (lower-case): one pass, to skip a batch of removes. */
  hasNamePrefix(prefix: string): boolean {
    const l = this.names();
    for (let j = 0; j < l.length; j++) if (l[j]!.startsWith(prefix)) return true;
    return false;
  }

  /** Replaces every value of `name`; keeps the position (and name case) of the first one. */
  set(name: string, value: string): void {
    const l = this.names();
    for (let j = 0; j < l.length; j++) {
      if (l[j] === name) {
        this.list[2 * j + 1] = value;
        for (let k = l.length - 1; k > j; k--) if (l[k] === name) this.removeAt(k);
        return;
      }
    }
    this.add(name, value);
  }

  add(name: string, value: string): void {
    this.list.push(name, value);
    if (this.lower !== null) this.lower.push(name.toLowerCase());
  }

  remove(name: string): void {
    const l = this.names();
    for (let k = l.length - 1; k >= 0; k--) if (l[k] === name) this.removeAt(k);
  }

  /** Removes every header whose lower-cased name starts with `prefix`. */
  removePrefix(prefix: string): void {
    const l = this.names();
    for (let k = l.length - 1; k >= 0; k--) if (l[k]!.startsWith(prefix)) this.removeAt(k);
  }

  private removeAt(j: number): void {
    this.list.splice(2 * j, 2);
    this.lower!.splice(j, 1);
  }

  /** Name (original case) and value at index j. */
  nameAt(j: number): string {
    return this.list[2 * j]!;
  }

  lowerNameAt(j: number): string {
    return this.names()[j]!;
  }

  valueAt(j: number): string {
    return this.list[2 * j + 1]!;
  }

  copy(): HeaderMap {
    const h = new HeaderMap(this.list.slice());
    if (this.lower !== null) h.lower = this.lower.slice();
    return h;
  }

  /** Builds a map from a node:http2 header object (names already lower-case; pseudo-headers skipped). */
  static fromObject(obj: Readonly<Record<string, string | string[] | undefined>>): HeaderMap {
    const list: string[] = [];
    for (const k in obj) {
      if (k.charCodeAt(0) === 58 /* : */) continue;
      const v = obj[k];
      if (v === undefined) continue;
      if (typeof v === 'string') list.push(k, v);
      else for (let i = 0; i < v.length; i++) list.push(k, v[i]!);
    }
    return new HeaderMap(list);
  }

  /** A node:http2 header object (lower-case names; repeated names become arrays). */
  toObject(into: Record<string, string | string[]> = {}): Record<string, string | string[]> {
    const l = this.names();
    for (let j = 0; j < l.length; j++) {
      const k = l[j]!;
      const v = this.list[2 * j + 1]!;
      const prev = into[k];
      if (prev === undefined) into[k] = v;
      else if (typeof prev === 'string') into[k] = k === 'cookie' ? `${prev}; ${v}` : [prev, v];
      else prev.push(v);
    }
    return into;
  }
}
