// Test double for the original-destination seam (original-dst.ts), for unit tests of listener and
// upstream code that runs on loopback without iptables. Original destinations come from a
// resolver the test supplies (by default keyed on the accepted socket's remote port, which is the
// client's local port); socket-option calls are recorded instead of made, so no root is needed.
import type * as net from 'node:net';
import type { OriginalDestination, OriginalDstSeam } from './original-dst';

export interface FakeSocketOptionCall {
  readonly target: net.Socket | net.Server;
  readonly option: 'transparent' | 'mark';
  readonly value: boolean | number;
}

export class FakeOriginalDst implements OriginalDstSeam {
  /** Original destinations by the client's source port, used by the default resolver. */
  readonly bySourcePort = new Map<number, OriginalDestination>();
  /** Every setSocketTransparent / setSocketMark call, in order. */
  readonly calls: FakeSocketOptionCall[] = [];

  constructor(private readonly resolve?: (socket: net.Socket) => OriginalDestination | null) {}

  /** Makes connections from `sourcePort` look redirected from `destination`; returns this for chaining. */
  redirect(sourcePort: number, destination: OriginalDestination): this {
    this.bySourcePort.set(sourcePort, destination);
    return this;
  }

  originalDestination(socket: net.Socket): OriginalDestination | null {
    if (this.resolve) return this.resolve(socket);
    return socket.remotePort === undefined ? null : (this.bySourcePort.get(socket.remotePort) ?? null);
  }

  setSocketTransparent(target: net.Socket | net.Server, on: boolean): void {
    this.calls.push({ target, option: 'transparent', value: on });
  }

  setSocketMark(target: net.Socket | net.Server, mark: number): void {
    this.calls.push({ target, option: 'mark', value: mark });
  }
}
