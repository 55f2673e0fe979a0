// envoy.config.listener.v3.Listener -> ListenerConfig. All validation of listeners happens here:
// addresses, filter chain matches (unique matches, Envoy rejects duplicates), network filter
// lists (known extensions, terminal filter last), listener filters.
import type { ErrorSink } from '../../common/result';
import { addressToString, type AddressConfig } from '../model/address';
import { DEFAULT_BUFFER_LIMIT_BYTES, type ExtensionInstanceConfig, type FilterChainConfig, type FilterChainMatchConfig, type ListenerConfig, type ListenerFilterConfig, type TrafficDirection } from '../model/listener';
import { translateAddress, translateCidrs } from './address';
import type { ExtensionTranslator } from './extension';
import { durationMs, num, wrapped, type Msg } from './proto-util';

const TRAFFIC_DIRECTIONS: readonly TrafficDirection[] = ['UNSPECIFIED', 'INBOUND', 'OUTBOUND'];
const SOURCE_TYPES = ['ANY', 'SAME_IP_OR_LOOPBACK', 'EXTERNAL'] as const;

function enumName<T extends string>(v: unknown, names: readonly T[], fallback: T): T {
  if (typeof v === 'number') return names[v] ?? fallback;
  if (typeof v === 'string' && (names as readonly string[]).includes(v)) return v as T;
  return fallback;
}

/**
 * Envoy's listener stat prefix: the address string with ':' -> '_' ("0.0.0.0_15001",
 * "[__]_15006" for [::]:15006), or the pipe path.
 */
export function listenerStatPrefix(name: string, address: AddressConfig | undefined, statPrefix: string): string {
  if (statPrefix) return statPrefix;
  if (!address) return name;
  if (address.kind === 'socket') return addressToString(address).replace(/:/g, '_');
  if (address.kind === 'pipe') return address.path;
  return name;
}

function translateMatch(m: Msg | null | undefined, errors: ErrorSink, path: string): FilterChainMatchConfig {
  const msg = m ?? {};
  const dp = wrapped<number>(msg.destinationPort);
  if (dp !== undefined && (dp < 1 || dp > 65535)) errors.add(`${path}.destination_port`, `${dp} out of range`);
  const sourcePorts = ((msg.sourcePorts ?? []) as unknown[]).map((p) => num(p));
  return {
    ...(dp !== undefined ? { destinationPort: dp } : {}),
    prefixRanges: translateCidrs(msg.prefixRanges, errors, `${path}.prefix_ranges`),
    directSourcePrefixRanges: translateCidrs(msg.directSourcePrefixRanges, errors, `${path}.direct_source_prefix_ranges`),
    sourceType: enumName(msg.sourceType, SOURCE_TYPES, 'ANY'),
    sourcePrefixRanges: translateCidrs(msg.sourcePrefixRanges, errors, `${path}.source_prefix_ranges`),
    sourcePorts,
    serverNames: ((msg.serverNames ?? []) as string[]).map((s) => s.toLowerCase()),
    transportProtocol: String(msg.transportProtocol ?? ''),
    applicationProtocols: [...((msg.applicationProtocols ?? []) as string[])],
  };
}

function translateFilterChain(fc: Msg, ext: ExtensionTranslator, errors: ErrorSink, path: string, index: number): FilterChainConfig {
  const filters: ExtensionInstanceConfig[] = [];
  const list = (fc.filters ?? []) as Msg[];
  list.forEach((f, i) => {
    const fpath = `${path}.filters[${i}]`;
    const inst = ext.parseNested('network', String(f.name ?? ''), f.typedConfig, false, errors, fpath);
    if (!inst) return;
    const parser = ext.registry.lookup('network', inst.typeUrl, inst.name);
    if (parser?.terminal && i !== list.length - 1) errors.add(fpath, `terminal filter '${inst.name}' must be the last filter in a filter chain`);
    if (!parser?.terminal && i === list.length - 1) errors.add(fpath, `the last filter in a filter chain must be a terminal filter ('${inst.name}' is not)`);
    filters.push(inst);
  });
  let transportSocket: FilterChainConfig['transportSocket'];
  if (fc.transportSocket) {
    const ts = ext.parseNested('transport_socket', String(fc.transportSocket.name ?? ''), fc.transportSocket.typedConfig, false, errors, `${path}.transport_socket`);
    if (ts) transportSocket = ts;
  }
  return {
    name: String(fc.name ?? '') || `filter_chain_${index}`,
    match: translateMatch(fc.filterChainMatch, errors, `${path}.filter_chain_match`),
    filters,
    ...(transportSocket ? { transportSocket } : {}),
  };
}

