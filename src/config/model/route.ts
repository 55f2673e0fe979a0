// Config model for HTTP route tables: envoy.config.route.v3.RouteConfiguration and everything
// under it (VirtualHost, Route, RouteAction, RedirectAction, DirectResponseAction, retry/hedge
// policies, header edits). Built by config/translate/route (control side) from RDS resources or
// the inline route_config of an HTTP connection manager; carried in the ConfigSnapshot to the
// workers; compiled there by engine/http/route into a RouteTable. Plain readonly data only:
// durations in ms, enums as string unions, oneofs as tagged unions with `kind`.
import type {
  FractionalPercentConfig,
  HeaderMatcherConfig,
  QueryParameterMatcherConfig,
  RegexMatchAndSubstituteConfig,
  RuntimeFractionConfig,
  StringMatcherConfig,
} from './matchers';

/**
 * One piece of a header value format string. Envoy header values may embed `%COMMAND%` or
 * `%COMMAND(args)%` (substitution formatter); `%%` is a literal percent. Translate parses the
 * string once and rejects unknown commands, so the engine only maps `name` to an evaluator.
 */
export type HeaderFormatPartConfig =
  | { readonly kind: 'literal'; readonly text: string }
  | {
      readonly kind: 'command';
      /** Command name without the percent signs, e.g. `DOWNSTREAM_REMOTE_ADDRESS`, `REQ`. */
      readonly name: string;
      /** Parsed argument list: REQ(x-foo) -> ['x-foo']; UPSTREAM_METADATA(["ns","key"]) -> ['ns', 'key']. */
      readonly args: readonly string[];
      /** Alternative header for REQ/RESP (`%REQ(a?b)%`), or undefined. */
      readonly altArg?: string;
      /** Truncation length from a trailing `:N`, or undefined. For START_TIME, `args[0]` is the strftime format. */
      readonly maxLength?: number;
    };

/** What to do when the header already exists (envoy.config.core.v3.HeaderValueOption.HeaderAppendAction). */
export type HeaderAppendAction = 'APPEND_IF_EXISTS_OR_ADD' | 'ADD_IF_ABSENT' | 'OVERWRITE_IF_EXISTS_OR_ADD' | 'OVERWRITE_IF_EXISTS';

/**
 * One envoy.config.core.v3.HeaderValueOption. The legacy `append` bool is folded into
 * `appendAction` at translate time (true -> APPEND_IF_EXISTS_OR_ADD, false ->
 * OVERWRITE_IF_EXISTS_OR_ADD), as Envoy does.
 */
export interface HeaderValueOptionConfig {
  /** Lower-cased header name. */
  readonly name: string;
  /** The value as configured (raw_value decoded as UTF-8 when that was used). */
  readonly value: string;
  /** `value` parsed into literal and command parts. */
  readonly format: readonly HeaderFormatPartConfig[];
  readonly appendAction: HeaderAppendAction;
  /** When false (default) a header whose formatted value is empty is not added. */
  readonly keepEmptyValue: boolean;
}

/**
 * The header edits of one level (route config, virtual host, route, weighted cluster). Envoy
 * applies removals before additions within a level.
 */
export interface HeaderEditsConfig {
  readonly requestHeadersToAdd: readonly HeaderValueOptionConfig[];
  readonly requestHeadersToRemove: readonly string[];
  readonly responseHeadersToAdd: readonly HeaderValueOptionConfig[];
  readonly responseHeadersToRemove: readonly string[];
}

/**
 * A per-filter config override (typed_per_filter_config entry) kept opaque until the owning
 * extension's parse half claims it. envoy.config.route.v3.FilterConfig wrappers are unwrapped
 * into `isOptional`/`disabled`; TypedStruct is unwrapped to its inner type URL and JSON.
 */
export interface TypedPerFilterConfig {
  readonly typeUrl: string;
  /** Serialized bytes of the inner message (absent for TypedStruct or disabled-only entries). */
  readonly raw?: Uint8Array;
  /** For TypedStruct-wrapped configs: the struct value as JSON. */
  readonly json?: Readonly<Record<string, unknown>>;
  /** For our HTTP filters' types: the owning filter's parsed config (plain data). */
  readonly parsed?: unknown;
  readonly isOptional: boolean;
  readonly disabled: boolean;
}

/** Filter name -> per-route override. */
export type TypedPerFilterConfigMap = Readonly<Record<string, TypedPerFilterConfig>>;

/** envoy.config.core.v3.Metadata: filter_metadata as JSON per namespace (typed_filter_metadata is not kept). */
export type MetadataConfig = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

