// Integration: the whole control side in-process (Server: ADS client -> store -> snapshots ->
// in-process worker) against the fake ADS server over a Unix socket, serving the real Istio
// 1.26 sidecar resources (listener ports rewritten to 0 on 127.0.0.1, EDS endpoints rewritten to
// loopback). Checks: every response ACKed, server INITIALIZING -> LIVE, every listener active in
// /listeners, clusters warm after EDS, delta and SotW apply the same snapshot, NACK of one bad
// resource among good ones (named, reasoned, good ones applied, last good kept, fix ACKed),
// EDS-only change travels as an endpoint delta (no new generation), and TCP traffic through a
// tcp_proxy listener delivered over LDS/CDS/EDS reaches a loopback upstream.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFlags } from '../../src/config/bootstrap/flags';
import { loadBootstrap } from '../../src/config/bootstrap/load-bootstrap';
import { Server } from '../../src/control/server';
import { lookupType, typeForUrl } from '../../src/gen/proto-root';
import { LogRoot } from '../../src/log/logger';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL } from '../../src/xds/type-urls';
import { FakeAdsServer, loadCorpusResponse, type FakeResource, type RecordedRequest } from '../support/fake-ads-server';

const DIR = 'derived/xds-from-dumps/istio-1.26.2-sidecar-frontend';
/** Applied config per API type, compared across the two describe blocks. */
const applied: Record<string, string> = {};
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function encode(typeUrl: string, obj: Obj): Uint8Array {
  const t = typeForUrl(typeUrl)!;
  return t.encode(t.fromObject(obj)).finish();
}
function decode(typeUrl: string, raw: Uint8Array): Obj {
  const t = typeForUrl(typeUrl)!;
  return t.toObject(t.decode(raw), { defaults: false, arrays: true, objects: true, longs: Number, enums: String }) as Obj;
}
function anyOf(typeName: string, obj: Obj): Obj {
  const t = lookupType(typeName);
  return { typeUrl: `type.googleapis.com/${typeName}`, value: t.encode(t.fromObject(obj)).finish() };
}

/** Corpus resources with the binding listeners moved to 127.0.0.1:0 and endpoints to loopback. */
function corpusResources(upstreamPort: number): Map<string, { version: string; resources: FakeResource[] }> {
  const out = new Map<string, { version: string; resources: FakeResource[] }>();
  const files: [string, string][] = [
    [LISTENER_TYPE_URL, 'lds.json'],
    [CLUSTER_TYPE_URL, 'cds.json'],
    [ENDPOINT_TYPE_URL, 'eds.reconstructed.json'],
    [ROUTE_TYPE_URL, 'rds.json'],
  ];
  for (const [typeUrl, file] of files) {
    const c = loadCorpusResponse(`${DIR}/${file}`);
    const resources = c.resources.map((r) => {
      if (typeUrl === LISTENER_TYPE_URL) {
        const t = typeForUrl(typeUrl)!;
        const m = t.decode(r.value) as unknown as Obj;
        if (m.bindToPort === undefined || m.bindToPort === null || m.bindToPort.value !== false) {
          m.address.socketAddress.address = '127.0.0.1';
          m.address.socketAddress.portValue = 0;
        }
        return { name: r.name, value: t.encode(m).finish() };
      }
      if (typeUrl === ENDPOINT_TYPE_URL) {
        const t = typeForUrl(typeUrl)!;
        const m = t.decode(r.value) as unknown as Obj;
        for (const le of m.endpoints ?? []) {
          for (const ep of le.lbEndpoints ?? []) {
            ep.endpoint.address.socketAddress.address = '127.0.0.1';
            ep.endpoint.address.socketAddress.portValue = upstreamPort;
          }
        }
        return { name: r.name, value: t.encode(m).finish() };
      }
      return r;
    });
    out.set(typeUrl, { version: c.versionInfo || 'rds-1', resources });
  }
  return out;
}

function bootstrapYaml(socketPath: string, apiType: 'GRPC' | 'DELTA_GRPC'): string {
  return JSON.stringify({
    node: { id: 'sidecar~127.0.0.1~frontend-abc.demo~demo.svc.cluster.local', cluster: 'frontend.demo' },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
    dynamic_resources: {
      lds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' },
      cds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' },
      ads_config: { api_type: apiType, set_node_on_first_message_only: true, transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }] },
    },
    static_resources: {
      clusters: [
        {
          name: 'xds-grpc',
          type: 'STATIC',
          connect_timeout: '1s',
          typed_extension_protocol_options: {
            'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', explicit_http_config: { http2_protocol_options: {} } },
          },
          load_assignment: { cluster_name: 'xds-grpc', endpoints: [{ lb_endpoints: [{ endpoint: { address: { pipe: { path: socketPath } } } }] }] },
        },
      ],
    },
  });
}

