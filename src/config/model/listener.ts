// Listener configuration model (from envoy.config.listener.v3.Listener): plain, frozen,
// structured-clone-safe data that the control side builds once per resource and workers turn
// into ActiveListeners. Extension configs (filters) are whatever their parse half returned.
import type { AddressConfig, CidrRangeConfig } from './address';

/** A configured extension instance: its name, the type URL that selected it, and its parsed config. */
export interface ExtensionInstanceConfig {
  readonly name: string;
  /** Type URL of the typed_config (inner URL for TypedStruct), or '' when selected by name. */
  readonly typeUrl: string;
  /** The extension's own config, as returned by its parse half (plain data). */
  readonly config: unknown;
}

/** envoy.config.listener.v3.FilterChainMatch, translated; empty lists mean "any". */
export interface FilterChainMatchConfig {
  readonly destinationPort?: number;
  readonly prefixRanges: readonly CidrRangeConfig[];
  readonly directSourcePrefixRanges: readonly CidrRangeConfig[];
  readonly sourceType: 'ANY' | 'SAME_IP_OR_LOOPBACK' | 'EXTERNAL';
  readonly sourcePrefixRanges: readonly CidrRangeConfig[];
  readonly sourcePorts: readonly number[];
  readonly serverNames: readonly string[];
  readonly transportProtocol: string;
  readonly applicationProtocols: readonly string[];
}

/** Transport socket of a chain or cluster: raw buffer, TLS (config parsed by the TLS module), or other. */
export interface TransportSocketConfig {
  readonly name: string;
  readonly typeUrl: string;
  readonly config: unknown;
}

export interface FilterChainConfig {
  readonly name: string;
  readonly match: FilterChainMatchConfig;
  readonly filters: readonly ExtensionInstanceConfig[];
  readonly transportSocket?: TransportSocketConfig;
}

export interface ListenerFilterConfig extends ExtensionInstanceConfig {
  /** Port ranges on which this filter is skipped (Istio's filter_disabled destination_port_range). */
  readonly disabledDestinationPorts?: readonly { readonly start: number; readonly end: number }[];
}

export type TrafficDirection = 'UNSPECIFIED' | 'INBOUND' | 'OUTBOUND';

export interface ListenerConfig {
  readonly name: string;
  readonly address: AddressConfig;
  readonly additionalAddresses: readonly AddressConfig[];
  readonly statPrefix: string;
  /** False for Istio's per-service listeners: never opens a socket, only receives handed-off connections. */
  readonly bindToPort: boolean;
  readonly useOriginalDst: boolean;
  readonly transparent: boolean;
  readonly freebind: boolean;
  readonly trafficDirection: TrafficDirection;
  readonly listenerFilters: readonly ListenerFilterConfig[];
  readonly listenerFiltersTimeoutMs: number;
  readonly continueOnListenerFiltersTimeout: boolean;
  readonly filterChains: readonly FilterChainConfig[];
  readonly defaultFilterChain?: FilterChainConfig;
  readonly perConnectionBufferLimitBytes: number;
  readonly drainType: 'DEFAULT' | 'MODIFY_ONLY';
  readonly ignoreGlobalConnLimit: boolean;
  readonly tcpBacklogSize?: number;
}

/** Envoy's default per-connection buffer limit (1 MiB). */
export const DEFAULT_BUFFER_LIMIT_BYTES = 1024 * 1024;