/** envoy.config.route.v3.RetryPolicy.RetryBackOff, in ms. */
export interface RetryBackOffConfig {
  readonly baseIntervalMs: number;
  /** Defaults to 10 x base interval, as Envoy documents. */
  readonly maxIntervalMs: number;
}

/** envoy.config.route.v3.RetryPolicy. Defaults applied: numRetries 1, hostSelectionRetryMaxAttempts 1. */
export interface RetryPolicyConfig {
  /** Split and trimmed `retry_on` list, e.g. ['connect-failure', '5xx']. */
  readonly retryOn: readonly string[];
  readonly numRetries: number;
  readonly perTryTimeoutMs?: number;
  readonly perTryIdleTimeoutMs?: number;
  /** Names (or type URLs when unnamed) of retry_host_predicate extensions. */
  readonly retryHostPredicates: readonly string[];
  /** Name of the retry_priority extension, if any. */
  readonly retryPriority?: string;
  readonly hostSelectionRetryMaxAttempts: number;
  readonly retriableStatusCodes: readonly number[];
  readonly retryBackOff?: RetryBackOffConfig;
  readonly retriableHeaders: readonly HeaderMatcherConfig[];
  readonly retriableRequestHeaders: readonly HeaderMatcherConfig[];
}

/** envoy.config.route.v3.HedgePolicy. */
export interface HedgePolicyConfig {
  readonly initialRequests: number;
  readonly additionalRequestChance?: FractionalPercentConfig;
  readonly hedgeOnPerTryTimeout: boolean;
}

/** envoy.config.route.v3.RouteAction.RequestMirrorPolicy. */
export interface RequestMirrorPolicyConfig {
  /** Target cluster, or '' when `clusterHeader` names it. */
  readonly cluster: string;
  readonly clusterHeader: string;
  readonly runtimeFraction?: RuntimeFractionConfig;
  readonly traceSampled?: boolean;
  readonly disableShadowHostSuffixAppend: boolean;
}

/** One envoy.config.route.v3.RouteAction.HashPolicy entry. */
export type HashPolicyConfig = {
  /** Stop evaluating further policies once this one produced a hash. */
  readonly terminal: boolean;
} & (
  | { readonly kind: 'header'; readonly headerName: string; readonly regexRewrite?: RegexMatchAndSubstituteConfig }
  | {
      readonly kind: 'cookie';
      readonly name: string;
      readonly ttlMs?: number;
      readonly path: string;
      readonly attributes: readonly { readonly name: string; readonly value: string }[];
    }
  | { readonly kind: 'connection_properties'; readonly sourceIp: boolean }
  | { readonly kind: 'query_parameter'; readonly name: string }
  | { readonly kind: 'filter_state'; readonly key: string }
);

/** envoy.config.route.v3.RouteAction.MaxStreamDuration, in ms. */
export interface MaxStreamDurationConfig {
  readonly maxStreamDurationMs?: number;
  readonly grpcTimeoutHeaderMaxMs?: number;
  readonly grpcTimeoutHeaderOffsetMs?: number;
}

/** envoy.config.route.v3.RouteAction.UpgradeConfig (per-route upgrade enable/disable). */
export interface UpgradeConfig {
  /** Lower-cased upgrade type, e.g. 'websocket', 'connect'. */
  readonly upgradeType: string;
  /** undefined = inherit the HCM setting. */
  readonly enabled?: boolean;
  /** For CONNECT: terminate CONNECT and proxy the payload (connect_config present). */
  readonly connectConfig?: { readonly allowPost: boolean };
}

/** envoy.config.route.v3.CorsPolicy (the legacy in-route field; the cors filter reads it). */
export interface CorsPolicyConfig {
  readonly allowOriginStringMatch: readonly StringMatcherConfig[];
  readonly allowMethods: string;
  readonly allowHeaders: string;
  readonly exposeHeaders: string;
  readonly maxAge: string;
  readonly allowCredentials?: boolean;
  readonly filterEnabled?: RuntimeFractionConfig;
  readonly shadowEnabled?: RuntimeFractionConfig;
  readonly allowPrivateNetworkAccess?: boolean;
  readonly forwardNotMatchingPreflights?: boolean;
}

/** One entry of envoy.config.route.v3.WeightedCluster.clusters. */
export interface WeightedClusterEntryConfig {
  /** Cluster name, or '' when `clusterHeader` names it. */
  readonly name: string;
  readonly clusterHeader: string;
  readonly weight: number;
  readonly metadataMatch?: MetadataConfig;
  readonly headerEdits: HeaderEditsConfig;
  readonly hostRewriteLiteral?: string;
  readonly typedPerFilterConfig: TypedPerFilterConfigMap;
}

