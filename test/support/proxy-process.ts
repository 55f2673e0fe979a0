// Starts the built proxy (bin/meshproxy) as a child process on a bootstrap written to a temp
// dir, with the admin on port 0 and --admin-address-path so tests learn the real ports; helpers
// to read admin endpoints and stop the process. Requires `make build` (make test does it).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REPO = join(__dirname, '..', '..');
export const BIN = join(REPO, 'bin', 'meshproxy');

export interface ProxyProcess {
  readonly child: ChildProcess;
  readonly admin: string;
  readonly dir: string;
  output(): string;
  get(path: string, method?: string): Promise<{ status: number; body: string }>;
  /** Bound address of a listener by name ("127.0.0.1:port"). */
  listener(name: string): Promise<{ host: string; port: number }>;
  stop(): Promise<number | null>;
}

export async function startProxy(bootstrap: object, args: string[] = [], env: Record<string, string> = {}): Promise<ProxyProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'meshproxy-test-'));
  const cfg = join(dir, 'bootstrap.json');
  writeFileSync(cfg, JSON.stringify(bootstrap));
  const adminPath = join(dir, 'admin-address');
  const child = spawn(process.execPath, [BIN, '-c', cfg, '--admin-address-path', adminPath, '--concurrency', '1', '-l', 'warning', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 20_000;
  while (!existsSync(adminPath) || readFileSync(adminPath, 'utf8') === '') {
    if (child.exitCode !== null) throw new Error(`proxy exited with ${child.exitCode}: ${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`proxy did not start: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const admin = readFileSync(adminPath, 'utf8');
  const p: ProxyProcess = {
    child,
    admin,
    dir,
    output: () => out,
    get: (path, method = 'GET') =>
      new Promise((resolve, reject) => {
        const [host, port] = [admin.slice(0, admin.lastIndexOf(':')), Number(admin.slice(admin.lastIndexOf(':') + 1))];
        const req = request({ host, port, path, method }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      }),
    async listener(name) {
      for (let i = 0; i < 200; i++) {
        const r = await p.get('/listeners?format=json');
        if (r.status === 200) {
          // Early answers (before workers bound the listener) may lack the entry or its address.
          let parsed: { listener_statuses?: { name: string; local_address?: { socket_address?: { address: string; port_value: number } } }[] } = {};
          try {
            parsed = JSON.parse(r.body) as typeof parsed;
          } catch {
            /* not ready yet */
          }
          const st = (parsed.listener_statuses ?? []).find((l) => l.name === name);
          if (st?.local_address?.socket_address?.port_value) return { host: st.local_address.socket_address.address, port: st.local_address.socket_address.port_value };
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`listener ${name} not found`);
    },
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', (code) => {
          clearTimeout(t);
          resolve(code);
        });
        child.kill('SIGTERM');
      }),
  };
  return p;
}

/** A bootstrap with one tcp_proxy listener on 127.0.0.1:0 in front of `upstreamPort`. */
export function tcpProxyBootstrap(upstreamPort: number, extra: { connectTimeout?: string; idleTimeout?: string; accessLogPath?: string; accessLogFormat?: string } = {}): object {
  return {
    node: { id: 'test~127.0.0.1~t.default~default.svc.cluster.local', cluster: 'test' },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
    static_resources: {
      listeners: [
        {
          name: 'tcp',
          address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
          filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 'tcp_test', cluster: 'up', ...(extra.idleTimeout ? { idle_timeout: extra.idleTimeout } : {}), ...(extra.accessLogPath ? { access_log: [{ name: 'envoy.access_loggers.file', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog', path: extra.accessLogPath, ...(extra.accessLogFormat ? { log_format: { text_format_source: { inline_string: extra.accessLogFormat } } } : {}) } }] } : {}) } }] }],
        },
      ],
      clusters: [
        {
          name: 'up',
          type: 'STATIC',
          connect_timeout: extra.connectTimeout ?? '1s',
          load_assignment: { cluster_name: 'up', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: upstreamPort } } } }] }] },
        },
      ],
    },
  };
}
