// Our proto3 JSON writer over protobufjs reflection, for /config_dump (admin side, off the data
// path). It prints what Envoy's JSON printer prints for the same bytes: proto field names
// (snake_case), fields in field-number order, defaults omitted (except oneof members and proto3
// `optional` fields that are set), int64 family as strings, enums by name, bytes as padded
// base64, floats in shortest float32 form, the well-known types in their JSON forms (Duration
// "1.5s", Timestamp RFC3339 with 0/3/6/9 fraction digits, wrappers as bare values, Struct/Value/
// ListValue as JSON, FieldMask as comma-joined lowerCamel paths, Empty {}) and Any expanded with
// "@type" first, recursively. TypedStruct is an ordinary message, so it stays wrapped as Envoy
// shows it. With `redact`, fields Envoy marks `(udpa.annotations.sensitive)` are redacted the way
// Envoy's MessageUtil::redact does before printing (strings/bytes -> "[redacted]", other scalars
// cleared, recursively below a sensitive field, through Any).
import { SPECIAL_JSON_TYPES } from '../gen/well-known-types';
import protobuf from 'protobufjs';
import { typeForUrl } from '../gen/proto-root';
import type { Msg } from '../config/translate/proto-util';
import { isSensitiveField } from './sensitive-fields';

export interface ProtoJsonOptions {
  /** Apply Envoy's redaction of sensitive fields (config_dump always does). */
  readonly redact?: boolean;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const REDACTED = '[redacted]';
const REDACTED_BYTES = new TextEncoder().encode(REDACTED);

const INT64_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const NUMERIC_TYPES = new Set(['double', 'float', 'int32', 'uint32', 'sint32', 'fixed32', 'sfixed32', ...INT64_TYPES]);

/** Well-known types whose JSON is not an object of their fields (Any is handled apart). */
const SPECIAL = SPECIAL_JSON_TYPES;

function fullName(t: protobuf.ReflectionObject): string {
  return t.fullName.startsWith('.') ? t.fullName.slice(1) : t.fullName;
}

/** Fields sorted by number, cached per type (Envoy's printer walks fields in number order). */
const sortedFields = new WeakMap<protobuf.Type, protobuf.Field[]>();
function fieldsOf(type: protobuf.Type): protobuf.Field[] {
  let fs = sortedFields.get(type);
  if (!fs) {
    fs = [...type.fieldsArray].sort((a, b) => a.id - b.id);
    for (const f of fs) f.resolve();
    sortedFields.set(type, fs);
  }
  return fs;
}

export function jsonName(f: protobuf.Field): string {
  return (f as protobuf.Field & { protoName?: string }).protoName ?? f.name;
}

function has(msg: Msg, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(msg, key) && msg[key] !== null && msg[key] !== undefined;
}

/** int64-family value (Long, number, string) as a decimal string. */
function int64String(v: unknown, unsigned: boolean): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'bigint') return v.toString();
  if (v && typeof v === 'object' && 'low' in v && 'high' in v) {
    const l = v as { low: number; high: number; unsigned?: boolean };
    const uns = l.unsigned ?? unsigned;
    const LongCtor = protobuf.util.Long as unknown as { fromBits(lo: number, hi: number, u: boolean): { toString(): string } } | undefined;
    if (LongCtor) return LongCtor.fromBits(l.low, l.high, uns).toString();
    return String(new protobuf.util.LongBits(l.low >>> 0, l.high >>> 0).toNumber(uns));
  }
  return String(v);
}

function isZero64(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (typeof v === 'number') return v === 0;
  if (typeof v === 'string') return v === '0' || v === '';
  if (typeof v === 'object' && 'low' in (v as object)) return (v as { low: number }).low === 0 && (v as { high: number }).high === 0;
  return false;
}

/** Shortest decimal that reads back as the same float32 (C++ prints floats with FloatToBuffer). */
function floatJson(v: number): Json {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  const f = Math.fround(v);
  for (let p = 1; p <= 9; p++) {
    const s = Number(f.toPrecision(p));
    if (Math.fround(s) === f) return s;
  }
  return f;
}

