// `--run-validation` of the iptables init tool (src/init): proves the capture rules are live
// before the pod starts, as istio-iptables' validator does (pkg/validation/validator.go) for the
// istio-validation init container under istio-cni. It listens on the proxy's outbound and
// inbound ports on loopback, connects to 127.0.0.6 (::6) at the probe port (15002), and passes
// when that connection is redirected into one of the listeners.
//
// Difference from Istio: Istio reads SO_ORIGINAL_DST on the accepted socket and checks it is the
// probe port; Node.js cannot read that option, so we instead match the accepted connection's
// peer port with our client's local port, which identifies the same connection just as surely.
import net from 'node:net';
import type { CaptureConfig } from './config';
import type { InitLogger } from './logger';

/** Resolves to null when traffic is captured, else the reason. */
export async function runValidation(cfg: CaptureConfig, log: InitLogger): Promise<string | null> {
  const v6 = cfg.hostIp.includes(':');
  const listenIp = v6 ? '::1' : '127.0.0.1';
  const targetIp = v6 ? '::6' : '127.0.0.6';
  log.info('Starting iptables validation. This check verifies that iptables rules are properly established for the network.');

  const servers: net.Server[] = [];
  const clients = new Set<net.Socket>();
  const clientPorts = new Set<number>();
  let timer: NodeJS.Timeout | undefined;
  let retry: NodeJS.Timeout | undefined;
  try {
    return await new Promise<string | null>((resolve) => {
      timer = setTimeout(() => resolve('validation timeout'), cfg.probeTimeoutMs);
      // The accept and the client's connect event may come in either order: check on both.
      const acceptedPorts = new Set<number>();
      const check = (port: number | undefined) => {
        if (port !== undefined && clientPorts.has(port) && acceptedPorts.has(port)) {
          log.info('Validation passed, iptables rules established');
          resolve(null);
        }
      };
      const onConn = (sock: net.Socket) => {
        if (sock.remotePort !== undefined) acceptedPorts.add(sock.remotePort);
        sock.on('error', () => undefined);
        sock.end(String(cfg.iptablesProbePort));
        check(sock.remotePort);
      };
      let listening = 0;
      let pending = 0;
      for (const port of [cfg.proxyPort, cfg.inboundCapturePort]) {
        pending++;
        const srv = net.createServer(onConn);
        servers.push(srv);
        srv.once('error', (e) => {
          log.error(`Error on listening on ${listenIp}:${port}: ${e.message}`);
          if (--pending === 0 && listening === 0) resolve('no validation listener could be started');
        });
        srv.listen({ host: listenIp, port: Number(port), exclusive: true }, () => {
          listening++;
          pending--;
          if (listening === 1) probe();
        });
      }
      const probe = () => {
        const c = net.connect({ host: targetIp, port: cfg.iptablesProbePort });
        clients.add(c);
        c.once('connect', () => {
          if (c.localPort !== undefined) clientPorts.add(c.localPort);
          check(c.localPort);
        });
        c.on('error', () => undefined);
        c.on('data', () => undefined);
        c.once('close', () => clients.delete(c));
        retry = setTimeout(probe, 1000);
      };
    });
  } finally {
    clearTimeout(timer);
    clearTimeout(retry);
    for (const c of clients) c.destroy();
    await Promise.all(servers.map((s) => new Promise<void>((r) => (s.listening ? s.close(() => r()) : r()))));
  }
}
