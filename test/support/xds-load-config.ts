// The xDS-under-load scenario's resources and bootstrap, shared by the process-level load tests
// (xds-under-load.test.ts with Node clients, xds-under-load-wrk.test.ts with wrk): an HCM+RDS
// listener and a tcp_proxy listener in front of an EDS cluster of two loopback upstreams, with
// versions that change something real on every push.
import * as http from 'node:http';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL } from '../../src/xds/type-urls';
import { pipeCluster } from './fake-sds-server';
import { protoResource as resource, type FakeAdsServer, type FakeResource, type SentResponse } from './fake-ads-server';
import type { ProxyProcess } from './proxy-process';

const T = 'type.googleapis.com/';

import { freePort, sleep, until } from './wait';

export { freePort, sleep, until };

/** Listener generation: 0 initial, 1 filter-chain-only change, 2 listener-level change. */
export function listeners(httpPort: number, tcpPort: number, gen: number): FakeResource[] {
  const hcm = {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': `${T}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`,
      stat_prefix: gen >= 1 ? 'load_http_v1' : 'load_http_v0',
      rds: { route_config_name: 'load-routes', config_source: { ads: {}, resource_api_version: 'V3' } },
      http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': `${T}envoy.extensions.filters.http.router.v3.Router` } }],
    },
  };
  const tcp = {
    name: 'envoy.filters.network.tcp_proxy',
    typed_config: { '@type': `${T}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`, stat_prefix: gen >= 1 ? 'load_tcp_v1' : 'load_tcp_v0', cluster: 'load-svc' },
  };
  const listenerExtra = gen >= 2 ? { per_connection_buffer_limit_bytes: 65536 } : {};
  return [
    resource('envoy.config.listener.v3.Listener', {
      name: 'load-http',
      stat_prefix: gen >= 2 ? 'load_http_l2' : 'load_http_l0',
      address: { socket_address: { address: '127.0.0.1', port_value: httpPort } },
      filter_chains: [{ filters: [hcm] }],
      ...listenerExtra,
    }),
    resource('envoy.config.listener.v3.Listener', {
      name: 'load-tcp',
      stat_prefix: gen >= 2 ? 'load_tcp_l2' : 'load_tcp_l0',
      address: { socket_address: { address: '127.0.0.1', port_value: tcpPort } },
      filter_chains: [{ filters: [tcp] }],
      ...listenerExtra,
    }),
  ];
}

export function clusters(tick: number): FakeResource[] {
  return [
    resource('envoy.config.cluster.v3.Cluster', {
      name: 'load-svc',
      type: 'EDS',
      // A real change per version (the cluster is rebuilt; pools of unchanged hosts must survive).
      connect_timeout: tick % 2 === 0 ? '1s' : '1.5s',
      eds_cluster_config: { service_name: 'load-svc', eds_config: { ads: {}, resource_api_version: 'V3' } },
    }),
  ];
}

export function endpoints(tick: number, ports: readonly [number, number]): FakeResource[] {
  // Alternating sets, each with at least one live host: {A,B}, {A}, {A,B}, {B}, ...
  const sets = [[ports[0], ports[1]], [ports[0]], [ports[0], ports[1]], [ports[1]]];
  const set = sets[tick % sets.length]!;
  return [
    resource('envoy.config.endpoint.v3.ClusterLoadAssignment', {
      cluster_name: 'load-svc',
      endpoints: [{ lb_endpoints: set.map((p) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: p } } } })) }],
    }),
  ];
}

