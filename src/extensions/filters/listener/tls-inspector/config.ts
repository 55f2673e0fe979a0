// Parse half of envoy.filters.listener.tls_inspector (TlsInspector proto): the initial read
// size. JA3/JA4 fingerprinting is accepted and ignored (nothing on our data path reads it).
import type { ErrorSink } from '../../../../common/result';
import { wrapped, type Msg } from '../../../../config/translate/proto-util';
import type { ExtensionParser } from '../../../registry';

export const TLS_INSPECTOR_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector';
/** Envoy's TLS_MAX_CLIENT_HELLO: a larger ClientHello closes the connection. */
export const MAX_CLIENT_HELLO_BYTES = 64 * 1024;

export interface TlsInspectorConfig {
  readonly kind: 'tls_inspector';
  /** initial_read_buffer_size: how much is read first (we read what arrives; kept for config_dump). */
  readonly initialReadBufferSize?: number;
}

export const tlsInspectorParser: ExtensionParser = {
  category: 'listener',
  names: ['envoy.filters.listener.tls_inspector', 'envoy.listener.tls_inspector'],
  typeUrls: [TLS_INSPECTOR_TYPE_URL],
  parse(msg: Msg | undefined, _ctx, errors: ErrorSink): TlsInspectorConfig {
    const size = wrapped<number>(msg?.initialReadBufferSize);
    if (size !== undefined && (size < 256 || size > MAX_CLIENT_HELLO_BYTES)) errors.add('initial_read_buffer_size', `must be between 256 and ${MAX_CLIENT_HELLO_BYTES}`);
    return { kind: 'tls_inspector', ...(size !== undefined ? { initialReadBufferSize: size } : {}) };
  },
};