/**
 * envoy.config.route.v3.WeightedCluster. `totalWeight` is the configured total_weight when set
 * (translate checks the weights sum to it) and the sum of weights otherwise, which is what
 * current Envoy uses since total_weight was deprecated.
 */
export interface WeightedClustersConfig {
  readonly clusters: readonly WeightedClusterEntryConfig[];
  readonly totalWeight: number;
  readonly runtimeKeyPrefix: string;
  /** Take the random value from this request header instead of the stream's random value. */
  readonly randomValueHeader?: string;
  readonly useHashPolicy?: boolean;
}

/** Which cluster a RouteAction sends to. */
export type ClusterSpecifierConfig =
  | { readonly kind: 'cluster'; readonly name: string }
  | { readonly kind: 'cluster_header'; readonly header: string }
  | { readonly kind: 'weighted_clusters'; readonly weighted: WeightedClustersConfig }
  | { readonly kind: 'cluster_specifier_plugin'; readonly name: string }
  | { readonly kind: 'inline_cluster_specifier_plugin'; readonly typeUrl: string };

/** How the upstream Host/:authority is rewritten (RouteAction host_rewrite_specifier). */
export type HostRewriteConfig =
  | { readonly kind: 'literal'; readonly host: string }
  | { readonly kind: 'auto' }
  | { readonly kind: 'header'; readonly header: string }
  | { readonly kind: 'path_regex'; readonly rewrite: RegexMatchAndSubstituteConfig };

/** What to do with the upstream path. Envoy forbids prefix_rewrite and regex_rewrite together. */
export type PathRewriteConfig =
  | { readonly kind: 'prefix'; readonly prefix: string }
  | { readonly kind: 'regex'; readonly rewrite: RegexMatchAndSubstituteConfig };

/** envoy.config.route.v3.RouteAction.ClusterNotFoundResponseCode. */
export type ClusterNotFoundResponseCode = 'SERVICE_UNAVAILABLE' | 'NOT_FOUND' | 'INTERNAL_SERVER_ERROR';

/** envoy.config.route.v3.RouteAction: forward to an upstream cluster. */
export interface RouteActionConfig {
  readonly clusterSpecifier: ClusterSpecifierConfig;
  readonly clusterNotFoundResponseCode: ClusterNotFoundResponseCode;
  readonly metadataMatch?: MetadataConfig;
  readonly pathRewrite?: PathRewriteConfig;
  readonly hostRewrite?: HostRewriteConfig;
  readonly appendXForwardedHost: boolean;
  /** Upstream timeout; Envoy's default is 15 s, 0 disables. */
  readonly timeoutMs: number;
  readonly idleTimeoutMs?: number;
  readonly retryPolicy?: RetryPolicyConfig;
  readonly hedgePolicy?: HedgePolicyConfig;
  readonly requestMirrorPolicies: readonly RequestMirrorPolicyConfig[];
  readonly priority: 'DEFAULT' | 'HIGH';
  readonly hashPolicy: readonly HashPolicyConfig[];
  readonly cors?: CorsPolicyConfig;
  readonly maxStreamDuration?: MaxStreamDurationConfig;
  /** Legacy: cap for grpc-timeout (0 = no cap, honour grpc-timeout as is). */
  readonly maxGrpcTimeoutMs?: number;
  readonly grpcTimeoutOffsetMs?: number;
  readonly upgradeConfigs: readonly UpgradeConfig[];
  readonly includeVhRateLimits?: boolean;
  readonly internalRedirectAction: 'PASS_THROUGH_INTERNAL_REDIRECT' | 'HANDLE_INTERNAL_REDIRECT';
  readonly maxInternalRedirects?: number;
}

/** envoy.config.route.v3.RedirectAction.RedirectResponseCode as the HTTP status. */
export type RedirectResponseCode = 301 | 302 | 303 | 307 | 308;

/** envoy.config.route.v3.RedirectAction. */
export interface RedirectActionConfig {
  /** New scheme: 'https' for https_redirect, scheme_redirect lower-cased, or undefined to keep. */
  readonly scheme?: string;
  /** host_redirect, '' to keep the request host. */
  readonly host: string;
  /** port_redirect, 0 to keep. */
  readonly port: number;
  readonly path?:
    | { readonly kind: 'path'; readonly path: string }
    | { readonly kind: 'prefix'; readonly prefix: string }
    | { readonly kind: 'regex'; readonly rewrite: RegexMatchAndSubstituteConfig };
  readonly responseCode: RedirectResponseCode;
  readonly stripQuery: boolean;
}

