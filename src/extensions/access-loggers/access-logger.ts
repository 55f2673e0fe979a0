// Create half of the file/stdout/stderr access loggers: the parsed format compiled into an array
// of renderer functions (built once per logger, no parsing per request), the access log filter
// tree compiled into a predicate, and the shared buffered sink. Rendering follows Envoy's
// substitution formatter: missing values print '-' in text and null in JSON; START_TIME defaults
// to "%Y-%m-%dT%H:%M:%E3SZ" (UTC); single-command JSON values keep their number type.
import { hostname } from 'node:os';
import type { AccessLogFilterConfig } from '../filters/network/http-connection-manager/config';
import type { AccessLogRecord } from './access-log-record';
import type { FormatPart } from './format-parse';
import type { AccessLoggerConfig, JsonFormatNode } from './index';
import { logSink, type LogSink } from './log-sink';

export interface AccessLogger {
  log(rec: AccessLogRecord): void;
}

type Render = (r: AccessLogRecord) => string | number | null;

const HOST = hostname();

function noPort(a: string): string {
  if (a === '') return a;
  if (a.startsWith('[')) return a.slice(1, a.indexOf(']'));
  const c = a.lastIndexOf(':');
  return c < 0 ? a : a.slice(0, c);
}
function portOf(a: string): string {
  const c = a.lastIndexOf(':');
  return c < 0 ? '' : a.slice(c + 1);
}
const str = (v: string): string | null => (v === '' ? null : v);

