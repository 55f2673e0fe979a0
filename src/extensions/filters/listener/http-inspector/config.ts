// Parse half of envoy.filters.listener.http_inspector (HttpInspector proto has no fields).
import type { ExtensionParser } from '../../../registry';

export const HTTP_INSPECTOR_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector';

export interface HttpInspectorConfig {
  readonly kind: 'http_inspector';
}

export const httpInspectorParser: ExtensionParser = {
  category: 'listener',
  names: ['envoy.filters.listener.http_inspector', 'envoy.listener.http_inspector'],
  typeUrls: [HTTP_INSPECTOR_TYPE_URL],
  parse: (): HttpInspectorConfig => ({ kind: 'http_inspector' }),
};
