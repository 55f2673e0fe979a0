// Create half of envoy.filters.network.http_connection_manager: the network filter factory a
// filter chain uses for HTTP. Until the HTTP connection manager is built, connections on such a
// chain are closed with one warning in the log (never served wrongly).
import type { ExtensionInstanceConfig } from '../../config/model/listener';
import type { DownstreamConnection, FilterFactoryContext, NetworkFilterFactory } from '../api/network-filter';

export function createHttpConnectionManagerFactory(inst: ExtensionInstanceConfig, ctx: FilterFactoryContext): NetworkFilterFactory {
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
