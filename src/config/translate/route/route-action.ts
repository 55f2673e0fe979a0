// Translation of envoy.config.route.v3.RouteAction (forward to a cluster) and its parts:
// cluster specifier incl. weighted clusters, rewrites, timeouts, retry/hedge, mirrors, hash
// policy, CORS, upgrades. Control side only; the router (engine/http) acts on the result.
import type { ErrorSink } from '../../../common/result';
import type {
  ClusterNotFoundResponseCode,
  ClusterSpecifierConfig,
  CorsPolicyConfig,
  HashPolicyConfig,
  HostRewriteConfig,
  MaxStreamDurationConfig,
  PathRewriteConfig,
  RequestMirrorPolicyConfig,
  RouteActionConfig,
  UpgradeConfig,
  WeightedClusterEntryConfig,
  WeightedClustersConfig,
} from '../../model/route';
import type { StringMatcherConfig } from '../../model/matchers';
import { durationMs, oneofCase, wrapped, type Msg } from '../proto-util';
import { translateHeaderEdits } from './header-edits';
import { translateRegexMatchAndSubstitute, translateRuntimeFraction, translateStringMatcher } from './matchers';
import { translateMetadata, translateTypedPerFilterConfig } from './per-filter-config';
import { translateHedgePolicy, translateRetryPolicy } from './retry-policy';

/** Envoy's default upstream timeout when RouteAction.timeout is unset. */
export const DEFAULT_ROUTE_TIMEOUT_MS = 15000;

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\0\r\n]/;

function enumName<T extends string>(v: unknown, names: readonly T[]): T | undefined {
  if (typeof v === 'string') return (names as readonly string[]).includes(v) ? (v as T) : undefined;
  return names[typeof v === 'number' ? v : 0];
}

/** Checks a header name used to look a value up (cluster_header, host_rewrite_header...). */
function headerName(v: string, errors: ErrorSink, path: string): string | undefined {
  if (v === '' || !(HEADER_NAME.test(v) || (v.startsWith(':') && HEADER_NAME.test(v.slice(1))))) {
    errors.add(path, `invalid header name '${v}'`);
    return undefined;
  }
  return v.toLowerCase();
}

function translateWeightedClusters(msg: Msg, errors: ErrorSink, path: string): WeightedClustersConfig | undefined {
  const list = (msg.clusters ?? []) as Msg[];
  if (list.length === 0) {
    errors.add(`${path}.clusters`, 'value must contain at least 1 item(s)');
    return undefined;
  }
  const clusters: WeightedClusterEntryConfig[] = [];
  let sum = 0;
  let ok = true;
  list.forEach((c, i) => {
    const at = `${path}.clusters[${i}]`;
    const name: string = c.name ?? '';
    let clusterHeader: string = c.clusterHeader ?? '';
    if (name === '' && clusterHeader === '') {
      errors.add(at, 'at least one of name or cluster_header need to be specified');
      ok = false;
      return;
    }
    if (name !== '' && clusterHeader !== '') {
      errors.add(at, 'only one of name or cluster_header can be specified');
      ok = false;
      return;
    }
    if (clusterHeader !== '') {
      const h = headerName(clusterHeader, errors, `${at}.cluster_header`);
      if (h === undefined) ok = false;
      clusterHeader = h ?? '';
    }
    const weight = wrapped<number>(c.weight) ?? 0;
    sum += weight;
    const sub = errors.at(at);
    const metadataMatch = c.metadataMatch ? translateMetadata(c.metadataMatch) : undefined;
    clusters.push({
      name,
      clusterHeader,
      weight,
      ...(metadataMatch ? { metadataMatch } : {}),
      headerEdits: translateHeaderEdits(c, sub),
      ...(c.hostRewriteLiteral ? { hostRewriteLiteral: c.hostRewriteLiteral as string } : {}),
      typedPerFilterConfig: translateTypedPerFilterConfig(c.typedPerFilterConfig, sub),
    });
  });
  if (!ok) return undefined;
  if (sum > 0xffffffff) {
    errors.add(`${path}.clusters`, 'sum of weights in the weighted_cluster should add up to a value no greater than 4294967295');
    return undefined;
  }
  const total = wrapped<number>(msg.totalWeight);
  if (total !== undefined && total !== 0 && total !== sum) {
    // Envoy: "Sum of weights in the weighted_cluster must equal total_weight".
    errors.add(`${path}.total_weight`, `sum of weights in the weighted_cluster (${sum}) must equal total_weight (${total})`);
    return undefined;
  }
  if (sum === 0) {
    errors.add(`${path}.clusters`, 'sum of weights in the weighted_cluster must be greater than 0');
    return undefined;
  }
  let randomValueHeader: string | undefined;
  if (msg.headerName) randomValueHeader = headerName(msg.headerName, errors, `${path}.header_name`);
  return { clusters, totalWeight: sum, runtimeKeyPrefix: msg.runtimeKeyPrefix ?? '', ...(randomValueHeader ? { randomValueHeader } : {}) };
}

