// In-process HTTP test harness: a bootstrap (Envoy JSON shape) goes through the real bootstrap
// translator and a WorkerEngine on this event loop, so tests exercise the HCM, router and pools
// with real loopback sockets and can read stats directly. Also loopback upstream helpers.
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadBootstrap } from '../../src/config/bootstrap/load-bootstrap';
import { StatsStore } from '../../src/stats/stats-store';
import { WorkerEngine } from '../../src/worker/worker-engine';

export interface HttpHarness {
  readonly engine: WorkerEngine;
  readonly stats: StatsStore;
  /** Port of a listener by name. */
  port(name?: string): number;
  counter(name: string): number;
  close(): void;
}

export async function startHarness(bootstrap: object): Promise<HttpHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'meshproxy-http-'));
  const file = join(dir, 'bootstrap.json');
  writeFileSync(file, JSON.stringify(bootstrap));
  const loaded = loadBootstrap({ configPath: file, allowUnknownStaticFields: false });
  const stats = new StatsStore();
  const engine = new WorkerEngine(stats, pino({ level: 'silent' }), 200, () => null);
  const bound = await engine.apply({ generation: 1, listeners: loaded.config.staticListeners, routeConfigs: [], clusters: loaded.config.staticClusters, endpoints: {}, secrets: [], versions: {} });
  return {
    engine,
    stats,
    port(name = 'http') {
      const b = bound.find((x) => x.name === name);
      if (!b?.address) throw new Error(`no listener ${name}`);
      return Number(b.address.slice(b.address.lastIndexOf(':') + 1));
    },
    counter(name) {
      return stats.counter(name).value;
    },
    close() {
      engine.close();
    },
  };
}

/** A cluster in front of loopback ports. */
export function cluster(name: string, ports: readonly number[], extra: Record<string, unknown> = {}): object {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: ports.map((p) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: p } } } })) }] },
    ...extra,
  };
}

/** A bootstrap with one HCM listener 'http' (inline routes) and the given clusters. */
export function hcmBootstrap(opts: { virtualHosts: object[]; clusters: object[]; hcm?: Record<string, unknown>; httpFilters?: object[] }): object {
  return {
    node: { id: 'test', cluster: 'test' },
    static_resources: {
      listeners: [
        {
          name: 'http',
          address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'ingress',
                    route_config: { name: 'local', virtual_hosts: opts.virtualHosts },
                    http_filters: [...(opts.httpFilters ?? []), { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
                    ...(opts.hcm ?? {}),
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: opts.clusters,
    },
  };
}

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
}

/** A node:http upstream recording what it received; `handler` answers. */
export async function upstream(handler: (req: SeenRequest, res: http.ServerResponse) => void = (_q, r) => r.end('ok')): Promise<{ port: number; seen: SeenRequest[]; server: http.Server; close(): Promise<void> }> {
  const seen: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const r = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body };
      seen.push(r);
      handler(r, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    seen,
    server,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  rawHead: string;
  body: string;
}

/** Sends raw bytes and reads one response (until close or a complete Content-Length body). */
export function rawRequest(port: number, bytes: string | Buffer, timeoutMs = 3000): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const netm = require('node:net') as typeof net;
  return new Promise((resolve, reject) => {
    const c = netm.connect(port, '127.0.0.1');
    let out = '';
    const t = setTimeout(() => {
      c.destroy();
      resolve(out);
    }, timeoutMs);
    c.on('data', (d) => (out += d.toString('latin1')));
    c.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    c.on('close', () => {
      clearTimeout(t);
      resolve(out);
    });
    c.write(bytes);
  });
}

export function parseResponse(raw: string): RawResponse {
  const i = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, i);
  const lines = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const c = l.indexOf(':');
    headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim();
  }
  return { status: Number(lines[0]!.split(' ')[1]), headers, rawHead: head, body: raw.slice(i + 4) };
}
