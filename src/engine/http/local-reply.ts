// The one place data-path failures become local replies: Envoy's response flags, response code
// details and bodies (source/common/router/router.cc, stream_info/utility.cc), and the HTTP ->
// gRPC status map used when a local reply answers a gRPC request (Grpc::Utility::httpToGrpcStatus).

/** Envoy short response flags (as printed by %RESPONSE_FLAGS%). */
export const FLAG = {
  NO_ROUTE: 'NR',
  NO_HEALTHY_UPSTREAM: 'UH',
  UPSTREAM_CONNECTION_FAILURE: 'UF',
  UPSTREAM_REQUEST_TIMEOUT: 'UT',
  UPSTREAM_CONNECTION_TERMINATION: 'UC',
  UPSTREAM_REMOTE_RESET: 'UR',
  UPSTREAM_RETRY_LIMIT_EXCEEDED: 'URX',
  UPSTREAM_PROTOCOL_ERROR: 'UPE',
  UPSTREAM_OVERFLOW: 'UO',
  /** EDS drop_overloads dropped the request (Envoy's DropOverLoad). */
  DROP_OVERLOAD: 'DO',
  NO_CLUSTER_FOUND: 'NC',
  DOWNSTREAM_CONNECTION_TERMINATION: 'DC',
  DOWNSTREAM_PROTOCOL_ERROR: 'DPE',
  STREAM_IDLE_TIMEOUT: 'SI',
  FAULT_INJECTED: 'FI',
  DELAY_INJECTED: 'DI',
  RATE_LIMITED: 'RL',
  DURATION_TIMEOUT: 'DT',
} as const;

/** Reasons an upstream attempt ended before a response (Envoy Http::StreamResetReason). */
export type ResetReason = 'connection_failure' | 'connection_timeout' | 'connection_termination' | 'overflow' | 'protocol_error' | 'remote_reset' | 'remote_refused_stream_reset' | 'local_reset';

/** Text Envoy uses for a reset reason in bodies and details (Http::Utility::resetReasonToString). */
export const RESET_TEXT: Readonly<Record<ResetReason, string>> = {
  connection_failure: 'connection failure',
  connection_timeout: 'connection timeout',
  connection_termination: 'connection termination',
  overflow: 'overflow',
  protocol_error: 'protocol error',
  remote_reset: 'remote reset',
  remote_refused_stream_reset: 'remote refused stream reset',
  local_reset: 'local reset',
};

/** Response flag for a reset before headers (Envoy Filter::streamResetReasonToResponseFlag). */
export function resetFlag(r: ResetReason): string {
  switch (r) {
    case 'connection_failure':
    case 'connection_timeout':
      return FLAG.UPSTREAM_CONNECTION_FAILURE;
    case 'connection_termination':
      return FLAG.UPSTREAM_CONNECTION_TERMINATION;
    case 'overflow':
      return FLAG.UPSTREAM_OVERFLOW;
    case 'protocol_error':
      return FLAG.UPSTREAM_PROTOCOL_ERROR;
    default:
      return FLAG.UPSTREAM_REMOTE_RESET;
  }
}

/** Body of the 503 Envoy sends when an upstream attempt failed before response headers. */
export function resetBody(r: ResetReason, retried: boolean): string {
  return retried
    ? `upstream connect error or disconnect/reset before headers. retried and the latest reset reason: ${RESET_TEXT[r]}`
    : `upstream connect error or disconnect/reset before headers. reset reason: ${RESET_TEXT[r]}`;
}

/** %RESPONSE_CODE_DETAILS% for the same case. */
export function resetDetails(r: ResetReason): string {
  return `upstream_reset_before_response_started{${RESET_TEXT[r].replace(/ /g, '_')}}`;
}

export const DETAILS = {
  ROUTE_NOT_FOUND: 'route_not_found',
  CLUSTER_NOT_FOUND: 'cluster_not_found',
  NO_HEALTHY_UPSTREAM: 'no_healthy_upstream',
  DROP_OVERLOAD: 'drop_overload',
  UPSTREAM_TIMEOUT: 'upstream_response_timeout',
  UPSTREAM_PER_TRY_TIMEOUT: 'upstream_per_try_timeout',
  DIRECT_RESPONSE: 'direct_response',
  VIA_UPSTREAM: 'via_upstream',
  STREAM_IDLE_TIMEOUT: 'stream_idle_timeout',
  REQUEST_OVERALL_TIMEOUT: 'request_overall_timeout',
  REQUEST_HEADERS_TIMEOUT: 'request_header_timeout',
  MISSING_HOST: 'missing_host_header',
  UNDERSCORE: 'unexpected_underscore',
  UPGRADE_FAILED: 'upgrade_failed',
  MAX_DURATION: 'max_duration_timeout',
  INVALID_PATH: 'path_normalization_failed',
} as const;

/** Envoy Grpc::Utility::httpToGrpcStatus. */
export function httpToGrpcStatus(status: number): number {
  switch (status) {
    case 400:
      return 13;
    case 401:
      return 16;
    case 403:
      return 7;
    case 404:
      return 12;
    case 429:
    case 502:
    case 503:
    case 504:
      return 14;
    default:
      return 2;
  }
}
