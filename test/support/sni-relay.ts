// A loopback TCP relay that records each connection's TLS ClientHello server name (SNI) before
// passing bytes through unchanged: lets a test see what SNI a TLS client (e.g. the proxy's xDS
// channel) sent to a server that cannot report it (grpc-js). Connections are counted even when
// the handshake then fails, which shows retries.
import * as net from 'node:net';

/** The SNI host_name of a TLS ClientHello record, '' when absent, undefined when not a ClientHello. */
export function clientHelloSni(buf: Buffer): string | undefined {
  if (buf.length < 5 || buf[0] !== 0x16 || buf[5] !== 0x01) return undefined;
  let p = 5 + 4 + 2 + 32; // record header, handshake header, client_version, random
  const skip = (lenBytes: number) => {
    const n = lenBytes === 1 ? buf[p]! : buf.readUInt16BE(p);
    p += lenBytes + n;
  };
  skip(1); // session_id
  skip(2); // cipher_suites
  skip(1); // compression_methods
  if (p + 2 > buf.length) return '';
  const end = p + 2 + buf.readUInt16BE(p);
  p += 2;
  while (p + 4 <= Math.min(end, buf.length)) {
    const type = buf.readUInt16BE(p);
    const len = buf.readUInt16BE(p + 2);
    if (type === 0 && len >= 5) {
      const nameLen = buf.readUInt16BE(p + 7);
      return buf.subarray(p + 9, p + 9 + nameLen).toString('latin1');
    }
    p += 4 + len;
  }
  return '';
}

export interface SniRelay {
  readonly port: number;
  /** SNI per accepted connection, in order ('' = none sent). */
  readonly snis: string[];
  /** Cuts every relayed connection (both sides), keeping the relay listening. */
  dropConnections(): void;
  close(): Promise<void>;
}

export async function startSniRelay(targetPort: number): Promise<SniRelay> {
  const snis: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((down) => {
    sockets.add(down);
    const up = net.connect(targetPort, '127.0.0.1');
    sockets.add(up);
    down.once('data', (first: Buffer) => {
      snis.push(clientHelloSni(first) ?? '');
      up.write(first);
      down.pipe(up);
    });
    up.pipe(down);
    const close = () => {
      down.destroy();
      up.destroy();
      sockets.delete(down);
      sockets.delete(up);
    };
    down.on('error', close).on('close', close);
    up.on('error', close).on('close', close);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    snis,
    dropConnections: () => {
      for (const s of sockets) s.destroy();
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}