function doubleJson(v: number): Json {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  return v;
}

function bytesOf(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return Buffer.from(v, 'base64');
  if (Array.isArray(v)) return Uint8Array.from(v as number[]);
  return new Uint8Array(0);
}

function base64(v: unknown): string {
  const b = bytesOf(v);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

function isDefaultScalar(field: protobuf.Field, v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (field.resolvedType instanceof protobuf.Enum) return v === 0;
  switch (field.type) {
    case 'string':
      return v === '';
    case 'bytes':
      return bytesOf(v).length === 0;
    case 'bool':
      return v === false;
    default:
      if (INT64_TYPES.has(field.type)) return isZero64(v);
      return v === 0;
  }
}

function scalarJson(field: protobuf.Field, v: unknown): Json {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Enum) {
    if (fullName(rt) === 'google.protobuf.NullValue') return null;
    const name = rt.valuesById[v as number];
    return name ?? (v as number);
  }
  switch (field.type) {
    case 'string':
      return v as string;
    case 'bytes':
      return base64(v);
    case 'bool':
      return Boolean(v);
    case 'double':
      return doubleJson(Number(v));
    case 'float':
      return floatJson(Number(v));
    default:
      if (INT64_TYPES.has(field.type)) return int64String(v, field.type === 'uint64' || field.type === 'fixed64');
      if (NUMERIC_TYPES.has(field.type)) return Number(v);
      return v as Json;
  }
}

function fraction(nanos: number): string {
  if (nanos === 0) return '';
  if (nanos % 1e6 === 0) return `.${String(nanos / 1e6).padStart(3, '0')}`;
  if (nanos % 1e3 === 0) return `.${String(nanos / 1e3).padStart(6, '0')}`;
  return `.${String(nanos).padStart(9, '0')}`;
}

/** google.protobuf.Duration JSON ("1.500s", "0s", "-0.5s"). */
export function durationJson(secondsIn: number, nanosIn: number): string {
  const neg = secondsIn < 0 || nanosIn < 0;
  const s = Math.abs(secondsIn);
  const n = Math.abs(nanosIn);
  return `${neg ? '-' : ''}${s}${fraction(n)}s`;
}

/** google.protobuf.Timestamp JSON: RFC3339 UTC with 0, 3, 6 or 9 fraction digits, as protobuf prints. */
export function timestampJson(seconds: number, nanos: number): string {
  const iso = new Date(seconds * 1000).toISOString(); // yyyy-mm-ddThh:mm:ss.000Z
  return `${iso.slice(0, 19)}${fraction(nanos)}Z`;
}

/** Timestamp JSON for a millisecond epoch time (what config_dump's last_updated carries). */
export function timestampFromMs(ms: number): string {
  const s = Math.floor(ms / 1000);
  return timestampJson(s, Math.round(ms - s * 1000) * 1e6);
}

