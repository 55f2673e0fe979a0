// Config model of the bootstrap `stats_config` (envoy.config.metrics.v3.StatsConfig): plain,
// frozen, structured-clone-safe data produced by config/translate/stats-config.ts. The control
// side builds its StatsStore and the /stats/prometheus renderer from it, and sends it to each
// worker, whose StatsStore applies the same stats matcher and histogram buckets. The shape is
// assignable to stats/stats-options.ts `StatsOptionsSpec` (stats/ cannot import the model).

/** Envoy StringMatcher as used by stats_matcher and histogram_bucket_settings. */
export interface StatsStringMatcherConfig {
  readonly kind: 'exact' | 'prefix' | 'suffix' | 'contains' | 'safe_regex';
  /** Literal, or the RE2 pattern (full match) for safe_regex. */
  readonly value: string;
  readonly ignoreCase: boolean;
}

export interface StatsMatcherConfig {
  /** `all` when stats_matcher is unset or reject_all is false. */
  readonly kind: 'all' | 'reject_all' | 'inclusion' | 'exclusion';
  readonly patterns: readonly StatsStringMatcherConfig[];
}

export interface TagSpecifierConfig {
  readonly tagName: string;
  /** The regex as configured (Envoy std::regex, ECMAScript grammar), for config_dump. */
  readonly regex: string | undefined;
  /** The same regex in V8 syntax (POSIX bracket classes rewritten), checked to compile. */
  readonly ecmaRegex: string | undefined;
  readonly fixedValue: string | undefined;
}

export interface HistogramBucketConfig {
  readonly match: StatsStringMatcherConfig;
  /** Ascending, unique, > 0. */
  readonly buckets: readonly number[];
}

export interface StatsConfig {
  readonly statsTags: readonly TagSpecifierConfig[];
  /** BoolValue, default true: Envoy's built-in tag extractors are added first. */
  readonly useAllDefaultTags: boolean;
  readonly statsMatcher: StatsMatcherConfig;
  readonly histogramBucketSettings: readonly HistogramBucketConfig[];
}

/** Envoy's defaults: no custom tags, all default tags, every stat, default buckets. */
export const DEFAULT_STATS_CONFIG: StatsConfig = Object.freeze({
  statsTags: Object.freeze([]) as readonly TagSpecifierConfig[],
  useAllDefaultTags: true,
  statsMatcher: Object.freeze({ kind: 'all', patterns: Object.freeze([]) as readonly StatsStringMatcherConfig[] }) as StatsMatcherConfig,
  histogramBucketSettings: Object.freeze([]) as readonly HistogramBucketConfig[],
});

/**
 * Names of Envoy's built-in tag extractors (well_known_names.cc). A stats_tags entry with
 * neither regex nor fixed_value must name one of them. stats/default-tags.ts holds the
 * extractors themselves; a test keeps the two lists equal.
 */
export const ENVOY_DEFAULT_TAG_NAMES: readonly string[] = Object.freeze([
  'envoy.response_code',
  'envoy.response_code_class',
  'envoy.dynamo_partition_id',
  'envoy.dynamo_operation',
  'envoy.dynamo_table',
  'envoy.ssl_cipher',
  'envoy.ssl_curve',
  'envoy.ssl_sigalg',
  'envoy.ssl_version',
  'cipher_suite',
  'envoy.http_conn_manager_prefix',
  'envoy.worker_id',
  'envoy.listener_address',
  'envoy.rds_route_config',
  'envoy.mongo_callsite',
  'envoy.mongo_collection',
  'envoy.mongo_cmd',
  'envoy.grpc_bridge_method',
  'envoy.http_user_agent',
  'envoy.virtual_cluster',
  'envoy.fault_downstream_cluster',
  'envoy.grpc_bridge_service',
  'envoy.tcp_prefix',
  'envoy.udp_prefix',
  'envoy.clientssl_prefix',
  'envoy.ratelimit_prefix',
  'envoy.cluster_name',
  'envoy.ext_authz_prefix',
  'envoy.virtual_host',
  'envoy.mongo_prefix',
  'envoy.route',
  'envoy.thrift_prefix',
  'envoy.redis_prefix',
  'envoy.local_http_ratelimit_prefix',
  'envoy.local_network_ratelimit_prefix',
  'envoy.local_listener_ratelimit_prefix',
  'envoy.dns_filter_prefix',
]);
