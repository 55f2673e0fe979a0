// Translation of header edits (request/response_headers_to_add as HeaderValueOption lists and
// request/response_headers_to_remove) at every route-table level: route configuration, virtual
// host, route and weighted cluster. Control side only. Validates names and values the way
// Envoy's HeaderParser does (no pseudo-headers, no `host`, no NUL/CR/LF) and additionally
// requires RFC 9110 token characters in names, since Node's HTTP stack cannot send anything else.
import type { ErrorSink } from '../../../common/result';
import type { HeaderAppendAction, HeaderEditsConfig, HeaderValueOptionConfig } from '../../model/route';
import { type Msg } from '../proto-util';
import { parseHeaderFormat } from './header-format';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\0\r\n]/;

const APPEND_ACTIONS: readonly HeaderAppendAction[] = ['APPEND_IF_EXISTS_OR_ADD', 'ADD_IF_ABSENT', 'OVERWRITE_IF_EXISTS_OR_ADD', 'OVERWRITE_IF_EXISTS'];

/** Empty edits, shared so that levels without edits cost nothing. */
export const NO_HEADER_EDITS: HeaderEditsConfig = Object.freeze({
  requestHeadersToAdd: Object.freeze([]) as readonly HeaderValueOptionConfig[],
  requestHeadersToRemove: Object.freeze([]) as readonly string[],
  responseHeadersToAdd: Object.freeze([]) as readonly HeaderValueOptionConfig[],
  responseHeadersToRemove: Object.freeze([]) as readonly string[],
});

/**
 * Checks a header name used in an edit; returns the lower-cased name or undefined after
 * recording an error. Envoy refuses to modify `:`-prefixed pseudo-headers and `host`
 * (HeaderUtility::isModifiableHeader): the host is changed through host rewrites instead.
 */
export function checkEditableHeaderName(name: string, errors: ErrorSink, path: string, verb: 'modified' | 'removed'): string | undefined {
  if (name === '') {
    errors.add(path, 'value length must be at least 1 characters');
    return undefined;
  }
  if (name.startsWith(':') || name.toLowerCase() === 'host') {
    errors.add(path, `:-prefixed or host headers may not be ${verb} ('${name}')`);
    return undefined;
  }
  if (!TOKEN.test(name)) {
    errors.add(path, `invalid header name '${name}': only RFC 9110 token characters are allowed`);
    return undefined;
  }
  return name.toLowerCase();
}

function appendActionOf(v: unknown): HeaderAppendAction | undefined {
  if (typeof v === 'string') return (APPEND_ACTIONS as readonly string[]).includes(v) ? (v as HeaderAppendAction) : undefined;
  return APPEND_ACTIONS[typeof v === 'number' ? v : 0];
}

/** One envoy.config.core.v3.HeaderValueOption. */
export function translateHeaderValueOption(msg: Msg, errors: ErrorSink, path: string): HeaderValueOptionConfig | undefined {
  const header: Msg | null = msg.header;
  if (!header) {
    errors.add(`${path}.header`, 'value is required');
    return undefined;
  }
  const name = checkEditableHeaderName(header.key ?? '', errors, `${path}.header.key`, 'modified');
  let value: string = header.value ?? '';
  const raw: Uint8Array | undefined = header.rawValue;
  if (raw && raw.length > 0) {
    if (value !== '') errors.add(`${path}.header`, 'only one of value and raw_value may be set');
    value = Buffer.from(raw).toString('utf8');
  }
  let ok = name !== undefined;
  if (BAD_VALUE.test(value)) {
    errors.add(`${path}.header.value`, 'header value must not contain NUL, CR or LF');
    ok = false;
  }
  // `append` (BoolValue, deprecated) and append_action are exclusive in Envoy.
  const appendSet = msg.append !== null && msg.append !== undefined;
  const actionRaw = msg.appendAction;
  const actionSet = actionRaw !== undefined && actionRaw !== null && actionRaw !== 0 && actionRaw !== 'APPEND_IF_EXISTS_OR_ADD';
  let appendAction = appendActionOf(actionRaw);
  if (appendAction === undefined) {
    errors.add(`${path}.append_action`, `unknown append action ${String(actionRaw)}`);
    ok = false;
  }
  if (appendSet) {
    if (actionSet) {
      errors.add(path, 'both append and append_action are set and it is not allowed');
      ok = false;
    }
    appendAction = msg.append.value === false ? 'OVERWRITE_IF_EXISTS_OR_ADD' : 'APPEND_IF_EXISTS_OR_ADD';
  }
  const parsed = parseHeaderFormat(value);
  if (!parsed.ok) {
    errors.add(`${path}.header.value`, parsed.reason);
    ok = false;
  }
  if (!ok || !parsed.ok || name === undefined || appendAction === undefined) return undefined;
  return { name, value, format: parsed.parts, appendAction, keepEmptyValue: msg.keepEmptyValue === true };
}

function translateAddList(list: Msg[] | undefined, errors: ErrorSink, path: string): HeaderValueOptionConfig[] {
  const out: HeaderValueOptionConfig[] = [];
  (list ?? []).forEach((m, i) => {
    const v = translateHeaderValueOption(m, errors, `${path}[${i}]`);
    if (v) out.push(v);
  });
  return out;
}

function translateRemoveList(list: string[] | undefined, errors: ErrorSink, path: string): string[] {
  const out: string[] = [];
  (list ?? []).forEach((n, i) => {
    const v = checkEditableHeaderName(n, errors, `${path}[${i}]`, 'removed');
    if (v !== undefined) out.push(v);
  });
  return out;
}

/**
 * The four edit lists of one level, read from the usual field names of RouteConfiguration,
 * VirtualHost, Route and WeightedCluster.ClusterWeight. Returns NO_HEADER_EDITS when all are empty.
 */
export function translateHeaderEdits(msg: Msg, errors: ErrorSink): HeaderEditsConfig {
  const requestHeadersToAdd = translateAddList(msg.requestHeadersToAdd, errors, 'request_headers_to_add');
  const requestHeadersToRemove = translateRemoveList(msg.requestHeadersToRemove, errors, 'request_headers_to_remove');
  const responseHeadersToAdd = translateAddList(msg.responseHeadersToAdd, errors, 'response_headers_to_add');
  const responseHeadersToRemove = translateRemoveList(msg.responseHeadersToRemove, errors, 'response_headers_to_remove');
  if (requestHeadersToAdd.length + requestHeadersToRemove.length + responseHeadersToAdd.length + responseHeadersToRemove.length === 0) {
    return NO_HEADER_EDITS;
  }
  return { requestHeadersToAdd, requestHeadersToRemove, responseHeadersToAdd, responseHeadersToRemove };
}