interface Running {
  server: Server;
  admin: string;
  dir: string;
  stop(): Promise<void>;
}

async function startServer(ads: FakeAdsServer, apiType: 'GRPC' | 'DELTA_GRPC'): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'xds-apply-'));
  const adminPath = join(dir, 'admin');
  const socketPath = ads.target.replace(/^unix:\/\//, '');
  const flags = parseFlags(['--config-yaml', bootstrapYaml(socketPath, apiType), '--admin-address-path', adminPath, '--concurrency', '1', '--drain-time-s', '1']);
  const logs = new LogRoot({ level: 'critical', componentLevels: new Map() });
  const server = new Server(flags, logs, loadBootstrap(flags));
  await server.start();
  const admin = readFileSync(adminPath, 'utf8');
  return {
    server,
    admin,
    dir,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function adminGet(admin: string, path: string): Promise<{ status: number; body: string }> {
  const [host, port] = admin.split(':');
  return new Promise((resolve, reject) => {
    const req = request({ host, port: Number(port), path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 8000): Promise<void> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function nacks(ads: FakeAdsServer, from = 0): RecordedRequest[] {
  return ads.requests.slice(from).filter((r) => r.request.errorDetail && (r.request.errorDetail.message || r.request.errorDetail.code));
}

async function echoServer(): Promise<{ port: number; close(): void }> {
  const srv = net.createServer((s) => s.on('data', (d) => s.write(Buffer.concat([Buffer.from('echo:'), d]))));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { port: (srv.address() as net.AddressInfo).port, close: () => srv.close() };
}

function serve(ads: FakeAdsServer, set: Map<string, { version: string; resources: FakeResource[] }>): void {
  for (const [typeUrl, s] of set) ads.setResources(typeUrl, s.resources, s.version);
}

/** The applied snapshot without its generation (which depends on timing). */
function appliedConfig(server: Server, upstreamPort: number): string {
  const snap = (server as unknown as { publisher: { current: Obj } }).publisher.current;
  const { generation: _g, ...rest } = snap;
  void _g;
  // The static xds-grpc cluster names each block's own fake server socket.
  rest.clusters = rest.clusters.filter((c: Obj) => c.name !== 'xds-grpc');
  // Each block has its own loopback upstream; its port is the only expected difference.
  return JSON.stringify(rest).split(`"port":${upstreamPort},`).join('"port":"UPSTREAM",');
}

describe.each(['GRPC', 'DELTA_GRPC'] as const)('Istio 1.26 sidecar resources over %s', (apiType) => {
  let ads: FakeAdsServer;
  let upstream: { port: number; close(): void };
  let run: Running;

  beforeAll(async () => {
    upstream = await echoServer();
    ads = await FakeAdsServer.start();
    serve(ads, corpusResources(upstream.port));
    run = await startServer(ads, apiType);
  });
  afterAll(async () => {
    await run?.stop();
    await ads?.stop();
    upstream?.close();
  });

  test('every response is ACKed, clusters warm after EDS, all listeners active, server LIVE', async () => {
    await until(() => run.server.serverState === 'LIVE', 'LIVE');
    const store = run.server.xdsController!.store;
    expect(nacks(ads)).toEqual([]);
    expect(store.warmingClusterCount).toBe(0);
    expect(store.activeClusterCount).toBe(18); // 17 dynamic + xds-grpc
    expect(store.warmingListenerCount).toBe(0);
    expect(store.lds.size).toBe(15);
    expect(store.rds.size).toBe(8);
    expect(store.eds.size).toBe(13);
    // Every response was answered by an ACK carrying its nonce.
    for (const r of ads.responses) {
      await ads.waitForRequest((q) => q.typeUrl === r.typeUrl && q.request.responseNonce === r.nonce && !q.request.errorDetail, 3000);
    }
    const listeners = JSON.parse((await adminGet(run.admin, '/listeners?format=json')).body) as { listener_statuses: { name: string }[] };
    expect(listeners.listener_statuses.map((l) => l.name).sort()).toEqual([...store.lds.names()].sort());
    const ready = await adminGet(run.admin, '/ready');
    expect(ready.status).toBe(200);
    const stats = (await adminGet(run.admin, '/stats')).body;
    expect(stats).toMatch(/cluster_manager\.cds\.update_success: [1-9]/);
    expect(stats).toMatch(/listener_manager\.lds\.update_success: [1-9]/);
    expect(stats).toMatch(/cluster_manager\.warming_clusters: 0/);
    expect(stats).toMatch(/http\.outbound_0\.0\.0\.0_80;\.rds\.80\.update_success: 1/);
    applied[apiType] = appliedConfig(run.server, upstream.port);
    // Config history saw each type, ACKed.
    const hist = run.server['adminView']().configHistory!('cds') as { updates: { result: string; added: string[] }[] };
    expect(hist.updates[hist.updates.length - 1]!.added).toHaveLength(17);
    expect(hist.updates.every((u) => u.result === 'ACK')).toBe(true);
  });

  test('an EDS-only change travels as an endpoint delta: no new generation, listeners untouched', async () => {
    const pub = (run.server as unknown as { publisher: { appliedGeneration: number; current: Obj } }).publisher;
    const gen = pub.appliedGeneration;
    const bound = JSON.stringify(run.server.listeners());
    const name = 'outbound|8080||backend.demo.svc.cluster.local';
    const held = corpusResources(upstream.port).get(ENDPOINT_TYPE_URL)!.resources.find((r) => r.name === name)!;
    const cla = decode(ENDPOINT_TYPE_URL, held.value);
    cla.endpoints[0].lbEndpoints[0].endpoint.address.socketAddress.portValue = upstream.port + 1;
    ads.upsertResources(ENDPOINT_TYPE_URL, [{ name, value: encode(ENDPOINT_TYPE_URL, cla) }], 'eds-2');
    ads.push(ENDPOINT_TYPE_URL, { names: [name] });
    await until(async () => {
      const body = (await adminGet(run.admin, '/clusters')).body;
      return body.includes(`${name}::127.0.0.1:${upstream.port + 1}`);
    }, 'endpoint change visible');
    expect(pub.appliedGeneration).toBe(gen);
    expect(pub.current.versions.eds).toBe('eds-2');
    expect(JSON.stringify(run.server.listeners())).toBe(bound);
  });

  test('delta and SotW apply the same snapshot', () => {
    // Compared as booleans: a failure must not print two 100 KB snapshots.
    if (apiType === 'DELTA_GRPC') {
      expect(applied.DELTA_GRPC === applied.GRPC).toBe(true);
    }
    else expect(applied.GRPC).toBeDefined();
  });
});

describe('NACK and TCP traffic over LDS/CDS/EDS', () => {
  let ads: FakeAdsServer;
  let upstream: { port: number; close(): void };
  let run: Running;

  const tcpListener = (name: string, cluster: string) =>
    encode(LISTENER_TYPE_URL, {
      name,
      address: { socketAddress: { address: '127.0.0.1', portValue: 0 } },
      filterChains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typedConfig: anyOf('envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', { statPrefix: name, cluster }) }] }],
    });
  const edsCluster = (name: string, extra: Obj = {}) => encode(CLUSTER_TYPE_URL, { name, type: 'EDS', connectTimeout: { seconds: 1 }, edsClusterConfig: { edsConfig: { ads: {} }, serviceName: name }, ...extra });
  const cla = (name: string, port: number) => encode(ENDPOINT_TYPE_URL, { clusterName: name, endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: port } } } }] }] });

  beforeAll(async () => {
    upstream = await echoServer();
    ads = await FakeAdsServer.start();
    ads.setResources(CLUSTER_TYPE_URL, [{ name: 'echo', value: edsCluster('echo') }], 'c1');
    ads.setResources(ENDPOINT_TYPE_URL, [{ name: 'echo', value: cla('echo', upstream.port) }], 'e1');
    ads.setResources(LISTENER_TYPE_URL, [{ name: 'tcp-echo', value: tcpListener('tcp-echo', 'echo') }], 'l1');
    run = await startServer(ads, 'DELTA_GRPC');
    await until(() => run.server.serverState === 'LIVE', 'LIVE');
  });
  afterAll(async () => {
    await run?.stop();
    await ads?.stop();
    upstream?.close();
  });

  async function roundTrip(listener: string, payload: string): Promise<string> {
    const b = run.server.listeners().find((l) => l.name === listener)!;
    const [host, port] = b.address!.split(':');
    return new Promise((resolve, reject) => {
      const s = net.connect(Number(port), host!, () => s.write(payload));
      const t = setTimeout(() => {
        s.destroy();
        reject(new Error('no echo'));
      }, 3000);
      s.on('data', (d) => {
        clearTimeout(t);
        s.end();
        resolve(d.toString());
      });
      s.on('error', reject);
    });
  }

  test('TCP through a tcp_proxy listener delivered over xDS reaches the loopback upstream', async () => {
    expect(await roundTrip('tcp-echo', 'ping')).toBe('echo:ping');
  });

  test('an invalid cluster among valid ones is NACKed by name and reason; valid ones apply; a fix is ACKed', async () => {
    const from = ads.requests.length;
    const store = run.server.xdsController!.store;
    const good = store.cds.get('echo')!.raw;
    // 'echo' loses its eds_cluster_config (invalid), 'extra' is new and valid.
    ads.setResources(CLUSTER_TYPE_URL, [{ name: 'echo', value: encode(CLUSTER_TYPE_URL, { name: 'echo', type: 'EDS', connectTimeout: { seconds: 1 } }) }, { name: 'extra', value: edsCluster('extra') }], 'c2');
    ads.upsertResources(ENDPOINT_TYPE_URL, [{ name: 'extra', value: cla('extra', upstream.port) }], 'e2');
    ads.push(CLUSTER_TYPE_URL);
    const nack = await ads.waitForRequest((r) => r.typeUrl === CLUSTER_TYPE_URL && !!r.request.errorDetail?.message, 5000, from);
    expect(nack.request.errorDetail.message).toMatch(/^echo: eds_cluster_config: required for EDS clusters$/);
    expect(nack.request.errorDetail.code).toBe(13);
    await until(() => store.cds.has('extra') && !store.isWarming('cds', 'extra'), 'extra warm');
    // Last good 'echo' still serves.
    expect(Buffer.compare(Buffer.from(store.cds.get('echo')!.raw), Buffer.from(good))).toBe(0);
    expect(store.cds.get('echo')!.status).toBe('NACKED');
    expect(store.cds.versionInfo).toBe('c1');
    expect(await roundTrip('tcp-echo', 'still')).toBe('echo:still');
    const dump = run.server['adminView']().configDump!().resources('cds');
    expect(dump.find((d) => d.name === 'echo')!.errorState!.details).toMatch(/eds_cluster_config/);
    const hist = run.server['adminView']().configHistory!('cds') as { updates: { result: string; errors: { name: string }[] }[] };
    expect(hist.updates[0]!.result).toBe('NACK');
    expect(hist.updates[0]!.errors.map((e) => e.name)).toEqual(['echo']);
    // Fix: ACKed, version moves on.
    const fixFrom = ads.requests.length;
    ads.setResources(CLUSTER_TYPE_URL, [{ name: 'echo', value: edsCluster('echo', { connectTimeout: { seconds: 2 } }) }, { name: 'extra', value: edsCluster('extra') }], 'c3');
    ads.push(CLUSTER_TYPE_URL);
    const ack = await ads.waitForRequest((r) => r.typeUrl === CLUSTER_TYPE_URL && !!r.request.responseNonce && !r.request.errorDetail, 5000, fixFrom);
    expect(ack.request.responseNonce).toMatch(/^c3\//);
    expect(store.cds.versionInfo).toBe('c3');
    expect(store.cds.get('echo')!.status).toBe('ACKED');
    expect(await roundTrip('tcp-echo', 'fixed')).toBe('echo:fixed');
  });

  test('keeps serving the last good configuration while the control plane is gone', async () => {
    ads.closeStreams();
    await until(() => !run.server.xdsController!.adsClient!.isConnected, 'disconnect');
    expect(await roundTrip('tcp-echo', 'offline')).toBe('echo:offline');
    // The client reconnects and re-subscribes; the server answers with the same config: still ACKed.
    await until(() => run.server.xdsController!.adsClient!.isConnected, 'reconnect');
    expect(await roundTrip('tcp-echo', 'back')).toBe('echo:back');
  });
});

