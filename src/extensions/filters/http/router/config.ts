// Parse half of envoy.filters.http.router: Router proto -> RouteRouterConfig. The create half is
// the engine's router (engine/http/router.ts), built by the HCM for the terminal filter.
import type { ErrorSink } from '../../../../common/result';
import { wrapped, type Msg } from '../../../../config/translate/proto-util';
import type { ExtensionParser } from '../../../registry';

export interface RouteRouterConfig {
  /** Do not add x-envoy-* headers to requests and responses (x-envoy-expected-rq-timeout-ms, ...). */
  readonly suppressEnvoyHeaders: boolean;
  readonly startChildSpan: boolean;
  readonly dynamicStats: boolean;
  readonly respectExpectedRqTimeout: boolean;
  readonly strictCheckHeaders: readonly string[];
}

export const DEFAULT_ROUTER_CONFIG: RouteRouterConfig = { suppressEnvoyHeaders: false, startChildSpan: false, dynamicStats: true, respectExpectedRqTimeout: false, strictCheckHeaders: [] };

export const routerParser: ExtensionParser = {
  category: 'http',
  names: ['envoy.filters.http.router', 'envoy.router'],
  typeUrls: ['type.googleapis.com/envoy.extensions.filters.http.router.v3.Router'],
  terminal: true,
  parse(msg: Msg | undefined, _ctx, _errors: ErrorSink): RouteRouterConfig {
    if (!msg) return DEFAULT_ROUTER_CONFIG;
    return {
      suppressEnvoyHeaders: !!msg.suppressEnvoyHeaders,
      startChildSpan: !!msg.startChildSpan,
      dynamicStats: wrapped<boolean>(msg.dynamicStats) ?? true,
      respectExpectedRqTimeout: !!msg.respectExpectedRqTimeout,
      strictCheckHeaders: ((msg.strictCheckHeaders ?? []) as string[]).map(String),
    };
  },
};
