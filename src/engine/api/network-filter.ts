// Interfaces network filters implement on the worker side, and what a filter sees of a
// downstream connection. A terminal filter (tcp_proxy, http_connection_manager) takes over the
// socket; non-terminal filters observe the connection before it.
import type * as net from 'node:net';
import type { Logger } from 'pino';
import type { StatsScope } from '../../stats/stats-store';
import type { SecretConfig } from '../../config/model/secret';
import type { RouteTable } from '../http/route/route-table';
import type { ClusterManager } from '../upstream/cluster-manager';

/**
 * The runtime a connection (or HTTP stream) was started under: it keeps it until it ends.
 * Built by WorkerEngine.apply from one ConfigSnapshot; read once at accept / stream start.
 */
export interface ConnectionRuntime {
  readonly generation: number;
  readonly clusters: ClusterManager;
  /** Compiled RDS route tables by route configuration name. */
  readonly routes: ReadonlyMap<string, RouteTable>;
  /** SDS secrets by name. */
  readonly secrets: ReadonlyMap<string, SecretConfig>;
}

/** What a connection may read of its listener's drain state (admin /drain_listeners). */
export interface ListenerDrainState {
  /** Set when a graceful drain started: HTTP sends Connection: close / GOAWAY from then on. */
  readonly drainingNotice: boolean;
}

/** A downstream connection after listener filters, as handed to the chosen filter chain. */
export interface DownstreamConnection {
  /** The listener that accepted it (read per response; no callback per request). */
  readonly listener?: ListenerDrainState;
  readonly id: number;
  readonly socket: net.Socket;
  /** Destination the client meant (original destination when recovered, else the local address). */
  readonly destinationIp: string;
  readonly destinationPort: number;
  readonly remoteIp: string;
  readonly remotePort: number;
  readonly runtime: ConnectionRuntime;
  /** Listener stat prefix and per-connection buffer limit. */
  readonly listenerStatPrefix: string;
  readonly bufferLimitBytes: number;
  readonly startTimeMs: number;
  /**
   * original_src listener filter (TPROXY mode): upstream connections for this downstream bind to
   * `address` (the client's IP, port 0) with SO_MARK `mark`; ClusterRuntime.connect honours it.
   */
  readonly originalSource?: { readonly address: string; readonly mark: number };
}

/** Made once per filter chain at materialize time; called once per connection. */
export interface NetworkFilterFactory {
  readonly name: string;
  readonly terminal: boolean;
  /** For a terminal filter: takes ownership of the connection. Non-terminal: observes it. */
  onNewConnection(conn: DownstreamConnection): void;
}

/** What a factory's create half gets from the worker. */
export interface FilterFactoryContext {
  readonly stats: StatsScope;
  readonly log: Logger;
}
