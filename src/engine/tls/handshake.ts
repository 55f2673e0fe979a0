// Waiting for one TLS handshake, the same way on both sides: bounded by a timeout, ended by an
// error or close, and checked (chain, SAN) once the handshake event fires. On any failure both the
// TLS socket and the raw socket underneath are destroyed; `done` is called exactly once.
import type * as net from 'node:net';
import type * as tls from 'node:tls';

export interface HandshakeWait {
  /** 'secure' for server sockets, 'secureConnect' for client sockets. */
  readonly event: 'secure' | 'secureConnect';
  readonly timeoutMs: number;
  readonly timeoutMessage: string;
  readonly closedMessage: string;
  /** Runs on the handshake event: null accepts the peer, an error refuses it. */
  readonly check: () => Error | null;
}

export function awaitHandshake(t: tls.TLSSocket, raw: net.Socket, w: HandshakeWait, done: (err: Error | null) => void): void {
  let settled = false;
  const finish = (err: Error | null): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    t.off('error', finish);
    if (err) {
      t.destroy();
      raw.destroy();
    }
    done(err);
  };
  const timer = setTimeout(() => finish(new Error(w.timeoutMessage)), w.timeoutMs);
  t.on('error', finish);
  t.once('close', () => finish(new Error(w.closedMessage)));
  t.once(w.event, () => finish(w.check()));
}
