// ClientHello reader: real ClientHellos captured from Node's TLS client (SNI, ALPN), split at
// every byte boundary and across records; non-TLS and oversized inputs.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { parseClientHello } from './client-hello';

function captureHello(opts: tls.ConnectionOptions): Promise<Buffer> {
  return new Promise((resolve) => {
    const srv = net.createServer((s) => {
      let buf = Buffer.alloc(0);
      s.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 5 && buf.length >= 5 + buf.readUInt16BE(3)) {
          resolve(buf);
          s.destroy();
          srv.close();
        }
      });
    });
    srv.listen(0, '127.0.0.1', () => {
      const c = tls.connect({ host: '127.0.0.1', port: (srv.address() as net.AddressInfo).port, rejectUnauthorized: false, ...opts });
      c.on('error', () => undefined);
    });
  });
}

test('SNI and ALPN from a real ClientHello, at every split point', async () => {
  const hello = await captureHello({ servername: 'outbound_.80_._.a.default.svc.cluster.local', ALPNProtocols: ['istio-peer-exchange', 'istio'] });
  const r = parseClientHello(hello, 65536);
  expect(r).toEqual({ kind: 'tls', serverName: 'outbound_.80_._.a.default.svc.cluster.local', alpn: ['istio-peer-exchange', 'istio'] });
  for (let i = 0; i < hello.length; i++) expect(parseClientHello(hello.subarray(0, i), 65536).kind).toBe('more');
});

test('no SNI, no ALPN', async () => {
  const hello = await captureHello({ servername: '' });
  expect(parseClientHello(hello, 65536)).toEqual({ kind: 'tls', serverName: undefined, alpn: undefined });
});

test('a ClientHello split over two handshake records is reassembled', async () => {
  const hello = await captureHello({ servername: 'split.example', ALPNProtocols: ['h2'] });
  const body = hello.subarray(5);
  const cut = 40;
  const rec = (b: Buffer) => Buffer.concat([Buffer.from([0x16, 0x03, 0x01, b.length >> 8, b.length & 0xff]), b]);
  const two = Buffer.concat([rec(body.subarray(0, cut)), rec(body.subarray(cut))]);
  expect(parseClientHello(two, 65536)).toEqual({ kind: 'tls', serverName: 'split.example', alpn: ['h2'] });
  expect(parseClientHello(two.subarray(0, 5 + cut + 3), 65536).kind).toBe('more');
});

test('plaintext and other records are not TLS; oversized hellos are refused', async () => {
  expect(parseClientHello(Buffer.from('GET / HTTP/1.1\r\n'), 65536).kind).toBe('not_tls');
  expect(parseClientHello(Buffer.from([0x16, 0x01]), 65536).kind).toBe('not_tls');
  expect(parseClientHello(Buffer.from([0x17, 0x03, 0x03, 0, 5]), 65536).kind).toBe('not_tls');
  expect(parseClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x10, 0x02, 0, 0, 0x0c]), 65536).kind).toBe('not_tls');
  expect(parseClientHello(Buffer.from([0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x01, 0x00, 0x00]), 65536).kind).toBe('too_large');
  expect(parseClientHello(Buffer.alloc(0), 65536).kind).toBe('more');
});
