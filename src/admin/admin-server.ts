// Envoy-compatible admin API: the endpoints pilot-agent, istioctl and operators use — /ready,
// /server_info, /stats (text and json, usedonly, filter, type), /stats/prometheus, /config_dump
// (config-dump.ts), /config_history (ours, see below), /listeners and /clusters (text and json,
// clusters-view.ts / listeners-view.ts), /logging, /drain_listeners, /healthcheck/{fail,ok},
// /quitquitquit, /runtime, /memory, /hot_restart_version, /reset_counters, /help and /.
// Rendering comes from stats/ and the server's read view (AdminView); node:http is fine here
// (admin is off the data path). Wrong method and unknown path answer as Envoy's
// AdminImpl::makeRequest does: 405 "Method <M> not allowed, POST required." for state-changing
// endpoints, 404 "invalid path. " followed by the help text.
//
// /config_history?type=lds|rds|cds|eds|sds (beyond Envoy): recent xDS updates as JSON, from
// AdminView.configHistory(type): {"type": <type or "all">, "history_size": N, "total_updates": N,
// "updates": [...]}, newest last, each {time, type, version, nonce, added, updated, removed,
// unchanged, result: "ACK"|"NACK", errors: [{name, reason}], apply_ms}. A view that returns a
// plain list is served as {"type", "updates": [...]}. An unknown type answers 404 with
// "unknown type '<t>': expected one of lds, rds, cds, eds, sds".
import { StatsRenderThread, STATS_THREAD_MIN, statCount, type StatsOptionsSpec } from './stats-render-thread';
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
import { handleConfigDump } from './config-dump';
import { fromLegacyClusters, renderClustersJson, renderClustersText, type ClusterStatusView } from './clusters-view';
import { fromLegacyListeners, renderListenersJson, renderListenersText, type ListenerStatusView } from './listeners-view';

/** What the admin reads from the running server. */
export interface AdminView {
  state(): 'LIVE' | 'DRAINING' | 'PRE_INITIALIZING' | 'INITIALIZING';
  serverInfo(): Record<string, unknown>;
  statsSnapshot(): Promise<StatsSnapshot>;
  /** envoy.admin.v3.Certificates JSON for /certs. */
  certs?(): unknown;
  /** The unmerged per-process snapshots (control side first), for off-loop rendering. */
  statsParts?(): Promise<StatsSnapshot[]>;
  /** Tag extraction settings the off-loop renderer needs (the bootstrap's stats_config). */
  readonly statsOptions?: Pick<StatsOptionsSpec, 'statsTags' | 'useAllDefaultTags'>;
  listeners(): { name: string; address: string | undefined }[];
  clusters(): { name: string; hosts: { address: string; health: string; weight: number; cxActive: number }[] }[];
  runtime(): Record<string, string | number | boolean>;
  drainListeners(opts: { inboundOnly: boolean; graceful: boolean; skipExit: boolean }): void;
  setHealthcheckFailed(failed: boolean): void;
  resetCounters(): void;
  quit(): void;
  /** Full per-cluster status for /clusters (preferred over clusters() when present; may be pulled from workers). */
  clusterStatuses?(): readonly ClusterStatusView[] | Promise<readonly ClusterStatusView[]>;
  /** Full per-listener status for /listeners (preferred over listeners() when present). */
  listenerStatuses?(): readonly ListenerStatusView[] | Promise<readonly ListenerStatusView[]>;
  /** Resource store read view for /config_dump (absent until xDS wiring provides it). */
  configDump?(): ConfigDumpSource;
  /** Recent xDS updates (beyond Envoy): JSON-ready entries, optionally one type (lds, rds, ...). */
  configHistory?(type: string | undefined): unknown;
  readonly logs: LogRoot;
  readonly prometheus: PrometheusRenderer;
}

const HISTORY_TYPES = new Set(['lds', 'rds', 'cds', 'eds', 'sds']);

