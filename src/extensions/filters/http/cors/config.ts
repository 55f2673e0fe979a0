// Parse half of envoy.filters.http.cors. The filter's own proto is empty; policies come from
// the route / virtual host `cors` field (already in the route model) or from
// typed_per_filter_config CorsPolicy entries.
import type { Msg } from '../../../../config/translate/proto-util';
import type { ExtensionParser } from '../../../registry';

export interface CorsConfig {
  readonly enabled: true;
}

export const corsParser: ExtensionParser = {
  category: 'http',
  names: ['envoy.filters.http.cors', 'envoy.cors'],
  typeUrls: ['type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors'],
  parse(_msg: Msg | undefined): CorsConfig {
    return { enabled: true };
  },
};
