// The small interfaces the HTTP connection manager implements so the compiled route table can
// answer "which route" and evaluate header formats without knowing the codec: RouteRequest
// (what the matcher reads), HeaderFormatContext (what %COMMAND% values read) and
// MutableHeaders (what header edits write). Worker side, per request; implementations should
// be plain objects or classes with methods on the prototype (no per-request closures).

/**
 * What route matching reads from a request. All strings as received after the HCM's own
 * normalisation (path normalisation, x-forwarded-proto handling).
 */
export interface RouteRequest {
  /** Upper-case method, e.g. 'GET', 'CONNECT'. */
  readonly method: string;
  /** :authority or Host as received (any case, may carry a port). '' when absent. */
  readonly authority: string;
  /** :path including the query string; '' for an HTTP/1 CONNECT. */
  readonly path: string;
  /** The request's effective scheme as Envoy's x-forwarded-proto: 'http' or 'https'. */
  readonly scheme: string;
  /**
   * Per-stream random value, a non-negative integer below 2^53 (Envoy draws one uint64 per
   * stream). Used for runtime_fraction and weighted cluster choice; equal values give equal
   * choices, which tests rely on.
   */
  readonly random: number;
  /** True when a client certificate was presented / validated (RouteMatch.tls_context). */
  readonly tlsPresented?: boolean;
  readonly tlsValidated?: boolean;
  /**
   * Value of a regular request header by lower-case name, several values joined with ','
   * (Envoy getAllOfHeaderAsString), or undefined when absent. Pseudo-headers are not asked for:
   * the table reads method/authority/path/scheme above instead.
   */
  header(name: string): string | undefined;
}

/** TLS facts of the downstream connection, for %DOWNSTREAM_PEER_URI_SAN% and friends. */
export interface DownstreamTlsInfo {
  readonly peerUriSan: string;
  readonly localUriSan: string;
  readonly peerSubject: string;
  readonly localSubject: string;
  readonly peerIssuer: string;
  readonly version: string;
  readonly cipher: string;
  readonly peerFingerprint256: string;
  readonly peerSerial: string;
}

/**
 * What header value formats read. Addresses are formatted as Envoy prints them: `ip:port`, or
 * `[v6]:port`; '' when unknown. Metadata lookups return the JSON value at the path, or
 * undefined.
 */
export interface HeaderFormatContext {
  readonly downstreamRemoteAddress: string;
  readonly downstreamDirectRemoteAddress: string;
  readonly downstreamLocalAddress: string;
  readonly upstreamRemoteAddress: string;
  readonly upstreamLocalAddress: string;
  readonly upstreamCluster: string;
  /** 'HTTP/1.0', 'HTTP/1.1', 'HTTP/2', 'HTTP/3'. */
  readonly protocol: string;
  /** Stream start, ms since the epoch. */
  readonly startTimeMs: number;
  readonly routeName: string;
  readonly requestedServerName: string;
  readonly connectionId: number;
  /** Response status, 0 before there is one. */
  readonly responseCode: number;
  readonly responseFlags: string;
  readonly tls: DownstreamTlsInfo | null;
  requestHeader(name: string): string | undefined;
  responseHeader(name: string): string | undefined;
  upstreamMetadata(namespace: string, path: readonly string[]): unknown;
  dynamicMetadata(namespace: string, path: readonly string[]): unknown;
  clusterMetadata(namespace: string, path: readonly string[]): unknown;
  filterState(key: string): string | undefined;
}

/** The header map that edits are applied to (request or response). Names are lower-case. */
export interface MutableHeaders {
  get(name: string): string | undefined;
  /** Replace every value of `name` with `value`. */
  set(name: string, value: string): void;
  /** Add one more value of `name` (keeps existing ones). */
  add(name: string, value: string): void;
  remove(name: string): void;
}
