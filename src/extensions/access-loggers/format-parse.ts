// Envoy substitution format strings for access logs, parsed at config time (control side) into
// literal and command parts: "%REQ(X-FOO?Y):10%" -> {command REQ, args [x-foo], alt y, maxLength 10}.
// Unknown commands are config errors, as in Envoy ("Not supported field in StreamInfo").
// The worker compiles the parts into renderers (access-logger.ts).

export type FormatPart =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'command'; readonly name: string; readonly arg: string; readonly alt: string; readonly maxLength: number };

/** Envoy's default access log format (used when a logger has no format). */
export const ENVOY_DEFAULT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n';

/** Commands we can render. Commands with an argument are marked true. */
export const FORMAT_COMMANDS: ReadonlyMap<string, boolean> = new Map([
  ['START_TIME', false], ['REQ', true], ['RESP', true], ['TRAILER', true], ['PROTOCOL', false], ['METHOD', false],
  ['RESPONSE_CODE', false], ['RESPONSE_FLAGS', false], ['RESPONSE_FLAGS_LONG', false], ['RESPONSE_CODE_DETAILS', false],
  ['CONNECTION_TERMINATION_DETAILS', false], ['UPSTREAM_TRANSPORT_FAILURE_REASON', false],
  ['BYTES_RECEIVED', false], ['BYTES_SENT', false], ['DURATION', false], ['REQUEST_DURATION', false], ['RESPONSE_DURATION', false],
  ['RESPONSE_TX_DURATION', false], ['UPSTREAM_HOST', false], ['UPSTREAM_CLUSTER', false], ['UPSTREAM_CLUSTER_RAW', false],
  ['UPSTREAM_LOCAL_ADDRESS', false], ['UPSTREAM_REMOTE_ADDRESS', false], ['UPSTREAM_REQUEST_ATTEMPT_COUNT', false],
  ['DOWNSTREAM_LOCAL_ADDRESS', false], ['DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT', false], ['DOWNSTREAM_LOCAL_PORT', false],
  ['DOWNSTREAM_REMOTE_ADDRESS', false], ['DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT', false], ['DOWNSTREAM_REMOTE_PORT', false],
  ['DOWNSTREAM_DIRECT_REMOTE_ADDRESS', false], ['DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT', false],
  ['REQUESTED_SERVER_NAME', false], ['ROUTE_NAME', false], ['CONNECTION_ID', false], ['HOSTNAME', false],
  ['DOWNSTREAM_PEER_URI_SAN', false], ['DOWNSTREAM_LOCAL_URI_SAN', false], ['DOWNSTREAM_PEER_SUBJECT', false],
  ['DOWNSTREAM_LOCAL_SUBJECT', false], ['DOWNSTREAM_TLS_VERSION', false], ['DOWNSTREAM_TLS_CIPHER', false],
  ['DYNAMIC_METADATA', true], ['CLUSTER_METADATA', true], ['UPSTREAM_METADATA', true], ['FILTER_STATE', true],
  ['UPSTREAM_FILTER_STATE', true], ['ENVIRONMENT', true], ['REQ_WITHOUT_QUERY', true], ['PATH', false],
  ['TRACE_ID', false], ['STREAM_ID', false], ['UPSTREAM_PROTOCOL', false],
]);

/** Parses a format string; returns parts or an error message. */
export function parseFormat(text: string): { parts: FormatPart[] } | { error: string } {
  const parts: FormatPart[] = [];
  let lit = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c !== '%') {
      lit += c;
      i++;
      continue;
    }
    if (text[i + 1] === '%') {
      lit += '%';
      i += 2;
      continue;
    }
    // COMMAND, COMMAND(arg) or COMMAND(arg):N, then '%'. The argument may itself hold '%'
    // (START_TIME(%Y-%m-%d)), so it runs to the closing parenthesis.
    const m = /^([A-Z_0-9]+)(?:\(([^)]*)\))?(?::(\d+))?%/.exec(text.slice(i + 1));
    if (m === null) {
      if (/^[A-Z_0-9]+/.test(text.slice(i + 1))) return { error: `Incorrect configuration: ${text}. Couldn't find valid command at position ${i}` };
      // Not a command (e.g. a lone percent sign in text): keep it literally.
      lit += '%';
      i++;
      continue;
    }
    const end = i + m[0].length;
    const name = m[1]!;
    if (!FORMAT_COMMANDS.has(name)) return { error: `Not supported field in StreamInfo: ${name}` };
    if (lit !== '') {
      parts.push({ kind: 'literal', text: lit });
      lit = '';
    }
    let arg = m[2] ?? '';
    let alt = '';
    if (name === 'REQ' || name === 'RESP' || name === 'TRAILER' || name === 'REQ_WITHOUT_QUERY') {
      const q = arg.indexOf('?');
      if (q >= 0) {
        alt = arg.slice(q + 1).toLowerCase();
        arg = arg.slice(0, q);
      }
      arg = arg.toLowerCase();
    }
    parts.push({ kind: 'command', name, arg, alt, maxLength: m[3] ? Number(m[3]) : 0 });
    i = end + 1;
  }
  if (lit !== '') parts.push({ kind: 'literal', text: lit });
  return { parts };
}