/** Envoy's logger ids (a subset of ALL_LOGGER_IDS): /logging?<name>=<level> accepts these even before our code has created that component. */
const ENVOY_LOGGERS = new Set(['admin', 'alternate_protocols_cache', 'aws', 'assert', 'backtrace', 'client', 'config', 'connection', 'conn_handler', 'dns', 'envoy_bug', 'ext_authz', 'ext_proc', 'file', 'filter', 'forward_proxy', 'golang', 'grpc', 'happy_eyeballs', 'hc', 'health_checker', 'http', 'http2', 'init', 'io', 'jwt', 'lua', 'main', 'matcher', 'misc', 'oauth2', 'pool', 'rbac', 'router', 'runtime', 'stats', 'secret', 'tap', 'testing', 'tracing', 'upstream', 'udp', 'wasm', 'websocket']);

interface Endpoint {
  readonly help: string;
  /** Parameter lines printed under the endpoint in /help (Envoy's ParamDescriptor lines). */
  readonly params?: readonly string[];
  readonly mutates: boolean;
  handle(view: AdminView, q: URLSearchParams, res: http.ServerResponse, method: string): Promise<void> | void;
}

function send(res: http.ServerResponse, status: number, body: string, type = 'text/plain; charset=UTF-8'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-cache, max-age=0', 'x-content-type-options': 'nosniff' });
  res.end(body);
}

const renderThread = new StatsRenderThread();

/**
 * Large scrapes render on a worker thread so the admin (readiness) and xDS keep answering; true
 * when the response was sent that way. Small scrapes return false and render inline.
 */
