// HCM parse half through the real bootstrap translator: defaults as Envoy documents them, every
// configured field carried into the model, the inline route table translated once, and the
// field-path errors for unknown filters and a router that is not last.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BootstrapError, loadBootstrap } from '../../../../config/bootstrap/load-bootstrap';
import type { HttpConnectionManagerConfig } from './config';

const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };

function hcm(extra: Record<string, unknown>): HttpConnectionManagerConfig {
  const dir = mkdtempSync(join(tmpdir(), 'hcm-'));
  const file = join(dir, 'b.json');
  writeFileSync(
    file,
    JSON.stringify({
      static_resources: {
        listeners: [
          {
            name: 'l',
            address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
            filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', stat_prefix: 's', route_config: { name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, direct_response: { status: 200 } }] }] }, http_filters: [ROUTER], ...extra } }] }],
          },
        ],
      },
    }),
  );
  return loadBootstrap({ configPath: file, allowUnknownStaticFields: false }).config.staticListeners[0]!.filterChains[0]!.filters[0]!.config as HttpConnectionManagerConfig;
}

it("applies Envoy's defaults", () => {
  const c = hcm({});
  expect(c).toMatchObject({
    codecType: 'AUTO',
    streamIdleTimeoutMs: 300_000,
    drainTimeoutMs: 5000,
    idleTimeoutMs: 3_600_000,
    maxRequestHeadersKb: 60,
    maxHeadersCount: 100,
    generateRequestId: true,
    serverName: 'envoy',
    serverHeaderTransformation: 'OVERWRITE',
    useRemoteAddress: false,
    headersWithUnderscoresAction: 'ALLOW',
  });
  expect(c.routeSource.kind).toBe('inline');
  if (c.routeSource.kind === 'inline') expect(c.routeSource.routeConfig.virtualHosts[0]!.name).toBe('v');
});

it('carries configured fields', () => {
  const c = hcm({
    codec_type: 'HTTP2',
    stream_idle_timeout: '10s',
    request_timeout: '3s',
    request_headers_timeout: '1s',
    drain_timeout: '2s',
    common_http_protocol_options: { idle_timeout: '30s', max_headers_count: 50, headers_with_underscores_action: 'REJECT_REQUEST', max_connection_duration: '60s' },
    max_request_headers_kb: 96,
    use_remote_address: true,
    xff_num_trusted_hops: 2,
    skip_xff_append: true,
    generate_request_id: false,
    server_name: 'meshproxy',
    server_header_transformation: 'PASS_THROUGH',
    normalize_path: true,
    merge_slashes: true,
    path_with_escaped_slashes_action: 'REJECT_REQUEST',
    via: 'mesh',
    http_protocol_options: { accept_http_10: true, default_host_for_http_10: 'h' },
    upgrade_configs: [{ upgrade_type: 'WebSocket' }, { upgrade_type: 'CONNECT', enabled: false }],
    access_log: [{ name: 'envoy.access_loggers.stdout', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog' }, filter: { status_code_filter: { comparison: { op: 'GE', value: { default_value: 500, runtime_key: 'k' } } } } }],
  });
  expect(c).toMatchObject({
    codecType: 'HTTP2',
    streamIdleTimeoutMs: 10_000,
    requestTimeoutMs: 3000,
    requestHeadersTimeoutMs: 1000,
    drainTimeoutMs: 2000,
    idleTimeoutMs: 30_000,
    maxHeadersCount: 50,
    headersWithUnderscoresAction: 'REJECT_REQUEST',
    maxConnectionDurationMs: 60_000,
    maxRequestHeadersKb: 96,
    useRemoteAddress: true,
    xffNumTrustedHops: 2,
    skipXffAppend: true,
    generateRequestId: false,
    serverName: 'meshproxy',
    serverHeaderTransformation: 'PASS_THROUGH',
    normalizePath: true,
    mergeSlashes: true,
    pathWithEscapedSlashesAction: 'REJECT_REQUEST',
    via: 'mesh',
    http1: { acceptHttp10: true, defaultHostForHttp10: 'h', allowChunkedLength: false },
    upgradeConfigs: [
      { upgradeType: 'websocket', enabled: true },
      { upgradeType: 'connect', enabled: false },
    ],
  });
  expect(c.accessLogs[0]!.filter).toEqual({ kind: 'status_code', op: 'GE', value: 500 });
});

it('rejects unknown non-optional filters and a router that is not last; skips optional ones', () => {
  expect(() => hcm({ http_filters: [{ name: 'x.unknown', typed_config: { '@type': 'type.googleapis.com/google.protobuf.Empty' } }, ROUTER] })).toThrow(BootstrapError);
  expect(() => hcm({ http_filters: [ROUTER, { name: 'envoy.filters.http.cors', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors' } }] })).toThrow(/the last HTTP filter must be the router/);
  const c = hcm({ http_filters: [{ name: 'x.unknown', is_optional: true, typed_config: { '@type': 'type.googleapis.com/google.protobuf.Empty' } }, ROUTER] });
  expect(c.httpFilters.map((f) => f.name)).toEqual(['envoy.filters.http.router']);
});
