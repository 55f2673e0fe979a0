// Envoy-compatible admin API (first part): the endpoints pilot-agent and operators use to see
// that the proxy is up — /ready, /server_info, /stats (text and json, usedonly, filter, type),
// /stats/prometheus, /listeners, /clusters, /logging, /drain_listeners, /healthcheck/{fail,ok},
// /quitquitquit, /runtime, /memory, /hot_restart_version, /reset_counters, /help and /.
// Rendering comes from stats/ and the server's read view; node:http is fine here (admin is
// off the data path). config_dump and config history come with the xDS and admin issues.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { isEnvoyLevel, type LogRoot } from '../log/logger';
import { PROMETHEUS_CONTENT_TYPE, PrometheusRenderer } from '../stats/render-prometheus';
import { renderStatsJson, renderStatsText } from '../stats/render-text';
import type { StatsSnapshot } from '../stats/snapshot';
import { parseStatsParams } from '../stats/stats-params';
import type { AddressConfig } from '../config/model/address';
import type { ConfigDumpSource } from './config-dump-source';

/** What the admin reads from the running server. */
export interface AdminView {
  state(): 'LIVE' | 'DRAINING' | 'PRE_INITIALIZING' | 'INITIALIZING';
  serverInfo(): Record<string, unknown>;
  statsSnapshot(): Promise<StatsSnapshot>;
  listeners(): { name: string; address: string | undefined }[];
  clusters(): { name: string; hosts: { address: string; health: string; weight: number; cxActive: number }[] }[];
  runtime(): Record<string, string | number | boolean>;
  drainListeners(opts: { inboundOnly: boolean; graceful: boolean; skipExit: boolean }): void;
  setHealthcheckFailed(failed: boolean): void;
  resetCounters(): void;
  quit(): void;
  /** Resource store read view for /config_dump (absent until xDS wiring provides it). */
  configDump?(): ConfigDumpSource;
  /** Recent xDS updates (beyond Envoy): JSON-ready entries, optionally one type (lds, rds, ...). */
  configHistory?(type: string | undefined): unknown;
  readonly logs: LogRoot;
  readonly prometheus: PrometheusRenderer;
}

interface Endpoint {
  readonly help: string;
  readonly mutates: boolean;
  handle(view: AdminView, q: URLSearchParams, res: http.ServerResponse, method: string): Promise<void> | void;
}

function send(res: http.ServerResponse, status: number, body: string, type = 'text/plain; charset=UTF-8'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-cache, max-age=0', 'x-content-type-options': 'nosniff' });
  res.end(body);
}

