// Compiled header value formats: the literal/command parts that translate parsed from strings
// such as "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%" become a small array of numeric opcodes,
// evaluated against a HeaderFormatContext once per header edit application. Worker side; no
// string parsing happens per request. Values follow Envoy's substitution formatter: unknown
// values print as '' in headers (Envoy prints '-' only in access logs).
import { hostname } from 'node:os';
import type { HeaderFormatPartConfig } from '../../../config/model/route';
import type { HeaderFormatContext } from './route-request';

const OP_LITERAL = 0;
const OP_DS_REMOTE = 1;
const OP_DS_REMOTE_NO_PORT = 2;
const OP_DS_REMOTE_PORT = 3;
const OP_DS_DIRECT_REMOTE = 4;
const OP_DS_DIRECT_REMOTE_NO_PORT = 5;
const OP_DS_DIRECT_REMOTE_PORT = 6;
const OP_DS_LOCAL = 7;
const OP_DS_LOCAL_NO_PORT = 8;
const OP_DS_LOCAL_PORT = 9;
const OP_TLS = 10;
const OP_SNI = 11;
const OP_US_REMOTE = 12;
const OP_US_REMOTE_NO_PORT = 13;
const OP_US_LOCAL = 14;
const OP_US_CLUSTER = 15;
const OP_UPSTREAM_METADATA = 16;
const OP_DYNAMIC_METADATA = 17;
const OP_CLUSTER_METADATA = 18;
const OP_FILTER_STATE = 19;
const OP_REQ = 20;
const OP_RESP = 21;
const OP_PROTOCOL = 22;
const OP_START_TIME = 23;
const OP_ROUTE_NAME = 24;
const OP_RESPONSE_CODE = 25;
const OP_RESPONSE_FLAGS = 26;
const OP_CONNECTION_ID = 27;

/** Commands that are constant for the process: resolved at compile time into literals. */
const CONSTANT_COMMANDS = new Set(['HOSTNAME', 'ENVIRONMENT']);

const OPS: Readonly<Record<string, number>> = {
  DOWNSTREAM_REMOTE_ADDRESS: OP_DS_REMOTE,
  DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: OP_DS_REMOTE_NO_PORT,
  DOWNSTREAM_REMOTE_PORT: OP_DS_REMOTE_PORT,
  DOWNSTREAM_DIRECT_REMOTE_ADDRESS: OP_DS_DIRECT_REMOTE,
  DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT: OP_DS_DIRECT_REMOTE_NO_PORT,
  DOWNSTREAM_DIRECT_REMOTE_PORT: OP_DS_DIRECT_REMOTE_PORT,
  DOWNSTREAM_LOCAL_ADDRESS: OP_DS_LOCAL,
  DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT: OP_DS_LOCAL_NO_PORT,
  DOWNSTREAM_LOCAL_PORT: OP_DS_LOCAL_PORT,
  DOWNSTREAM_LOCAL_URI_SAN: OP_TLS,
  DOWNSTREAM_PEER_URI_SAN: OP_TLS,
  DOWNSTREAM_LOCAL_SUBJECT: OP_TLS,
  DOWNSTREAM_PEER_SUBJECT: OP_TLS,
  DOWNSTREAM_PEER_ISSUER: OP_TLS,
  DOWNSTREAM_TLS_VERSION: OP_TLS,
  DOWNSTREAM_TLS_CIPHER: OP_TLS,
  DOWNSTREAM_PEER_FINGERPRINT_256: OP_TLS,
  DOWNSTREAM_PEER_SERIAL: OP_TLS,
  REQUESTED_SERVER_NAME: OP_SNI,
  UPSTREAM_REMOTE_ADDRESS: OP_US_REMOTE,
  UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: OP_US_REMOTE_NO_PORT,
  UPSTREAM_LOCAL_ADDRESS: OP_US_LOCAL,
  UPSTREAM_CLUSTER: OP_US_CLUSTER,
  UPSTREAM_METADATA: OP_UPSTREAM_METADATA,
  DYNAMIC_METADATA: OP_DYNAMIC_METADATA,
  CLUSTER_METADATA: OP_CLUSTER_METADATA,
  FILTER_STATE: OP_FILTER_STATE,
  REQ: OP_REQ,
  RESP: OP_RESP,
  PROTOCOL: OP_PROTOCOL,
  START_TIME: OP_START_TIME,
  ROUTE_NAME: OP_ROUTE_NAME,
  RESPONSE_CODE: OP_RESPONSE_CODE,
  RESPONSE_FLAGS: OP_RESPONSE_FLAGS,
  CONNECTION_ID: OP_CONNECTION_ID,
};

