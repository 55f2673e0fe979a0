// A "pod" for e2e suites: a network namespace with an address on a veth towards its peer, the
// Istio init rules applied by our meshproxy-iptables, an app server, and our proxy running as
// uid/gid 1337 on a bootstrap shaped like istiod's sidecar config (virtualOutbound on 15001 with
// use_original_dst, virtualInbound on 15006 with the original_dst listener filter, the
// Passthrough/InboundPassthrough/BlackHole clusters). Each namespace has its own loopback, so every
// pod can use Istio's fixed ports (15000, 15001, 15006) without clashing.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Netns } from './netns';

export const REPO = path.resolve(__dirname, '..', '..');
export const PROXY_BIN = path.join(REPO, 'bin', 'meshproxy');
export const INIT_BIN = path.join(REPO, 'bin', 'meshproxy-iptables');

/** The injector's istio-init arguments with Helm defaults (contract 8.1). */
export const HELM_INIT_ARGS = ['-p', '15001', '-z', '15006', '-u', '1337', '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '*', '-d', '15090,15021,15020'];

export type OutboundPolicy = 'ALLOW_ANY' | 'REGISTRY_ONLY';
/** Inbound interception (contract 8.5): TPROXY moves inbound capture to mangle/TPROXY and runs the proxy as uid 0 / gid 1337. */
export type InterceptionMode = 'REDIRECT' | 'TPROXY';

const tcpProxy = (statPrefix: string, cluster: string) => ({
  name: 'envoy.filters.network.tcp_proxy',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: statPrefix, cluster },
});

/** An inbound HTTP connection manager routing everything to InboundPassthroughCluster. */
const inboundHttp = () => ({
  name: 'envoy.filters.network.http_connection_manager',
  typed_config: {
    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    stat_prefix: 'inbound_0.0.0.0_8081',
    route_config: { name: 'inbound|8081', virtual_hosts: [{ name: 'inbound|http|8081', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'InboundPassthroughCluster' } }] }] },
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
  },
});

