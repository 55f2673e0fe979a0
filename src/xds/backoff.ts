// Reconnect delay for the ADS stream: jittered exponential backoff, 500 ms base and 30 s cap as
// Envoy's GrpcStream uses for xDS (source/common/config/grpc_stream.h, RETRY_INITIAL_DELAY_MS and
// RETRY_MAX_DELAY_MS) with "full jitter" like JitteredExponentialBackOffStrategy: each delay is
// drawn uniformly below the current ceiling, and the ceiling doubles per failed attempt. The
// stream resets it once a response arrives.

export const ADS_BACKOFF_INITIAL_MS = 500;
export const ADS_BACKOFF_MAX_MS = 30_000;

export interface BackoffOptions {
  readonly initialMs?: number;
  readonly maxMs?: number;
  /** Uniform [0, 1) source; tests inject a fixed one. */
  readonly random?: () => number;
}

export class Backoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;
  private attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? ADS_BACKOFF_INITIAL_MS;
    this.maxMs = Math.max(options.maxMs ?? ADS_BACKOFF_MAX_MS, this.initialMs);
    this.random = options.random ?? Math.random;
  }

  /** Delay before the next attempt, in ms; grows the ceiling for the one after. */
  nextDelayMs(): number {
    // Ceiling = initial * 2^attempt, capped; the shift is bounded so it never overflows.
    const ceiling = Math.min(this.initialMs * 2 ** Math.min(this.attempt, 30), this.maxMs);
    this.attempt++;
    // Never below a small floor, so a flapping server cannot make us spin.
    return Math.max(Math.floor(this.random() * ceiling), Math.min(this.initialMs, 10));
  }

  /** Current ceiling (for logs and tests). */
  get ceilingMs(): number {
    return Math.min(this.initialMs * 2 ** Math.min(this.attempt, 30), this.maxMs);
  }

  reset(): void {
    this.attempt = 0;
  }
}