function translateClusterSpecifier(msg: Msg, errors: ErrorSink): ClusterSpecifierConfig | undefined {
  switch (oneofCase(msg, 'cluster_specifier')) {
    case 'cluster':
      if (!msg.cluster) {
        errors.add('cluster', 'value length must be at least 1 characters');
        return undefined;
      }
      return { kind: 'cluster', name: msg.cluster };
    case 'clusterHeader': {
      const header = headerName(msg.clusterHeader ?? '', errors, 'cluster_header');
      return header === undefined ? undefined : { kind: 'cluster_header', header };
    }
    case 'weightedClusters': {
      const weighted = translateWeightedClusters(msg.weightedClusters, errors, 'weighted_clusters');
      return weighted ? { kind: 'weighted_clusters', weighted } : undefined;
    }
    case 'clusterSpecifierPlugin':
      return { kind: 'cluster_specifier_plugin', name: msg.clusterSpecifierPlugin };
    case 'inlineClusterSpecifierPlugin':
      return { kind: 'inline_cluster_specifier_plugin', typeUrl: msg.inlineClusterSpecifierPlugin?.extension?.typedConfig?.typeUrl ?? '' };
    default:
      errors.add('cluster_specifier', 'exactly one of cluster, cluster_header, weighted_clusters, cluster_specifier_plugin or inline_cluster_specifier_plugin must be set');
      return undefined;
  }
}

/** One RequestMirrorPolicy (route action, virtual host or route configuration level). */
export function translateMirrorPolicy(msg: Msg, errors: ErrorSink, path: string): RequestMirrorPolicyConfig | undefined {
  const cluster: string = msg.cluster ?? '';
  let clusterHeader: string = msg.clusterHeader ?? '';
  if ((cluster === '') === (clusterHeader === '')) {
    errors.add(path, 'exactly one of cluster or cluster_header must be specified');
    return undefined;
  }
  if (clusterHeader !== '') {
    const h = headerName(clusterHeader, errors, `${path}.cluster_header`);
    if (h === undefined) return undefined;
    clusterHeader = h;
  }
  const runtimeFraction = translateRuntimeFraction(msg.runtimeFraction, errors, `${path}.runtime_fraction`);
  const traceSampled = wrapped<boolean>(msg.traceSampled);
  return {
    cluster,
    clusterHeader,
    ...(runtimeFraction ? { runtimeFraction } : {}),
    ...(traceSampled !== undefined ? { traceSampled } : {}),
    disableShadowHostSuffixAppend: msg.disableShadowHostSuffixAppend === true,
  };
}

/** A list of mirror policies at `path`. */
export function translateMirrorPolicies(list: Msg[] | undefined, errors: ErrorSink, path: string): RequestMirrorPolicyConfig[] {
  const out: RequestMirrorPolicyConfig[] = [];
  (list ?? []).forEach((m, i) => {
    const p = translateMirrorPolicy(m, errors, `${path}[${i}]`);
    if (p) out.push(p);
  });
  return out;
}

