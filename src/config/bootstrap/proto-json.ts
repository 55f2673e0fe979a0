// Reading proto3 JSON (bootstrap files, --config-yaml) into protobufjs messages, with our own
// pre-pass that reports unknown fields by field path (protobufjs only names the type), and a
// proto-level merge with MergeFrom semantics for --config-yaml over the file.
import { SPECIAL_JSON_TYPES } from '../../gen/well-known-types';
import protobuf from 'protobufjs';
import protojson from 'protobufjs/ext/protojson.js';
import type { ConfigError } from '../../common/result';
import { typeForUrl } from '../../gen/proto-root';
import type { Msg } from '../translate/proto-util';

// Well-known types with a special JSON form (Empty's JSON, {}, has no fields to check either).
const SPECIAL_JSON: ReadonlySet<string> = new Set([...SPECIAL_JSON_TYPES, 'google.protobuf.Empty']);

function fullName(t: protobuf.Type): string {
  return t.fullName.replace(/^\./, '');
}

function fieldFor(type: protobuf.Type, key: string): protobuf.Field | undefined {
  const direct = type.fields[key];
  if (direct) return direct;
  // snake_case -> lowerCamelCase (protobufjs field names)
  const camel = key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
  const f = type.fields[camel];
  if (f) return f;
  // json_name declared in the proto
  return type.fieldsArray.find((x) => (x.options?.json_name as string | undefined) === key);
}

function snakeOf(f: protobuf.Field): string {
  return f.name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * Lists fields in `json` that `type` does not have, by path (snake_case), descending into
 * messages, repeated and map values, and Any (by its @type). Unknown Any types are reported too.
 */
export function findUnknownFields(type: protobuf.Type, json: unknown, path = '', out: ConfigError[] = []): ConfigError[] {
  const name = fullName(type);
  if (name === 'google.protobuf.Any') {
    if (json === null || typeof json !== 'object') return out;
    const obj = json as Record<string, unknown>;
    const url = obj['@type'];
    if (typeof url !== 'string') {
      out.push({ path, reason: 'Any without @type' });
      return out;
    }
    const inner = typeForUrl(url);
    if (!inner) {
      out.push({ path: path ? `${path}.@type` : '@type', reason: `unknown type '${url}'` });
      return out;
    }
    if (SPECIAL_JSON.has(fullName(inner))) return out;
    const rest: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) if (k !== '@type') rest[k] = v;
    return findUnknownFields(inner, rest, path, out);
  }
  if (SPECIAL_JSON.has(name) || json === null || typeof json !== 'object' || Array.isArray(json)) return out;
  for (const [key, value] of Object.entries(json as Record<string, unknown>)) {
    const p = path ? `${path}.${key}` : key;
    const field = fieldFor(type, key);
    if (!field) {
      out.push({ path: p, reason: 'unknown field' });
      continue;
    }
    field.resolve();
    const rt = field.resolvedType;
    if (!(rt instanceof protobuf.Type) || value === null) continue;
    const fp = path ? `${path}.${snakeOf(field)}` : snakeOf(field);
    if (field.map) {
      if (typeof value === 'object') for (const [mk, mv] of Object.entries(value as Record<string, unknown>)) findUnknownFields(rt, mv, `${fp}["${mk}"]`, out);
    } else if (field.repeated) {
      if (Array.isArray(value)) value.forEach((v, i) => findUnknownFields(rt, v, `${fp}[${i}]`, out));
    } else {
      findUnknownFields(rt, value, fp, out);
    }
  }
  return out;
}

/**
 * Envoy parses YAML/JSON config with protobuf's C++ JSON parser, which takes a single value where
 * a repeated field expects a list (Envoy's own examples rely on it, e.g. `filters:` given as one
 * object in dynamic-config-fs). This wraps such values in a list, recursing through messages,
 * lists, maps and Any (by its @type), so our stricter parser accepts the same files.
 */
export function normalizeRepeated(type: protobuf.Type, json: unknown): unknown {
  const name = fullName(type);
  if (json === null || typeof json !== 'object' || Array.isArray(json) || SPECIAL_JSON.has(name)) return json;
  const obj = json as Record<string, unknown>;
  if (name === 'google.protobuf.Any') {
    const inner = typeof obj['@type'] === 'string' ? typeForUrl(obj['@type']) : undefined;
    if (!inner || SPECIAL_JSON.has(fullName(inner))) return json;
    const out: Record<string, unknown> = { '@type': obj['@type'] };
    const rest = normalizeRepeated(inner, Object.fromEntries(Object.entries(obj).filter(([k]) => k !== '@type'))) as Record<string, unknown>;
    return Object.assign(out, rest);
  }
  let out: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(obj)) {
    const field = fieldFor(type, key);
    if (!field || value === null || value === undefined) continue;
    field.resolve();
    const rt = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    let next: unknown = value;
    if (field.map) {
      if (rt && typeof value === 'object' && !Array.isArray(value)) next = Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, normalizeRepeated(rt, v)]));
    } else if (field.repeated) {
      const list = Array.isArray(value) ? value : [value];
      next = rt ? list.map((v) => normalizeRepeated(rt, v)) : list;
    } else if (rt) {
      next = normalizeRepeated(rt, value);
    }
    if (next !== value) (out ??= { ...obj })[key] = next;
  }
  return out ?? json;
}

/** Parses proto3 JSON into a message. Unknown fields are ignored here (checked by findUnknownFields). */
export function fromProtoJson(type: protobuf.Type, json: unknown): Msg {
  const parsed = protojson.fromJson(type, normalizeRepeated(type, json), { ignoreUnknownFields: true });
  // protojson leaves nested messages as plain objects (no $type, so oneofs cannot be read);
  // a binary round trip gives real message instances all the way down, like xDS resources.
  return type.decode(type.encode(parsed).finish()) as Msg;
}

/**
 * Merges `overlay` into a copy of `base` with protobuf MergeFrom semantics: set scalars replace,
 * messages merge recursively, repeated fields append, map entries replace by key. Any and
 * well-known types are replaced whole.
 */
export function mergeMessages(type: protobuf.Type, base: Msg, overlay: Msg): Msg {
  const out = type.fromObject(type.toObject(base as protobuf.Message, { defaults: false })) as Msg;
  mergeInto(type, out, overlay);
  return out;
}

function mergeInto(type: protobuf.Type, target: Msg, overlay: Msg): void {
  for (const field of type.fieldsArray) {
    const key = field.name;
    if (!Object.prototype.hasOwnProperty.call(overlay, key)) continue;
    const v = overlay[key];
    if (v === null || v === undefined) continue;
    field.resolve();
    const rt = field.resolvedType;
    if (field.map) {
      target[key] = { ...(target[key] ?? {}), ...(v as object) };
    } else if (field.repeated) {
      target[key] = [...((target[key] as unknown[]) ?? []), ...(v as unknown[])];
    } else if (rt instanceof protobuf.Type && !SPECIAL_JSON.has(fullName(rt)) && fullName(rt) !== 'google.protobuf.Any' && target[key]) {
      mergeInto(rt, target[key] as Msg, v as Msg);
    } else {
      target[key] = v;
    }
    // A oneof member set by the overlay clears its siblings.
    if (field.partOf) for (const sib of field.partOf.oneof) if (sib !== key) delete target[sib];
  }
}