const TLS_FIELDS: Readonly<Record<string, string>> = {
  DOWNSTREAM_LOCAL_URI_SAN: 'localUriSan',
  DOWNSTREAM_PEER_URI_SAN: 'peerUriSan',
  DOWNSTREAM_LOCAL_SUBJECT: 'localSubject',
  DOWNSTREAM_PEER_SUBJECT: 'peerSubject',
  DOWNSTREAM_PEER_ISSUER: 'peerIssuer',
  DOWNSTREAM_TLS_VERSION: 'version',
  DOWNSTREAM_TLS_CIPHER: 'cipher',
  DOWNSTREAM_PEER_FINGERPRINT_256: 'peerFingerprint256',
  DOWNSTREAM_PEER_SERIAL: 'peerSerial',
};

/** True when the engine can evaluate `name` (used by tests to keep translate and engine in step). */
export function isSupportedFormatCommand(name: string): boolean {
  return name in OPS || CONSTANT_COMMANDS.has(name);
}

/** `ip:port` / `[v6]:port` -> `ip` / `v6` (Envoy prints IPv6 without brackets when the port is dropped). */
export function addressWithoutPort(addr: string): string {
  if (addr.startsWith('[')) {
    const close = addr.indexOf(']');
    return close > 0 ? addr.slice(1, close) : addr;
  }
  const c = addr.indexOf(':');
  return c >= 0 && addr.indexOf(':', c + 1) < 0 ? addr.slice(0, c) : addr;
}

/** The port of `ip:port` / `[v6]:port`, or ''. */
export function addressPort(addr: string): string {
  const close = addr.lastIndexOf(']');
  const c = addr.lastIndexOf(':');
  if (c < 0 || c < close) return '';
  if (close < 0 && addr.indexOf(':') !== c) return '';
  return addr.slice(c + 1);
}

/** Metadata value -> header text: strings as is, other JSON values serialized. */
function metadataText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

/**
 * Formats a start time. No format: Envoy's default `%Y-%m-%dT%H:%M:%E3SZ` in UTC. Otherwise a
 * strftime subset: %Y %m %d %H %M %S %s %z %Z %%, and Envoy's %E3S/%E6S/%E9S, %3f/%6f/%9f.
 */
export function formatStartTime(ms: number, format: string | undefined): string {
  const d = new Date(ms);
  if (format === undefined) return d.toISOString();
  let out = '';
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    if (c !== '%' || i + 1 >= format.length) {
      out += c;
      continue;
    }
    const n = format[++i]!;
    const frac = (digits: number): string => pad(d.getUTCMilliseconds(), 3).padEnd(digits, '0').slice(0, digits);
    switch (n) {
      case 'Y': out += pad(d.getUTCFullYear(), 4); break;
      case 'm': out += pad(d.getUTCMonth() + 1, 2); break;
      case 'd': out += pad(d.getUTCDate(), 2); break;
      case 'H': out += pad(d.getUTCHours(), 2); break;
      case 'M': out += pad(d.getUTCMinutes(), 2); break;
      case 'S': out += pad(d.getUTCSeconds(), 2); break;
      case 's': out += String(Math.floor(ms / 1000)); break;
      case 'z': out += '+0000'; break;
      case 'Z': out += 'UTC'; break;
      case '%': out += '%'; break;
      case 'E':
        if (/^[369]S$/.test(format.slice(i + 1, i + 3))) {
          out += `${pad(d.getUTCSeconds(), 2)}.${frac(Number(format[i + 1]))}`;
          i += 2;
        } else out += '%E';
        break;
      case '3': case '6': case '9':
        if (format[i + 1] === 'f') {
          out += frac(Number(n));
          i += 1;
        } else out += `%${n}`;
        break;
      default: out += `%${n}`;
    }
  }
  return out;
}

/**
 * A compiled header value: parallel arrays of opcodes and operands. Evaluating walks them once
 * and concatenates; the common single-literal case returns the literal without work.
 */
export class HeaderFormatter {
  private readonly ops: number[] = [];
  private readonly texts: string[] = [];
  private readonly args: (readonly string[])[] = [];
  /** For metadata commands: the key path after the namespace, sliced once here. */
  private readonly paths: (readonly string[])[] = [];
  private readonly alts: (string | undefined)[] = [];
  private readonly maxLens: number[] = [];
  /** Set when the whole value is one literal: no context needed. */
  readonly constant: string | null;

