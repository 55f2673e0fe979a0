// The worker side's list of built-in network filter create halves, keyed by canonical name.
// Pass-through extensions (see accepted.ts) get a no-op filter. The HTTP connection manager's
// create half lives in engine/http/hcm-factory.ts.
import type { ExtensionInstanceConfig } from '../config/model/listener';
import type { FilterFactoryContext, NetworkFilterFactory } from '../engine/api/network-filter';
import { createHttpConnectionManagerFactory } from '../engine/http/hcm-factory';
import { TcpProxyFactory } from '../engine/tcp/tcp-proxy';
import type { PassThroughConfig } from './accepted';
import type { TcpProxyConfig } from './filters/network/tcp-proxy/config';

type Create = (inst: ExtensionInstanceConfig, ctx: FilterFactoryContext) => NetworkFilterFactory;

const NETWORK: ReadonlyMap<string, Create> = new Map<string, Create>([
  ['envoy.filters.network.tcp_proxy', (inst, ctx) => new TcpProxyFactory(inst.config as TcpProxyConfig, ctx)],
  ['envoy.tcp_proxy', (inst, ctx) => new TcpProxyFactory(inst.config as TcpProxyConfig, ctx)],
]);

const HCM_NAMES = new Set(['envoy.filters.network.http_connection_manager', 'envoy.http_connection_manager']);

export function createNetworkFilter(inst: ExtensionInstanceConfig, ctx: FilterFactoryContext): NetworkFilterFactory {
  const create = NETWORK.get(inst.name) ?? (inst.typeUrl.endsWith('.TcpProxy') ? NETWORK.get('envoy.filters.network.tcp_proxy') : undefined);
  if (create) return create(inst, ctx);
  if (HCM_NAMES.has(inst.name) || inst.typeUrl.endsWith('.HttpConnectionManager')) return createHttpConnectionManagerFactory(inst, ctx);
  if ((inst.config as PassThroughConfig | undefined)?.passThrough) {
    return { name: inst.name, terminal: false, onNewConnection() {} };
  }
  throw new Error(`bug: no runtime for network filter '${inst.name}' (${inst.typeUrl})`);
}
