// Seam between upstream connects (engine/upstream) and TLS (engine/tls): wraps an established
// TCP connection to a host in TLS according to the cluster's transport socket config.
// Until the TLS work lands, a TLS cluster's connections fail with a clear reason.
import type * as net from 'node:net';
import type { TransportSocketConfig } from '../../config/model/listener';
import type { ConnectionRuntime } from '../api/network-filter';

export interface UpstreamTlsResult {
  /** The socket to use (a tls.TLSSocket when TLS was set up). */
  readonly socket: net.Socket;
  /** Negotiated ALPN, if any. */
  readonly alpn?: string;
}

/** True when the transport socket config asks for something other than raw buffers. */
export function isTlsTransport(ts: TransportSocketConfig | undefined): boolean {
  return !!ts && !ts.name.endsWith('raw_buffer') && !ts.typeUrl.endsWith('RawBuffer');
}

/**
 * Starts TLS on `socket` for a cluster whose transport socket is `ts`. Calls `done` once with
 * the TLS socket after the handshake, or with an error (handshake failure, SAN mismatch, missing
 * secret). `alpn` is the list the caller wants to offer (e.g. Istio's istio-http/1.1...).
 */
export function wrapUpstreamTls(
  socket: net.Socket,
  ts: TransportSocketConfig,
  runtime: ConnectionRuntime,
  alpn: readonly string[] | undefined,
  done: (err: Error | null, result: UpstreamTlsResult | undefined) => void,
): void {
  void socket;
  void runtime;
  void alpn;
  done(new Error(`upstream transport socket '${ts.name}' is not supported yet`), undefined);
}
