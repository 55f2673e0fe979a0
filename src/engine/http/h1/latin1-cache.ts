// Small direct-mapped string cache for the HTTP/1.1 parser: turns a byte range of a received
// buffer into a latin1 string, returning the SAME string object when the bytes match a recent
// entry. Header names and many values (Host, Accept, User-Agent, "keep-alive", "/") repeat on
// every request of a connection and across connections, so a byte compare replaces a string
// allocation. Keys are exact bytes, so header-name case is preserved (NameCache below also keeps
// each name's lower-case form for the header map's lookups).
//
// A miss costs one short compare plus the slice we would have done anyway; hostile input can only
// cause misses (entries are overwritten, never chained), so there is nothing to flood.

interface Latin1Slicer {
  latin1Slice(start: number, end: number): string;
}

/** buf[start, end) as a latin1 string (Node's internal fast path behind toString('latin1')). */
export function latin1(buf: Buffer, start: number, end: number): string {
  return (buf as unknown as Latin1Slicer).latin1Slice(start, end);
}

export class Latin1Cache {
  private readonly entries: string[];
  private readonly mask: number;
  private readonly maxLen: number;

  /** size must be a power of two; strings longer than maxLen bypass the cache. */
  constructor(size: number, maxLen: number) {
    this.entries = new Array<string>(size).fill('');
    this.mask = size - 1;
    this.maxLen = maxLen;
  }

  get(buf: Buffer, start: number, end: number): string {
    const n = end - start;
    if (n === 0) return '';
    if (n > this.maxLen) return latin1(buf, start, end);
    const h = (n * 31 + buf[start] * 7 + buf[end - 1] * 131 + buf[start + (n >> 1)] * 17) & this.mask;
    const hit = this.entries[h];
    if (hit.length === n) {
      let k = 0;
      while (k < n && hit.charCodeAt(k) === buf[start + k]) k++;
      if (k === n) return hit;
    }
    const s = latin1(buf, start, end);
    this.entries[h] = s;
    return s;
  }
}

/**
 * Latin1Cache for header names that also keeps each name's lower-case form, so the header map
 * gets case-insensitive lookup keys without a toLowerCase (and its allocation) per header.
 * `get` returns the name; `lower` is the lower-case twin of the string `get` returned last.
 */
export class NameCache {
  private readonly entries: string[];
  private readonly lowers: string[];
  private readonly mask: number;
  private readonly maxLen: number;
  lower = '';

  /** size must be a power of two; strings longer than maxLen bypass the cache. */
  constructor(size: number, maxLen: number) {
    this.entries = new Array<string>(size).fill('');
    this.lowers = new Array<string>(size).fill('');
    this.mask = size - 1;
    this.maxLen = maxLen;
  }

  get(buf: Buffer, start: number, end: number): string {
    const n = end - start;
    if (n > this.maxLen) {
      const s = latin1(buf, start, end);
      this.lower = s.toLowerCase();
      return s;
    }
    const h = (n * 31 + buf[start] * 7 + buf[end - 1] * 131 + buf[start + (n >> 1)] * 17) & this.mask;
    const hit = this.entries[h];
    if (hit.length === n) {
      let k = 0;
      while (k < n && hit.charCodeAt(k) === buf[start + k]) k++;
      if (k === n) {
        this.lower = this.lowers[h];
        return hit;
      }
    }
    const s = latin1(buf, start, end);
    const lower = s.toLowerCase();
    this.entries[h] = s;
    this.lowers[h] = lower;
    this.lower = lower;
    return s;
  }
}