const ENDPOINTS: Record<string, Endpoint> = {
  '/ready': {
    help: 'print server state, return 200 if LIVE, otherwise return 503',
    mutates: false,
    handle(v, _q, res) {
      const s = v.state();
      send(res, s === 'LIVE' ? 200 : 503, `${s}\n`);
    },
  },
  '/server_info': {
    help: 'print server version/status information',
    mutates: false,
    handle(v, _q, res) {
      send(res, 200, JSON.stringify(v.serverInfo(), null, 2), 'application/json');
    },
  },
  '/stats': {
    help: 'print server stats',
    mutates: false,
    async handle(v, q, res) {
      const p = parseStatsParams(q);
      if (!p.ok) return send(res, 400, `${p.errors.map((e) => e.reason).join('\n')}\n`);
      const snap = await v.statsSnapshot();
      if (p.value.format === 'json') return send(res, 200, renderStatsJson(snap, p.value), 'application/json');
      if (p.value.format === 'prometheus') return send(res, 200, v.prometheus.render(snap, p.value), PROMETHEUS_CONTENT_TYPE);
      send(res, 200, renderStatsText(snap, p.value));
    },
  },
  '/stats/prometheus': {
    help: 'print server stats in prometheus format',
    mutates: false,
    async handle(v, q, res) {
      const p = parseStatsParams(q);
      if (!p.ok) return send(res, 400, `${p.errors.map((e) => e.reason).join('\n')}\n`);
      send(res, 200, v.prometheus.render(await v.statsSnapshot(), p.value), PROMETHEUS_CONTENT_TYPE);
    },
  },
  '/listeners': {
    help: 'print listener info',
    mutates: false,
    handle(v, q, res) {
      const ls = v.listeners();
      if (q.get('format') === 'json') {
        const body = { listener_statuses: ls.map((l) => ({ name: l.name, local_address: socketAddressJson(l.address) })) };
        return send(res, 200, JSON.stringify(body, null, 2), 'application/json');
      }
      send(res, 200, ls.map((l) => `${l.name}::${l.address ?? ''}\n`).join(''));
    },
  },
  '/clusters': {
    help: 'upstream cluster status',
    mutates: false,
    handle(v, q, res) {
      const cs = v.clusters();
      if (q.get('format') === 'json') {
        const body = {
          cluster_statuses: cs.map((c) => ({
            name: c.name,
            host_statuses: c.hosts.map((h) => ({ address: socketAddressJson(h.address), stats: [{ name: 'cx_active', type: 'GAUGE', value: String(h.cxActive) }], health_status: { eds_health_status: h.health === 'UNKNOWN' ? 'HEALTHY' : h.health }, weight: h.weight })),
          })),
        };
        return send(res, 200, JSON.stringify(body, null, 2), 'application/json');
      }
      const lines: string[] = [];
      for (const c of cs) for (const h of c.hosts) lines.push(`${c.name}::${h.address}::cx_active::${h.cxActive}`, `${c.name}::${h.address}::health_flags::${h.health === 'UNHEALTHY' ? '/failed_eds_health' : 'healthy'}`, `${c.name}::${h.address}::weight::${h.weight}`);
      send(res, 200, lines.map((l) => `${l}\n`).join(''));
    },
  },
  '/logging': {
    help: 'query/change logging levels',
    // GET lists levels; changing them (level= or paths=) needs POST, as in Envoy.
    mutates: false,
    handle(v, q, res, method) {
      const level = q.get('level');
      const paths = q.get('paths');
      if ((level !== null || paths !== null) && method !== 'POST') return send(res, 405, 'This endpoint requires a POST\n');
      if (level !== null) {
        if (!isEnvoyLevel(level)) return send(res, 404, `error: unknown logger level\n`);
        v.logs.setLevel(level);
      }
      if (paths !== null) {
        for (const item of paths.split(',')) {
          const [name, lv] = item.split(':');
          if (!name || !lv || !isEnvoyLevel(lv)) return send(res, 404, `error: invalid paths\n`);
          v.logs.setComponentLevel(name, lv);
        }
      }
      const out = ['active loggers:'];
      for (const [name, lv] of [...v.logs.levels()].sort()) out.push(`  ${name}: ${lv}`);
      send(res, 200, out.join('\n') + '\n');
    },
  },
  '/drain_listeners': {
    help: 'drain listeners',
    mutates: true,
    handle(v, q, res) {
      v.drainListeners({ inboundOnly: q.has('inboundonly'), graceful: q.has('graceful'), skipExit: q.has('skip_exit') });
      send(res, 200, 'OK\n');
    },
  },
  '/healthcheck/fail': {
    help: 'cause the server to fail health checks',
    mutates: true,
    handle(v, _q, res) {
      v.setHealthcheckFailed(true);
      send(res, 200, 'OK\n');
    },
  },
  '/healthcheck/ok': {
    help: 'cause the server to pass health checks',
    mutates: true,
    handle(v, _q, res) {
      v.setHealthcheckFailed(false);
      send(res, 200, 'OK\n');
    },
  },
  '/quitquitquit': {
    help: 'exit the server',
    mutates: true,
    handle(v, _q, res) {
      send(res, 200, 'OK\n');
      setImmediate(() => v.quit());
    },
  },
  '/runtime': {
    help: 'print runtime values',
    mutates: false,
    handle(v, _q, res) {
      const entries: Record<string, unknown> = {};
      for (const [k, val] of Object.entries(v.runtime())) entries[k] = { final_value: String(val), layer_values: [String(val), ''] };
      send(res, 200, JSON.stringify({ layers: ['global config', 'admin'], entries }, null, 2), 'application/json');
    },
  },
  '/memory': {
    help: 'print current allocation/heap usage',
    mutates: false,
    handle(_v, _q, res) {
      const m = process.memoryUsage();
      send(res, 200, JSON.stringify({ allocated: String(m.heapUsed), heap_size: String(m.heapTotal), pageheap_unmapped: '0', pageheap_free: '0', total_thread_cache: '0', total_physical_bytes: String(m.rss) }, null, 2), 'application/json');
    },
  },
  '/reset_counters': {
    help: 'reset all counters to zero',
    mutates: true,
    handle(v, _q, res) {
      v.resetCounters();
      send(res, 200, 'OK\n');
    },
  },
  '/hot_restart_version': {
    help: 'print the hot restart compatibility version',
    mutates: false,
    handle(_v, _q, res) {
      send(res, 200, 'disabled\n');
    },
  },
};

function socketAddressJson(addr: string | undefined): unknown {
  if (!addr) return {};
  const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(addr);
  if (!m) return { pipe: { path: addr } };
  return { socket_address: { address: m[1], port_value: Number(m[2]) } };
}

function helpText(): string {
  return ['admin commands are:', ...Object.entries({ '/help': { help: 'print out list of admin commands' }, ...ENDPOINTS }).sort(([a], [b]) => a.localeCompare(b)).map(([p, e]) => `  ${p}: ${e.help}`)].join('\n') + '\n';
}

function indexHtml(): string {
  const rows = Object.entries(ENDPOINTS)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([p, e]) => (e.mutates ? `<tr><td><form action="${p}" method="post"><button>${p.slice(1)}</button></form></td><td>${e.help}</td></tr>` : `<tr><td><a href="${p}">${p.slice(1)}</a></td><td>${e.help}</td></tr>`));
  return `<!DOCTYPE html><html><head><title>meshproxy admin</title></head><body><h1>meshproxy admin</h1><table>${rows.join('')}</table></body></html>`;
}

export class AdminServer {
  private server: http.Server | undefined;

  constructor(
    private readonly view: AdminView,
    private readonly log: Logger,
  ) {}

  start(address: AddressConfig): Promise<string> {
    const server = http.createServer((req, res) => void this.handle(req, res));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      const opts = address.kind === 'pipe' ? { path: address.path } : { host: address.kind === 'socket' ? address.address : '127.0.0.1', port: address.kind === 'socket' ? address.port : 0 };
      server.listen(opts, () => {
        server.off('error', reject);
        const a = server.address() as AddressInfo | string;
        resolve(typeof a === 'string' ? a : a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`);
      });
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const path = url.pathname;
    try {
      if (path === '/') return send(res, 200, indexHtml(), 'text/html; charset=UTF-8');
      if (path === '/help') return send(res, 200, helpText());
      const ep = ENDPOINTS[path];
      if (!ep) return send(res, 404, `invalid path. ${helpText()}`);
      // Envoy: state-changing endpoints need POST.
      if (ep.mutates && req.method !== 'POST') return send(res, 405, 'This endpoint requires a POST\n');
      await ep.handle(this.view, url.searchParams, res, req.method ?? 'GET');
    } catch (err) {
      this.log.error({ path, err: (err as Error).message }, 'admin handler failed');
      if (!res.headersSent) send(res, 500, 'internal error\n');
    }
  }

  close(): void {
    this.server?.close();
  }
}
