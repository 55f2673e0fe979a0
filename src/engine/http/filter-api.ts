// The HTTP filter interfaces (Envoy's envoy/http/filter.h, reduced): what an HTTP filter
// implements and what it can ask of its stream. The HTTP connection manager runs decoder
// callbacks in chain order and encoder callbacks in reverse; a filter may stop decoding
// (STOP) and later call continueDecoding(), or answer with a local reply at any point. The
// router is the terminal filter. Filter configs are built once per filter chain (the factory);
// one filter instance is made per stream (Envoy FilterFactoryCb).
// TODO(hcm): move to engine/api/http-filter.ts (engine/api is owned elsewhere).
import type { TypedPerFilterConfig } from '../../config/model/route';
import type { HeaderMap } from './header-map';
import type { RouteRequest } from './route/route-request';
import type { RouteMatch } from './route/route-table';
import type { ConnectionRuntime, DownstreamConnection } from '../api/network-filter';

export const CONTINUE = 0;
export const STOP = 1;
export type FilterStatus = typeof CONTINUE | typeof STOP;

/**
 * What a filter sees of its stream (implemented by the HCM's ActiveStream). It is also the
 * RouteRequest compiled header matchers read.
 */
export interface HttpStreamCallbacks extends RouteRequest {
  readonly method: string;
  /** :path as received (after path normalisation). */
  readonly path: string;
  readonly authority: string;
  readonly scheme: string;
  readonly requestHeaders: HeaderMap;
  readonly connection: DownstreamConnection;
  readonly runtime: ConnectionRuntime;
  /** The route picked at stream start (null: no route). Filters may call clearRouteCache(). */
  readonly route: RouteMatch | null;
  readonly isGrpc: boolean;
  /** Response status once headers were encoded, else 0. */
  readonly responseCode: number;
  /** Resumes a decode chain stopped by this filter. */
  continueDecoding(): void;
  /**
   * Answers the request here (Envoy sendLocalReply): status, body (text/plain), response code
   * details for %RESPONSE_CODE_DETAILS%, optional response flag and headers to add. For gRPC
   * requests the reply becomes a trailers-only gRPC response with grpc-status/grpc-message.
   */
  sendLocalReply(status: number, body: string, details: string, flag?: string, headers?: readonly string[], grpcStatus?: number): void;
  /** Adds a response flag (e.g. 'FI' fault injected, 'DI' delay injected, 'RL'). */
  setResponseFlag(flag: string): void;
  /** Per-filter config override on the route (typed_per_filter_config), already parsed. */
  perFilterConfig(filterName: string): unknown;
}

export interface HttpFilter {
  decodeHeaders?(s: HttpStreamCallbacks, endStream: boolean): FilterStatus;
  decodeData?(s: HttpStreamCallbacks, chunk: Buffer, endStream: boolean): void;
  decodeTrailers?(s: HttpStreamCallbacks, trailers: HeaderMap): void;
  /** Response headers on their way out; may edit them. */
  encodeHeaders?(s: HttpStreamCallbacks, status: number, headers: HeaderMap, endStream: boolean): void;
  /** The stream ended (complete, reset or local reply): release timers and resources. */
  onDestroy?(): void;
}

/**
 * Made once per filter chain; `create` is called once per stream with the route's most specific
 * typed_per_filter_config entry for this filter (weighted cluster, route, virtual host, route
 * configuration), if any. Factories compile an entry's `parsed` config once (e.g. in a WeakMap
 * keyed by the entry) and use it instead of their own config, as Envoy's
 * resolveMostSpecificPerFilterConfig does.
 */
export interface HttpFilterFactory {
  readonly name: string;
  create(perRoute?: TypedPerFilterConfig): HttpFilter;
}
