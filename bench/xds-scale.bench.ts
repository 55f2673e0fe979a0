// Scale bench (not a test) of the xDS apply path, in-process: the real Server (ADS client ->
// store -> snapshot -> in-process worker) against the fake ADS server over a Unix socket (delta
// gRPC, as Istio's bootstrap asks). Phase 1 pushes 10,000 EDS clusters x 5 endpoints, one HTTP
// listener and a 1,000-route RouteConfiguration at once: time to ACK per type and until LIVE,
// RSS and heap before/after, per-cluster memory. Phase 2 pushes a second full CDS (every cluster
// changed) and, right behind it, one EDS change: time until that host is live on the worker.
// Run: node --expose-gc bench/xds-scale.bench.run.cjs   [CLUSTERS=10000 ROUTES=1000]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFlags } from '../src/config/bootstrap/flags';
import { loadBootstrap } from '../src/config/bootstrap/load-bootstrap';
import { Server } from '../src/control/server';
import { lookupType, typeForUrl } from '../src/gen/proto-root';
import { LogRoot } from '../src/log/logger';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL } from '../src/xds/type-urls';
import { FakeAdsServer, type FakeResource, type RecordedRequest } from '../test/support/fake-ads-server';

const CLUSTERS = Number(process.env.CLUSTERS ?? 10_000);
const ENDPOINTS = 5;
const ROUTES = Number(process.env.ROUTES ?? 1_000);
const TIMEOUT_MS = 120_000;
type Obj = Record<string, unknown>;

const enc = (typeUrl: string, obj: Obj): Uint8Array => {
  const t = typeForUrl(typeUrl)!;
  return t.encode(t.fromObject(obj)).finish();
};
const anyOf = (typeName: string, obj: Obj) => {
  const t = lookupType(typeName);
  return { typeUrl: `type.googleapis.com/${typeName}`, value: t.encode(t.fromObject(obj)).finish() };
};
const clusterName = (i: number) => `outbound|8080||svc-${i}.ns-${i % 50}.svc.cluster.local`;

function cluster(i: number, timeoutS: number): FakeResource {
  const name = clusterName(i);
  return {
    name,
    value: enc(CLUSTER_TYPE_URL, {
      name,
      type: 'EDS',
      edsClusterConfig: { edsConfig: { ads: {}, initialFetchTimeout: {}, resourceApiVersion: 'V3' }, serviceName: name },
      connectTimeout: { seconds: timeoutS },
      lbPolicy: 'LEAST_REQUEST',
      circuitBreakers: { thresholds: [{ maxConnections: { value: 4294967295 }, maxPendingRequests: { value: 4294967295 }, maxRequests: { value: 4294967295 }, maxRetries: { value: 4294967295 }, trackRemaining: true }] },
      commonLbConfig: {},
      altStatName: `${name};`,
      metadata: { filterMetadata: { istio: { fields: { services: { listValue: { values: [{ structValue: { fields: { host: { stringValue: `svc-${i}.ns.svc.cluster.local` }, name: { stringValue: `svc-${i}` }, namespace: { stringValue: 'ns' } } } }] } } } } } },
    }),
  };
}

function assignment(i: number, port: number): FakeResource {
  const name = clusterName(i);
  const lbEndpoints = [];
  for (let e = 0; e < ENDPOINTS; e++) {
    lbEndpoints.push({ endpoint: { address: { socketAddress: { address: `127.${(i >> 8) & 255}.${i & 255}.${e + 1}`, portValue: port } } }, healthStatus: 'HEALTHY', loadBalancingWeight: { value: 1 }, metadata: { filterMetadata: { istio: { fields: { workload: { stringValue: `svc-${i}-v1;ns;svc-${i};v1;cluster` } } } } } });
  }
  return { name, value: enc(ENDPOINT_TYPE_URL, { clusterName: name, endpoints: [{ locality: { region: 'r', zone: 'z' }, lbEndpoints, loadBalancingWeight: { value: ENDPOINTS } }] }) };
}

