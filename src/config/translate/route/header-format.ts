// Parser for header value format strings (`x-client: %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%`)
// used by request/response header edits in route tables. Runs on the control side at translate
// time; the engine (engine/http/route/header-format.ts) turns the parts into evaluators once per
// table, so no format string is parsed per request.
//
// Syntax follows Envoy's substitution formatter as used by HeaderParser:
//   %%                        a literal percent sign
//   %COMMAND%                 e.g. %PROTOCOL%, %HOSTNAME%
//   %COMMAND(args)%           e.g. %REQ(x-foo)%, %UPSTREAM_METADATA(["istio","canary"])%
//   %COMMAND(args):N%         truncate to N characters
// A `%` that does not start a valid command is a configuration error (Envoy: "Couldn't find
// valid command at position N").
import type { HeaderFormatPartConfig } from '../../model/route';

/** Result of parsing: the parts, or a reason for the first problem. */
export type HeaderFormatParse = { readonly ok: true; readonly parts: readonly HeaderFormatPartConfig[] } | { readonly ok: false; readonly reason: string };

/**
 * Commands accepted in header values, with whether they take arguments ('required', 'optional',
 * 'none'). The engine must implement every command listed here (a test checks that).
 */
export const HEADER_FORMAT_COMMANDS: Readonly<Record<string, 'required' | 'optional' | 'none'>> = {
  DOWNSTREAM_REMOTE_ADDRESS: 'none',
  DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: 'none',
  DOWNSTREAM_REMOTE_PORT: 'none',
  DOWNSTREAM_DIRECT_REMOTE_ADDRESS: 'none',
  DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT: 'none',
  DOWNSTREAM_DIRECT_REMOTE_PORT: 'none',
  DOWNSTREAM_LOCAL_ADDRESS: 'none',
  DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT: 'none',
  DOWNSTREAM_LOCAL_PORT: 'none',
  DOWNSTREAM_LOCAL_URI_SAN: 'none',
  DOWNSTREAM_PEER_URI_SAN: 'none',
  DOWNSTREAM_LOCAL_SUBJECT: 'none',
  DOWNSTREAM_PEER_SUBJECT: 'none',
  DOWNSTREAM_PEER_ISSUER: 'none',
  DOWNSTREAM_TLS_VERSION: 'none',
  DOWNSTREAM_TLS_CIPHER: 'none',
  DOWNSTREAM_PEER_FINGERPRINT_256: 'none',
  DOWNSTREAM_PEER_SERIAL: 'none',
  REQUESTED_SERVER_NAME: 'none',
  UPSTREAM_REMOTE_ADDRESS: 'none',
  UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: 'none',
  UPSTREAM_LOCAL_ADDRESS: 'none',
  UPSTREAM_CLUSTER: 'none',
  UPSTREAM_METADATA: 'required',
  DYNAMIC_METADATA: 'required',
  CLUSTER_METADATA: 'required',
  FILTER_STATE: 'required',
  REQ: 'required',
  RESP: 'required',
  ENVIRONMENT: 'required',
  PROTOCOL: 'none',
  HOSTNAME: 'none',
  START_TIME: 'optional',
  ROUTE_NAME: 'none',
  RESPONSE_CODE: 'none',
  RESPONSE_FLAGS: 'none',
  CONNECTION_ID: 'none',
};

// Command token after the opening '%': NAME, optional (args), optional :N, closing '%'.
// A fixed V8 regex over config text is fine; user-supplied regexes go through RE2 instead.
const COMMAND = /([A-Z0-9_]+)(?:\(([^)]*)\))?(?::([0-9]+))?%/y;

/** Splits a command argument into the list the evaluator wants. */
function parseArgs(name: string, raw: string): { args: string[]; altArg?: string } | string {
  if (name === 'REQ' || name === 'RESP') {
    const q = raw.indexOf('?');
    const main = (q >= 0 ? raw.slice(0, q) : raw).toLowerCase();
    const alt = q >= 0 ? raw.slice(q + 1).toLowerCase() : undefined;
    if (main === '' || alt === '') return `${name}() needs a header name`;
    return alt === undefined ? { args: [main] } : { args: [main], altArg: alt };
  }
  if (name === 'UPSTREAM_METADATA' || name === 'DYNAMIC_METADATA' || name === 'CLUSTER_METADATA') {
    let parts: unknown;
    if (raw.startsWith('[')) {
      // Legacy HeaderParser syntax: a JSON array of strings, namespace first.
      try {
        parts = JSON.parse(raw);
      } catch {
        return `${name} argument is not a JSON array of strings`;
      }
      if (!Array.isArray(parts) || !parts.every((p) => typeof p === 'string')) return `${name} argument is not a JSON array of strings`;
    } else {
      parts = raw.split(':');
    }
    const list = parts as string[];
    if (list.length < 2 && name === 'UPSTREAM_METADATA') return `${name} needs a namespace and at least one key`;
    if (list.length < 1 || list[0] === '') return `${name} needs a namespace`;
    return { args: list };
  }
  return { args: raw === '' ? [] : [raw] };
}

/** Parses one header value. Never throws. */
export function parseHeaderFormat(value: string): HeaderFormatParse {
  const parts: HeaderFormatPartConfig[] = [];
  let literal = '';
  let i = 0;
  while (i < value.length) {
    const pct = value.indexOf('%', i);
    if (pct < 0) {
      literal += value.slice(i);
      break;
    }
    literal += value.slice(i, pct);
    if (value[pct + 1] === '%') {
      literal += '%';
      i = pct + 2;
      continue;
    }
    COMMAND.lastIndex = pct + 1;
    const m = COMMAND.exec(value);
    if (!m) return { ok: false, reason: `invalid header value format '${value}': no valid command at position ${pct} (use %% for a literal %)` };
    const name = m[1]!;
    const argMode = HEADER_FORMAT_COMMANDS[name];
    if (argMode === undefined) return { ok: false, reason: `invalid header value format '${value}': unsupported command %${name}%` };
    const rawArgs = m[2];
    if (argMode === 'required' && (rawArgs === undefined || rawArgs === '')) {
      return { ok: false, reason: `invalid header value format '${value}': %${name}% needs an argument` };
    }
    if (argMode === 'none' && rawArgs !== undefined) {
      return { ok: false, reason: `invalid header value format '${value}': %${name}% takes no argument` };
    }
    let args: string[] = [];
    let altArg: string | undefined;
    if (rawArgs !== undefined && rawArgs !== '') {
      const parsed = name === 'START_TIME' ? { args: [rawArgs] } : parseArgs(name, rawArgs);
      if (typeof parsed === 'string') return { ok: false, reason: `invalid header value format '${value}': ${parsed}` };
      args = parsed.args;
      altArg = parsed.altArg;
    }
    if (literal !== '') {
      parts.push({ kind: 'literal', text: literal });
      literal = '';
    }
    const maxLength = m[3] === undefined ? undefined : Number(m[3]);
    parts.push({
      kind: 'command',
      name,
      args,
      ...(altArg !== undefined ? { altArg } : {}),
      ...(maxLength !== undefined ? { maxLength } : {}),
    });
    i = COMMAND.lastIndex;
  }
  if (literal !== '') parts.push({ kind: 'literal', text: literal });
  return { ok: true, parts };
}