function translateHashPolicy(msg: Msg, errors: ErrorSink, path: string): HashPolicyConfig | undefined {
  const terminal = msg.terminal === true;
  switch (oneofCase(msg, 'policy_specifier')) {
    case 'header': {
      const h = headerName(msg.header.headerName ?? '', errors, `${path}.header.header_name`);
      if (h === undefined) return undefined;
      const rr = msg.header.regexRewrite ? translateRegexMatchAndSubstitute(msg.header.regexRewrite, errors, `${path}.header.regex_rewrite`) : undefined;
      return { terminal, kind: 'header', headerName: h, ...(rr ? { regexRewrite: rr } : {}) };
    }
    case 'cookie': {
      const c = msg.cookie;
      if (!c.name) {
        errors.add(`${path}.cookie.name`, 'value length must be at least 1 characters');
        return undefined;
      }
      const ttlMs = durationMs(c.ttl);
      const attributes = ((c.attributes ?? []) as Msg[]).map((a) => ({ name: String(a.name ?? ''), value: String(a.value ?? '') }));
      return { terminal, kind: 'cookie', name: c.name, ...(ttlMs !== undefined ? { ttlMs } : {}), path: c.path ?? '', attributes };
    }
    case 'connectionProperties':
      return { terminal, kind: 'connection_properties', sourceIp: msg.connectionProperties.sourceIp === true };
    case 'queryParameter':
      if (!msg.queryParameter.name) {
        errors.add(`${path}.query_parameter.name`, 'value length must be at least 1 characters');
        return undefined;
      }
      return { terminal, kind: 'query_parameter', name: msg.queryParameter.name };
    case 'filterState':
      if (!msg.filterState.key) {
        errors.add(`${path}.filter_state.key`, 'value length must be at least 1 characters');
        return undefined;
      }
      return { terminal, kind: 'filter_state', key: msg.filterState.key };
    default:
      errors.add(path, 'policy_specifier is required');
      return undefined;
  }
}

/** envoy.config.route.v3.CorsPolicy. */
export function translateCors(msg: Msg | null | undefined, errors: ErrorSink, path: string): CorsPolicyConfig | undefined {
  if (!msg) return undefined;
  const origins: StringMatcherConfig[] = [];
  ((msg.allowOriginStringMatch ?? []) as Msg[]).forEach((m, i) => {
    const s = translateStringMatcher(m, errors, `${path}.allow_origin_string_match[${i}]`);
    if (s) origins.push(s);
  });
  const filterEnabled = translateRuntimeFraction(msg.filterEnabled, errors, `${path}.filter_enabled`);
  const shadowEnabled = translateRuntimeFraction(msg.shadowEnabled, errors, `${path}.shadow_enabled`);
  const allowCredentials = wrapped<boolean>(msg.allowCredentials);
  const allowPrivateNetworkAccess = wrapped<boolean>(msg.allowPrivateNetworkAccess);
  const forwardNotMatchingPreflights = wrapped<boolean>(msg.forwardNotMatchingPreflights);
  return {
    allowOriginStringMatch: origins,
    allowMethods: msg.allowMethods ?? '',
    allowHeaders: msg.allowHeaders ?? '',
    exposeHeaders: msg.exposeHeaders ?? '',
    maxAge: msg.maxAge ?? '',
    ...(allowCredentials !== undefined ? { allowCredentials } : {}),
    ...(filterEnabled ? { filterEnabled } : {}),
    ...(shadowEnabled ? { shadowEnabled } : {}),
    ...(allowPrivateNetworkAccess !== undefined ? { allowPrivateNetworkAccess } : {}),
    ...(forwardNotMatchingPreflights !== undefined ? { forwardNotMatchingPreflights } : {}),
  };
}

