// proto3 JSON writer: the JSON forms Envoy's printer uses, checked on small messages.
import protobuf from 'protobufjs';
import { lookupType, TYPE_URL_PREFIX } from '../gen/proto-root';
import { anyBytesToJson, durationJson, messageToJson, timestampFromMs, timestampJson } from './proto-json-writer';

function enc(typeName: string, obj: object): Uint8Array {
  const t = lookupType(typeName);
  return t.encode(t.fromObject(obj)).finish();
}
function roundTrip(typeName: string, obj: object): unknown {
  const t = lookupType(typeName);
  return messageToJson(t, t.decode(enc(typeName, obj)) as Record<string, unknown>, { redact: true });
}

test('Duration and Timestamp use 0, 3, 6 or 9 fraction digits', () => {
  expect(durationJson(0, 0)).toBe('0s');
  expect(durationJson(1, 500_000_000)).toBe('1.500s');
  expect(durationJson(0, 1000)).toBe('0.000001s');
  expect(durationJson(0, 1)).toBe('0.000000001s');
  expect(durationJson(-1, -500_000_000)).toBe('-1.500s');
  expect(timestampJson(0, 0)).toBe('1970-01-01T00:00:00Z');
  expect(timestampFromMs(1_752_435_061_601)).toBe('2025-07-13T19:31:01.601Z');
  expect(timestampFromMs(1_752_435_061_000)).toBe('2025-07-13T19:31:01Z');
});

test('int64 as strings, enums by name, bytes base64, wrappers bare, defaults omitted', () => {
  const j = roundTrip('envoy.config.cluster.v3.Cluster', {
    name: 'c',
    type: 1,
    connectTimeout: { seconds: 1, nanos: 250_000_000 },
    perConnectionBufferLimitBytes: { value: 0 },
    lbPolicy: 0,
    maxRequestsPerConnection: { value: 7 },
    dnsRefreshRate: { seconds: 5 },
    commonLbConfig: { healthyPanicThreshold: { value: 0.5 } },
    outlierDetection: { consecutive5xx: { value: 3 }, maxEjectionTime: { seconds: '300' } },
  });
  expect(j).toEqual({
    name: 'c',
    type: 'STRICT_DNS',
    connect_timeout: '1.250s',
    per_connection_buffer_limit_bytes: 0,
    max_requests_per_connection: 7,
    dns_refresh_rate: '5s',
    outlier_detection: { consecutive_5xx: 3, max_ejection_time: '300s' },
    common_lb_config: { healthy_panic_threshold: { value: 0.5 } },
  });
});

test('uint64 fields print as strings; oneof members print even at default', () => {
  const j = roundTrip('envoy.config.route.v3.RouteAction', { cluster: '', idleTimeout: { seconds: 0 } }) as Record<string, unknown>;
  expect(j).toEqual({ cluster: '', idle_timeout: '0s' });
  const f = roundTrip('envoy.type.v3.FractionalPercent', { numerator: 5, denominator: 2 });
  expect(f).toEqual({ numerator: 5, denominator: 'MILLION' });
  const m = roundTrip('envoy.config.core.v3.RuntimeUInt32', { defaultValue: 3, runtimeKey: 'k' });
  expect(m).toEqual({ default_value: 3, runtime_key: 'k' });
  const sm = lookupType('envoy.admin.v3.SimpleMetric');
  expect(messageToJson(sm, sm.decode(enc('envoy.admin.v3.SimpleMetric', { type: 1, value: '18446744073709551615', name: 'x' })) as Record<string, unknown>)).toEqual({ type: 'GAUGE', value: '18446744073709551615', name: 'x' });
});

test('float fields print in shortest float32 form', () => {
  expect(roundTrip('envoy.type.v3.Percent', { value: 0.1 })).toEqual({ value: 0.1 });
  const h = roundTrip('envoy.config.cluster.v3.Cluster.RingHashLbConfig', { minimumRingSize: { value: 1024 } });
  expect(h).toEqual({ minimum_ring_size: '1024' });
});

