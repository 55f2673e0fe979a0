// Parse halves of access loggers: file, stdout and stderr with Envoy's format strings (text,
// json_format, text_format_source, legacy `format`; Envoy's default format when none is given);
// the gRPC loggers are recognised but write nothing yet (pass-through). Create half:
// access-logger.ts.
import type { ErrorSink } from '../../common/result';
import { structToJson, type Msg } from '../../config/translate/proto-util';
import { passThroughParsers, T, type Accepted } from '../accepted';
import type { ExtensionParser } from '../registry';
import { ENVOY_DEFAULT_FORMAT, parseFormat, type FormatPart } from './format-parse';

const ACCEPTED: readonly Accepted[] = [
  { category: 'access_logger', names: ['envoy.access_loggers.http_grpc'], typeUrls: [`${T}envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig`] },
  { category: 'access_logger', names: ['envoy.access_loggers.tcp_grpc'], typeUrls: [`${T}envoy.extensions.access_loggers.grpc.v3.TcpGrpcAccessLogConfig`] },
];

/** A JSON format: each value is a rendered format (single-command values keep their type). */
export type JsonFormatNode = { readonly kind: 'value'; readonly parts: readonly FormatPart[] } | { readonly kind: 'object'; readonly fields: readonly (readonly [string, JsonFormatNode])[] };

export interface AccessLogFormatConfig {
  readonly text?: readonly FormatPart[];
  readonly json?: JsonFormatNode;
  readonly omitEmptyValues: boolean;
}

export interface AccessLoggerConfig {
  readonly sink: 'file' | 'stdout' | 'stderr';
  /** File path for 'file'. */
  readonly path: string;
  readonly format: AccessLogFormatConfig;
}

function text(s: string, errors: ErrorSink, path: string): FormatPart[] {
  const r = parseFormat(s);
  if ('error' in r) {
    errors.add(path, r.error);
    return [];
  }
  return r.parts;
}

function jsonNode(v: unknown, errors: ErrorSink, path: string): JsonFormatNode {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    return { kind: 'object', fields: Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, jsonNode(x, errors, `${path}.${k}`)] as const) };
  }
  if (typeof v === 'string') return { kind: 'value', parts: text(v, errors, path) };
  return { kind: 'value', parts: [{ kind: 'literal', text: JSON.stringify(v) }] };
}

/** envoy.config.core.v3.SubstitutionFormatString (or the legacy file fields) -> format. */
function translateFormat(m: Msg, errors: ErrorSink): AccessLogFormatConfig {
  const lf = m.logFormat as Msg | null | undefined;
  if (lf) {
    const omit = !!lf.omitEmptyValues;
    if (lf.jsonFormat) return { json: jsonNode(structToJson(lf.jsonFormat), errors, 'log_format.json_format'), omitEmptyValues: omit };
    if (lf.textFormat) return { text: text(String(lf.textFormat), errors, 'log_format.text_format'), omitEmptyValues: omit };
    if (lf.textFormatSource) {
      const src = lf.textFormatSource as Msg;
      if (src.inlineString !== undefined && src.inlineString !== null && src.inlineString !== '') return { text: text(String(src.inlineString), errors, 'log_format.text_format_source.inline_string'), omitEmptyValues: omit };
      if (src.inlineBytes && src.inlineBytes.length) return { text: text(Buffer.from(src.inlineBytes).toString('utf8'), errors, 'log_format.text_format_source.inline_bytes'), omitEmptyValues: omit };
      errors.add('log_format.text_format_source', 'only inline_string and inline_bytes are supported');
    }
    return { text: text(ENVOY_DEFAULT_FORMAT, errors, ''), omitEmptyValues: omit };
  }
  if (m.jsonFormat) return { json: jsonNode(structToJson(m.jsonFormat), errors, 'json_format'), omitEmptyValues: false };
  if (m.format) return { text: text(String(m.format), errors, 'format'), omitEmptyValues: false };
  return { text: text(ENVOY_DEFAULT_FORMAT, errors, ''), omitEmptyValues: false };
}

const fileParser: ExtensionParser = {
  category: 'access_logger',
  names: ['envoy.access_loggers.file', 'envoy.file_access_log'],
  typeUrls: [`${T}envoy.extensions.access_loggers.file.v3.FileAccessLog`],
  parse(msg: Msg | undefined, _ctx, errors: ErrorSink): AccessLoggerConfig {
    const m = msg ?? {};
    const path = String(m.path ?? '');
    if (path === '') errors.add('path', 'must not be empty');
    const sink = path === '/dev/stdout' ? 'stdout' : path === '/dev/stderr' ? 'stderr' : 'file';
    return { sink, path, format: translateFormat(m, errors) };
  },
};

function streamParser(name: string, type: string, sink: 'stdout' | 'stderr'): ExtensionParser {
  return {
    category: 'access_logger',
    names: [name],
    typeUrls: [`${T}envoy.extensions.access_loggers.stream.v3.${type}`],
    parse(msg: Msg | undefined, _ctx, errors: ErrorSink): AccessLoggerConfig {
      return { sink, path: '', format: translateFormat(msg ?? {}, errors) };
    },
  };
}

export function accessLoggerParsers(): ExtensionParser[] {
  return [fileParser, streamParser('envoy.access_loggers.stdout', 'StdoutAccessLog', 'stdout'), streamParser('envoy.access_loggers.stderr', 'StderrAccessLog', 'stderr'), ...passThroughParsers(ACCEPTED)];
}