/** envoy.config.route.v3.DirectResponseAction. A `filename` body is read at translate time. */
export interface DirectResponseActionConfig {
  readonly status: number;
  readonly body?: Uint8Array;
}

/** The route's action (Route.action oneof). */
export type RouteActionKindConfig =
  | { readonly kind: 'route'; readonly route: RouteActionConfig }
  | { readonly kind: 'redirect'; readonly redirect: RedirectActionConfig }
  | { readonly kind: 'direct_response'; readonly directResponse: DirectResponseActionConfig }
  | { readonly kind: 'non_forwarding' };

/** The path part of a RouteMatch (path_specifier oneof). */
export type PathMatchConfig =
  | { readonly kind: 'prefix'; readonly prefix: string }
  | { readonly kind: 'path'; readonly path: string }
  | { readonly kind: 'safe_regex'; readonly regex: string }
  | { readonly kind: 'path_separated_prefix'; readonly prefix: string }
  | { readonly kind: 'connect_matcher' };

/** envoy.config.route.v3.RouteMatch. */
export interface RouteMatchConfig {
  readonly path: PathMatchConfig;
  /** Path matching case sensitivity (default true); does not apply to safe_regex. */
  readonly caseSensitive: boolean;
  readonly runtimeFraction?: RuntimeFractionConfig;
  readonly headers: readonly HeaderMatcherConfig[];
  readonly queryParameters: readonly QueryParameterMatcherConfig[];
  /** Only match gRPC requests (content-type application/grpc or application/grpc+...). */
  readonly grpc: boolean;
  /** TlsContextMatchOptions: presented / validated client certificate requirements. */
  readonly tlsContext?: { readonly presented?: boolean; readonly validated?: boolean };
}

/** envoy.config.route.v3.Decorator. */
export interface DecoratorConfig {
  readonly operation: string;
  readonly propagate: boolean;
}

/** envoy.config.route.v3.Route. */
export interface RouteConfig {
  readonly name: string;
  readonly match: RouteMatchConfig;
  readonly action: RouteActionKindConfig;
  readonly metadata: MetadataConfig;
  readonly decorator?: DecoratorConfig;
  readonly headerEdits: HeaderEditsConfig;
  readonly typedPerFilterConfig: TypedPerFilterConfigMap;
  readonly statPrefix: string;
}

/** envoy.config.route.v3.VirtualHost.TlsRequirementType. */
export type TlsRequirement = 'NONE' | 'EXTERNAL_ONLY' | 'ALL';

/** envoy.config.route.v3.VirtualHost. */
export interface VirtualHostConfig {
  readonly name: string;
  /** Lower-cased domains exactly as configured (may carry `*` prefix/suffix wildcards or `:port`). */
  readonly domains: readonly string[];
  readonly routes: readonly RouteConfig[];
  readonly requireTls: TlsRequirement;
  readonly headerEdits: HeaderEditsConfig;
  readonly retryPolicy?: RetryPolicyConfig;
  readonly hedgePolicy?: HedgePolicyConfig;
  readonly cors?: CorsPolicyConfig;
  readonly includeRequestAttemptCount: boolean;
  readonly includeAttemptCountInResponse: boolean;
  readonly perRequestBufferLimitBytes?: number;
  readonly requestMirrorPolicies: readonly RequestMirrorPolicyConfig[];
  readonly metadata: MetadataConfig;
  readonly typedPerFilterConfig: TypedPerFilterConfigMap;
}

/** envoy.config.route.v3.RouteConfiguration, the unit RDS delivers. */
export interface RouteConfigurationConfig {
  readonly name: string;
  readonly virtualHosts: readonly VirtualHostConfig[];
  readonly headerEdits: HeaderEditsConfig;
  /** Lower-cased headers stripped from requests from external clients. */
  readonly internalOnlyHeaders: readonly string[];
  /** Apply header edits least-specific first so the most specific level wins on overwrite. */
  readonly mostSpecificHeaderMutationsWins: boolean;
  /** undefined = Envoy's default (true for static, false for RDS-delivered tables). */
  readonly validateClusters?: boolean;
  /** Envoy default 4096. */
  readonly maxDirectResponseBodySizeBytes: number;
  readonly ignorePortInHostMatching: boolean;
  readonly ignorePathParametersInPathMatching: boolean;
  readonly requestMirrorPolicies: readonly RequestMirrorPolicyConfig[];
  readonly typedPerFilterConfig: TypedPerFilterConfigMap;
  readonly metadata: MetadataConfig;
}
