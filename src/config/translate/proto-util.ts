// Helpers for reading decoded protobufjs messages in translators: numbers that may arrive as
// Long, Durations, wrapper types, oneofs, Any (including Istio's TypedStruct wrapping) and
// Struct. Translators are the only code, with admin rendering, that touches proto objects.
import protobuf from 'protobufjs';
import protojson from 'protobufjs/ext/protojson.js';
import { typeForUrl, TYPE_URL_PREFIX } from '../../gen/proto-root';
import { internString } from '../../common/intern';
import type { ErrorSink } from '../../common/result';

/** A decoded protobufjs message (fields in lowerCamelCase, unset message fields null). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Msg = Record<string, any>;

const TYPED_STRUCT_URLS = new Set([
  'type.googleapis.com/udpa.type.v1.TypedStruct',
  'type.googleapis.com/xds.type.v3.TypedStruct',
]);

/** A number from a proto int64/uint64 (Long, string or number) or a 32-bit field. */
export function num(v: unknown, fallback = 0): number {
  if (v === null || v === undefined) return fallback;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  if (typeof v === 'object' && v !== null && 'toNumber' in v) return (v as { toNumber(): number }).toNumber();
  return Number(v);
}

/** google.protobuf.Duration -> milliseconds, or undefined when unset. */
export function durationMs(d: Msg | null | undefined): number | undefined {
  if (!d) return undefined;
  return num(d.seconds) * 1000 + Math.round(num(d.nanos) / 1e6);
}

/** Value of a wrapper message (UInt32Value, BoolValue...), or undefined when unset. */
export function wrapped<T = number>(w: Msg | null | undefined): T | undefined {
  if (!w) return undefined;
  const v = w.value;
  return (typeof v === 'object' && v !== null && 'toNumber' in v ? (v as { toNumber(): number }).toNumber() : v) as T;
}

/** Name of the field set in a oneof, or undefined. */
export function oneofCase(msg: Msg, oneofName: string): string | undefined {
  const type = (msg as { $type?: protobuf.Type }).$type;
  // Oneof names keep the proto's snake_case in our descriptor-built root; fields are camelCase.
  const oneof = type?.oneofs?.[oneofName] ?? type?.oneofs?.[snake(oneofName)];
  if (!oneof) return undefined;
  for (const name of oneof.oneof) {
    const field = type!.fields[name] ? name : name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
    if (msg[field] !== null && msg[field] !== undefined && Object.prototype.hasOwnProperty.call(msg, field)) return field;
  }
  return undefined;
}

/** lowerCamelCase -> snake_case, for field paths in error messages. */
export function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** google.protobuf.Struct / Value / ListValue -> plain JSON. */
export function structToJson(s: Msg | null | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!s || !s.fields) return out;
  for (const [k, v] of Object.entries(s.fields as Record<string, Msg>)) out[k] = valueToJson(v);
  return out;
}

export function valueToJson(v: Msg | null | undefined): unknown {
  if (!v) return null;
  if (v.structValue) return structToJson(v.structValue);
  if (v.listValue) return ((v.listValue.values ?? []) as Msg[]).map(valueToJson);
  // Interned: one flat copy per distinct text (Istio repeats namespaces, hosts and workload
  // names across thousands of clusters and endpoints; a decoded string may be a chain of parts).
  if (Object.prototype.hasOwnProperty.call(v, 'stringValue')) return typeof v.stringValue === 'string' ? internString(v.stringValue) : v.stringValue;
  if (Object.prototype.hasOwnProperty.call(v, 'numberValue')) return v.numberValue;
  if (Object.prototype.hasOwnProperty.call(v, 'boolValue')) return v.boolValue;
  return null;
}

/** The result of unpacking an Any: the effective type URL (inner one for TypedStruct) and the message. */
export interface Unpacked {
  readonly typeUrl: string;
  /** Decoded message; undefined when our proto root does not know the type. */
  readonly message: Msg | undefined;
  /** True when the Any was a TypedStruct wrapper. */
  readonly typedStruct: boolean;
}

/**
 * Decodes an Any. TypedStruct (udpa/xds) is unwrapped: its inner type_url is returned and its
 * Struct value is parsed as proto3 JSON of that type. Errors (bad bytes, JSON that does not fit
 * the type) go to `errors` at `path`; unknown types are not errors here (callers decide).
 */
export function unpackAny(any: Msg | null | undefined, errors: ErrorSink, path: string): Unpacked | undefined {
  if (!any) {
    errors.add(path, 'missing typed_config');
    return undefined;
  }
  const typeUrl: string = any.typeUrl ?? '';
  if (TYPED_STRUCT_URLS.has(typeUrl)) {
    const tsType = typeForUrl(typeUrl);
    let ts: Msg;
    try {
      ts = tsType!.decode((any.value as Uint8Array | undefined) ?? new Uint8Array(0)) as Msg;
    } catch (err) {
      errors.add(path, `cannot decode ${typeUrl}: ${(err as Error).message}`);
      return undefined;
    }
    const inner: string = ts.typeUrl ?? '';
    const innerType = typeForUrl(inner);
    if (!innerType) return { typeUrl: inner, message: undefined, typedStruct: true };
    try {
      return { typeUrl: inner, message: protojson.fromJson(innerType, structToJson(ts.value)) as Msg, typedStruct: true };
    } catch (err) {
      errors.add(path, `TypedStruct value does not fit ${inner}: ${(err as Error).message}`);
      return undefined;
    }
  }
  const type = typeForUrl(typeUrl);
  if (!type) return { typeUrl, message: undefined, typedStruct: false };
  try {
    return { typeUrl, message: type.decode((any.value as Uint8Array | undefined) ?? new Uint8Array(0)) as Msg, typedStruct: false };
  } catch (err) {
    errors.add(path, `cannot decode ${typeUrl}: ${(err as Error).message}`);
    return undefined;
  }
}

/** Full message name from a type URL. */
export function typeNameOf(typeUrl: string): string {
  return typeUrl.startsWith(TYPE_URL_PREFIX) ? typeUrl.slice(TYPE_URL_PREFIX.length) : typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
}