function reqHeader(r: AccessLogRecord, name: string): string | null {
  switch (name) {
    case ':method':
      return str(r.method);
    case ':path':
      return str(r.path);
    case ':authority':
      return str(r.authority);
    case ':scheme':
      return str(r.scheme);
    default:
      return r.requestHeaders?.getAll(name) ?? null;
  }
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

/** strftime subset Envoy users put in START_TIME(...): %Y %m %d %H %M %S %z %s %f %E3S %ENf %T %F. */
function strftime(ms: number, fmt: string): string {
  const d = new Date(ms);
  return fmt.replace(/%(E(\d)S|(\d)?f|[YmdHMSzsTFjbae%])/g, (m, spec: string, eDigits: string | undefined, fDigits: string | undefined) => {
    if (eDigits !== undefined) return `${pad(d.getUTCSeconds(), 2)}.${pad(d.getUTCMilliseconds(), 3).padEnd(Number(eDigits), '0').slice(0, Number(eDigits))}`;
    if (spec.endsWith('f')) return `${pad(d.getUTCMilliseconds(), 3)}000000`.slice(0, fDigits ? Number(fDigits) : 9);
    switch (spec) {
      case 'Y':
        return String(d.getUTCFullYear());
      case 'm':
        return pad(d.getUTCMonth() + 1, 2);
      case 'd':
        return pad(d.getUTCDate(), 2);
      case 'H':
        return pad(d.getUTCHours(), 2);
      case 'M':
        return pad(d.getUTCMinutes(), 2);
      case 'S':
        return pad(d.getUTCSeconds(), 2);
      case 'z':
        return '+0000';
      case 's':
        return String(Math.floor(ms / 1000));
      case 'T':
        return `${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}`;
      case 'F':
        return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}`;
      case '%':
        return '%';
      default:
        return m;
    }
  });
}

function command(p: Extract<FormatPart, { kind: 'command' }>): Render {
  const arg = p.arg;
  const alt = p.alt;
  switch (p.name) {
    case 'START_TIME':
      return arg === '' ? (r) => new Date(r.startTimeMs).toISOString() : (r) => strftime(r.startTimeMs, arg);
    case 'REQ':
      return (r) => reqHeader(r, arg) ?? (alt !== '' ? reqHeader(r, alt) : null);
    case 'REQ_WITHOUT_QUERY':
      return (r) => {
        const v = reqHeader(r, arg) ?? (alt !== '' ? reqHeader(r, alt) : null);
        return v === null ? null : v.split('?')[0]!;
      };
    case 'RESP':
      return (r) => (arg === ':status' ? (r.responseCode > 0 ? String(r.responseCode) : null) : (r.responseHeaders?.getAll(arg) ?? (alt !== '' ? (r.responseHeaders?.getAll(alt) ?? null) : null)));
    case 'TRAILER':
      return (r) => r.responseTrailers?.getAll(arg) ?? (alt !== '' ? (r.responseTrailers?.getAll(alt) ?? null) : null);
    case 'PROTOCOL':
    case 'UPSTREAM_PROTOCOL':
      return (r) => str(r.protocol);
    case 'METHOD':
      return (r) => str(r.method);
    case 'PATH':
      return (r) => str(r.path);
    case 'RESPONSE_CODE':
      return (r) => r.responseCode;
    case 'RESPONSE_FLAGS':
    case 'RESPONSE_FLAGS_LONG':
      return (r) => str(r.responseFlags);
    case 'RESPONSE_CODE_DETAILS':
      return (r) => str(r.responseCodeDetails);
    case 'CONNECTION_TERMINATION_DETAILS':
      return (r) => str(r.connectionTerminationDetails);
    case 'UPSTREAM_TRANSPORT_FAILURE_REASON':
      return (r) => str(r.upstreamTransportFailureReason);
    case 'BYTES_RECEIVED':
      return (r) => r.bytesReceived;
    case 'BYTES_SENT':
      return (r) => r.bytesSent;
    case 'DURATION':
      return (r) => (r.durationMs < 0 ? null : r.durationMs);
    case 'REQUEST_DURATION':
      return (r) => (r.requestDurationMs < 0 ? null : r.requestDurationMs);
    case 'RESPONSE_DURATION':
      return (r) => (r.responseDurationMs < 0 ? null : r.responseDurationMs);
    case 'RESPONSE_TX_DURATION':
      return (r) => (r.responseDurationMs < 0 || r.durationMs < 0 ? null : r.durationMs - r.responseDurationMs);
    case 'UPSTREAM_HOST':
    case 'UPSTREAM_REMOTE_ADDRESS':
      return (r) => str(r.upstreamHost);
    case 'UPSTREAM_CLUSTER':
    case 'UPSTREAM_CLUSTER_RAW':
      return (r) => str(r.upstreamCluster);
    case 'UPSTREAM_LOCAL_ADDRESS':
      return (r) => str(r.upstreamLocalAddress);
    case 'UPSTREAM_REQUEST_ATTEMPT_COUNT':
      return (r) => r.attemptCount;
    case 'DOWNSTREAM_LOCAL_ADDRESS':
      return (r) => str(r.downstreamLocalAddress);
    case 'DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT':
      return (r) => str(noPort(r.downstreamLocalAddress));
    case 'DOWNSTREAM_LOCAL_PORT':
      return (r) => str(portOf(r.downstreamLocalAddress));
    case 'DOWNSTREAM_REMOTE_ADDRESS':
      return (r) => str(r.downstreamRemoteAddress);
    case 'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT':
      return (r) => str(noPort(r.downstreamRemoteAddress));
    case 'DOWNSTREAM_REMOTE_PORT':
      return (r) => str(portOf(r.downstreamRemoteAddress));
    case 'DOWNSTREAM_DIRECT_REMOTE_ADDRESS':
      return (r) => str(r.downstreamDirectRemoteAddress);
    case 'DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT':
      return (r) => str(noPort(r.downstreamDirectRemoteAddress));
    case 'REQUESTED_SERVER_NAME':
      return (r) => str(r.requestedServerName);
    case 'ROUTE_NAME':
      return (r) => str(r.routeName);
    case 'CONNECTION_ID':
      return (r) => r.connectionId;
    case 'HOSTNAME':
      return () => HOST;
    case 'ENVIRONMENT': {
      const v = process.env[arg] ?? null;
      return () => v;
    }
    default:
      // TLS fields, metadata and filter state are not recorded on our data path yet.
      return () => null;
  }
}

function compileParts(parts: readonly FormatPart[]): Render[] {
  return parts.map((p) => {
    if (p.kind === 'literal') {
      const t = p.text;
      return () => t;
    }
    const r = command(p);
    if (p.maxLength > 0) {
      const n = p.maxLength;
      return (rec) => {
        const v = r(rec);
        return typeof v === 'string' ? v.slice(0, n) : v;
      };
    }
    return r;
  });
}

function textRenderer(parts: readonly FormatPart[]): (r: AccessLogRecord) => string {
  const rs = compileParts(parts);
  return (rec) => {
    let out = '';
    for (let i = 0; i < rs.length; i++) {
      const v = rs[i]!(rec);
      out += v === null ? '-' : v;
    }
    return out;
  };
}

function jsonValue(node: JsonFormatNode, omit: boolean): (r: AccessLogRecord) => unknown {
  if (node.kind === 'object') {
    const fields = node.fields.map(([k, n]) => [k, jsonValue(n, omit)] as const);
    return (r) => {
      const o: Record<string, unknown> = {};
      for (const [k, f] of fields) {
        const v = f(r);
        if (omit && (v === null || v === '')) continue;
        o[k] = v;
      }
      return o;
    };
  }
  const rs = compileParts(node.parts);
  if (rs.length === 1) return rs[0]!;
  return (r) => {
    let out = '';
    for (let i = 0; i < rs.length; i++) {
      const v = rs[i]!(r);
      out += v === null ? '-' : v;
    }
    return out;
  };
}

function cmp(op: string, a: number, b: number): boolean {
  return op === 'EQ' ? a === b : op === 'GE' ? a >= b : op === 'LE' ? a <= b : a !== b;
}

/** Compiles an access log filter tree into a predicate. */
export function compileAccessLogFilter(f: AccessLogFilterConfig): (r: AccessLogRecord) => boolean {
  switch (f.kind) {
    case 'status_code':
      return (r) => cmp(f.op, r.responseCode, f.value);
    case 'duration':
      return (r) => cmp(f.op, Math.max(0, r.durationMs), f.value);
    case 'not_health_check':
      return (r) => !r.isHealthCheck;
    case 'traceable':
      return () => false;
    case 'response_flag': {
      const want = f.flags;
      return (r) => (want.length === 0 ? r.responseFlags !== '' : r.responseFlags.split(',').some((x) => want.includes(x)));
    }
    case 'runtime':
      return () => Math.random() * f.denominator < f.numerator;
    case 'header':
      return (r) => r.requestHeaders?.getAll(f.name) !== undefined;
    case 'grpc_status':
      return (r) => {
        const g = r.responseTrailers?.getAll('grpc-status') ?? r.responseHeaders?.getAll('grpc-status');
        const hit = g !== undefined && f.statuses.includes(Number(g));
        return f.exclude ? !hit : hit;
      };
    case 'and': {
      const fs = f.filters.map(compileAccessLogFilter);
      return (r) => fs.every((x) => x(r));
    }
    case 'or': {
      const fs = f.filters.map(compileAccessLogFilter);
      return (r) => fs.some((x) => x(r));
    }
  }
}

class FormattedLogger implements AccessLogger {
  constructor(
    private readonly sink: LogSink,
    private readonly render: (r: AccessLogRecord) => string,
    private readonly filter: ((r: AccessLogRecord) => boolean) | null,
  ) {}
  log(rec: AccessLogRecord): void {
    if (this.filter !== null && !this.filter(rec)) return;
    this.sink.write(this.render(rec));
  }
}

const NOOP: AccessLogger = { log() {} };

/** Builds the logger for one access_log entry (pass-through loggers log nothing). */
export function createAccessLogger(inst: { readonly config: unknown; readonly filter?: AccessLogFilterConfig }): AccessLogger {
  const c = inst.config as AccessLoggerConfig | { passThrough: true } | undefined;
  if (c === undefined || !('sink' in c)) return NOOP;
  const sink = logSink(c.sink === 'file' ? c.path : c.sink);
  let render: (r: AccessLogRecord) => string;
  if (c.format.json !== undefined) {
    const v = jsonValue(c.format.json, c.format.omitEmptyValues);
    render = (r) => `${JSON.stringify(v(r))}\n`;
  } else render = textRenderer(c.format.text ?? []);
  return new FormattedLogger(sink, render, inst.filter ? compileAccessLogFilter(inst.filter) : null);
}
