// Translation of the opaque per-level attachments of a route table: typed_per_filter_config
// (filter name -> Any, possibly wrapped in envoy.config.route.v3.FilterConfig or a TypedStruct)
// and metadata.filter_metadata. Control side only. Entries whose type belongs to one of our HTTP
// filters are parsed here by that filter's parse half (the HTTP filter's own message: HTTPFault,
// LocalRateLimit; for CORS the per-route envoy.extensions.filters.http.cors.v3.CorsPolicy), so
// bad overrides are NACKed with their field path and workers get plain data in `parsed`.
// Other types stay opaque (type URL + bytes or JSON).
import type { ErrorSink } from '../../../common/result';
import type { MetadataConfig, TypedPerFilterConfig, TypedPerFilterConfigMap } from '../../model/route';
import { typeForUrl } from '../../../gen/proto-root';
import { builtinParsers } from '../../../extensions/parsers';
import type { ExtensionRegistry, ParseContext } from '../../../extensions/registry';
import { structToJson, type Msg } from '../proto-util';
import { translateCors } from './route-action';

const FILTER_CONFIG_URL = 'type.googleapis.com/envoy.config.route.v3.FilterConfig';
const TYPED_STRUCT_URLS = new Set(['type.googleapis.com/udpa.type.v1.TypedStruct', 'type.googleapis.com/xds.type.v3.TypedStruct']);

const EMPTY_MAP: TypedPerFilterConfigMap = Object.freeze({});
const EMPTY_METADATA: MetadataConfig = Object.freeze({});

function decode(any: Msg, errors: ErrorSink, path: string): Msg | undefined {
  const type = typeForUrl(any.typeUrl);
  if (!type) {
    errors.add(path, `unknown type ${String(any.typeUrl)}`);
    return undefined;
  }
  try {
    return type.decode(any.value ?? new Uint8Array()) as Msg;
  } catch (err) {
    errors.add(path, `cannot decode ${String(any.typeUrl)}: ${(err as Error).message}`);
    return undefined;
  }
}

const CORS_POLICY_URL = 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy';
/** Built on first use (the parsers import this module through the HCM's route translation). */
let httpParsers: ExtensionRegistry | undefined;
const NO_NESTED: ParseContext = {
  parseNested(_c, _n, _t, _o, errors, path) {
    errors.add(path, 'nested extensions are not supported in per-route configs');
    return undefined;
  },
};

/** The owning filter's parse of a per-route message, or undefined for types we do not interpret. */
function parsePerRoute(typeUrl: string, msg: Msg, errors: ErrorSink, path: string): unknown {
  if (typeUrl === CORS_POLICY_URL) return translateCors(msg, errors, path);
  const p = (httpParsers ??= builtinParsers()).lookup('http', typeUrl, '');
  if (p === undefined || p.terminal) return undefined;
  const before = errors.errors.length;
  const v = p.parse(msg, NO_NESTED, errors.at(path));
  return errors.errors.length === before ? v : undefined;
}

function opaque(any: Msg | null | undefined, isOptional: boolean, disabled: boolean, errors: ErrorSink, path: string): TypedPerFilterConfig | undefined {
  if (!any || !any.typeUrl) {
    if (disabled) return { typeUrl: '', isOptional, disabled };
    errors.add(path, 'config is required unless disabled is set');
    return undefined;
  }
  const typeUrl: string = any.typeUrl;
  if (TYPED_STRUCT_URLS.has(typeUrl)) {
    const ts = decode(any, errors, path);
    if (!ts) return undefined;
    return { typeUrl: ts.typeUrl ?? '', json: structToJson(ts.value), isOptional, disabled };
  }
  const raw = new Uint8Array(any.value ?? []);
  const type = typeForUrl(typeUrl);
  if (type !== undefined && (typeUrl === CORS_POLICY_URL || (httpParsers ??= builtinParsers()).lookup('http', typeUrl, '') !== undefined)) {
    const msg = decode(any, errors, path);
    if (!msg) return undefined;
    const parsed = parsePerRoute(typeUrl, msg, errors, path);
    if (parsed === undefined) return undefined;
    return { typeUrl, raw, parsed, isOptional, disabled };
  }
  return { typeUrl, raw, isOptional, disabled };
}

/** typed_per_filter_config map -> filter name -> opaque config. */
export function translateTypedPerFilterConfig(map: Record<string, Msg> | null | undefined, errors: ErrorSink, path = 'typed_per_filter_config'): TypedPerFilterConfigMap {
  if (!map) return EMPTY_MAP;
  const names = Object.keys(map);
  if (names.length === 0) return EMPTY_MAP;
  const out: Record<string, TypedPerFilterConfig> = {};
  for (const name of names) {
    const at = `${path}[${name}]`;
    if (name === '') {
      errors.add(at, 'filter name must not be empty');
      continue;
    }
    const any = map[name]!;
    let entry: TypedPerFilterConfig | undefined;
    if (any.typeUrl === FILTER_CONFIG_URL) {
      const fc = decode(any, errors, at);
      if (!fc) continue;
      entry = opaque(fc.config, fc.isOptional === true, fc.disabled === true, errors, `${at}.config`);
    } else {
      entry = opaque(any, false, false, errors, at);
    }
    if (entry) out[name] = entry;
  }
  return out;
}

/** envoy.config.core.v3.Metadata -> filter_metadata as JSON per namespace. */
export function translateMetadata(msg: Msg | null | undefined): MetadataConfig {
  const fm: Record<string, Msg> | undefined = msg?.filterMetadata;
  if (!fm) return EMPTY_METADATA;
  const keys = Object.keys(fm);
  if (keys.length === 0) return EMPTY_METADATA;
  const out: Record<string, Record<string, unknown>> = {};
  for (const k of keys) out[k] = structToJson(fm[k]);
  return out;
}
