// Translation of one envoy.config.route.v3.Route: its RouteMatch, its action (route, redirect,
// direct_response, non_forwarding_action), decorator, metadata, header edits and per-filter
// configs. Control side only. A direct_response body given as a filename is read here, once,
// as Envoy reads it when the route table is loaded.
import { readFileSync } from 'node:fs';
import type { ErrorSink } from '../../../common/result';
import type { HeaderMatcherConfig, QueryParameterMatcherConfig } from '../../model/matchers';
import type {
  DirectResponseActionConfig,
  PathMatchConfig,
  RedirectActionConfig,
  RedirectResponseCode,
  RouteActionKindConfig,
  RouteConfig,
  RouteMatchConfig,
} from '../../model/route';
import { oneofCase, wrapped, type Msg } from '../proto-util';
import { translateHeaderEdits } from './header-edits';
import {
  translateHeaderMatcher,
  translateQueryParameterMatcher,
  translateRegexMatchAndSubstitute,
  translateRegexMatcher,
  translateRuntimeFraction,
} from './matchers';
import { translateMetadata, translateTypedPerFilterConfig } from './per-filter-config';
import { translateRouteAction } from './route-action';

const REDIRECT_CODES: readonly RedirectResponseCode[] = [301, 302, 303, 307, 308];
const REDIRECT_CODE_NAMES: Record<string, RedirectResponseCode> = {
  MOVED_PERMANENTLY: 301,
  FOUND: 302,
  SEE_OTHER: 303,
  TEMPORARY_REDIRECT: 307,
  PERMANENT_REDIRECT: 308,
};
const BAD_VALUE = /[\0\r\n]/;
// PGV on path_separated_prefix: starts the path, no query/fragment, no trailing slash.
const PATH_SEPARATED_PREFIX = /^[^?#]+[^?#/]$/;

function translatePathMatch(msg: Msg, errors: ErrorSink): PathMatchConfig | undefined {
  switch (oneofCase(msg, 'path_specifier')) {
    case 'prefix':
      return { kind: 'prefix', prefix: msg.prefix };
    case 'path':
      return { kind: 'path', path: msg.path };
    case 'safeRegex': {
      const regex = translateRegexMatcher(msg.safeRegex, errors, 'safe_regex');
      return regex === undefined ? undefined : { kind: 'safe_regex', regex };
    }
    case 'pathSeparatedPrefix':
      if (!PATH_SEPARATED_PREFIX.test(msg.pathSeparatedPrefix)) {
        errors.add('path_separated_prefix', `'${msg.pathSeparatedPrefix}' must not be empty, contain '?' or '#', or end with '/'`);
        return undefined;
      }
      return { kind: 'path_separated_prefix', prefix: msg.pathSeparatedPrefix };
    case 'connectMatcher':
      return { kind: 'connect_matcher' };
    case 'pathMatchPolicy':
      errors.add('path_match_policy', 'path_match_policy extensions are not supported');
      return undefined;
    default:
      errors.add('path_specifier', 'one of prefix, path, safe_regex, path_separated_prefix or connect_matcher is required');
      return undefined;
  }
}

function translateMatch(msg: Msg | null | undefined, errors: ErrorSink): RouteMatchConfig | undefined {
  if (!msg) {
    errors.add('', 'value is required');
    return undefined;
  }
  const before = errors.errors.length;
  const path = translatePathMatch(msg, errors);
  const headers: HeaderMatcherConfig[] = [];
  ((msg.headers ?? []) as Msg[]).forEach((h, i) => {
    const m = translateHeaderMatcher(h, errors, `headers[${i}]`);
    if (m) headers.push(m);
  });
  const queryParameters: QueryParameterMatcherConfig[] = [];
  ((msg.queryParameters ?? []) as Msg[]).forEach((q, i) => {
    const m = translateQueryParameterMatcher(q, errors, `query_parameters[${i}]`);
    if (m) queryParameters.push(m);
  });
  const runtimeFraction = translateRuntimeFraction(msg.runtimeFraction, errors, 'runtime_fraction');
  if ((msg.dynamicMetadata ?? []).length > 0) errors.add('dynamic_metadata', 'dynamic metadata matchers are not supported');
  let tlsContext: RouteMatchConfig['tlsContext'];
  if (msg.tlsContext) {
    const presented = wrapped<boolean>(msg.tlsContext.presented);
    const validated = wrapped<boolean>(msg.tlsContext.validated);
    tlsContext = { ...(presented !== undefined ? { presented } : {}), ...(validated !== undefined ? { validated } : {}) };
  }
  if (!path || errors.errors.length > before) return undefined;
  return {
    path,
    caseSensitive: wrapped<boolean>(msg.caseSensitive) ?? true,
    ...(runtimeFraction ? { runtimeFraction } : {}),
    headers,
    queryParameters,
    grpc: !!msg.grpc,
    ...(tlsContext ? { tlsContext } : {}),
  };
}

function redirectCode(v: unknown): RedirectResponseCode | undefined {
  if (typeof v === 'string') return REDIRECT_CODE_NAMES[v];
  return REDIRECT_CODES[typeof v === 'number' ? v : 0];
}

function translateRedirect(msg: Msg, errors: ErrorSink): RedirectActionConfig | undefined {
  const before = errors.errors.length;
  let scheme: string | undefined;
  const schemeCase = oneofCase(msg, 'scheme_rewrite_specifier');
  if (schemeCase === 'httpsRedirect' && msg.httpsRedirect === true) scheme = 'https';
  if (schemeCase === 'schemeRedirect' && msg.schemeRedirect) scheme = String(msg.schemeRedirect).toLowerCase();
  const host: string = msg.hostRedirect ?? '';
  if (BAD_VALUE.test(host)) errors.add('host_redirect', 'must not contain NUL, CR or LF');
  const port = Number(msg.portRedirect ?? 0);
  if (port > 65535) errors.add('port_redirect', 'value must be less than or equal to 65535');
  let path: RedirectActionConfig['path'];
  switch (oneofCase(msg, 'path_rewrite_specifier')) {
    case 'pathRedirect':
      if (BAD_VALUE.test(msg.pathRedirect)) errors.add('path_redirect', 'must not contain NUL, CR or LF');
      else if (msg.pathRedirect !== '') path = { kind: 'path', path: msg.pathRedirect };
      break;
    case 'prefixRewrite':
      if (BAD_VALUE.test(msg.prefixRewrite)) errors.add('prefix_rewrite', 'must not contain NUL, CR or LF');
      else path = { kind: 'prefix', prefix: msg.prefixRewrite };
      break;
    case 'regexRewrite': {
      const rewrite = translateRegexMatchAndSubstitute(msg.regexRewrite, errors, 'regex_rewrite');
      if (rewrite) path = { kind: 'regex', rewrite };
      break;
    }
    default:
      break;
  }
  const responseCode = redirectCode(msg.responseCode);
  if (responseCode === undefined) errors.add('response_code', `unknown redirect response code ${String(msg.responseCode)}`);
  if (errors.errors.length > before || responseCode === undefined) return undefined;
  return { ...(scheme ? { scheme } : {}), host, port, ...(path ? { path } : {}), responseCode, stripQuery: msg.stripQuery === true };
}

function translateDirectResponse(msg: Msg, errors: ErrorSink, maxBodyBytes: number): DirectResponseActionConfig | undefined {
  const status = Number(msg.status ?? 0);
  if (status < 200 || status >= 600) {
    errors.add('status', `value ${status} must be inside range [200, 600)`);
    return undefined;
  }
  const ds: Msg | null = msg.body;
  if (!ds) return { status };
  let body: Uint8Array | undefined;
  switch (oneofCase(ds, 'specifier')) {
    case 'inlineBytes':
      body = new Uint8Array(ds.inlineBytes);
      break;
    case 'inlineString':
      body = new Uint8Array(Buffer.from(ds.inlineString as string, 'utf8'));
      break;
    case 'filename':
      try {
        body = new Uint8Array(readFileSync(ds.filename as string));
      } catch (err) {
        errors.add('body.filename', `cannot read '${String(ds.filename)}': ${(err as Error).message}`);
        return undefined;
      }
      break;
    case 'environmentVariable': {
      const v = process.env[ds.environmentVariable as string];
      if (v === undefined) {
        errors.add('body.environment_variable', `environment variable '${String(ds.environmentVariable)}' is not set`);
        return undefined;
      }
      body = new Uint8Array(Buffer.from(v, 'utf8'));
      break;
    }
    default:
      break;
  }
  if (body && body.length > maxBodyBytes) {
    // Envoy: "response body size is N bytes; maximum is M".
    errors.add('body', `response body size is ${body.length} bytes; maximum is ${maxBodyBytes}`);
    return undefined;
  }
  return body ? { status, body } : { status };
}

/** Context a route needs from its route configuration. */
export interface RouteTranslateContext {
  readonly maxDirectResponseBodySizeBytes: number;
}

/** envoy.config.route.v3.Route. `errors` is scoped to the route's path (e.g. `virtual_hosts[0].routes[3]`). */
export function translateRoute(msg: Msg, errors: ErrorSink, ctx: RouteTranslateContext): RouteConfig | undefined {
  const before = errors.errors.length;
  const match = translateMatch(msg.match, errors.at('match'));
  let action: RouteActionKindConfig | undefined;
  switch (oneofCase(msg, 'action')) {
    case 'route': {
      const route = translateRouteAction(msg.route, errors.at('route'));
      if (route) action = { kind: 'route', route };
      break;
    }
    case 'redirect': {
      const redirect = translateRedirect(msg.redirect, errors.at('redirect'));
      if (redirect) action = { kind: 'redirect', redirect };
      break;
    }
    case 'directResponse': {
      const directResponse = translateDirectResponse(msg.directResponse, errors.at('direct_response'), ctx.maxDirectResponseBodySizeBytes);
      if (directResponse) action = { kind: 'direct_response', directResponse };
      break;
    }
    case 'nonForwardingAction':
      action = { kind: 'non_forwarding' };
      break;
    case 'filterAction':
      errors.add('filter_action', 'filter_action is not supported');
      break;
    default:
      errors.add('action', 'one of route, redirect, direct_response or non_forwarding_action is required');
  }
  let decorator: RouteConfig['decorator'];
  if (msg.decorator) {
    const operation: string = msg.decorator.operation ?? '';
    if (operation === '') errors.add('decorator.operation', 'value length must be at least 1 characters');
    decorator = { operation, propagate: wrapped<boolean>(msg.decorator.propagate) ?? true };
  }
  const headerEdits = translateHeaderEdits(msg, errors);
  const typedPerFilterConfig = translateTypedPerFilterConfig(msg.typedPerFilterConfig, errors);
  if (errors.errors.length > before || !match || !action) return undefined;
  return {
    name: msg.name ?? '',
    match,
    action,
    metadata: translateMetadata(msg.metadata),
    ...(decorator ? { decorator } : {}),
    headerEdits,
    typedPerFilterConfig,
    statPrefix: msg.statPrefix ?? '',
  };
}
