// The fields Envoy's v3 API marks `(udpa.annotations.sensitive) = true`, which config_dump
// redacts (Envoy MessageUtil::redact). Our reflection root is built with protobufjs from a
// descriptor set, which drops custom field options, so the list is kept here by full field name
// (message full name + proto field name); sensitive-fields.test.ts checks it against the .proto
// sources of the pinned Envoy API package whenever they are installed.
const SENSITIVE = new Set([
  'envoy.config.core.v3.GrpcService.GoogleGrpc.SslCredentials.private_key',
  'envoy.config.grpc_credential.v3.FileBasedMetadataConfig.secret_data',
  'envoy.config.trace.v3.ClientConfig.backend_token',
  'envoy.extensions.filters.http.basic_auth.v3.BasicAuth.users',
  'envoy.extensions.filters.http.basic_auth.v3.BasicAuthPerRoute.users',
  'envoy.extensions.filters.http.ext_authz.v3.CheckSettings.context_extensions',
  'envoy.extensions.filters.network.redis_proxy.v3.RedisProtocolOptions.auth_password',
  'envoy.extensions.filters.network.redis_proxy.v3.RedisProtocolOptions.auth_username',
  'envoy.extensions.filters.network.redis_proxy.v3.RedisProxy.downstream_auth_password',
  'envoy.extensions.filters.network.redis_proxy.v3.RedisProxy.downstream_auth_passwords',
  'envoy.extensions.filters.network.redis_proxy.v3.RedisProxy.downstream_auth_username',
  'envoy.extensions.transport_sockets.tls.v3.GenericSecret.secret',
  'envoy.extensions.transport_sockets.tls.v3.PrivateKeyProvider.typed_config',
  'envoy.extensions.transport_sockets.tls.v3.TlsCertificate.password',
  'envoy.extensions.transport_sockets.tls.v3.TlsCertificate.pkcs12',
  'envoy.extensions.transport_sockets.tls.v3.TlsCertificate.private_key',
  'envoy.extensions.transport_sockets.tls.v3.TlsSessionTicketKeys.keys',
]);

export const SENSITIVE_FIELDS: ReadonlySet<string> = SENSITIVE;

/** True when `<messageFullName>.<protoFieldName>` is marked sensitive in Envoy's API. */
export function isSensitiveField(messageFullName: string, protoFieldName: string): boolean {
  return SENSITIVE.has(`${messageFullName}.${protoFieldName}`);
}
