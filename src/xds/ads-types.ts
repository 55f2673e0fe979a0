// Public types of the ADS client: what it hands to its consumer for every DiscoveryResponse
// (decoded resources plus raw bytes, removals) and what the consumer answers (per-resource
// errors, which become a NACK). xds/ stops here: the consumer (control/ wiring into translate
// and store) owns what the resources mean.
import type { ResourceError } from './nack-message';

/** A decoded protobufjs message (fields in lowerCamelCase). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type DecodedMessage = Record<string, any>;

export type AdsApiType = 'GRPC' | 'DELTA_GRPC';

/** One resource of a response, decoded. */
export interface AdsResource {
  readonly name: string;
  /** Per-resource version (delta Resource.version, or a SotW Resource wrapper's); often unset. */
  readonly version?: string;
  /** The Any value bytes exactly as received (an own copy), for an exact config_dump. */
  readonly raw: Uint8Array;
  readonly message: DecodedMessage;
}

/** A response handed to the consumer. */
export interface AdsUpdate {
  readonly typeUrl: string;
  /** SotW: the response's version_info. Delta: system_version_info. */
  readonly versionInfo: string;
  readonly nonce: string;
  readonly resources: readonly AdsResource[];
  /**
   * Resources that could not be decoded (wrong Any type, bad bytes, no name): reported so the
   * consumer can show them; the client NACKs them whatever the consumer answers.
   */
  readonly invalid: readonly ResourceError[];
  /**
   * Names the server deleted: delta removed_resources, or for SotW wildcard types (LDS/CDS)
   * names held before and missing from this response. SotW never removes RDS/EDS/SDS by absence.
   */
  readonly removed: readonly string[];
  readonly sotw: boolean;
}

/** The consumer's verdict: empty errors means ACK. */
export interface AdsUpdateResult {
  readonly errors: readonly ResourceError[];
}

export type AdsUpdateHandler = (update: AdsUpdate) => AdsUpdateResult | Promise<AdsUpdateResult>;

/** Pino-compatible subset the client logs through. */
export interface AdsLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** Envoy's per-subscription counters (`<prefix>.update_attempt` ...); stats wiring maps them. */
export interface AdsTypeCounters {
  update_attempt: number;
  update_success: number;
  update_rejected: number;
  update_failure: number;
}

export interface AdsClientCounters {
  /** Streams that got their first sign of life from the server. */
  connected: number;
  /** Streams that ended (error, server close, or stop). */
  disconnected: number;
  /** 1 while a stream is live, like Envoy's control_plane.connected_state. */
  connected_state: number;
  readonly types: Map<string, AdsTypeCounters>;
}
