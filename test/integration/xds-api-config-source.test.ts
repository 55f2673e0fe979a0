// api_config_source for every xDS type, with the control side in-process (Server with an
// in-process worker) and real traffic through its listener:
// - no ADS at all: LDS and CDS from the bootstrap's api_config_sources, RDS from the HCM's
//   rds.config_source, EDS from the cluster's eds_config (DELTA_GRPC), each on its own
//   per-type discovery stream to the fake control plane; set_node_on_first_message_only per
//   source; every response ACKed; an invalid cluster NACKed on the CDS stream with its field
//   path while the valid one keeps serving; an EDS change over the delta stream goes live; all
//   streams reconnect and re-subscribe after the server drops them.
// - mixed: LDS/CDS/RDS over ADS, EDS over a separate EDS server: the ADS stream never carries
//   ClusterLoadAssignment, and the cluster warms until the EDS server answers.
// - static listeners and EDS clusters with their own RDS/EDS sources, no dynamic_resources.
// - LDS and CDS over DELTA_GRPC sources: wildcard delta subscriptions and removals.
import { freePort, untilValue } from '../support/wait';
import { mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFlags } from '../../src/config/bootstrap/flags';
import { loadBootstrap } from '../../src/config/bootstrap/load-bootstrap';
import { Server } from '../../src/control/server';
import { LogRoot } from '../../src/log/logger';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL } from '../../src/xds/type-urls';
import { apiConfigSource, FakeAdsServer, protoResource, type FakeResource, type RecordedRequest, type SentResponse } from '../support/fake-ads-server';
import { pipeCluster } from '../support/fake-sds-server';
import { upstream } from '../support/http-harness';

const T = 'type.googleapis.com/';

function get(port: number): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function tryGet(port: number): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string } | undefined> {
  try {
    return await get(port);
  } catch {
    return undefined;
  }
}

function listener(port: number, rdsSource: object, name = 'api-http'): FakeResource {
  return protoResource('envoy.config.listener.v3.Listener', listenerJson(port, rdsSource, name));
}

function listenerJson(port: number, rdsSource: object, name: string): Record<string, unknown> {
  return {
    name,
    address: { socket_address: { address: '127.0.0.1', port_value: port } },
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': `${T}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`,
              stat_prefix: 'api_http',
              rds: { route_config_name: 'api-routes', config_source: rdsSource },
              http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': `${T}envoy.extensions.filters.http.router.v3.Router` } }],
            },
          },
        ],
      },
    ],
  };
}

function edsCluster(name: string, edsSource: object): FakeResource {
  return protoResource('envoy.config.cluster.v3.Cluster', edsClusterJson(name, edsSource));
}

function edsClusterJson(name: string, edsSource: object): Record<string, unknown> {
  return { name, type: 'EDS', connect_timeout: '1s', eds_cluster_config: { service_name: name, eds_config: edsSource } };
}

function routes(cluster: string, version: string): FakeResource {
  return protoResource('envoy.config.route.v3.RouteConfiguration', {
    name: 'api-routes',
    virtual_hosts: [
      {
        name: 'all',
        domains: ['*'],
        routes: [{ match: { prefix: '/' }, route: { cluster } }],
        response_headers_to_add: [{ header: { key: 'x-route-version', value: version }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
      },
    ],
  });
}

function endpoints(name: string, port: number): FakeResource {
  return protoResource('envoy.config.endpoint.v3.ClusterLoadAssignment', {
    cluster_name: name,
    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }],
  });
}

async function startServer(bootstrap: object, dir: string): Promise<Server> {
  const flags = parseFlags(['--config-yaml', JSON.stringify(bootstrap), '--admin-address-path', join(dir, 'admin'), '--concurrency', '1', '--drain-time-s', '1']);
  const server = new Server(flags, new LogRoot({ level: 'critical', componentLevels: new Map() }), loadBootstrap(flags));
  await server.start();
  return server;
}