test('Struct, Any with @type (nested), TypedStruct kept wrapped, unknown Any type kept as base64', () => {
  const inner = enc('envoy.extensions.filters.http.router.v3.Router', { suppressEnvoyHeaders: true });
  const ts = enc('udpa.type.v1.TypedStruct', { typeUrl: 'type.googleapis.com/io.istio.http.peer_metadata.Config', value: { fields: { a: { numberValue: 1 }, b: { listValue: { values: [{ stringValue: 'x' }, { boolValue: false }, { nullValue: 0 }] } } } } });
  const hf = roundTrip('envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter', { name: 'r', typedConfig: { typeUrl: `${TYPE_URL_PREFIX}envoy.extensions.filters.http.router.v3.Router`, value: inner } });
  expect(hf).toEqual({ name: 'r', typed_config: { '@type': `${TYPE_URL_PREFIX}envoy.extensions.filters.http.router.v3.Router`, suppress_envoy_headers: true } });
  expect(anyBytesToJson(`${TYPE_URL_PREFIX}udpa.type.v1.TypedStruct`, ts)).toEqual({ '@type': `${TYPE_URL_PREFIX}udpa.type.v1.TypedStruct`, type_url: 'type.googleapis.com/io.istio.http.peer_metadata.Config', value: { a: 1, b: ['x', false, null] } });
  expect(anyBytesToJson(`${TYPE_URL_PREFIX}google.protobuf.Duration`, enc('google.protobuf.Duration', { seconds: 2 }))).toEqual({ '@type': `${TYPE_URL_PREFIX}google.protobuf.Duration`, value: '2s' });
  expect(anyBytesToJson(`${TYPE_URL_PREFIX}not.a.Known`, Uint8Array.from([1, 2]))).toEqual({ '@type': `${TYPE_URL_PREFIX}not.a.Known`, value: 'AQI=' });
});

test('maps and FieldMask', () => {
  const md = roundTrip('envoy.config.core.v3.Metadata', { filterMetadata: { istio: { fields: { k: { stringValue: 'v' } } } } });
  expect(md).toEqual({ filter_metadata: { istio: { k: 'v' } } });
  // FieldMask is not in Envoy's resource protos; define it as google/protobuf/field_mask.proto does.
  const fm = new protobuf.Type('FieldMask').add(new protobuf.Field('paths', 1, 'string', 'repeated'));
  new protobuf.Root().define('google.protobuf').add(fm);
  expect(messageToJson(fm, { paths: ['dynamic_active_clusters', 'a.b_c'] })).toBe('dynamicActiveClusters,a.bC');
});

test('redaction: sensitive DataSource strings and bytes, through Any, as Envoy redact()', () => {
  const secret = enc('envoy.extensions.transport_sockets.tls.v3.Secret', {
    name: 's',
    tlsCertificate: { certificateChain: { inlineString: 'CERT' }, privateKey: { filename: '/etc/key.pem' }, password: { inlineBytes: Buffer.from('pw') } },
  });
  expect(anyBytesToJson(`${TYPE_URL_PREFIX}envoy.extensions.transport_sockets.tls.v3.Secret`, secret, { redact: true })).toEqual({
    '@type': `${TYPE_URL_PREFIX}envoy.extensions.transport_sockets.tls.v3.Secret`,
    name: 's',
    tls_certificate: { certificate_chain: { inline_string: 'CERT' }, private_key: { filename: '[redacted]' }, password: { inline_bytes: 'W3JlZGFjdGVkXQ==' } },
  });
  expect(anyBytesToJson(`${TYPE_URL_PREFIX}envoy.extensions.transport_sockets.tls.v3.Secret`, secret)).toMatchObject({ tls_certificate: { private_key: { filename: '/etc/key.pem' } } });
});
