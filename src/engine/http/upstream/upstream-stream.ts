// The router's view of one upstream request in flight, whatever the upstream protocol: an
// HTTP/1.1 pooled connection (h1-conn-pool.ts) or an HTTP/2 stream (h2-conn-pool.ts). The
// router writes the request through it and receives the response through UpstreamAttempt.
import type { HeaderMap } from '../header-map';

export interface UpstreamStream {
  /** "ip:port" of our side of the upstream connection. */
  readonly localAddress: string;
  /** Request head. `endStream`: no body follows. `tunnel`: upgrade/CONNECT, body is raw bytes. */
  sendHeaders(method: string, path: string, authority: string, scheme: string, headers: HeaderMap, endStream: boolean, tunnel: boolean): void;
  /** Body bytes; false when the upstream is above its buffer limit (wait for onUpstreamDrain). */
  sendData(chunk: Buffer, endStream: boolean): boolean;
  sendTrailers(trailers: HeaderMap): void;
  /** Response flow control (downstream backpressure). */
  pauseReading(): void;
  resumeReading(): void;
  /** Attempt over, response complete: return the connection to its pool if reusable. */
  release(): void;
  /** Abort this request (closes an H1 connection, RST_STREAM on H2). */
  reset(): void;
}