export function routes(version: string): FakeResource[] {
  return [
    resource('envoy.config.route.v3.RouteConfiguration', {
      name: 'load-routes',
      virtual_hosts: [
        {
          name: 'all',
          domains: ['*'],
          routes: [{ match: { prefix: '/' }, route: { cluster: 'load-svc' } }],
          response_headers_to_add: [{ header: { key: 'x-route-version', value: version }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
        },
      ],
    }),
  ];
}

/** A sidecar-shaped bootstrap: LDS/CDS over SotW ADS on the xds-grpc pipe to `ads`. */
export function loadBootstrap(ads: FakeAdsServer): object {
  return {
    node: { id: 'sidecar~127.0.0.1~load.default~default.svc.cluster.local', cluster: 'load.default' },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
    dynamic_resources: {
      lds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' },
      cds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' },
      ads_config: { api_type: 'GRPC', set_node_on_first_message_only: true, transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }] },
    },
    static_resources: { clusters: [pipeCluster('xds-grpc', ads.target.replace(/^unix:\/\//, ''))] },
  };
}

/** One GET on a fresh connection (no retries): status, headers and body. */
export function getFinal(port: number): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/final', agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * The control-plane side of the load scenario on a fake ADS server: initial resources, a new
 * CDS/EDS/RDS version every 100 ms, an LDS update that changes only filter chains, one that
 * changes the listeners, and a stream disconnect with the proxy's reconnect, in that order.
 */
export class XdsLoadScenario {
  tick = 0;
  /** What happened when (ms since the load started), to line up with failures. */
  readonly events: string[] = [];

  constructor(
    readonly ads: FakeAdsServer,
    readonly httpPort: number,
    readonly tcpPort: number,
    readonly upPorts: readonly [number, number],
  ) {
    ads.setResources(CLUSTER_TYPE_URL, clusters(0), this.version);
    ads.setResources(ENDPOINT_TYPE_URL, endpoints(0, upPorts), this.version);
    ads.setResources(ROUTE_TYPE_URL, routes(this.version), this.version);
    ads.setResources(LISTENER_TYPE_URL, listeners(httpPort, tcpPort, 0), 'l0');
  }

  get version(): string {
    return `v${this.tick}`;
  }

  /** A response was ACKed: same stream, nonce and version, no error_detail. */
  readonly acked = (s: Pick<SentResponse, 'streamId' | 'typeUrl' | 'nonce' | 'version'>): boolean =>
    this.ads.requests.some((r) => r.streamId === s.streamId && r.typeUrl === s.typeUrl && r.request.responseNonce === s.nonce && r.request.versionInfo === s.version && !r.request.errorDetail);

  readonly allAcked = (): boolean => this.ads.responses.every(this.acked);

  /** Waits until the proxy serves the initial config and ACKed everything. */
  async ready(p: ProxyProcess): Promise<void> {
    await p.listener('load-http');
    await p.listener('load-tcp');
    await until(async () => {
      try {
        const r = await getFinal(this.httpPort);
        return r.status === 200 && r.headers['x-route-version'] === 'v0';
      } catch {
        return false;
      }
    }, 'the initial config to serve');
    await until(this.allAcked, 'initial ACKs');
  }

  push(): void {
    this.tick++;
    const { ads } = this;
    ads.setResources(CLUSTER_TYPE_URL, clusters(this.tick), this.version);
    ads.setResources(ENDPOINT_TYPE_URL, endpoints(this.tick, this.upPorts), this.version);
    ads.setResources(ROUTE_TYPE_URL, routes(this.version), this.version);
    ads.push(CLUSTER_TYPE_URL);
    ads.push(ENDPOINT_TYPE_URL);
    ads.push(ROUTE_TYPE_URL);
  }

  async pushFor(ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      this.push();
      await sleep(100);
    }
  }

  /** The whole sequence, `segmentMs` of pushes between events; `t0` is when the load started. */
  async run(t0: number, segmentMs: number): Promise<void> {
    const { ads, events } = this;
    await this.pushFor(segmentMs);
    events.push(`lds filter-chain update at +${Date.now() - t0} ms`);
    // LDS 1: only the filter chains change (HCM and tcp_proxy stat prefixes).
    ads.setResources(LISTENER_TYPE_URL, listeners(this.httpPort, this.tcpPort, 1), 'l1');
    ads.push(LISTENER_TYPE_URL);
    await this.pushFor(segmentMs);
    events.push(`lds listener update at +${Date.now() - t0} ms`);
    // LDS 2: the listeners themselves change (stat prefix, buffer limit), same addresses.
    ads.setResources(LISTENER_TYPE_URL, listeners(this.httpPort, this.tcpPort, 2), 'l2');
    ads.push(LISTENER_TYPE_URL);
    await this.pushFor(segmentMs);
    // Control-plane disconnect: let outstanding responses be ACKed, close the stream, keep
    // changing config while the proxy is away, and wait for it to come back and catch up.
    await until(this.allAcked, 'ACKs before the disconnect');
    const streamsBefore = ads.openStreamIds;
    events.push(`ads stream closed at +${Date.now() - t0} ms`);
    ads.closeStreams();
    this.push();
    await until(() => ads.openStreamIds.some((id) => !streamsBefore.includes(id)), 'the ADS reconnect', 15_000);
    events.push(`ads reconnected at +${Date.now() - t0} ms`);
    await this.pushFor(segmentMs);
  }
}
