// Platform seam for the socket calls Node has no API for: the original destination of a connection
// that iptables REDIRECTed to the proxy, and the TPROXY-mode socket options (IP_TRANSPARENT,
// SO_MARK). Used at accept time by listeners with use_original_dst (virtualOutbound 15001) and the
// original_dst listener filter (virtualInbound 15006), by transparent listeners (IP_TRANSPARENT on
// the listening socket), and at upstream connect time for original_src (connectFromSource).
// Backed by the meshproxy-original-dst Node-API addon (native/original-dst), loaded once on first
// use; original-dst-fake.ts stands in for it in tests of code that uses the seam.
//
// What "no original destination" means: the kernel answers from the connection's conntrack entry.
// A connection nobody NATed returns null when conntrack does not track it (no entry: ENOENT, or no
// conntrack in the kernel), but returns the socket's own local address when conntrack does track
// it (any namespace with NAT rules loaded tracks every connection). Envoy's original_dst filter
// treats both alike: when the lookup fails or equals the local address, the listener keeps the
// connection and no hand-off happens (source/extensions/filters/listener/original_dst/original_dst.cc).
import { closeSync } from 'node:fs';
import * as net from 'node:net';

/** A connection's destination before REDIRECT; family follows net.isIP (4 or 6). */
export interface OriginalDestination {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
}

/** What the engine needs from the platform at accept/connect time; one per process, passed in by context. */
export interface OriginalDstSeam {
  /** The conntrack original destination of an accepted TCP socket, or null if none (see header). Throws on socket errors. */
  originalDestination(socket: net.Socket): OriginalDestination | null;
  /** IP_TRANSPARENT / IPV6_TRANSPARENT (by the socket's family) on a socket or listening server. Needs CAP_NET_ADMIN. */
  setSocketTransparent(target: net.Socket | net.Server, on: boolean): void;
  /** SO_MARK on a socket or listening server (Istio TPROXY uses 1337). Needs CAP_NET_ADMIN. */
  setSocketMark(target: net.Socket | net.Server, mark: number): void;
}

/** The addon's exports (native/original-dst/index.d.ts), restated so src/ does not type-depend on the package. */
export interface OriginalDstAddon {
  getOriginalDst(fd: number): OriginalDestination | null;
  setTransparent(fd: number, family: 0 | 4 | 6, on: boolean): void;
  getTransparent(fd: number, family: 0 | 4 | 6): boolean;
  setMark(fd: number, mark: number): void;
  getMark(fd: number): number;
  transparentSocket(address: string, mark: number): number;
}

/** original_src: where an upstream connection must come from (the downstream client's IP) and its SO_MARK (0: none). */
export interface TransparentSource {
  readonly address: string;
  readonly mark: number;
}

const ADDON_PACKAGE = 'meshproxy-original-dst';

let addon: OriginalDstAddon | undefined;
let loadError: Error | undefined;

/**
 * Loads the addon on first call and caches the outcome, failure included, so a broken build fails
 * every call the same way. Startup calls this when a listener needs original destinations, so a
 * missing build stops the proxy at once with the reason instead of failing the first connection.
 */
export function loadOriginalDstAddon(): OriginalDstAddon {
  if (addon) return addon;
  if (loadError) throw loadError;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    addon = require(ADDON_PACKAGE) as OriginalDstAddon;
    return addon;
  } catch (err) {
    const cause = err as NodeJS.ErrnoException;
    const why =
      cause.code === 'MODULE_NOT_FOUND' && String(cause.message).includes(`'${ADDON_PACKAGE}'`)
        ? `package ${ADDON_PACKAGE} is not installed; run \`npm ci\` in the repository root (it is the file: dependency native/original-dst)`
        : cause.message;
    loadError = new Error(`original destination lookup unavailable: ${why}`, { cause });
    throw loadError;
  }
}

/**
 * The kernel fd behind a net.Socket or net.Server (libuv's handle exposes it on Unix). There is
 * none once the socket is closed, before a client socket connects, for a TLSSocket (use the
 * underlying net.Socket), or for a cluster worker's round-robin listener (the primary owns it).
 */
export function socketFd(target: net.Socket | net.Server): number {
  const handle = (target as unknown as { _handle?: { fd?: unknown } | null })._handle;
  const fd = handle?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    throw new Error('socket has no file descriptor (closed, not yet connected or listening, a TLS wrapper, or a round-robin cluster listener)');
  }
  return fd;
}

export function originalDestination(socket: net.Socket): OriginalDestination | null {
  return loadOriginalDstAddon().getOriginalDst(socketFd(socket));
}

export function setSocketTransparent(target: net.Socket | net.Server, on: boolean): void {
  loadOriginalDstAddon().setTransparent(socketFd(target), 0, on);
}

export function setSocketMark(target: net.Socket | net.Server, mark: number): void {
  loadOriginalDstAddon().setMark(socketFd(target), mark);
}

/**
 * A TCP connection to `opts.host`:`opts.port` from `source.address` (any port), with
 * IP_TRANSPARENT and SO_MARK set before bind (Envoy's original_src socket options at PREBIND).
 * The addon makes and binds the socket; net.Socket adopts the fd and libuv connects it, so the
 * socket emits 'connect' / 'error' and honours noDelay, keepAlive and allowHalfOpen exactly as
 * net.connect's would. opts.localAddress / localPort are ignored (the source wins). Throws
 * synchronously when the socket cannot be made (EPERM without CAP_NET_ADMIN, EADDRNOTAVAIL...).
 */
export function connectFromSource(opts: net.TcpNetConnectOpts, source: TransparentSource): net.Socket {
  const fd = loadOriginalDstAddon().transparentSocket(source.address, source.mark);
  let socket: net.Socket;
  try {
    socket = new net.Socket({ fd, ...(opts.allowHalfOpen !== undefined ? { allowHalfOpen: opts.allowHalfOpen } : {}), ...(opts.noDelay !== undefined ? { noDelay: opts.noDelay } : {}), ...(opts.keepAlive !== undefined ? { keepAlive: opts.keepAlive } : {}), ...(opts.keepAliveInitialDelay !== undefined ? { keepAliveInitialDelay: opts.keepAliveInitialDelay } : {}) } as net.SocketConstructorOpts);
  } catch (err) {
    closeSync(fd); // net.Socket did not take ownership of the fd
    throw err;
  }
  return socket.connect({ host: opts.host ?? '127.0.0.1', port: opts.port, ...(opts.timeout !== undefined ? { timeout: opts.timeout } : {}) });
}

/** The real seam, backed by the addon. */
export const nativeOriginalDst: OriginalDstSeam = { originalDestination, setSocketTransparent, setSocketMark };
