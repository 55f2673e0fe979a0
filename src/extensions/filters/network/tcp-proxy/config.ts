// Parse half of envoy.filters.network.tcp_proxy: TcpProxy proto -> TcpProxyConfig.
import type { ErrorSink } from '../../../../common/result';
import { durationMs, num, oneofCase, wrapped, type Msg } from '../../../../config/translate/proto-util';
import type { ExtensionParser, ParseContext } from '../../../registry';

export interface TcpProxyConfig {
  readonly statPrefix: string;
  readonly route: { readonly kind: 'cluster'; readonly cluster: string } | { readonly kind: 'weighted'; readonly clusters: readonly { readonly name: string; readonly weight: number }[] };
  /** Idle timeout (Envoy default 1 h); 0 disables. */
  readonly idleTimeoutMs: number;
  readonly maxConnectAttempts: number;
  readonly maxDownstreamConnectionDurationMs?: number;
  readonly accessLogs: readonly { readonly name: string; readonly typeUrl: string; readonly config: unknown }[];
}

export const TCP_PROXY_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
const DEFAULT_IDLE_TIMEOUT_MS = 3600_000;

export const tcpProxyParser: ExtensionParser = {
  category: 'network',
  names: ['envoy.filters.network.tcp_proxy', 'envoy.tcp_proxy'],
  typeUrls: [TCP_PROXY_TYPE_URL],
  terminal: true,
  parse(msg: Msg | undefined, ctx: ParseContext, errors: ErrorSink): TcpProxyConfig | undefined {
    if (!msg) {
      errors.add('', 'tcp_proxy requires a typed_config');
      return undefined;
    }
    const statPrefix: string = msg.statPrefix ?? '';
    if (!statPrefix) errors.add('stat_prefix', 'must not be empty');
    let route: TcpProxyConfig['route'] | undefined;
    const which = oneofCase(msg, 'clusterSpecifier');
    if (which === 'cluster') {
      if (!msg.cluster) errors.add('cluster', 'must not be empty');
      route = { kind: 'cluster', cluster: String(msg.cluster) };
    } else if (which === 'weightedClusters') {
      const clusters = ((msg.weightedClusters?.clusters ?? []) as Msg[]).map((c, i) => {
        if (!c.name) errors.add(`weighted_clusters.clusters[${i}].name`, 'must not be empty');
        return { name: String(c.name ?? ''), weight: num(c.weight) };
      });
      if (clusters.length === 0) errors.add('weighted_clusters.clusters', 'must have at least one cluster');
      if (clusters.length > 0 && clusters.every((c) => c.weight === 0)) errors.add('weighted_clusters.clusters', 'total weight must be greater than 0');
      route = { kind: 'weighted', clusters };
    } else {
      errors.add('cluster_specifier', 'one of cluster or weighted_clusters is required');
    }
    const accessLogs: { name: string; typeUrl: string; config: unknown }[] = [];
    ((msg.accessLog ?? []) as Msg[]).forEach((al, i) => {
      const ext = ctx.parseNested('access_logger', String(al.name ?? ''), al.typedConfig, false, errors, `access_log[${i}]`);
      if (ext) accessLogs.push(ext);
    });
    const idle = durationMs(msg.idleTimeout);
    const maxAttempts = wrapped<number>(msg.maxConnectAttempts) ?? 1;
    if (maxAttempts < 1) errors.add('max_connect_attempts', 'must be >= 1');
    if (!route) return undefined;
    return {
      statPrefix,
      route,
      idleTimeoutMs: idle === undefined ? DEFAULT_IDLE_TIMEOUT_MS : idle,
      maxConnectAttempts: maxAttempts,
      ...(msg.maxDownstreamConnectionDuration ? { maxDownstreamConnectionDurationMs: durationMs(msg.maxDownstreamConnectionDuration) } : {}),
      accessLogs,
    };
  },
};
