// Trace context propagation on HTTP headers: B3 multi-header (x-b3-traceid, x-b3-spanid,
// x-b3-parentspanid, x-b3-sampled, x-b3-flags), B3 single header (`b3: {trace}-{span}[-{sampled}
// [-{parent}]]` or just `b3: 0|1|d`) and W3C Trace Context (traceparent / tracestate). Parsing
// follows Envoy's Zipkin span_context_extractor and the W3C spec: malformed headers are
// ignored (a new trace starts), ids are lowercase hex, all-zero ids are invalid. Runs per
// request inside the HTTP connection manager, so: no closures, no regexes, no allocations
// beyond the small context object.
import type { PropagationFormat } from './tracing-config';

/** The header access the HCM gives us (its header map, lowercased names). */
export interface TraceHeaders {
  get(name: string): string | undefined;
  set(name: string, value: string): void;
}

export interface SpanContext {
  /** 16 or 32 lowercase hex digits. */
  readonly traceId: string;
  /** 16 lowercase hex digits. */
  readonly spanId: string;
  /** Parent of `spanId` as carried by B3 (x-b3-parentspanid), '' when none. */
  readonly parentId: string;
  /** Sampling decision carried by the headers; undefined when they carry none. */
  readonly sampled: boolean | undefined;
  /** B3 debug flag (x-b3-flags: 1 or b3 "d"). */
  readonly debug: boolean;
  /** W3C tracestate to pass through, '' when none. */
  readonly traceState: string;
  readonly format: PropagationFormat;
}

function isHex(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

function isZero(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== 48) return false;
  return true;
}

function validId(s: string | undefined, lens: readonly number[]): s is string {
  return s !== undefined && lens.includes(s.length) && isHex(s) && !isZero(s);
}

const TRACE_LENS = [16, 32] as const;
const SPAN_LENS = [16] as const;

function b3Sampled(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  if (v === '1' || v === 'true' || v === 'd') return true;
  if (v === '0' || v === 'false') return false;
  return undefined;
}

/** B3 multi-header context, or undefined (absent or malformed). */
export function extractB3Multi(h: TraceHeaders): SpanContext | undefined {
  const traceRaw = h.get('x-b3-traceid');
  const spanRaw = h.get('x-b3-spanid');
  if (traceRaw === undefined || spanRaw === undefined) return undefined;
  const traceId = traceRaw.toLowerCase();
  const spanId = spanRaw.toLowerCase();
  if (!validId(traceId, TRACE_LENS) || !validId(spanId, SPAN_LENS)) return undefined;
  const parentRaw = h.get('x-b3-parentspanid');
  const parentId = parentRaw === undefined ? '' : parentRaw.toLowerCase();
  if (parentId !== '' && !validId(parentId, SPAN_LENS)) return undefined;
  const debug = h.get('x-b3-flags') === '1';
  const sampled = debug ? true : b3Sampled(h.get('x-b3-sampled'));
  return { traceId, spanId, parentId, sampled, debug, traceState: '', format: 'b3' };
}

/** Sampling-only B3 (x-b3-sampled without ids, or `b3: 0`): a decision with no context. */
export function extractB3SamplingOnly(h: TraceHeaders): boolean | undefined {
  const single = h.get('b3');
  if (single !== undefined && single.length === 1) return b3Sampled(single);
  if (h.get('x-b3-traceid') === undefined) return h.get('x-b3-flags') === '1' ? true : b3Sampled(h.get('x-b3-sampled'));
  return undefined;
}

/** B3 single header `{trace}-{span}[-{sampled}[-{parent}]]`, or undefined. */
export function extractB3Single(h: TraceHeaders): SpanContext | undefined {
  const v = h.get('b3');
  if (v === undefined || v.length < 33) return undefined;
  const s = v.toLowerCase();
  const d1 = s.indexOf('-');
  if (d1 < 0) return undefined;
  const traceId = s.slice(0, d1);
  const d2 = s.indexOf('-', d1 + 1);
  const spanId = s.slice(d1 + 1, d2 < 0 ? s.length : d2);
  if (!validId(traceId, TRACE_LENS) || !validId(spanId, SPAN_LENS)) return undefined;
  let sampled: boolean | undefined;
  let debug = false;
  let parentId = '';
  if (d2 >= 0) {
    const d3 = s.indexOf('-', d2 + 1);
    const flag = s.slice(d2 + 1, d3 < 0 ? s.length : d3);
    if (flag !== '0' && flag !== '1' && flag !== 'd') return undefined;
    sampled = flag !== '0';
    debug = flag === 'd';
    if (d3 >= 0) {
      parentId = s.slice(d3 + 1);
      if (!validId(parentId, SPAN_LENS)) return undefined;
    }
  }
  return { traceId, spanId, parentId, sampled, debug, traceState: '', format: 'b3-single' };
}

/** W3C traceparent `00-{32 hex trace}-{16 hex parent}-{2 hex flags}` (+ tracestate), or undefined. */
export function extractW3c(h: TraceHeaders): SpanContext | undefined {
  const v = h.get('traceparent');
  if (v === undefined || v.length < 55) return undefined;
  const s = v.trim().toLowerCase();
  if (s.charCodeAt(2) !== 45 || s.charCodeAt(35) !== 45 || s.charCodeAt(52) !== 45) return undefined;
  const version = s.slice(0, 2);
  if (!isHex(version) || version === 'ff') return undefined;
  // Version 00 is exactly 55 chars; later versions may append fields after another '-'.
  if (version === '00' ? s.length !== 55 : s.length > 55 && s.charCodeAt(55) !== 45) return undefined;
  const traceId = s.slice(3, 35);
  const spanId = s.slice(36, 52);
  const flags = s.slice(53, 55);
  if (!validId(traceId, [32]) || !validId(spanId, SPAN_LENS) || !isHex(flags)) return undefined;
  return { traceId, spanId, parentId: '', sampled: (parseInt(flags, 16) & 1) === 1, debug: false, traceState: h.get('tracestate') ?? '', format: 'w3c' };
}

/**
 * Incoming context in the provider's preference order: Zipkin reads B3 (multi, then single)
 * before W3C; OpenTelemetry reads W3C first, then B3.
 */
export function extractContext(h: TraceHeaders, preferW3c: boolean): SpanContext | undefined {
  if (preferW3c) return extractW3c(h) ?? extractB3Multi(h) ?? extractB3Single(h);
  return extractB3Multi(h) ?? extractB3Single(h) ?? extractW3c(h);
}

/** Writes the context of an outgoing span (its id is the upstream's parent) in each format. */
export function injectContext(h: TraceHeaders, formats: readonly PropagationFormat[], traceId: string, spanId: string, parentId: string, sampled: boolean, traceState: string): void {
  for (const f of formats) {
    if (f === 'b3') {
      h.set('x-b3-traceid', traceId);
      h.set('x-b3-spanid', spanId);
      if (parentId !== '') h.set('x-b3-parentspanid', parentId);
      h.set('x-b3-sampled', sampled ? '1' : '0');
    } else if (f === 'b3-single') {
      h.set('b3', parentId !== '' ? `${traceId}-${spanId}-${sampled ? '1' : '0'}-${parentId}` : `${traceId}-${spanId}-${sampled ? '1' : '0'}`);
    } else {
      h.set('traceparent', `00-${traceId.length === 32 ? traceId : traceId.padStart(32, '0')}-${spanId}-${sampled ? '01' : '00'}`);
      if (traceState !== '') h.set('tracestate', traceState);
    }
  }
}