function routeConfig(): FakeResource {
  const virtualHosts = [];
  for (let r = 0; r < ROUTES; r++) {
    const i = r % CLUSTERS;
    virtualHosts.push({
      name: `svc-${i}.ns.svc.cluster.local:8080`,
      domains: [`svc-${i}.ns.svc.cluster.local`, `svc-${i}`, `10.${(r >> 8) & 255}.${r & 255}.1`],
      routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster: clusterName(i), timeout: { seconds: 0 }, retryPolicy: { retryOn: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes', numRetries: { value: 2 } } } }],
    });
  }
  return { name: '8080', value: enc(ROUTE_TYPE_URL, { name: '8080', virtualHosts, validateClusters: { value: false } }) };
}

function listener(): FakeResource {
  const hcm = anyOf('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', {
    statPrefix: 'outbound_0.0.0.0_8080',
    rds: { configSource: { ads: {}, resourceApiVersion: 'V3' }, routeConfigName: '8080' },
    httpFilters: [{ name: 'envoy.filters.http.router', typedConfig: anyOf('envoy.extensions.filters.http.router.v3.Router', {}) }],
  });
  return {
    name: '0.0.0.0_8080',
    value: enc(LISTENER_TYPE_URL, { name: '0.0.0.0_8080', address: { socketAddress: { address: '0.0.0.0', portValue: 8080 } }, bindToPort: { value: false }, filterChains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typedConfig: hcm }] }] }),
  };
}

function mem(): { rss: number; heap: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed + m.external + m.arrayBuffers };
}
const mb = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;

async function until(cond: () => boolean, what: string): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > TIMEOUT_MS) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

function ackOf(ads: FakeAdsServer, typeUrl: string, version: string) {
  return (r: RecordedRequest) => r.typeUrl === typeUrl && typeof r.request.responseNonce === 'string' && r.request.responseNonce.startsWith(`${version}/`) && !r.request.errorDetail && ads.responses.some((s) => s.nonce === r.request.responseNonce);
}

// The fake server filters "only these names" with Array.includes, O(n^2) for a 10,000-name EDS
// subscription (about a second of its own CPU in this process); a Set keeps the bench measuring
// the proxy. Bench-only patch of a private method, same result.
type FakeInternals = { sets: Map<string, { resources: Map<string, FakeResource> }> };
(FakeAdsServer.prototype as unknown as Record<string, unknown>).wanted = function (this: FakeInternals, typeUrl: string, st: { wildcard: boolean; names: Set<string> }, only?: readonly string[]): FakeResource[] {
  const set = this.sets.get(typeUrl);
  if (!set) return [];
  const onlySet = only ? new Set(only) : undefined;
  const out: FakeResource[] = [];
  for (const r of set.resources.values()) if ((!onlySet || onlySet.has(r.name)) && (st.wildcard || st.names.has(r.name))) out.push(r);
  return out;
};

