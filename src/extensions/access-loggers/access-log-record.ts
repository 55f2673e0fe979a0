// What an access logger reads about one finished HTTP stream or TCP connection (Envoy's
// StreamInfo, reduced to what the substitution formatter and the access log filters use).
// Implemented by the HCM's ActiveStream and by the tcp_proxy session; read synchronously once,
// when the log line is rendered.

/** Case-insensitive header lookup by lower-case name (several values joined by ','). */
export interface HeaderLookup {
  getAll(name: string): string | undefined;
}

export interface AccessLogRecord {
  /** Stream start, ms since the epoch. */
  readonly startTimeMs: number;
  /** Total duration in ms (start to last byte sent), -1 when unknown. */
  readonly durationMs: number;
  /** Time from start to the last request byte received, -1 when not complete. */
  readonly requestDurationMs: number;
  /** Time from start to the first response byte sent, -1 when none. */
  readonly responseDurationMs: number;
  readonly requestHeaders: HeaderLookup | null;
  readonly responseHeaders: HeaderLookup | null;
  readonly responseTrailers: HeaderLookup | null;
  /** Pseudo-headers of the request ('' when absent, e.g. on TCP). */
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly scheme: string;
  /** 'HTTP/1.1', 'HTTP/2', ... ; '' for TCP. */
  readonly protocol: string;
  /** 0 when no response was sent. */
  readonly responseCode: number;
  /** Envoy short flags joined by ',' ('' when none; the formatter prints '-'). */
  readonly responseFlags: string;
  readonly responseCodeDetails: string;
  readonly connectionTerminationDetails: string;
  readonly upstreamTransportFailureReason: string;
  readonly bytesReceived: number;
  readonly bytesSent: number;
  /** "ip:port" of the upstream host, '' when none. */
  readonly upstreamHost: string;
  readonly upstreamCluster: string;
  readonly upstreamLocalAddress: string;
  readonly downstreamLocalAddress: string;
  readonly downstreamRemoteAddress: string;
  readonly downstreamDirectRemoteAddress: string;
  readonly requestedServerName: string;
  readonly routeName: string;
  readonly connectionId: number;
  /** Stream ended because of a health check request (not_health_check filter). */
  readonly isHealthCheck: boolean;
  /** Upstream attempts made (for %UPSTREAM_REQUEST_ATTEMPT_COUNT%). */
  readonly attemptCount: number;
}
