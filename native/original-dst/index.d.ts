// Types for the meshproxy-original-dst addon (see index.js and src/original_dst.c). Every call is
// synchronous and takes a raw socket fd; src/platform/original-dst.ts wraps them for net.Socket.

/** Where a redirected connection was originally going, from the conntrack entry. */
export interface OriginalDst {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
}

/**
 * getsockopt(SOL_IP, SO_ORIGINAL_DST) for IPv4 (and v4-mapped IPv6) sockets,
 * getsockopt(SOL_IPV6, IP6T_SO_ORIGINAL_DST) for IPv6. Null when conntrack has no entry for the
 * connection (ENOENT) or the kernel has no conntrack (ENOPROTOOPT); throws on any other errno.
 */
export function getOriginalDst(fd: number): OriginalDst | null;

/** IP_TRANSPARENT (family 4) or IPV6_TRANSPARENT (family 6); 0 uses the socket's own family. Needs CAP_NET_ADMIN to enable. */
export function setTransparent(fd: number, family: 0 | 4 | 6, on: boolean): void;
export function getTransparent(fd: number, family: 0 | 4 | 6): boolean;

/** SO_MARK on the socket's packets (Istio TPROXY uses 1337). Needs CAP_NET_ADMIN. */
export function setMark(fd: number, mark: number): void;
export function getMark(fd: number): number;

/**
 * A new non-blocking, close-on-exec TCP socket for original_src upstreams: IP_TRANSPARENT (or
 * IPV6_TRANSPARENT, by the address's family) and SO_MARK = mark (skipped when 0) set, then bound
 * to `address` port 0 (the address need not be local). Not connected: hand the fd to
 * `new net.Socket({ fd })` and call `connect()`. Needs CAP_NET_ADMIN. Returns the fd.
 */
export function transparentSocket(address: string, mark: number): number;