/** A sidecar bootstrap with the listeners and clusters istiod sends for a default sidecar (TCP parts). */
export function sidecarBootstrap(opts: { ipv6: boolean; outbound: OutboundPolicy; nodeIp: string; mode?: InterceptionMode }): object {
  // istiod in TPROXY mode: transparent virtual listeners, original_src (mark 1337) on
  // virtualInbound, and no 127.0.0.6 bind on inbound clusters (the client's address is used).
  const tproxy = opts.mode === 'TPROXY';
  const any = opts.ipv6 ? '::' : '0.0.0.0';
  const inboundSource = opts.ipv6 ? '::6' : '127.0.0.6';
  return {
    node: { id: `sidecar~${opts.nodeIp}~pod.e2e~e2e.svc.cluster.local`, cluster: 'pod.e2e' },
    admin: { address: { socket_address: { address: opts.ipv6 ? '::1' : '127.0.0.1', port_value: 15000 } } },
    static_resources: {
      listeners: [
        {
          name: 'virtualOutbound',
          address: { socket_address: { address: any, port_value: 15001 } },
          use_original_dst: true,
          ...(tproxy ? { transparent: true } : {}),
          traffic_direction: 'OUTBOUND',
          filter_chains: [
            { name: 'virtualOutbound-blackhole', filter_chain_match: { destination_port: 15001 }, filters: [tcpProxy('BlackHoleCluster', 'BlackHoleCluster')] },
            { name: 'virtualOutbound-catchall-tcp', filters: [tcpProxy(opts.outbound === 'ALLOW_ANY' ? 'PassthroughCluster' : 'BlackHoleCluster', opts.outbound === 'ALLOW_ANY' ? 'PassthroughCluster' : 'BlackHoleCluster')] },
          ],
        },
        {
          name: 'virtualInbound',
          address: { socket_address: { address: any, port_value: 15006 } },
          traffic_direction: 'INBOUND',
          ...(tproxy ? { transparent: true } : {}),
          listener_filters: [
            { name: 'envoy.filters.listener.original_dst', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst' } },
            ...(tproxy ? [{ name: 'envoy.filters.listener.original_src', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.original_src.v3.OriginalSrc', mark: 1337 } }] : []),
          ],
          filter_chains: [
            { name: 'virtualInbound-blackhole', filter_chain_match: { destination_port: 15006 }, filters: [tcpProxy('BlackHoleCluster', 'BlackHoleCluster')] },
            // TPROXY: port 8081 is served by the HTTP connection manager, so original_src is
            // also exercised through the HTTP connection pools (the app sees the client's address).
            ...(tproxy ? [{ name: 'virtualInbound-http-8081', filter_chain_match: { destination_port: 8081, transport_protocol: 'raw_buffer' }, filters: [inboundHttp()] }] : []),
            { name: 'virtualInbound', filter_chain_match: { transport_protocol: 'raw_buffer' }, filters: [tcpProxy('InboundPassthroughCluster', 'InboundPassthroughCluster')] },
          ],
          default_filter_chain: { name: 'virtualInbound-default', filters: [tcpProxy('InboundPassthroughCluster', 'InboundPassthroughCluster')] },
        },
      ],
      clusters: [
        { name: 'PassthroughCluster', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: '2s' },
        { name: 'InboundPassthroughCluster', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: '2s', ...(tproxy ? {} : { upstream_bind_config: { source_address: { address: inboundSource, port_value: 0 } } }) },
        { name: 'BlackHoleCluster', type: 'STATIC', connect_timeout: '2s' },
      ],
    },
  };
}

export class Pod {
  readonly ns: Netns;
  readonly dir: string;
  private proxy: ChildProcess | undefined;
  private app: ChildProcess | undefined;
  proxyOutput = '';

  constructor(
    readonly name: string,
    readonly ip: string,
  ) {
    this.ns = Netns.create(`mp${name}`);
    this.dir = mkdtempSync(path.join(tmpdir(), `meshproxy-pod-${name}-`));
    chmodSync(this.dir, 0o777); // the proxy runs as uid 1337 and writes its admin address here
  }

  get ipv6(): boolean {
    return this.ip.includes(':');
  }

  /** Applies Istio's default capture rules with our init tool (as istio-init would). */
  applyInit(extra: string[] = [], mode: InterceptionMode = 'REDIRECT'): void {
    const args = HELM_INIT_ARGS.map((a) => (a === 'REDIRECT' ? mode : a));
    const r = this.ns.exec([process.execPath, INIT_BIN, ...args, ...extra]);
    if (r.code !== 0) throw new Error(`meshproxy-iptables failed in ${this.name}: ${r.stderr}`);
  }

  /** An HTTP app on 0.0.0.0/[::] `port` answering "<app name> saw <peer address>". */
  async startApp(port: number, extraPorts: readonly number[] = [15020]): Promise<void> {
    const host = this.ipv6 ? '::' : '0.0.0.0';
    this.app = this.ns.spawn([process.execPath, '-e', `
      const http = require('http');
      const ports = ${JSON.stringify([port])}.concat(process.env.EXTRA_PORTS ? process.env.EXTRA_PORTS.split(',').filter(Boolean).map(Number) : []);
      let n = 0;
      for (const p of ports) http.createServer((req, res) => res.end('${this.name}:' + p + ' saw ' + req.socket.remoteAddress)).listen(p, '${host}', () => { if (++n === ports.length) console.log('ready'); });
      setTimeout(() => process.exit(0), 120000);`], { env: { ...process.env, EXTRA_PORTS: extraPorts.join(',') } });
    await waitLine(this.app, 'ready');
  }

  /** Starts our proxy as uid/gid 1337 on the Istio-shaped bootstrap; resolves when it is ready. */
  async startProxy(outbound: OutboundPolicy, mode: InterceptionMode = 'REDIRECT'): Promise<void> {
    await this.startProxyWith(sidecarBootstrap({ ipv6: this.ipv6, outbound, nodeIp: this.ip, mode }), `bootstrap-${outbound}.json`, mode);
  }

  /** Starts our proxy as uid/gid 1337 on `bootstrap`; resolves when its admin says LIVE. */
  async startProxyWith(bootstrap: object, fileName = 'bootstrap.json', mode: InterceptionMode = 'REDIRECT'): Promise<void> {
    await this.stopProxy();
    const cfg = path.join(this.dir, fileName);
    writeFileSync(cfg, JSON.stringify(bootstrap));
    chmodSync(cfg, 0o644);
    this.proxyOutput = '';
    // TPROXY: uid 0 keeps CAP_NET_ADMIN (IP_TRANSPARENT, SO_MARK); gid 1337 exempts its traffic.
    const uid = mode === 'TPROXY' ? 0 : 1337;
    this.proxy = this.ns.spawn(['setpriv', `--reuid=${uid}`, '--regid=1337', '--clear-groups', process.execPath, PROXY_BIN, '-c', cfg, '--concurrency', '1', '-l', 'warning', '--drain-time-s', '1']);
    this.proxy.stdout!.on('data', (d: Buffer) => (this.proxyOutput += d.toString()));
    this.proxy.stderr!.on('data', (d: Buffer) => (this.proxyOutput += d.toString()));
    for (let i = 0; i < 200; i++) {
      if (this.proxy.exitCode !== null) throw new Error(`proxy in ${this.name} exited: ${this.proxyOutput}`);
      if (this.adminGet('/ready').trim() === 'LIVE') return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`proxy in ${this.name} not ready: ${this.proxyOutput}`);
  }

  async stopProxy(): Promise<void> {
    const p = this.proxy;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
  }

  /** GET on the pod's admin (through curl inside the namespace). */
  adminGet(p: string): string {
    const host = this.ipv6 ? '[::1]' : '127.0.0.1';
    return this.ns.exec(['curl', '-s', '--max-time', '2', `http://${host}:15000${p}`]).stdout;
  }

  stat(name: string): number {
    const body = this.adminGet(`/stats?filter=${encodeURIComponent(`^${name.replace(/[.|[\]()*+?^$\\]/g, (c) => `\\${c}`)}$`)}`);
    const m = /: (\d+)\s*$/m.exec(body);
    return m ? Number(m[1]) : 0;
  }

  /** curl from inside the pod, optionally as another uid; returns body or the curl error. */
  curl(url: string, uid?: number): { code: number; body: string } {
    const argv = ['curl', '-s', '-S', '--max-time', '5', url];
    const r = this.ns.exec(uid === undefined ? argv : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', ...argv]);
    return { code: r.code, body: r.stdout + (r.code ? r.stderr : '') };
  }

  destroy(): void {
    this.ns.destroy();
    spawnSync('rm', ['-rf', this.dir]);
  }
}

function waitLine(child: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes(text)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`exited ${code} before '${text}': ${buf}`)));
  });
}

/** Two pods on one veth link. */
export function podPair(aIp: string, bIp: string, prefixLen: number): [Pod, Pod] {
  const a = new Pod('a', aIp);
  const b = new Pod('b', bIp);
  const id = `${process.pid % 10000}${Math.floor(Math.random() * 90 + 10)}`;
  const aIf = `pa${id}`;
  const bIf = `pb${id}`;
  spawnSync('ip', ['link', 'add', aIf, 'type', 'veth', 'peer', 'name', bIf]);
  spawnSync('ip', ['link', 'set', aIf, 'netns', a.ns.name]);
  spawnSync('ip', ['link', 'set', bIf, 'netns', b.ns.name]);
  for (const [pod, dev] of [[a, aIf], [b, bIf]] as const) {
    pod.ns.run(['ip', 'link', 'set', dev, 'name', 'eth0']);
    pod.ns.run(['ip', 'addr', 'add', `${pod.ip}/${prefixLen}`, 'dev', 'eth0', ...(pod.ipv6 ? ['nodad'] : [])]);
    pod.ns.run(['ip', 'link', 'set', 'eth0', 'up']);
  }
  return [a, b];
}