function camel(path: string): string {
  return path.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** JSON of a message of `type`. `msg` is a decoded protobufjs message or a plain object with the same (camelCase) keys. */
export function messageToJson(type: protobuf.Type, msg: Msg, opts: ProtoJsonOptions = {}): Json {
  const name = fullName(type);
  if (name === 'google.protobuf.Any') return anyJson(msg, opts);
  if (SPECIAL.has(name)) return specialJson(name, type, msg, opts);
  const out: { [k: string]: Json } = {};
  for (const field of fieldsOf(type)) writeField(out, type, field, msg, opts, false);
  return out;
}

function writeField(out: { [k: string]: Json }, type: protobuf.Type, field: protobuf.Field, msg: Msg, opts: ProtoJsonOptions, ancestorSensitive: boolean): void {
  const key = field.name;
  const v = msg[key];
  if (v === undefined || v === null) return;
  const sensitive = ancestorSensitive || (opts.redact === true && isSensitiveField(fullName(type), jsonName(field)));
  const rt = field.resolvedType;
  const name = jsonName(field);
  if (field.map) {
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length === 0) return;
    const obj: { [k: string]: Json } = {};
    for (const [k, mv] of entries) {
      const mk = sensitive ? REDACTED : mapKey(field, k);
      const j = rt instanceof protobuf.Type ? valueJson(rt, mv as Msg, opts, sensitive) : sensitive ? redactScalarJson(field, mv) : scalarJson(field, mv);
      if (j !== undefined) obj[mk] = j;
    }
    out[name] = obj;
    return;
  }
  if (field.repeated) {
    const arr = v as unknown[];
    if (!Array.isArray(arr) || arr.length === 0) return;
    if (rt instanceof protobuf.Type) out[name] = arr.map((e) => valueJson(rt, e as Msg, opts, sensitive));
    else {
      const j = sensitive ? redactRepeated(field, arr) : arr.map((e) => scalarJson(field, e));
      if (j !== undefined) out[name] = j;
    }
    return;
  }
  if (rt instanceof protobuf.Type) {
    out[name] = valueJson(rt, v as Msg, opts, sensitive);
    return;
  }
  // Scalars and enums: oneof members and proto3 `optional` fields print when set, even at default.
  const present = field.partOf ? has(msg, key) : !isDefaultScalar(field, v);
  if (!present) return;
  if (sensitive) {
    const r = redactScalarJson(field, v);
    if (r !== undefined) out[name] = r;
    return;
  }
  out[name] = scalarJson(field, v);
}

function mapKey(field: protobuf.Field, k: string): string {
  const kt = (field as unknown as protobuf.MapField).keyType;
  if (INT64_TYPES.has(kt) && k.length === 8 && !/^-?\d+$/.test(k)) {
    // protobufjs keys int64 maps by an 8-char LongBits hash.
    return protobuf.util.LongBits.fromHash(k).toNumber(kt === 'uint64' || kt === 'fixed64').toString();
  }
  return k;
}

/** Envoy's redact(): strings and bytes become "[redacted]", other scalars are cleared (omitted). */
function redactScalarJson(field: protobuf.Field, _v: unknown): Json | undefined {
  if (field.type === 'string') return REDACTED;
  if (field.type === 'bytes') return base64(REDACTED_BYTES);
  return undefined;
}

function redactRepeated(field: protobuf.Field, arr: unknown[]): Json[] | undefined {
  if (field.type === 'string') return arr.map(() => REDACTED);
  if (field.type === 'bytes') return arr.map(() => base64(REDACTED_BYTES));
  return undefined;
}

function valueJson(type: protobuf.Type, msg: Msg, opts: ProtoJsonOptions, sensitive: boolean): Json {
  if (!sensitive) return messageToJson(type, msg, opts);
  return messageToJson(type, redactMessage(type, msg), opts);
}

/**
 * A copy of `msg` with every string/bytes leaf replaced by "[redacted]" and other scalars
 * cleared, recursing into messages and through Any (re-encoded), like Envoy's redact() below a
 * sensitive field. Returns a plain object with protobufjs (camelCase) keys.
 */
export function redactMessage(type: protobuf.Type, msg: Msg): Msg {
  const name = fullName(type);
  if (name === 'google.protobuf.Any') {
    const inner = typeForUrl(msg.typeUrl ?? '');
    if (!inner) return { typeUrl: msg.typeUrl, value: REDACTED_BYTES };
    const decoded = inner.decode(bytesOf(msg.value)) as Msg;
    return { typeUrl: msg.typeUrl, value: inner.encode(inner.fromObject(redactMessage(inner, decoded))).finish() };
  }
  const out: Msg = {};
  for (const field of fieldsOf(type)) {
    const v = msg[field.name];
    if (v === undefined || v === null) continue;
    const rt = field.resolvedType;
    if (field.map) {
      const m: Record<string, unknown> = {};
      for (const mv of Object.values(v as Record<string, unknown>)) m[REDACTED] = rt instanceof protobuf.Type ? redactMessage(rt, mv as Msg) : redactScalarValue(field);
      out[field.name] = m;
    } else if (field.repeated) {
      if (rt instanceof protobuf.Type) out[field.name] = (v as Msg[]).map((e) => redactMessage(rt, e));
      else if (field.type === 'string' || field.type === 'bytes') out[field.name] = (v as unknown[]).map(() => redactScalarValue(field));
    } else if (rt instanceof protobuf.Type) {
      out[field.name] = redactMessage(rt, v as Msg);
    } else if ((field.type === 'string' || field.type === 'bytes') && (field.partOf ? has(msg, field.name) : !isDefaultScalar(field, v))) {
      out[field.name] = redactScalarValue(field);
    }
  }
  return out;
}

