// A TLS ClientHello reader for the tls_inspector listener filter: from the first bytes of a
// connection it tells whether this is TLS and extracts the SNI host name and the offered ALPN
// list, reassembling a ClientHello that spans several handshake records (large post-quantum key
// shares do). It reads only what it needs and never allocates more than the names it returns.
//
//   record:     0x16 | version(2) | length(2) | fragment...
//   handshake:  0x01 | length(3) | client_version(2) random(32) session_id<1> cipher_suites<2>
//               compression_methods<1> extensions<2>{ type(2) length(2) data }
//   SNI  (0):   list<2>{ name_type(1)=0 host_name<2> }
//   ALPN (16):  list<2>{ protocol<1> }

export type ClientHelloParse =
  | { readonly kind: 'more' }
  | { readonly kind: 'not_tls' }
  | { readonly kind: 'too_large' }
  | { readonly kind: 'tls'; readonly serverName: string | undefined; readonly alpn: string[] | undefined };

const MORE: ClientHelloParse = { kind: 'more' };
const NOT_TLS: ClientHelloParse = { kind: 'not_tls' };
const TOO_LARGE: ClientHelloParse = { kind: 'too_large' };
const MAX_RECORD = 16384 + 2048;

/** Parses `data` (the connection's first bytes). `maxHello` bounds the handshake message size. */
export function parseClientHello(data: Buffer, maxHello: number): ClientHelloParse {
  if (data.length === 0) return MORE;
  if (data[0] !== 0x16) return NOT_TLS;
  if (data.length >= 2 && data[1] !== 0x03) return NOT_TLS;
  if (data.length >= 3 && data[2]! > 0x04) return NOT_TLS;
  // Gather the handshake bytes from consecutive handshake records.
  const parts: Buffer[] = [];
  let have = 0;
  let need = -1;
  let off = 0;
  for (;;) {
    if (off + 5 > data.length) return MORE;
    if (data[off] !== 0x16 || data[off + 1] !== 0x03) return NOT_TLS;
    const len = data.readUInt16BE(off + 3);
    if (len === 0 || len > MAX_RECORD) return NOT_TLS;
    const avail = Math.min(len, data.length - off - 5);
    parts.push(data.subarray(off + 5, off + 5 + avail));
    have += avail;
    if (need < 0 && have >= 4) {
      const head = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      if (head[0] !== 0x01) return NOT_TLS;
      need = 4 + head.readUIntBE(1, 3);
      if (need > maxHello) return TOO_LARGE;
    }
    if (need >= 0 && have >= need) break;
    if (avail < len) return MORE;
    off += 5 + len;
  }
  const hs = parts.length === 1 ? parts[0]! : Buffer.concat(parts, have);
  return parseHandshake(hs.subarray(4, need));
}

function parseHandshake(b: Buffer): ClientHelloParse {
  let p = 2 + 32;
  if (p + 1 > b.length) return NOT_TLS;
  p += 1 + b[p]!;
  if (p + 2 > b.length) return NOT_TLS;
  p += 2 + b.readUInt16BE(p);
  if (p + 1 > b.length) return NOT_TLS;
  p += 1 + b[p]!;
  if (p > b.length) return NOT_TLS;
  let serverName: string | undefined;
  let alpn: string[] | undefined;
  if (p + 2 <= b.length) {
    const end = Math.min(b.length, p + 2 + b.readUInt16BE(p));
    p += 2;
    while (p + 4 <= end) {
      const type = b.readUInt16BE(p);
      const len = b.readUInt16BE(p + 2);
      const start = p + 4;
      if (start + len > end) return NOT_TLS;
      if (type === 0) serverName = readSni(b, start, start + len);
      else if (type === 16) alpn = readAlpn(b, start, start + len);
      p = start + len;
    }
  }
  return { kind: 'tls', serverName, alpn };
}

function readSni(b: Buffer, p: number, end: number): string | undefined {
  if (p + 2 > end) return undefined;
  p += 2;
  while (p + 3 <= end) {
    const t = b[p]!;
    const len = b.readUInt16BE(p + 1);
    if (p + 3 + len > end) return undefined;
    if (t === 0) return b.toString('latin1', p + 3, p + 3 + len).toLowerCase();
    p += 3 + len;
  }
  return undefined;
}

function readAlpn(b: Buffer, p: number, end: number): string[] | undefined {
  if (p + 2 > end) return undefined;
  const listEnd = Math.min(end, p + 2 + b.readUInt16BE(p));
  p += 2;
  const out: string[] = [];
  while (p < listEnd) {
    const len = b[p]!;
    if (p + 1 + len > listEnd) break;
    out.push(b.toString('latin1', p + 1, p + 1 + len));
    p += 1 + len;
  }
  return out;
}