async function renderOffLoop(v: AdminView, q: URLSearchParams, endpoint: 'stats' | 'prometheus', res: http.ServerResponse): Promise<boolean> {
  if (!v.statsParts || !v.statsOptions || !renderThread.available) return false;
  const parts = await v.statsParts();
  if (statCount(parts) < STATS_THREAD_MIN) return false;
  const r = await renderThread.render(parts, q.toString(), endpoint, v.statsOptions);
  if ('error' in r) {
    send(res, 400, `${r.error}\n`);
    return true;
  }
  send(res, 200, r.body, r.contentType === 'prometheus' ? PROMETHEUS_CONTENT_TYPE : r.contentType === 'json' ? 'application/json' : 'text/plain; charset=UTF-8');
  return true;
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
      if (await renderOffLoop(v, q, 'stats', res)) return;
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
      if (await renderOffLoop(v, q, 'prometheus', res)) return;
      send(res, 200, v.prometheus.render(await v.statsSnapshot(), p.value), PROMETHEUS_CONTENT_TYPE);
    },
  },
  '/listeners': {
    help: 'print listener info',
    params: ['      format: File format to use; One of (text, json)'],
    mutates: false,
    async handle(v, q, res) {
      const ls = v.listenerStatuses ? await v.listenerStatuses() : fromLegacyListeners(v.listeners());
      if (q.get('format') === 'json') return send(res, 200, renderListenersJson(ls), 'application/json');
      send(res, 200, renderListenersText(ls));
    },
  },
  '/clusters': {
    help: 'upstream cluster status',
    mutates: false,
    async handle(v, q, res) {
      const cs = v.clusterStatuses ? await v.clusterStatuses() : fromLegacyClusters(v.clusters());
      if (q.get('format') === 'json') return send(res, 200, renderClustersJson(cs), 'application/json');
      send(res, 200, renderClustersText(cs));
    },
  },
  '/config_dump': {
    help: 'dump current Envoy configs (experimental)',
    params: [
      '      resource: The resource to dump',
      '      mask: The mask to apply. When both resource and mask are specified, the mask is applied to every element in the desired repeated field so that only a subset of fields are returned. The mask is parsed as a ProtobufWkt::FieldMask',
      '      name_regex: Dump only the currently loaded configurations whose names match the specified regex. Can be used with both resource and mask query parameters.',
      '      include_eds: Dump currently loaded configuration including EDS. See the response definition for more information',
    ],
    mutates: false,
    handle(v, q, res) {
      const r = handleConfigDump(v.configDump?.(), q);
      send(res, r.status, r.body, r.contentType);
    },
  },
  '/config_history': {
    help: 'recent xDS updates per type, JSON (meshproxy extension)',
    params: ['      type: One of (lds, rds, cds, eds, sds); all types when absent'],
    mutates: false,
    handle(v, q, res) {
      const type = q.get('type') ?? undefined;
      if (type !== undefined && !HISTORY_TYPES.has(type)) return send(res, 404, `unknown type '${type}': expected one of lds, rds, cds, eds, sds\n`);
      const h = v.configHistory ? v.configHistory(type) : [];
      const body = Array.isArray(h) || h === undefined || h === null ? { type: type ?? 'all', updates: h ?? [] } : { type: type ?? 'all', ...(h as Record<string, unknown>) };
      send(res, 200, JSON.stringify(body, null, 2), 'application/json');
    },
  },
  '/logging': {
    help: 'query/change logging levels',
    params: ['      paths: Change multiple logging levels by setting to <logger_name1>:<desired_level1>,<logger_name2>:<desired_level2>.', '      level: desired logging level, this will change all loggers\'s level; One of (, trace, debug, info, warning, error, critical, off)'],
    // Envoy registers /logging as state-changing: every call, listing included, is a POST
    // (istioctl proxy-config log posts even to read).
    mutates: true,
    handle(v, q, res) {
      const level = q.get('level');
      const paths = q.get('paths');
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
      // Envoy also takes ?<logger>=<level> (istioctl proxy-config log --level comp:lvl sends it).
      for (const [name, lv] of q) {
        if (name === 'level' || name === 'paths') continue;
        if (!isEnvoyLevel(lv) || !(v.logs.levels().has(name) || ENVOY_LOGGERS.has(name))) return send(res, 404, `error: unknown logger name or level\n`);
        v.logs.setComponentLevel(name, lv);
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
  '/certs': {
    help: 'print certs on machine',
    mutates: false,
    handle(v, _q, res) {
      send(res, 200, JSON.stringify(v.certs ? v.certs() : { certificates: [] }, null, 2), 'application/json');
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

/** Envoy's getHelp(): handlers in prefix order, "(POST)" on state-changing ones, then their params. */
export function helpText(): string {
  const all: Record<string, Pick<Endpoint, 'help' | 'params' | 'mutates'>> = { '/': { help: 'Admin home page', mutates: false }, '/help': { help: 'print out list of admin commands', mutates: false }, ...ENDPOINTS };
  const lines = ['admin commands are:'];
  for (const p of Object.keys(all).sort()) {
    const e = all[p];
    lines.push(`  ${p}${e.mutates ? ' (POST)' : ''}: ${e.help}`, ...(e.params ?? []));
  }
  return lines.join('\n') + '\n';
}

function indexHtml(): string {
  const rows = Object.entries(ENDPOINTS)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([p, e]) => (e.mutates ? `<tr><td><form action="${p}" method="post"><button>${p.slice(1)}</button></form></td><td>${e.help}</td></tr>` : `<tr><td><a href="${p}">${p.slice(1)}</a></td><td>${e.help}</td></tr>`));
  const history = '<p><code>/config_history?type=lds|rds|cds|eds|sds</code> (meshproxy extension) returns <code>{"type", "history_size", "total_updates", "updates": [...]}</code>: recent xDS updates, newest last, each with time, type, version, nonce, names added/updated/removed, result (ACK or NACK), per-resource errors and apply_ms.</p>';
  return `<!DOCTYPE html><html><head><title>meshproxy admin</title></head><body><h1>meshproxy admin</h1><table>${rows.join('')}</table>${history}</body></html>`;
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
      // Envoy: state-changing endpoints need POST (AdminImpl::makeRequest).
      if (ep.mutates && req.method !== 'POST') return send(res, 405, `Method ${req.method ?? 'GET'} not allowed, POST required.`);
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