function redactScalarValue(field: protobuf.Field): unknown {
  return field.type === 'bytes' ? REDACTED_BYTES : field.type === 'string' ? REDACTED : undefined;
}

function anyJson(msg: Msg, opts: ProtoJsonOptions): Json {
  const typeUrl: string = msg.typeUrl ?? '';
  const value = bytesOf(msg.value);
  return anyBytesToJson(typeUrl, value, opts);
}

/**
 * JSON of an Any given its type URL and value bytes: {"@type": url, ...fields}, or
 * {"@type": url, "value": <json>} for well-known types. A type our proto root does not know is
 * printed as {"@type": url, "value": "<base64>"} (protojson readers that discard unknown types
 * accept it; Envoy itself never holds such a resource because it rejects unknown types).
 */
export function anyBytesToJson(typeUrl: string, value: Uint8Array, opts: ProtoJsonOptions = {}): { [k: string]: Json } {
  const type = typeForUrl(typeUrl);
  if (!type) return { '@type': typeUrl, value: base64(value) };
  const decoded = type.decode(value) as Msg;
  const inner = messageToJson(type, decoded, opts);
  const name = fullName(type);
  if (SPECIAL.has(name) || name === 'google.protobuf.Any') return { '@type': typeUrl, value: inner };
  return { '@type': typeUrl, ...(inner as { [k: string]: Json }) };
}

function specialJson(name: string, type: protobuf.Type, msg: Msg, opts: ProtoJsonOptions): Json {
  switch (name) {
    case 'google.protobuf.Duration':
      return durationJson(Number(int64String(msg.seconds ?? 0, false)), Number(msg.nanos ?? 0));
    case 'google.protobuf.Timestamp':
      return timestampJson(Number(int64String(msg.seconds ?? 0, false)), Number(msg.nanos ?? 0));
    case 'google.protobuf.FieldMask':
      return ((msg.paths ?? []) as string[]).map(camel).join(',');
    case 'google.protobuf.Struct': {
      const out: { [k: string]: Json } = {};
      const vt = type.fields.fields.resolvedType as protobuf.Type;
      for (const [k, v] of Object.entries((msg.fields ?? {}) as Record<string, Msg>)) out[k] = messageToJson(vt, v, opts);
      return out;
    }
    case 'google.protobuf.ListValue': {
      const vt = type.fields.values.resolvedType as protobuf.Type;
      return ((msg.values ?? []) as Msg[]).map((v) => messageToJson(vt, v, opts));
    }
    case 'google.protobuf.Value': {
      if (has(msg, 'structValue')) return messageToJson(type.fields.structValue.resolvedType as protobuf.Type, msg.structValue, opts);
      if (has(msg, 'listValue')) return messageToJson(type.fields.listValue.resolvedType as protobuf.Type, msg.listValue, opts);
      if (has(msg, 'stringValue')) return msg.stringValue as string;
      if (has(msg, 'numberValue')) return doubleJson(Number(msg.numberValue));
      if (has(msg, 'boolValue')) return Boolean(msg.boolValue);
      return null;
    }
    default: {
      // Wrappers: the bare value, default included.
      const f = type.fields.value;
      f.resolve();
      const v = msg.value;
      if (v === undefined || v === null) return scalarJson(f, f.type === 'string' ? '' : f.type === 'bool' ? false : f.type === 'bytes' ? new Uint8Array(0) : 0);
      return scalarJson(f, v);
    }
  }
}
