// CIDR parsing and printing for the iptables init tool (src/init). Runs once, before any rule is
// built: outbound include/exclude ranges (-i/-x) are split into IPv4 and IPv6 lists and printed
// back in canonical form, because istio-iptables does the same with Go's netip.ParsePrefix and
// Prefix.String() and the rule text must match it byte for byte (e.g. `2001:DB8:0::/32` is
// written as `2001:db8::/32`; the host bits are kept, `10.1.2.3/8` stays `10.1.2.3/8`).

/** One parsed CIDR: address family, canonical text, and whether the address is a loopback one. */
export interface Cidr {
  readonly family: 4 | 6;
  /** Canonical `addr/bits` as Go's netip.Prefix.String() prints it. */
  readonly text: string;
  /** 127.0.0.0/8 for IPv4, ::1 for IPv6 (also ::ffff:127.x.y.z, as netip unmaps before checking). */
  readonly loopback: boolean;
}

/** Parses `a.b.c.d` into four octets, or null. Leading zeros are refused, as netip does. */
export function parseIpv4(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p) || (p.length > 1 && p[0] === '0')) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

/** Parses an IPv6 address (with `::` and an optional trailing dotted IPv4) into 8 groups, or null. */
export function parseIpv6(text: string): number[] | null {
  if (text.includes('%')) return null; // zones are not allowed in a prefix
  let head = text;
  let tailV4: number[] | null = null;
  const lastColon = text.lastIndexOf(':');
  if (lastColon >= 0 && text.slice(lastColon + 1).includes('.')) {
    tailV4 = parseIpv4(text.slice(lastColon + 1));
    if (!tailV4) return null;
    head = text.slice(0, lastColon + 1);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const groupsWanted = tailV4 ? 6 : 8;
  const halves = head.split('::');
  if (halves.length > 2) return null;
  const parseGroups = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const left = parseGroups(halves[0] ?? '');
  if (!left) return null;
  let groups: number[];
  if (halves.length === 2) {
    const right = parseGroups(halves[1] ?? '');
    if (!right) return null;
    const missing = groupsWanted - left.length - right.length;
    if (missing < 1) return null;
    groups = [...left, ...new Array<number>(missing).fill(0), ...right];
  } else {
    groups = left;
  }
  if (groups.length !== groupsWanted) return null;
  if (tailV4) groups.push((tailV4[0]! << 8) | tailV4[1]!, (tailV4[2]! << 8) | tailV4[3]!);
  return groups;
}

/** Prints 8 groups the way Go's netip.Addr.String() does (RFC 5952; IPv4-mapped as ::ffff:a.b.c.d). */
export function formatIpv6(groups: readonly number[]): string {
  const isMapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (isMapped) {
    const a = groups[6]!;
    const b = groups[7]!;
    return `::ffff:${a >> 8}.${a & 0xff}.${b >> 8}.${b & 0xff}`;
  }
  // Longest run of zero groups, at least two long; the first one wins a tie.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) => groups.slice(from, to).map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

/** Parses `addr/bits` like netip.ParsePrefix; returns the reason on failure. */
export function parseCidr(text: string): Cidr | string {
  const slash = text.lastIndexOf('/');
  if (slash < 0) return `netip.ParsePrefix("${text}"): no '/'`;
  const addr = text.slice(0, slash);
  const bitsText = text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]*)$/.test(bitsText)) return `netip.ParsePrefix("${text}"): bad bits after slash: "${bitsText}"`;
  const bits = Number(bitsText);
  const v4 = addr.includes(':') ? null : parseIpv4(addr);
  if (v4) {
    if (bits > 32) return `netip.ParsePrefix("${text}"): prefix length out of range`;
    return { family: 4, text: `${v4.join('.')}/${bits}`, loopback: v4[0] === 127 };
  }
  const v6 = addr.includes(':') ? parseIpv6(addr) : null;
  if (!v6) return `netip.ParsePrefix("${text}"): ParseAddr("${addr}"): unable to parse IP`;
  if (bits > 128) return `netip.ParsePrefix("${text}"): prefix length out of range`;
  const isMapped = v6.slice(0, 5).every((g) => g === 0) && v6[5] === 0xffff;
  const loopback = isMapped ? v6[6]! >> 8 === 127 : v6.slice(0, 7).every((g) => g === 0) && v6[7] === 1;
  return { family: 6, text: `${formatIpv6(v6)}/${bits}`, loopback };
}

/** Outbound ranges of one family, as config.SeparateV4V6 splits them. */
export interface NetworkRange {
  readonly isWildcard: boolean;
  readonly cidrs: readonly string[];
  readonly hasLoopbackIp: boolean;
}

/**
 * Splits a comma-separated CIDR list (or `*`) into IPv4 and IPv6 ranges. Throws on a bad CIDR:
 * callers validate the list first (see resolve.ts), so a throw here is a bug.
 */
export function separateV4V6(list: string): { v4: NetworkRange; v6: NetworkRange } {
  if (list === '*') {
    const all: NetworkRange = { isWildcard: true, cidrs: [], hasLoopbackIp: false };
    return { v4: all, v6: all };
  }
  const v4: string[] = [];
  const v6: string[] = [];
  let v4Loop = false;
  let v6Loop = false;
  for (const item of splitList(list)) {
    const c = parseCidr(item);
    if (typeof c === 'string') throw new Error(c);
    if (c.family === 4) {
      v4.push(c.text);
      v4Loop ||= c.loopback;
    } else {
      v6.push(c.text);
      v6Loop ||= c.loopback;
    }
  }
  return {
    v4: { isWildcard: false, cidrs: v4, hasLoopbackIp: v4Loop },
    v6: { isWildcard: false, cidrs: v6, hasLoopbackIp: v6Loop },
  };
}

/** Splits on commas and drops empty items, like Istio's config.Split (`6000,7000,` is two ports). */
export function splitList(s: string): string[] {
  if (s === '') return [];
  return s.split(',').filter((x) => x !== '');
}
