// Envoy's built-in tag extractors (source/common/config/well_known_names.cc, TagNameValues),
// applied when stats_config.use_all_default_tags is unset or true, or per name when a
// stats_tags entry names one without a regex. Written here in ECMAScript syntax. Regex
// descriptors use Envoy's RE2 rules (group 1 is removed from the name and must be non-empty,
// group 2 is the value, or group 1 when group 2 is empty; `substr` must occur in the name;
// `negativeMatch` is a value that is never a tag). Token descriptors use Envoy's tokenized
// matcher over dot-separated tokens: `*` one token, `**` any number, `$` the captured token.
// Order matters (Envoy adds the regex descriptors first, then the token ones).

export type DefaultTagDescriptor =
  | { readonly kind: 'regex'; readonly name: string; readonly regex: string; readonly substr: string; readonly negativeMatch: string }
  | { readonly kind: 'tokens'; readonly name: string; readonly pattern: string };

// Building blocks, expanded into the patterns below as Envoy's expandRegex() does.
const ADDRESS = String.raw`(?:(?:\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[[a-fA-F_\d]+\])_\d+)`;
const CIPHER = String.raw`[\w-]+`;
const TLS_VERSION = String.raw`TLSv\d\.\d`;
const TAG_VALUE = String.raw`[^\.]+`;
const ROUTE_CONFIG_NAME = String.raw`[\w\-\.]+`;
const LISTENER_OR_CLUSTER = String.raw`(?:listener|cluster)\..*?`;

function re(name: string, regex: string, substr = '', negativeMatch = ''): DefaultTagDescriptor {
  return { kind: 'regex', name, regex, substr, negativeMatch };
}

function tok(name: string, pattern: string): DefaultTagDescriptor {
  return { kind: 'tokens', name, pattern };
}

export const DEFAULT_TAG_DESCRIPTORS: readonly DefaultTagDescriptor[] = Object.freeze([
  // <anything>_rq(_<3-digit code>)
  re('envoy.response_code', String.raw`_rq(_(\d{3}))$`, '_rq_'),
  // <anything>_rq_(<digit>)xx
  re('envoy.response_code_class', String.raw`_rq_((\d))xx$`, '_rq_'),
  re(
    'envoy.dynamo_partition_id',
    String.raw`^http\.${TAG_VALUE}\.dynamodb\.table\.${TAG_VALUE}\.capacity\.${TAG_VALUE}(\.__partition_id=(\w{7}))$`,
    '.dynamodb.table.',
  ),
  re(
    'envoy.dynamo_operation',
    String.raw`^http\.${TAG_VALUE}\.dynamodb.(?:operation|table\.${TAG_VALUE}\.capacity)(\.(${TAG_VALUE}))(?:\.|$)`,
    '.dynamodb.',
  ),
  re('envoy.dynamo_table', String.raw`^http\.${TAG_VALUE}\.dynamodb.(?:table|error)\.((${TAG_VALUE})\.)`, '.dynamodb.'),
  // listener.<address>.ssl.ciphers.(<cipher>) and the curve / sigalg / version siblings
  re('envoy.ssl_cipher', String.raw`^listener\..*?\.ssl\.ciphers(\.(${CIPHER}))$`, '.ssl.ciphers.'),
  re('envoy.ssl_curve', String.raw`^${LISTENER_OR_CLUSTER}\.ssl\.curves(\.(${CIPHER}))$`, '.ssl.curves.'),
  re('envoy.ssl_sigalg', String.raw`^${LISTENER_OR_CLUSTER}\.ssl\.sigalgs(\.(${CIPHER}))$`, '.ssl.sigalgs.'),
  re('envoy.ssl_version', String.raw`^${LISTENER_OR_CLUSTER}\.ssl\.versions(\.(${TLS_VERSION}))$`, '.ssl.versions.'),
  re('cipher_suite', String.raw`^cluster\.${TAG_VALUE}\.ssl\.ciphers(\.(${CIPHER}))$`, '.ssl.ciphers.'),
  // listener.<address>.http.(<stat_prefix>.)
  re('envoy.http_conn_manager_prefix', String.raw`^listener\..*?\.http\.((${TAG_VALUE})\.)`, '.http.'),
  // listener.<address>.(worker_<id>.), server.(worker_<id>.), listener_manager.(worker_<id>.)
  re('envoy.worker_id', String.raw`^(?:listener\.(?:${ADDRESS}|${TAG_VALUE})\.|server\.|listener_manager\.)worker_((\d+)\.)`),
  // listener.(<address or stat_prefix>.), never "admin"
  re('envoy.listener_address', String.raw`^listener\.((${ADDRESS}|${TAG_VALUE})\.)`, '', 'admin'),
  // http.<stat_prefix>.rds.(<route_config_name>.)<stat>
  re('envoy.rds_route_config', String.raw`^http\.${TAG_VALUE}\.rds\.((${ROUTE_CONFIG_NAME})\.)\w+?$`, '.rds.'),

  tok('envoy.mongo_callsite', 'mongo.*.collection.*.callsite.$.query.**'),
  tok('envoy.mongo_collection', 'mongo.*.collection.$.**.query.*'),
  tok('envoy.mongo_cmd', 'mongo.*.cmd.$.**'),
  tok('envoy.grpc_bridge_method', 'cluster.*.grpc.*.$.**'),
  tok('envoy.http_user_agent', 'http.*.user_agent.$.**'),
  tok('envoy.virtual_cluster', 'vhost.*.vcluster.$.**'),
  tok('envoy.fault_downstream_cluster', 'http.*.fault.$.**'),
  tok('envoy.grpc_bridge_service', 'cluster.*.grpc.$.**'),
  tok('envoy.tcp_prefix', 'tcp.$.**'),
  tok('envoy.udp_prefix', 'udp.$.**'),
  tok('envoy.clientssl_prefix', 'auth.clientssl.$.**'),
  tok('envoy.ratelimit_prefix', 'ratelimit.$.**'),
  tok('envoy.cluster_name', 'cluster.$.**'),
  tok('envoy.ext_authz_prefix', 'cluster.*.ext_authz.$.**'),
  tok('envoy.ext_authz_prefix', 'http.*.ext_authz.$.**'),
  tok('envoy.http_conn_manager_prefix', 'http.$.**'),
  tok('envoy.virtual_host', 'vhost.$.**'),
  tok('envoy.mongo_prefix', 'mongo.$.**'),
  tok('envoy.route', 'vhost.*.route.$.**'),
  tok('envoy.thrift_prefix', 'thrift.$.**'),
  tok('envoy.redis_prefix', 'redis.$.**'),
  tok('envoy.local_http_ratelimit_prefix', '$.http_local_rate_limit.**'),
  tok('envoy.local_network_ratelimit_prefix', 'local_rate_limit.$.**'),
  tok('envoy.local_listener_ratelimit_prefix', 'listener_local_ratelimit.$.**'),
  tok('envoy.dns_filter_prefix', 'dns_filter.$.**'),
]);

/** Names of Envoy's default tags (a stats_tags entry without regex must use one of these). */
export const DEFAULT_TAG_NAMES: ReadonlySet<string> = new Set(DEFAULT_TAG_DESCRIPTORS.map((d) => d.name));