function translateUpgrades(list: Msg[] | undefined, errors: ErrorSink): UpgradeConfig[] {
  const out: UpgradeConfig[] = [];
  const seen = new Set<string>();
  (list ?? []).forEach((u, i) => {
    const at = `upgrade_configs[${i}]`;
    const type = String(u.upgradeType ?? '').toLowerCase();
    if (type === '' || BAD_VALUE.test(type)) {
      errors.add(`${at}.upgrade_type`, 'invalid upgrade type');
      return;
    }
    if (seen.has(type)) {
      // Envoy RouteEntryImplBase: "Duplicate upgrade <type>".
      errors.add(at, `duplicate upgrade ${type}`);
      return;
    }
    seen.add(type);
    if (u.connectConfig && type !== 'connect') {
      errors.add(`${at}.connect_config`, `non-CONNECT upgrade type ${type} has ConnectConfig`);
      return;
    }
    const enabled = wrapped<boolean>(u.enabled);
    out.push({
      upgradeType: type,
      ...(enabled !== undefined ? { enabled } : {}),
      ...(u.connectConfig ? { connectConfig: { allowPost: u.connectConfig.allowPost === true } } : {}),
    });
  });
  return out;
}

function translateMaxStreamDuration(msg: Msg | null | undefined): MaxStreamDurationConfig | undefined {
  if (!msg) return undefined;
  const a = durationMs(msg.maxStreamDuration);
  const b = durationMs(msg.grpcTimeoutHeaderMax);
  const c = durationMs(msg.grpcTimeoutHeaderOffset);
  return {
    ...(a !== undefined ? { maxStreamDurationMs: a } : {}),
    ...(b !== undefined ? { grpcTimeoutHeaderMaxMs: b } : {}),
    ...(c !== undefined ? { grpcTimeoutHeaderOffsetMs: c } : {}),
  };
}

function translateHostRewrite(msg: Msg, errors: ErrorSink): HostRewriteConfig | undefined {
  switch (oneofCase(msg, 'host_rewrite_specifier')) {
    case 'hostRewriteLiteral':
      if (BAD_VALUE.test(msg.hostRewriteLiteral)) {
        errors.add('host_rewrite_literal', 'host must not contain NUL, CR or LF');
        return undefined;
      }
      return msg.hostRewriteLiteral === '' ? undefined : { kind: 'literal', host: msg.hostRewriteLiteral };
    case 'autoHostRewrite':
      return wrapped<boolean>(msg.autoHostRewrite) === true ? { kind: 'auto' } : undefined;
    case 'hostRewriteHeader': {
      const h = headerName(msg.hostRewriteHeader ?? '', errors, 'host_rewrite_header');
      return h === undefined ? undefined : { kind: 'header', header: h };
    }
    case 'hostRewritePathRegex': {
      const rewrite = translateRegexMatchAndSubstitute(msg.hostRewritePathRegex, errors, 'host_rewrite_path_regex');
      return rewrite ? { kind: 'path_regex', rewrite } : undefined;
    }
    default:
      return undefined;
  }
}

function translatePathRewrite(msg: Msg, errors: ErrorSink): PathRewriteConfig | undefined {
  const prefix: string = msg.prefixRewrite ?? '';
  const hasRegex = !!msg.regexRewrite;
  if (prefix !== '' && hasRegex) {
    errors.add('regex_rewrite', 'cannot specify both prefix_rewrite and regex_rewrite');
    return undefined;
  }
  if (msg.pathRewritePolicy) {
    errors.add('path_rewrite_policy', 'path_rewrite_policy extensions are not supported');
    return undefined;
  }
  if (prefix !== '') {
    if (BAD_VALUE.test(prefix)) {
      errors.add('prefix_rewrite', 'prefix_rewrite must not contain NUL, CR or LF');
      return undefined;
    }
    return { kind: 'prefix', prefix };
  }
  if (hasRegex) {
    const rewrite = translateRegexMatchAndSubstitute(msg.regexRewrite, errors, 'regex_rewrite');
    return rewrite ? { kind: 'regex', rewrite } : undefined;
  }
  return undefined;
}