/** Every response the fake sent was ACKed on its stream (nonce, version, no error). */
function allAcked(xds: FakeAdsServer, which: (s: SentResponse) => boolean = () => true): boolean {
  return xds.responses.filter(which).every((s) => xds.requests.some((r) => r.streamId === s.streamId && r.typeUrl === s.typeUrl && r.request.responseNonce === s.nonce && (s.delta || r.request.versionInfo === s.version) && !r.request.errorDetail));
}

function streamsOf(xds: FakeAdsServer): Map<number, RecordedRequest[]> {
  const m = new Map<number, RecordedRequest[]>();
  for (const r of xds.requests) m.set(r.streamId, [...(m.get(r.streamId) ?? []), r]);
  return m;
}

const NODE = { id: 'sidecar~127.0.0.1~api.default~default.svc.cluster.local', cluster: 'api.default' };

describe('api_config_source streams', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('serves LDS, CDS, RDS and EDS each over its own per-type stream, with ACK/NACK, warming and reconnects', async () => {
    const a = await upstream((_q, r) => r.end('a'));
    const b = await upstream((_q, r) => r.end('b'));
    cleanup.push(() => a.close(), () => b.close());
    const dir = mkdtempSync(join(tmpdir(), 'xds-api-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const xds = await FakeAdsServer.start({ services: ['lds', 'cds', 'rds', 'eds'] });
    cleanup.push(() => xds.stop());
    const port = await freePort();
    const edsSource = apiConfigSource('xds-api', 'DELTA_GRPC');
    xds.setResources(LISTENER_TYPE_URL, [listener(port, apiConfigSource('xds-api'))], 'l1');
    xds.setResources(CLUSTER_TYPE_URL, [edsCluster('api-svc', edsSource)], 'c1');
    xds.setResources(ROUTE_TYPE_URL, [routes('api-svc', 'r1')], 'r1');
    xds.setResources(ENDPOINT_TYPE_URL, [endpoints('api-svc', a.port)], 'e1');
    const bootstrap = {
      node: NODE,
      dynamic_resources: {
        lds_config: apiConfigSource('xds-api', 'GRPC', true),
        // Node on every request for CDS: a different source, so a stream of its own anyway.
        cds_config: apiConfigSource('xds-api', 'GRPC', false),
      },
      static_resources: { clusters: [pipeCluster('xds-api', xds.target.replace(/^unix:\/\//, ''))] },
    };
    const server = await startServer(bootstrap, dir);
    cleanup.push(() => server.stop());
    await untilValue('LIVE', () => server.serverState === 'LIVE');
    const first = await untilValue('traffic through the api-sourced config', () => tryGet(port));
    expect(first).toMatchObject({ status: 200, body: 'a' });
    expect(first.headers['x-route-version']).toBe('r1');
    await untilValue('initial ACKs', () => allAcked(xds));

    // One stream per type, each on its own discovery service, carrying only its type.
    const streams = streamsOf(xds);
    const byService = new Map([...streams.values()].map((reqs) => [reqs[0]!.service, reqs]));
    expect([...byService.keys()].sort()).toEqual(['cds', 'eds', 'lds', 'rds']);
    expect(streams.size).toBe(4);
    const typeOf = { lds: LISTENER_TYPE_URL, cds: CLUSTER_TYPE_URL, rds: ROUTE_TYPE_URL, eds: ENDPOINT_TYPE_URL } as const;
    for (const [service, reqs] of byService) {
      expect(new Set(reqs.map((r) => r.typeUrl))).toEqual(new Set([typeOf[service as keyof typeof typeOf]]));
      expect(reqs.every((r) => r.delta === (service === 'eds'))).toBe(true);
    }
    expect(byService.get('rds')![0]!.request.resourceNames).toEqual(['api-routes']);
    expect(byService.get('eds')![0]!.request.resourceNamesSubscribe).toEqual(['api-svc']);
    // set_node_on_first_message_only: LDS sends the node once, CDS (false) on every request.
    const lds = byService.get('lds')!;
    const cds = byService.get('cds')!;
    expect(lds.length).toBeGreaterThan(1);
    expect(lds[0]!.request.node?.id).toBe(NODE.id);
    expect(lds.slice(1).every((r) => !r.request.node?.id)).toBe(true);
    expect(cds.length).toBeGreaterThan(1);
    expect(cds.every((r) => r.request.node?.id === NODE.id)).toBe(true);

    // NACK on the CDS stream: a cluster whose eds_config is not a V3 transport is rejected with
    // its field path; the valid cluster keeps serving.
    const bad = edsCluster('bad-svc', { api_config_source: { api_type: 'GRPC', grpc_services: [{ envoy_grpc: { cluster_name: 'xds-api' } }] } });
    xds.setResources(CLUSTER_TYPE_URL, [edsCluster('api-svc', edsSource), bad], 'c2');
    xds.push(CLUSTER_TYPE_URL);
    const nack = await xds.waitForRequest((r) => r.service === 'cds' && !!r.request.errorDetail?.message);
    expect(nack.request.versionInfo).toBe('c1');
    expect(nack.request.errorDetail.message).toMatch(/bad-svc/);
    expect(nack.request.errorDetail.message).toMatch(/eds_cluster_config\.eds_config\.api_config_source\.transport_api_version/);
    expect((await get(port)).body).toBe('a');

    // NACK on the LDS stream: a listener whose RDS source names no static cluster is refused (as
    // Envoy refuses to create that subscription) instead of warming forever; a later fix is ACKed.
    const orphanPort = await freePort();
    xds.setResources(LISTENER_TYPE_URL, [listener(port, apiConfigSource('xds-api')), listener(orphanPort, apiConfigSource('nowhere'), 'orphan')], 'l2');
    xds.push(LISTENER_TYPE_URL);
    const ldsNack = await xds.waitForRequest((r) => r.service === 'lds' && !!r.request.errorDetail?.message);
    expect(ldsNack.request.versionInfo).toBe('l1');
    expect(ldsNack.request.errorDetail.message).toMatch(/orphan/);
    expect(ldsNack.request.errorDetail.message).toMatch(/rds\.config_source\.api_config_source.*unknown static cluster 'nowhere'/);
    xds.setResources(LISTENER_TYPE_URL, [listener(port, apiConfigSource('xds-api'))], 'l3');
    xds.push(LISTENER_TYPE_URL);
    await xds.waitForRequest((r) => r.service === 'lds' && r.request.versionInfo === 'l3' && !r.request.errorDetail);

    // EDS over the delta stream: the endpoint moves to b.
    xds.setResources(ENDPOINT_TYPE_URL, [endpoints('api-svc', b.port)], 'e2');
    xds.push(ENDPOINT_TYPE_URL);
    await untilValue('EDS change live', async () => (await tryGet(port))?.body === 'b');

    // The server drops every stream: each reconnects on its own service and re-subscribes.
    const before = new Set(xds.openStreamIds);
    xds.closeStreams();
    await untilValue('four new streams', () => {
      const fresh = [...streamsOf(xds)].filter(([id]) => !before.has(id));
      return new Set(fresh.map(([, reqs]) => reqs[0]!.service)).size === 4 || undefined;
    });
    const fresh = [...streamsOf(xds)].filter(([id]) => !before.has(id)).map(([, reqs]) => reqs[0]!);
    expect(fresh.find((r) => r.service === 'rds')!.request.resourceNames).toEqual(['api-routes']);
    expect(fresh.find((r) => r.service === 'eds')!.request.resourceNamesSubscribe).toEqual(['api-svc']);
    // A route change after the reconnect applies.
    xds.setResources(ROUTE_TYPE_URL, [routes('api-svc', 'r2')], 'r2');
    xds.push(ROUTE_TYPE_URL);
    await untilValue('RDS change after reconnect', async () => (await tryGet(port))?.headers['x-route-version'] === 'r2');
    expect((await get(port)).body).toBe('b');
    // On the new streams everything is ACKed but CDS, which still holds the invalid cluster.
    const afterReconnect = (s: SentResponse) => !before.has(s.streamId) && s.typeUrl !== CLUSTER_TYPE_URL;
    await untilValue('ACKs after reconnect', () => xds.responses.filter(afterReconnect).length >= 3 && allAcked(xds, afterReconnect));
  }, 30_000);

  it('mixes ADS (LDS, CDS, RDS) with EDS from its own api_config_source server', async () => {
    const a = await upstream((_q, r) => r.end('a'));
    cleanup.push(() => a.close());
    const dir = mkdtempSync(join(tmpdir(), 'xds-api-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const ads = await FakeAdsServer.start();
    const eds = await FakeAdsServer.start({ services: ['eds'] });
    cleanup.push(() => ads.stop(), () => eds.stop());
    const port = await freePort();
    ads.setResources(LISTENER_TYPE_URL, [listener(port, { ads: {}, resource_api_version: 'V3' })], 'l1');
    ads.setResources(CLUSTER_TYPE_URL, [edsCluster('mixed-svc', apiConfigSource('eds-api'))], 'c1');
    ads.setResources(ROUTE_TYPE_URL, [routes('mixed-svc', 'r1')], 'r1');
    // The EDS server has nothing yet: the cluster must wait for it (initial_fetch_timeout 0s).
    eds.setResources(ENDPOINT_TYPE_URL, [], 'e0');
    const bootstrap = {
      node: NODE,
      dynamic_resources: {
        lds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' },
        cds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' },
        ads_config: { api_type: 'GRPC', set_node_on_first_message_only: true, transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }] },
      },
      static_resources: { clusters: [pipeCluster('xds-grpc', ads.target.replace(/^unix:\/\//, '')), pipeCluster('eds-api', eds.target.replace(/^unix:\/\//, ''))] },
    };
    const server = await startServer(bootstrap, dir);
    cleanup.push(() => server.stop());
    const xds = server.xdsController!;
    await eds.waitForRequest((r) => r.typeUrl === ENDPOINT_TYPE_URL && r.request.resourceNames.includes('mixed-svc'));
    await untilValue('CDS applied', () => xds.store.cds.has('mixed-svc'));
    expect(xds.store.isWarming('cds', 'mixed-svc')).toBe(true);
    expect(server.serverState).toBe('INITIALIZING');

    eds.setResources(ENDPOINT_TYPE_URL, [endpoints('mixed-svc', a.port)], 'e1');
    eds.push(ENDPOINT_TYPE_URL);
    await untilValue('LIVE', () => server.serverState === 'LIVE');
    expect(await untilValue('traffic', () => tryGet(port))).toMatchObject({ status: 200, body: 'a' });
    await untilValue('ACKs on both servers', () => allAcked(ads) && allAcked(eds));
    // EDS never went over ADS; the EDS server saw only its own service and type.
    expect(ads.requests.some((r) => r.typeUrl === ENDPOINT_TYPE_URL)).toBe(false);
    expect(eds.requests.every((r) => r.service === 'eds' && r.typeUrl === ENDPOINT_TYPE_URL)).toBe(true);
    expect(xds.streams.eds.sources()).toHaveLength(1);

    // The cluster goes away: nothing loads from eds-api any more, so its stream closes.
    ads.setResources(CLUSTER_TYPE_URL, [], 'c2');
    ads.push(CLUSTER_TYPE_URL);
    await untilValue('EDS stream closed', () => xds.streams.eds.sources().length === 0 && eds.openStreamIds.length === 0);
  }, 30_000);

  it('static listeners and clusters load RDS and EDS from their api_config_sources without any dynamic_resources', async () => {
    const a = await upstream((_q, r) => r.end('a'));
    const b = await upstream((_q, r) => r.end('b'));
    cleanup.push(() => a.close(), () => b.close());
    const dir = mkdtempSync(join(tmpdir(), 'xds-api-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const xds = await FakeAdsServer.start({ services: ['rds', 'eds'] });
    cleanup.push(() => xds.stop());
    const port = await freePort();
    xds.setResources(ROUTE_TYPE_URL, [routes('static-svc', 'r1')], 'r1');
    xds.setResources(ENDPOINT_TYPE_URL, [endpoints('static-svc', a.port)], 'e1');
    const bootstrap = {
      node: NODE,
      static_resources: {
        listeners: [listenerJson(port, apiConfigSource('xds-api'), 'static-http')],
        clusters: [pipeCluster('xds-api', xds.target.replace(/^unix:\/\//, '')), edsClusterJson('static-svc', apiConfigSource('xds-api', 'DELTA_GRPC'))],
      },
    };
    const server = await startServer(bootstrap, dir);
    cleanup.push(() => server.stop());
    const first = await untilValue('traffic through static RDS/EDS', async () => {
      const r = await tryGet(port);
      return r?.status === 200 ? r : undefined;
    });
    expect(first.body).toBe('a');
    expect(first.headers['x-route-version']).toBe('r1');
    expect(new Set(xds.requests.map((r) => r.service))).toEqual(new Set(['rds', 'eds']));
    xds.setResources(ENDPOINT_TYPE_URL, [endpoints('static-svc', b.port)], 'e2');
    xds.push(ENDPOINT_TYPE_URL);
    await untilValue('EDS change live', async () => (await tryGet(port))?.body === 'b');
    await untilValue('ACKs', () => allAcked(xds));
  }, 30_000);

  it('LDS and CDS over DELTA_GRPC api_config_sources: wildcard delta subscriptions, additions and removals', async () => {
    const a = await upstream((_q, r) => r.end('a'));
    cleanup.push(() => a.close());
    const dir = mkdtempSync(join(tmpdir(), 'xds-api-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const xds = await FakeAdsServer.start({ services: ['lds', 'cds'] });
    cleanup.push(() => xds.stop());
    const port = await freePort();
    const staticCluster = (name: string) =>
      protoResource('envoy.config.cluster.v3.Cluster', { name, type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: a.port } } } }] }] } });
    const tcpListener = (name: string, listenPort: number) =>
      protoResource('envoy.config.listener.v3.Listener', {
        name,
        address: { socket_address: { address: '127.0.0.1', port_value: listenPort } },
        filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': `${T}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`, stat_prefix: name, cluster: 'delta-svc' } }] }],
      });
    xds.setResources(CLUSTER_TYPE_URL, [staticCluster('delta-svc'), staticCluster('spare')], 'c1');
    xds.setResources(LISTENER_TYPE_URL, [tcpListener('delta-tcp', port)], 'l1');
    const bootstrap = {
      node: NODE,
      dynamic_resources: { lds_config: apiConfigSource('xds-api', 'DELTA_GRPC'), cds_config: apiConfigSource('xds-api', 'DELTA_GRPC') },
      static_resources: { clusters: [pipeCluster('xds-api', xds.target.replace(/^unix:\/\//, ''))] },
    };
    const server = await startServer(bootstrap, dir);
    cleanup.push(() => server.stop());
    await untilValue('LIVE', () => server.serverState === 'LIVE');
    expect(await untilValue('traffic', () => tryGet(port))).toMatchObject({ status: 200, body: 'a' });
    const streams = [...streamsOf(xds).values()];
    expect(streams.map((reqs) => reqs[0]!.service).sort()).toEqual(['cds', 'lds']);
    // Wildcard in delta: the first request subscribes to nothing by name.
    for (const reqs of streams) expect(reqs.every((r) => r.delta && r.request.resourceNamesSubscribe.every((n: string) => n === '*'))).toBe(true);
    const xc = server.xdsController!;
    expect(xc.store.cds.has('spare')).toBe(true);

    // A delta removal of a cluster and of the listener.
    xds.removeResources(CLUSTER_TYPE_URL, ['spare'], 'c2');
    xds.push(CLUSTER_TYPE_URL);
    await untilValue('cluster removed', () => !xc.store.cds.has('spare'));
    xds.removeResources(LISTENER_TYPE_URL, ['delta-tcp'], 'l2');
    xds.push(LISTENER_TYPE_URL);
    await untilValue('listener removed', () => !xc.store.lds.has('delta-tcp'));
    await untilValue('listener closed', async () => (await tryGet(port)) === undefined);
    await untilValue('ACKs', () => allAcked(xds));
  }, 30_000);
});
