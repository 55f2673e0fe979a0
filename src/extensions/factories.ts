// The worker side's list of built-in network filter create halves, keyed by canonical name.
// Pass-through extensions (see accepted.ts) get a no-op filter. A terminal filter without a
// runtime yet (the HTTP connection manager until the HTTP data path lands) closes connections
// and says so once in the log, rather than pretending to serve them.
import type { ExtensionInstanceConfig } from '../config/model/listener';
import type { DownstreamConnection, FilterFactoryContext, NetworkFilterFactory } from '../engine/api/network-filter';
import { TcpProxyFactory } from '../engine/tcp/tcp-proxy';
import type { PassThroughConfig } from './accepted';
import type { TcpProxyConfig } from './filters/network/tcp-proxy/config';

type Create = (inst: ExtensionInstanceConfig, ctx: FilterFactoryContext) => NetworkFilterFactory;

const NETWORK: ReadonlyMap<string, Create> = new Map<string, Create>([
  ['envoy.filters.network.tcp_proxy', (inst, ctx) => new TcpProxyFactory(inst.config as TcpProxyConfig, ctx)],
  ['envoy.tcp_proxy', (inst, ctx) => new TcpProxyFactory(inst.config as TcpProxyConfig, ctx)],
]);

const TERMINAL_WITHOUT_RUNTIME = new Set(['envoy.filters.network.http_connection_manager', 'envoy.http_connection_manager']);

export function createNetworkFilter(inst: ExtensionInstanceConfig, ctx: FilterFactoryContext): NetworkFilterFactory {
  const create = NETWORK.get(inst.name) ?? (inst.typeUrl.endsWith('.TcpProxy') ? NETWORK.get('envoy.filters.network.tcp_proxy') : undefined);
  if (create) return create(inst, ctx);
  if (TERMINAL_WITHOUT_RUNTIME.has(inst.name) || inst.typeUrl.endsWith('.HttpConnectionManager')) {
    let warned = false;
    return {
      name: inst.name,
      terminal: true,
      onNewConnection(conn: DownstreamConnection) {
        if (!warned) {
          warned = true;
          ctx.log.warn({ filter: inst.name }, 'http_connection_manager has no data path in this build yet; closing connection');
        }
        conn.socket.destroy();
      },
    };
  }
  if ((inst.config as PassThroughConfig | undefined)?.passThrough) {
    return { name: inst.name, terminal: false, onNewConnection() {} };
  }
  throw new Error(`bug: no runtime for network filter '${inst.name}' (${inst.typeUrl})`);
}