/** envoy.config.route.v3.RouteAction. `errors` is already scoped to the `route` field. */
export function translateRouteAction(msg: Msg, errors: ErrorSink): RouteActionConfig | undefined {
  const before = errors.errors.length;
  const clusterSpecifier = translateClusterSpecifier(msg, errors);
  const clusterNotFoundResponseCode = enumName<ClusterNotFoundResponseCode>(msg.clusterNotFoundResponseCode, ['SERVICE_UNAVAILABLE', 'NOT_FOUND', 'INTERNAL_SERVER_ERROR']);
  if (clusterNotFoundResponseCode === undefined) errors.add('cluster_not_found_response_code', 'unknown value');
  const pathRewrite = translatePathRewrite(msg, errors);
  const hostRewrite = translateHostRewrite(msg, errors);
  const timeoutMs = durationMs(msg.timeout) ?? DEFAULT_ROUTE_TIMEOUT_MS;
  if (timeoutMs < 0) errors.add('timeout', 'duration must be non-negative');
  const idleTimeoutMs = durationMs(msg.idleTimeout);
  const retryPolicy = translateRetryPolicy(msg.retryPolicy, errors, 'retry_policy');
  if (msg.retryPolicyTypedConfig) errors.add('retry_policy_typed_config', 'retry policy extensions are not supported');
  const hedgePolicy = translateHedgePolicy(msg.hedgePolicy, errors, 'hedge_policy');
  const requestMirrorPolicies = translateMirrorPolicies(msg.requestMirrorPolicies, errors, 'request_mirror_policies');
  const priority = enumName<'DEFAULT' | 'HIGH'>(msg.priority, ['DEFAULT', 'HIGH']) ?? 'DEFAULT';
  const hashPolicy: HashPolicyConfig[] = [];
  ((msg.hashPolicy ?? []) as Msg[]).forEach((h, i) => {
    const p = translateHashPolicy(h, errors, `hash_policy[${i}]`);
    if (p) hashPolicy.push(p);
  });
  const cors = translateCors(msg.cors, errors, 'cors');
  const maxStreamDuration = translateMaxStreamDuration(msg.maxStreamDuration);
  const maxGrpcTimeoutMs = durationMs(msg.maxGrpcTimeout);
  const grpcTimeoutOffsetMs = durationMs(msg.grpcTimeoutOffset);
  const upgradeConfigs = translateUpgrades(msg.upgradeConfigs, errors);
  const includeVhRateLimits = wrapped<boolean>(msg.includeVhRateLimits);
  const internalRedirectAction =
    enumName<'PASS_THROUGH_INTERNAL_REDIRECT' | 'HANDLE_INTERNAL_REDIRECT'>(msg.internalRedirectAction, ['PASS_THROUGH_INTERNAL_REDIRECT', 'HANDLE_INTERNAL_REDIRECT']) ??
    'PASS_THROUGH_INTERNAL_REDIRECT';
  const maxInternalRedirects = wrapped<number>(msg.maxInternalRedirects);
  if (errors.errors.length > before || !clusterSpecifier || !clusterNotFoundResponseCode) return undefined;
  return {
    clusterSpecifier,
    clusterNotFoundResponseCode,
    ...(msg.metadataMatch ? { metadataMatch: translateMetadata(msg.metadataMatch) } : {}),
    ...(pathRewrite ? { pathRewrite } : {}),
    ...(hostRewrite ? { hostRewrite } : {}),
    appendXForwardedHost: msg.appendXForwardedHost === true,
    timeoutMs,
    ...(idleTimeoutMs !== undefined ? { idleTimeoutMs } : {}),
    ...(retryPolicy ? { retryPolicy } : {}),
    ...(hedgePolicy ? { hedgePolicy } : {}),
    requestMirrorPolicies,
    priority,
    hashPolicy,
    ...(cors ? { cors } : {}),
    ...(maxStreamDuration ? { maxStreamDuration } : {}),
    ...(maxGrpcTimeoutMs !== undefined ? { maxGrpcTimeoutMs } : {}),
    ...(grpcTimeoutOffsetMs !== undefined ? { grpcTimeoutOffsetMs } : {}),
    upgradeConfigs,
    ...(includeVhRateLimits !== undefined ? { includeVhRateLimits } : {}),
    internalRedirectAction,
    ...(maxInternalRedirects !== undefined ? { maxInternalRedirects } : {}),
  };
}