  constructor(parts: readonly HeaderFormatPartConfig[]) {
    for (const p of parts) {
      if (p.kind === 'literal') {
        this.push(OP_LITERAL, p.text, [], undefined, -1);
      } else if (CONSTANT_COMMANDS.has(p.name)) {
        let v = p.name === 'HOSTNAME' ? hostname() : (process.env[p.args[0] ?? ''] ?? '');
        if (p.maxLength !== undefined) v = v.slice(0, p.maxLength);
        this.push(OP_LITERAL, v, [], undefined, -1);
      } else {
        const op = OPS[p.name];
        if (op === undefined) throw new Error(`bug: header format command ${p.name} passed translate but has no evaluator`);
        this.push(op, op === OP_TLS ? TLS_FIELDS[p.name]! : p.name, p.args, p.altArg, p.maxLength ?? -1);
      }
    }
    // Merge adjacent literals so a constant value is a single string.
    for (let i = this.ops.length - 1; i > 0; i--) {
      if (this.ops[i] === OP_LITERAL && this.ops[i - 1] === OP_LITERAL) {
        this.texts[i - 1] += this.texts[i]!;
        this.ops.splice(i, 1);
        this.texts.splice(i, 1);
        this.args.splice(i, 1);
        this.paths.splice(i, 1);
        this.alts.splice(i, 1);
        this.maxLens.splice(i, 1);
      }
    }
    this.constant = this.ops.length === 0 ? '' : this.ops.length === 1 && this.ops[0] === OP_LITERAL ? this.texts[0]! : null;
  }

  private push(op: number, text: string, args: readonly string[], alt: string | undefined, maxLen: number): void {
    this.ops.push(op);
    this.texts.push(text);
    this.args.push(args);
    this.paths.push(args.slice(1));
    this.alts.push(alt);
    this.maxLens.push(maxLen);
  }

  /** The header value for this request. */
  format(ctx: HeaderFormatContext): string {
    if (this.constant !== null) return this.constant;
    let out = '';
    for (let i = 0; i < this.ops.length; i++) {
      let v = this.evalOne(i, ctx);
      const max = this.maxLens[i]!;
      if (max >= 0 && v.length > max) v = v.slice(0, max);
      out += v;
    }
    return out;
  }

  private evalOne(i: number, ctx: HeaderFormatContext): string {
    const args = this.args[i]!;
    switch (this.ops[i]) {
      case OP_LITERAL: return this.texts[i]!;
      case OP_DS_REMOTE: return ctx.downstreamRemoteAddress;
      case OP_DS_REMOTE_NO_PORT: return addressWithoutPort(ctx.downstreamRemoteAddress);
      case OP_DS_REMOTE_PORT: return addressPort(ctx.downstreamRemoteAddress);
      case OP_DS_DIRECT_REMOTE: return ctx.downstreamDirectRemoteAddress;
      case OP_DS_DIRECT_REMOTE_NO_PORT: return addressWithoutPort(ctx.downstreamDirectRemoteAddress);
      case OP_DS_DIRECT_REMOTE_PORT: return addressPort(ctx.downstreamDirectRemoteAddress);
      case OP_DS_LOCAL: return ctx.downstreamLocalAddress;
      case OP_DS_LOCAL_NO_PORT: return addressWithoutPort(ctx.downstreamLocalAddress);
      case OP_DS_LOCAL_PORT: return addressPort(ctx.downstreamLocalAddress);
      case OP_TLS: return ctx.tls ? String((ctx.tls as unknown as Record<string, string>)[this.texts[i]!] ?? '') : '';
      case OP_SNI: return ctx.requestedServerName;
      case OP_US_REMOTE: return ctx.upstreamRemoteAddress;
      case OP_US_REMOTE_NO_PORT: return addressWithoutPort(ctx.upstreamRemoteAddress);
      case OP_US_LOCAL: return ctx.upstreamLocalAddress;
      case OP_US_CLUSTER: return ctx.upstreamCluster;
      case OP_UPSTREAM_METADATA: return metadataText(ctx.upstreamMetadata(args[0]!, this.paths[i]!));
      case OP_DYNAMIC_METADATA: return metadataText(ctx.dynamicMetadata(args[0]!, this.paths[i]!));
      case OP_CLUSTER_METADATA: return metadataText(ctx.clusterMetadata(args[0]!, this.paths[i]!));
      case OP_FILTER_STATE: return ctx.filterState(args[0]!) ?? '';
      case OP_REQ: {
        const v = ctx.requestHeader(args[0]!);
        const alt = this.alts[i];
        return v ?? (alt !== undefined ? (ctx.requestHeader(alt) ?? '') : '');
      }
      case OP_RESP: {
        const v = ctx.responseHeader(args[0]!);
        const alt = this.alts[i];
        return v ?? (alt !== undefined ? (ctx.responseHeader(alt) ?? '') : '');
      }
      case OP_PROTOCOL: return ctx.protocol;
      case OP_START_TIME: return formatStartTime(ctx.startTimeMs, args[0]);
      case OP_ROUTE_NAME: return ctx.routeName;
      case OP_RESPONSE_CODE: return ctx.responseCode === 0 ? '' : String(ctx.responseCode);
      case OP_RESPONSE_FLAGS: return ctx.responseFlags;
      case OP_CONNECTION_ID: return String(ctx.connectionId);
      default: return '';
    }
  }
}
