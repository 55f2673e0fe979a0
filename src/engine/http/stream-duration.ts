// Maximum stream duration, as Envoy's ActiveStream::refreshDurationTimeout computes it once the
// route is known: the HCM's common_http_protocol_options.max_stream_duration, replaced by the
// route's max_stream_duration.max_stream_duration when set (0 = none), or, for a request with
// a grpc-timeout header on a route with grpc_timeout_header_max, the header's value capped by
// that max (0 = no cap) minus grpc_timeout_header_offset. Routes with max_stream_duration
// ("new timeouts") also pass the resulting deadline upstream in grpc-timeout. When the timer
// fires the HCM answers 408 (request not fully received) or 504, gRPC status
// DEADLINE_EXCEEDED, details max_duration_timeout; a started response is reset instead.
// The timer object exists only for streams with a limit.
import type { RouteActionConfig } from '../../config/model/route';
import { parseGrpcTimeout, toGrpcTimeout } from './grpc-timeout';
import type { HeaderMap } from './header-map';
import { CoarseTimer, type CoarseTimerTarget } from './timer';

/** Milliseconds the stream may last from its start, or -1 for no limit. May edit grpc-timeout. */
export function streamDurationMs(ra: RouteActionConfig | null, hcmMaxMs: number, h: HeaderMap, isGrpc: boolean): number {
  if (ra === null) return hcmMaxMs > 0 ? hcmMaxMs : -1;
  const msd = ra.maxStreamDuration;
  const grpcTimeout = msd?.grpcTimeoutHeaderMaxMs !== undefined ? parseGrpcTimeout(h.get('grpc-timeout')) : undefined;
  let timeout: number;
  if (grpcTimeout === undefined) {
    if (msd?.maxStreamDurationMs !== undefined) timeout = msd.maxStreamDurationMs === 0 ? -1 : msd.maxStreamDurationMs;
    else timeout = hcmMaxMs > 0 ? hcmMaxMs : -1;
  } else {
    timeout = grpcTimeout;
    const max = msd!.grpcTimeoutHeaderMaxMs!;
    if (max !== 0 && timeout > max) timeout = max;
    const offset = msd!.grpcTimeoutHeaderOffsetMs;
    if (timeout !== 0 && offset !== undefined) timeout = offset < timeout ? timeout - offset : 0;
  }
  if (msd !== undefined && isGrpc) {
    if (timeout < 0) {
      if (hcmMaxMs > 0) h.remove('grpc-timeout');
    } else h.set('grpc-timeout', toGrpcTimeout(timeout));
  }
  return timeout;
}

/** What the timer calls when the duration is reached. */
export interface StreamDurationOwner {
  onStreamMaxDurationReached(): void;
}

/** One armed max-duration timer on the shared coarse tick. */
export class StreamDurationTimer implements CoarseTimerTarget {
  private readonly timer: CoarseTimer;
  constructor(private readonly owner: StreamDurationOwner) {
    this.timer = new CoarseTimer(this, 0);
  }
  arm(ms: number): void {
    this.timer.arm(ms);
  }
  disarm(): void {
    if (this.timer.armed) this.timer.disarm();
  }
  onCoarseTimer(): void {
    this.owner.onStreamMaxDurationReached();
  }
}