async function main(): Promise<void> {
  console.log(`xds-scale: ${CLUSTERS} clusters x ${ENDPOINTS} endpoints, ${ROUTES} routes (delta ADS over a Unix socket, in-process worker)`);
  let t = performance.now();
  const clusters: FakeResource[] = [];
  const claList: FakeResource[] = [];
  for (let i = 0; i < CLUSTERS; i++) {
    clusters.push(cluster(i, 10));
    claList.push(assignment(i, 8080));
  }
  const rc = routeConfig();
  const bytes = clusters.reduce((n, r) => n + r.value.length, 0) + claList.reduce((n, r) => n + r.value.length, 0) + rc.value.length;
  console.log(`fixture: ${mb(bytes)} of resources encoded in ${(performance.now() - t).toFixed(0)} ms`);

  const ads = await FakeAdsServer.start();
  ads.setResources(CLUSTER_TYPE_URL, clusters, 'c1');
  ads.setResources(ENDPOINT_TYPE_URL, claList, 'e1');
  ads.setResources(LISTENER_TYPE_URL, [listener()], 'l1');
  ads.setResources(ROUTE_TYPE_URL, [rc], 'r1');
  const dir = mkdtempSync(join(tmpdir(), 'xds-scale-'));
  const bootstrap = JSON.stringify({
    node: { id: 'sidecar~127.0.0.1~bench.ns~ns.svc.cluster.local', cluster: 'bench.ns' },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
    dynamic_resources: {
      lds_config: { ads: {}, initial_fetch_timeout: '0s' },
      cds_config: { ads: {}, initial_fetch_timeout: '0s' },
      ads_config: { api_type: 'DELTA_GRPC', set_node_on_first_message_only: true, grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }] },
    },
    static_resources: { clusters: [{ name: 'xds-grpc', type: 'STATIC', load_assignment: { cluster_name: 'xds-grpc', endpoints: [{ lb_endpoints: [{ endpoint: { address: { pipe: { path: ads.target.replace('unix://', '') } } } }] }] } }] },
  });
  const flags = parseFlags(['--config-yaml', bootstrap, '--admin-address-path', join(dir, 'admin'), '--concurrency', '1']);
  const server = new Server(flags, new LogRoot({ level: 'error', componentLevels: new Map(process.env.XDS_LOG ? [['config', 'info']] : []) }), loadBootstrap(flags));
  const before = mem();

  // ---- phase 1: everything at once ----
  t = performance.now();
  await server.start();
  void readFileSync(join(dir, 'admin'), 'utf8');
  const ackAt: Record<string, number> = {};
  const watchAck = (typeUrl: string, version: string, key: string) =>
    ads.waitForRequest(ackOf(ads, typeUrl, version), TIMEOUT_MS).then(() => (ackAt[key] = performance.now() - t));
  await Promise.all([watchAck(CLUSTER_TYPE_URL, 'c1', 'cds'), watchAck(ENDPOINT_TYPE_URL, 'e1', 'eds'), watchAck(LISTENER_TYPE_URL, 'l1', 'lds'), watchAck(ROUTE_TYPE_URL, 'r1', 'rds')]);
  await until(() => server.serverState === 'LIVE', 'LIVE');
  const liveMs = performance.now() - t;
  const nacks = ads.requests.filter((r) => r.request.errorDetail).length;
  const store = server.xdsController!.store;
  const after = mem();
  console.log(`phase 1: ACK cds ${ackAt.cds!.toFixed(0)} ms, eds ${ackAt.eds!.toFixed(0)} ms, lds ${ackAt.lds!.toFixed(0)} ms, rds ${ackAt.rds!.toFixed(0)} ms after start; LIVE at ${liveMs.toFixed(0)} ms; NACKs ${nacks}`);
  console.log(`         active clusters ${store.activeClusterCount}, warming ${store.warmingClusterCount}, listeners ${store.activeListenerCount}`);
  console.log(`memory: RSS ${mb(before.rss)} -> ${mb(after.rss)} (+${mb(after.rss - before.rss)}), heap+external ${mb(before.heap)} -> ${mb(after.heap)} (+${mb(after.heap - before.heap)})`);
  console.log(`per cluster (with its 5 endpoints, raw bytes kept for config_dump, worker runtime): RSS ${((after.rss - before.rss) / CLUSTERS / 1024).toFixed(1)} KiB, heap ${((after.heap - before.heap) / CLUSTERS / 1024).toFixed(1)} KiB`);

  // ---- phase 2: second full CDS push with one EDS change right behind it ----
  const engine = (server as unknown as { workers: { engine: { currentRuntime(): { clusters: { get(n: string): { allHosts(): readonly { key: string }[] } | undefined } } } } }).workers.engine;
  const target = 4242 % CLUSTERS;
  const newPort = 9090;
  const changed: FakeResource[] = [];
  for (let i = 0; i < CLUSTERS; i++) changed.push(cluster(i, 11));
  const reqFrom = ads.requests.length;
  const gen = (server as unknown as { publisher: { appliedGeneration: number } }).publisher.appliedGeneration;
  ads.setResources(CLUSTER_TYPE_URL, changed, 'c2');
  const t2 = performance.now();
  ads.push(CLUSTER_TYPE_URL);
  ads.upsertResources(ENDPOINT_TYPE_URL, [assignment(target, newPort)], 'e2');
  ads.push(ENDPOINT_TYPE_URL, { names: [clusterName(target)] });
  const tEds = performance.now();
  const live = () => engine.currentRuntime().clusters.get(clusterName(target))?.allHosts().some((h) => h.key.endsWith(`:${newPort}`)) === true;
  await until(live, 'EDS change live');
  const edsLiveMs = performance.now() - tEds;
  await ads.waitForRequest(ackOf(ads, CLUSTER_TYPE_URL, 'c2'), TIMEOUT_MS, reqFrom);
  const cdsAck2 = performance.now() - t2;
  await until(() => (server as unknown as { publisher: { appliedGeneration: number } }).publisher.appliedGeneration > gen, 'second CDS snapshot applied');
  const cdsLive2 = performance.now() - t2;
  console.log(`phase 2: second full CDS (${CLUSTERS} changed) ACK ${cdsAck2.toFixed(0)} ms, applied on the worker ${cdsLive2.toFixed(0)} ms; one EDS change pushed right behind it live after ${edsLiveMs.toFixed(1)} ms`);

  // EDS alone, no CDS in flight.
  ads.upsertResources(ENDPOINT_TYPE_URL, [assignment(target, newPort + 1)], 'e3');
  const t3 = performance.now();
  ads.push(ENDPOINT_TYPE_URL, { names: [clusterName(target)] });
  await until(() => engine.currentRuntime().clusters.get(clusterName(target))?.allHosts().some((h) => h.key.endsWith(`:${newPort + 1}`)) === true, 'EDS alone live');
  console.log(`phase 3: one EDS change alone live after ${(performance.now() - t3).toFixed(1)} ms`);

  await server.stop();
  await ads.stop();
  rmSync(dir, { recursive: true, force: true });
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
