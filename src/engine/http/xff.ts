// x-forwarded-for handling of the HTTP connection manager, Envoy's
// ConnectionManagerUtility::mutateRequestHeaders (address part) and Utility::getLastAddressFromXFF:
//
// use_remote_address: true
//   - the trusted client address is the XFF entry xff_num_trusted_hops from the right (before
//     we append), else the connection's peer
//   - unless skip_xff_append, the peer is appended to XFF (a loopback peer appends the local
//     node's address instead)
//   - the request is internal only if it arrived without XFF and the address is internal
// use_remote_address: false
//   - the client address is the XFF entry xff_num_trusted_hops from the right; without a usable
//     one the connection's peer stays the remote address
//   - the request is internal only if XFF holds exactly one address and it is internal
// An external request seen with use_remote_address is an edge request: x-envoy-external-address
// carries the client address. The chosen address becomes the stream's downstream remote address
// (access logs, hash_policy source_ip); an address taken from XFF has port 0, as in Envoy.
// Pure function over the header map; the result goes into a caller-owned object.
import { isIPv4, isIPv6 } from 'node:net';
import type { HeaderMap } from './header-map';

export interface XffConfig {
  readonly useRemoteAddress: boolean;
  readonly xffNumTrustedHops: number;
  readonly skipXffAppend: boolean;
}

export interface XffResult {
  /** The downstream remote IP Envoy uses from here on. */
  remoteIp: string;
  /** Its port: the connection's, or 0 when it came from XFF. */
  remotePort: number;
  internal: boolean;
  /** External request with use_remote_address (first hop into the trusted network). */
  edge: boolean;
}

/** True for loopback, RFC 1918 and IPv6 ULA/loopback addresses (Envoy's default internal set). */
export function isInternalAddress(ip: string): boolean {
  if (ip.startsWith('::ffff:') && ip.includes('.')) ip = ip.slice(7);
  if (ip.startsWith('127.') || ip.startsWith('10.') || ip.startsWith('192.168.')) return true;
  if (ip.startsWith('172.')) {
    const b = Number(ip.split('.')[1]);
    return b >= 16 && b <= 31;
  }
  return ip === '::1' || /^f[cd][0-9a-f]{2}:/i.test(ip);
}

function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip.startsWith('::ffff:127.');
}

/** An IP literal as inet_pton accepts it (no port, no brackets), or null. */
function parseIp(s: string): string | null {
  if (isIPv4(s)) return s;
  return isIPv6(s) && !s.includes('%') ? s.toLowerCase() : null;
}

/**
 * Envoy getLastAddressFromXFF: the address `skip` entries from the right of XFF, and whether XFF
 * holds that single address only. null when XFF is absent, too short, or the entry is not an IP.
 */
export function lastAddressFromXff(xff: string | undefined, skip: number): { ip: string; single: boolean } | null {
  if (xff === undefined) return null;
  let s = xff;
  for (let i = 0; i < skip; i++) {
    const c = s.lastIndexOf(',');
    if (c < 0) return null;
    s = s.slice(0, c);
  }
  const c = s.lastIndexOf(',');
  if (c >= 0 && c + 1 < s.length) s = s.slice(c + 1);
  const ip = parseIp(s.trim());
  return ip === null ? null : { ip, single: c < 0 && skip === 0 };
}

/**
 * Applies XFF to `h` for a request from `peerIp:peerPort` and fills `out`. `localIp` is the
 * node's own address (appended for loopback peers).
 */
export function mutateForwardedFor(cfg: XffConfig, peerIp: string, peerPort: number, localIp: string, h: HeaderMap, out: XffResult): void {
  if (peerIp.startsWith('::ffff:') && peerIp.includes('.')) peerIp = peerIp.slice(7);
  const xff = h.getAll('x-forwarded-for');
  const hops = cfg.xffNumTrustedHops;
  let fromXff: { ip: string; single: boolean } | null;
  let trustedChecks: boolean;
  if (cfg.useRemoteAddress) {
    trustedChecks = xff === undefined;
    fromXff = hops > 0 ? lastAddressFromXff(xff, hops - 1) : null;
    if (!cfg.skipXffAppend) {
      const append = isLoopback(peerIp) ? localIp : peerIp;
      h.set('x-forwarded-for', xff === undefined ? append : `${xff},${append}`);
    }
  } else {
    fromXff = lastAddressFromXff(xff, hops);
    trustedChecks = fromXff !== null && fromXff.single;
  }
  if (fromXff !== null) {
    out.remoteIp = fromXff.ip;
    out.remotePort = 0;
  } else {
    out.remoteIp = peerIp;
    out.remotePort = peerPort;
  }
  // Without use_remote_address and without a usable XFF there is no trusted address at all.
  const haveAddress = cfg.useRemoteAddress || fromXff !== null;
  out.internal = trustedChecks && haveAddress && isInternalAddress(out.remoteIp);
  out.edge = !out.internal && cfg.useRemoteAddress;
}
