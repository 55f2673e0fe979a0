// Parse half of envoy.filters.network.http_connection_manager (first cut): route source (RDS
// name or inline route configuration name), codec type, stat prefix and the HTTP filter list,
// each HTTP filter checked through the registry (unknown and not optional -> error; router last).
// The HTTP data path itself is built in the HTTP issue; this keeps listeners that carry an HCM
// valid and visible in config.
import type { ErrorSink } from '../../../../common/result';
import { oneofCase, type Msg } from '../../../../config/translate/proto-util';
import type { ExtensionParser, ParseContext } from '../../../registry';

export interface HttpConnectionManagerConfig {
  readonly statPrefix: string;
  readonly codecType: 'AUTO' | 'HTTP1' | 'HTTP2' | 'HTTP3';
  readonly routeSource: { readonly kind: 'rds'; readonly routeConfigName: string } | { readonly kind: 'inline'; readonly routeConfigName: string } | { readonly kind: 'scoped' };
  readonly httpFilters: readonly { readonly name: string; readonly typeUrl: string; readonly config: unknown }[];
}

const CODECS = ['AUTO', 'HTTP1', 'HTTP2', 'HTTP3'] as const;

export const httpConnectionManagerParser: ExtensionParser = {
  category: 'network',
  names: ['envoy.filters.network.http_connection_manager', 'envoy.http_connection_manager'],
  typeUrls: ['type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager'],
  terminal: true,
  parse(msg: Msg | undefined, ctx: ParseContext, errors: ErrorSink): HttpConnectionManagerConfig | undefined {
    if (!msg) {
      errors.add('', 'http_connection_manager requires a typed_config');
      return undefined;
    }
    const statPrefix = String(msg.statPrefix ?? '');
    if (!statPrefix) errors.add('stat_prefix', 'must not be empty');
    let routeSource: HttpConnectionManagerConfig['routeSource'] | undefined;
    switch (oneofCase(msg, 'routeSpecifier')) {
      case 'rds':
        if (!msg.rds.routeConfigName) errors.add('rds.route_config_name', 'must not be empty');
        routeSource = { kind: 'rds', routeConfigName: String(msg.rds.routeConfigName) };
        break;
      case 'routeConfig':
        routeSource = { kind: 'inline', routeConfigName: String(msg.routeConfig.name ?? '') };
        break;
      case 'scopedRoutes':
        routeSource = { kind: 'scoped' };
        break;
      default:
        errors.add('route_specifier', 'one of rds, route_config or scoped_routes is required');
    }
    const list = (msg.httpFilters ?? []) as Msg[];
    const httpFilters: { name: string; typeUrl: string; config: unknown }[] = [];
    list.forEach((f, i) => {
      const inst = ctx.parseNested('http', String(f.name ?? ''), f.typedConfig, !!f.isOptional, errors, `http_filters[${i}]`);
      if (inst) httpFilters.push(inst);
    });
    if (list.length > 0) {
      const last = list[list.length - 1]!;
      const lastName = String(last.name ?? '');
      const lastUrl = String(last.typedConfig?.typeUrl ?? '');
      if (lastName !== 'envoy.filters.http.router' && !lastUrl.endsWith('envoy.extensions.filters.http.router.v3.Router') && lastName !== 'envoy.router') {
        errors.add(`http_filters[${list.length - 1}]`, `the last HTTP filter must be the router, not '${lastName}'`);
      }
    }
    const codec = typeof msg.codecType === 'number' ? CODECS[msg.codecType] ?? 'AUTO' : ((msg.codecType as (typeof CODECS)[number]) ?? 'AUTO');
    if (!routeSource) return undefined;
    return { statPrefix, codecType: codec, routeSource, httpFilters };
  },
};
