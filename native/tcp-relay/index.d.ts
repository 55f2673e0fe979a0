// Types for the meshproxy-tcp-relay addon (see index.js and src/tcp_relay.c). The fds are raw
// socket fds read from libuv handles; src/platform/tcp-relay.ts wraps them for net.Socket.

export interface RelayOptions {
  /** End the relay after this long with no byte moved either way; 0 or absent = no timeout. */
  readonly idleTimeoutMs?: number;
  /** Bytes each direction's pipe may hold (F_SETPIPE_SZ, best effort); default 256 KiB. */
  readonly pipeSize?: number;
}

export interface RelayCounts {
  /** Bytes written to B that were read from A (and the reverse). */
  readonly bytesAtoB: number;
  readonly bytesBtoA: number;
}

export interface RelayResult extends RelayCounts {
  readonly reason: 'closed' | 'idle_timeout' | 'error' | 'aborted';
  /** For 'error': the negative errno (Node's convention), its name, and the socket it came from. */
  readonly errno?: number;
  readonly code?: string;
  readonly side?: 'a' | 'b';
}

/** Starts relaying; returns the relay id. The callback runs once, on the JS thread. */
export function relay(fdA: number, fdB: number, options: RelayOptions, callback: (result: RelayResult) => void): number;
/** Live counts, or null once the relay's callback has run (or for an unknown id). */
export function stats(id: number): RelayCounts | null;
/** Ends the relay now (reason 'aborted'); false if it already ended. */
export function abort(id: number): boolean;
/** Relays running in this environment and the shared epoll fd (-1 before the first relay). */
export function info(): { readonly active: number; readonly epollFd: number };
