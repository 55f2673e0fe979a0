// Relay server for bench/tcp-relay.bench.sh: listens on 127.0.0.1:<listen>, connects each
// accepted connection to 127.0.0.1:<upstream> and relays both ways with either the JS relay
// (src/platform/tcp-relay-fake.ts: 'data' -> write with backpressure, what tcp_proxy does today)
// or the splice relay (src/platform/tcp-relay.ts). Bench-only; not used by the proxy.
// Run through bench/tcp-relay.bench.run.cjs: node bench/tcp-relay.bench.run.cjs <js|splice> <listen> <upstream> [pipe bytes]
import * as net from 'node:net';
import { nativeTcpRelay, spliceUnavailableReason, type TcpRelaySeam } from '../src/platform/tcp-relay';
import { FakeTcpRelay } from '../src/platform/tcp-relay-fake';

const [mode, listenPort, upstreamPort, bufferArg] = process.argv.slice(2);
const bufferBytes = bufferArg ? Number(bufferArg) : undefined;
if ((mode !== 'js' && mode !== 'splice') || !listenPort || !upstreamPort) {
  console.error('usage: tcp-relay.bench.run.cjs <js|splice> <listen port> <upstream port>');
  process.exit(2);
}
if (mode === 'splice' && spliceUnavailableReason()) {
  console.error(spliceUnavailableReason());
  process.exit(1);
}
const seam: TcpRelaySeam = mode === 'splice' ? nativeTcpRelay : new FakeTcpRelay();
const ignore = (): void => undefined;

net
  .createServer({ allowHalfOpen: true, pauseOnConnect: true }, (down) => {
    down.on('error', ignore);
    const up = net.connect({ port: Number(upstreamPort), host: '127.0.0.1', allowHalfOpen: true });
    up.on('error', () => down.destroy());
    up.once('connect', () => {
      up.removeAllListeners('error');
      up.on('error', ignore);
      seam.startRelay(down, up, { idleTimeoutMs: 0, bufferBytes }, ignore);
    });
  })
  .listen(Number(listenPort), '127.0.0.1', () => console.log('ready'));
