// IP address helpers for filter-chain matching: parse IPv4/IPv6 text into a 16-byte form
// (IPv4 as ::ffff:a.b.c.d so one comparison routine serves both) and CIDR containment.
import { isIP } from 'node:net';

/** 16 bytes, IPv4 mapped into ::ffff:0:0/96; undefined for unparsable input. */
export function parseIp(text: string): Uint8Array | undefined {
  let s = text;
  if (s.startsWith('::ffff:') && isIP(s.slice(7)) === 4) s = s.slice(7);
  const fam = isIP(s);
  if (fam === 4) {
    const out = new Uint8Array(16);
    out[10] = 0xff;
    out[11] = 0xff;
    const parts = s.split('.');
    for (let i = 0; i < 4; i++) out[12 + i] = Number(parts[i]);
    return out;
  }
  if (fam !== 6) return undefined;
  const pct = s.indexOf('%');
  if (pct >= 0) s = s.slice(0, pct);
  let head: string[] = [];
  let tail: string[] = [];
  const dbl = s.indexOf('::');
  if (dbl >= 0) {
    head = s.slice(0, dbl) ? s.slice(0, dbl).split(':') : [];
    tail = s.slice(dbl + 2) ? s.slice(dbl + 2).split(':') : [];
  } else {
    head = s.split(':');
  }
  const words: number[] = [];
  const push = (parts: string[], into: number[]) => {
    for (const p of parts) {
      if (p.includes('.')) {
        const b = p.split('.').map(Number);
        into.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!);
      } else into.push(parseInt(p, 16));
    }
  };
  const h: number[] = [];
  const t: number[] = [];
  push(head, h);
  push(tail, t);
  words.push(...h, ...new Array(8 - h.length - t.length).fill(0), ...t);
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[i * 2] = words[i]! >> 8;
    out[i * 2 + 1] = words[i]! & 0xff;
  }
  return out;
}

/** A parsed CIDR: 16-byte network and prefix length in the 128-bit space. */
export interface Cidr {
  readonly net: Uint8Array;
  readonly bits: number;
}

export function parseCidr(prefix: string, len: number): Cidr | undefined {
  const net = parseIp(prefix);
  if (!net) return undefined;
  const v4 = isIP(prefix) === 4 || prefix.startsWith('::ffff:');
  return { net, bits: v4 ? 96 + len : len };
}

export function cidrContains(c: Cidr, ip: Uint8Array): boolean {
  let bits = c.bits;
  for (let i = 0; i < 16 && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((c.net[i]! & mask) !== (ip[i]! & mask)) return false;
  }
  return true;
}

export function isLoopback(ip: Uint8Array): boolean {
  const v4 = ip[10] === 0xff && ip[11] === 0xff && ip.slice(0, 10).every((b) => b === 0);
  if (v4) return ip[12] === 127;
  return ip.slice(0, 15).every((b) => b === 0) && ip[15] === 1;
}