/** A stable key for a FilterChainMatch, to reject duplicates as Envoy does. */
function matchKey(m: FilterChainMatchConfig): string {
  return JSON.stringify(m);
}

export function translateListener(msg: Msg, ext: ExtensionTranslator, errors: ErrorSink): ListenerConfig | undefined {
  const name: string = msg.name ?? '';
  if (!name) errors.add('name', 'must not be empty');
  const address = translateAddress(msg.address, errors, 'address');
  const additionalAddresses: AddressConfig[] = [];
  ((msg.additionalAddresses ?? []) as Msg[]).forEach((a, i) => {
    const ad = translateAddress(a.address, errors, `additional_addresses[${i}].address`);
    if (ad) additionalAddresses.push(ad);
  });
  const filterChains: FilterChainConfig[] = [];
  const seen = new Map<string, number>();
  ((msg.filterChains ?? []) as Msg[]).forEach((fc, i) => {
    const chain = translateFilterChain(fc, ext, errors, `filter_chains[${i}]`, i);
    const key = matchKey(chain.match);
    const prev = seen.get(key);
    if (prev !== undefined) errors.add(`filter_chains[${i}].filter_chain_match`, `multiple filter chains with the same matching rules are defined (same as filter_chains[${prev}])`);
    seen.set(key, i);
    filterChains.push(chain);
  });
  const defaultFilterChain = msg.defaultFilterChain ? translateFilterChain(msg.defaultFilterChain, ext, errors, 'default_filter_chain', filterChains.length) : undefined;
  if (filterChains.length === 0 && !defaultFilterChain && !msg.apiListener && !(msg.listenerSpecifier === 'internalListener' || msg.internalListener)) {
    errors.add('filter_chains', 'no filter chains specified');
  }
  const listenerFilters: ListenerFilterConfig[] = [];
  ((msg.listenerFilters ?? []) as Msg[]).forEach((lf, i) => {
    const inst = ext.parseNested('listener', String(lf.name ?? ''), lf.typedConfig, false, errors, `listener_filters[${i}]`);
    if (!inst) return;
    const disabled = lf.filterDisabled ? destinationPortRanges(lf.filterDisabled) : undefined;
    listenerFilters.push({ ...inst, ...(disabled ? { disabledDestinationPorts: disabled } : {}) });
  });
  if (errors.failed || !address) return undefined;
  const bindToPort = wrapped<boolean>(msg.bindToPort) ?? (msg.deprecatedV1?.bindToPort?.value ?? true);
  return {
    name,
    address,
    additionalAddresses,
    statPrefix: listenerStatPrefix(name, address, String(msg.statPrefix ?? '')),
    bindToPort: bindToPort !== false,
    useOriginalDst: wrapped<boolean>(msg.useOriginalDst) ?? false,
    transparent: wrapped<boolean>(msg.transparent) ?? false,
    freebind: wrapped<boolean>(msg.freebind) ?? false,
    trafficDirection: enumName(msg.trafficDirection, TRAFFIC_DIRECTIONS, 'UNSPECIFIED'),
    listenerFilters,
    // Envoy's default listener_filters_timeout is 15 s.
    listenerFiltersTimeoutMs: durationMs(msg.listenerFiltersTimeout) ?? 15000,
    continueOnListenerFiltersTimeout: !!msg.continueOnListenerFiltersTimeout,
    filterChains,
    ...(defaultFilterChain ? { defaultFilterChain } : {}),
    perConnectionBufferLimitBytes: wrapped<number>(msg.perConnectionBufferLimitBytes) ?? DEFAULT_BUFFER_LIMIT_BYTES,
    drainType: msg.drainType === 1 || msg.drainType === 'MODIFY_ONLY' ? 'MODIFY_ONLY' : 'DEFAULT',
    ignoreGlobalConnLimit: !!msg.ignoreGlobalConnLimit,
    ...(msg.tcpBacklogSize ? { tcpBacklogSize: wrapped<number>(msg.tcpBacklogSize) } : {}),
  };
}

/**
 * Istio disables listener filters on some ports with a ListenerFilterChainMatchPredicate
 * (destination_port_range, or_match of those). We keep the port ranges it names; other predicate
 * shapes are kept as "never disabled".
 */
function destinationPortRanges(pred: Msg): { start: number; end: number }[] | undefined {
  if (pred.destinationPortRange) return [{ start: num(pred.destinationPortRange.start), end: num(pred.destinationPortRange.end) }];
  if (pred.orMatch) {
    const out: { start: number; end: number }[] = [];
    for (const r of (pred.orMatch.rules ?? []) as Msg[]) out.push(...(destinationPortRanges(r) ?? []));
    return out;
  }
  return undefined;
}