describe('an EDS change during a large CDS push (in-process proxy, delta)', () => {
  const N = 2000;
  const TARGET = 1234;
  const name = (i: number) => `outbound|8080||svc-${i}.scale.svc.cluster.local`;
  const clusterRes = (i: number, timeoutS: number): FakeResource => ({
    name: name(i),
    value: encode(CLUSTER_TYPE_URL, { name: name(i), type: 'EDS', edsClusterConfig: { edsConfig: { ads: {} }, serviceName: name(i) }, connectTimeout: { seconds: timeoutS }, lbPolicy: 'LEAST_REQUEST' }),
  });
  const claRes = (i: number, port: number): FakeResource => ({
    name: name(i),
    value: encode(ENDPOINT_TYPE_URL, { clusterName: name(i), endpoints: [{ lbEndpoints: [1, 2, 3].map((e) => ({ endpoint: { address: { socketAddress: { address: `127.0.${i & 255}.${e}`, portValue: port } } } })) }] }),
  });
  const tcpProxy = lookupType('envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy');
  const listenerRes: FakeResource = {
    name: 'scale',
    value: encode(LISTENER_TYPE_URL, {
      name: 'scale',
      address: { socketAddress: { address: '127.0.0.1', portValue: 0 } },
      bindToPort: { value: false },
      filterChains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typedConfig: { typeUrl: 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', value: tcpProxy.encode(tcpProxy.fromObject({ statPrefix: 'scale', cluster: name(0) })).finish() } }] }],
    }),
  };
  let ads: FakeAdsServer;
  let run: Running;

  beforeAll(async () => {
    ads = await FakeAdsServer.start();
    ads.setResources(CLUSTER_TYPE_URL, Array.from({ length: N }, (_, i) => clusterRes(i, 10)), 'c1');
    ads.setResources(ENDPOINT_TYPE_URL, Array.from({ length: N }, (_, i) => claRes(i, 8080)), 'e1');
    ads.setResources(LISTENER_TYPE_URL, [listenerRes], 'l1');
    run = await startServer(ads, 'DELTA_GRPC');
    await until(() => run.server.serverState === 'LIVE', 'LIVE', 30_000);
  }, 40_000);
  afterAll(async () => {
    await run?.stop();
    await ads?.stop();
  });

  test('the EDS change is live on the worker before the CDS response is ACKed; the new snapshot keeps it', async () => {
    type Rt = { generation: number; clusters: { get(n: string): { chooseHost(): { key: string } | undefined; config: { connectTimeoutMs: number } } | undefined } };
    const engine = (run.server as unknown as { workers: { engine: { currentRuntime(): Rt } } }).workers.engine;
    const pub = (run.server as unknown as { publisher: { appliedGeneration: number } }).publisher;
    const target = () => engine.currentRuntime().clusters.get(name(TARGET))!;
    const live = () => target().chooseHost()!.key.endsWith(':9090');
    expect(target().chooseHost()!.key).toMatch(/:8080$/);
    const events: string[] = [];
    run.server.xdsController!.adsClient!.on('ack', (a: { typeUrl: string; version: string }) => {
      if (a.typeUrl === CLUSTER_TYPE_URL && a.version === 'c2') events.push(`cds c2 ACKed; eds change live: ${live()}`);
      if (a.typeUrl === ENDPOINT_TYPE_URL && a.version === 'e2') events.push(`eds e2 ACKed; eds change live: ${live()}`);
    });
    const gen = pub.appliedGeneration;
    const from = ads.requests.length;
    // A second full CDS (every cluster changed) and, right behind it, one EDS change.
    ads.setResources(CLUSTER_TYPE_URL, Array.from({ length: N }, (_, i) => clusterRes(i, 11)), 'c2');
    ads.upsertResources(ENDPOINT_TYPE_URL, [claRes(TARGET, 9090)], 'e2');
    ads.push(CLUSTER_TYPE_URL);
    ads.push(ENDPOINT_TYPE_URL, { names: [name(TARGET)] });
    await ads.waitForRequest((r) => r.typeUrl === CLUSTER_TYPE_URL && String(r.request.responseNonce).startsWith('c2/'), 20_000, from);
    await until(() => pub.appliedGeneration > gen, 'second CDS snapshot applied', 20_000);
    expect(events).toEqual(['eds e2 ACKed; eds change live: true', 'cds c2 ACKed; eds change live: true']);
    expect(nacks(ads, from)).toEqual([]);
    // The rebuilt cluster (new config) serves the new endpoints.
    expect(target().config.connectTimeoutMs).toBe(11_000);
    expect(live()).toBe(true);
  }, 40_000);
});
