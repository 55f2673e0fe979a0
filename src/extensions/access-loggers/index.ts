// Parse halves of access loggers (file, stdout, stderr, gRPC). Entries in ACCEPTED are
// recognised but write nothing until the access log runtime exists.
import { passThroughParsers, T, type Accepted } from '../accepted';
import type { ExtensionParser } from '../registry';

const ACCEPTED: readonly Accepted[] = [
  { category: 'access_logger', names: ['envoy.access_loggers.file', 'envoy.file_access_log'], typeUrls: [`${T}envoy.extensions.access_loggers.file.v3.FileAccessLog`] },
  { category: 'access_logger', names: ['envoy.access_loggers.stdout'], typeUrls: [`${T}envoy.extensions.access_loggers.stream.v3.StdoutAccessLog`] },
  { category: 'access_logger', names: ['envoy.access_loggers.stderr'], typeUrls: [`${T}envoy.extensions.access_loggers.stream.v3.StderrAccessLog`] },
  { category: 'access_logger', names: ['envoy.access_loggers.http_grpc'], typeUrls: [`${T}envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig`] },
  { category: 'access_logger', names: ['envoy.access_loggers.tcp_grpc'], typeUrls: [`${T}envoy.extensions.access_loggers.grpc.v3.TcpGrpcAccessLogConfig`] },
];

export function accessLoggerParsers(): ExtensionParser[] {
  return passThroughParsers(ACCEPTED);
}
