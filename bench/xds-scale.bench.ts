// Scale bench (not a test) of the xDS apply path. This process is the proxy only: the real
// Server (ADS client -> store -> snapshot -> in-process worker, --concurrency 1); the fake ADS
// server runs in a child process (same script, role "server"), so the proxy's RSS/heap deltas
// are not inflated by the server's fixtures and its encode/send work does not share the proxy's
// event loop. Delta gRPC over a Unix socket, as Istio's bootstrap asks.
// Phase 1 pushes 10,000 EDS clusters x 5 endpoints, one HTTP listener and a 1,000-route
// RouteConfiguration at once: time to ACK per type (seen by the server) and until LIVE, proxy RSS
// and heap before/after, per-cluster memory. Phase 2 pushes a second full CDS (every cluster
// changed) and, right behind it, one EDS change: time from the server writing that EDS response
// until the data path picks the new endpoint (ClusterRuntime.chooseHost on the worker's current
// runtime). Phase 3: the same EDS change alone. Times across the two processes use
// performance.timeOrigin + performance.now() (one system clock).
// Run: node --expose-gc bench/xds-scale.bench.run.cjs   [CLUSTERS=10000 ROUTES=1000 STATS=istio]
// WORKERS=2: the built proxy (bin/meshproxy --concurrency 2, Istio's default) in a child process
// instead (build first); see processMain.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFlags } from '../src/config/bootstrap/flags';
import { loadBootstrap } from '../src/config/bootstrap/load-bootstrap';
import { Server } from '../src/control/server';
import { lookupType, typeForUrl } from '../src/gen/proto-root';
import { LogRoot } from '../src/log/logger';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL } from '../src/xds/type-urls';
import { FakeAdsServer, type FakeResource } from '../test/support/fake-ads-server';
import { startProxy } from '../test/support/proxy-process';

const CLUSTERS = Number(process.env.CLUSTERS ?? 10_000);
const ENDPOINTS = 5;
const ROUTES = Number(process.env.ROUTES ?? 1_000);
// Virtual host names and domains come from the cluster index: more routes than clusters would repeat them (RDS NACK, never LIVE).
if (ROUTES > CLUSTERS) throw new Error(`ROUTES (${ROUTES}) must not exceed CLUSTERS (${CLUSTERS})`);
const TIMEOUT_MS = 120_000;
// STATS=istio: the proxy runs with the stats_matcher inclusion list of Istio's sidecar bootstrap
// (pilot-agent's envoy_bootstrap.json without extra inclusions), which rejects every
// `cluster.<name>.*` stat of a service cluster; rejected stats should cost (almost) no memory.
// Default: Envoy's defaults, every stat kept (the headline figure).
const ISTIO_STATS = process.env.STATS === 'istio';
const ISTIO_STATS_MATCHER = {
  inclusion_list: {
    patterns: [
      { prefix: 'reporter=' },
      { prefix: 'cluster_manager' },
      { prefix: 'listener_manager' },
      { prefix: 'server' },
      { prefix: 'cluster.xds-grpc' },
      { prefix: 'wasm' },
      { suffix: 'rbac.allowed' },
      { suffix: 'rbac.denied' },
      { suffix: 'shadow_allowed' },
      { suffix: 'shadow_denied' },
      { safe_regex: { regex: 'vhost\\..*\\.route\\..*' } },
      { prefix: 'component' },
      { prefix: 'istio' },
    ],
  },
};
const TARGET = 4242 % CLUSTERS;
const NEW_PORT = 9090;
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


// The fake server used to filter "only these names" with Array.includes (O(n^2)); it uses a Set now.

const epochMs = () => performance.timeOrigin + performance.now();

// ---- server role (child process) ----

type ToServer = { cmd: 'phase2' } | { cmd: 'phase3' } | { cmd: 'stop' };
type FromServer =
  | { t: 'ready'; target: string; bytes: number; encodeMs: number }
  | { t: 'ack'; typeUrl: string; version: string; at: number; nack: boolean }
  | { t: 'sent'; what: 'phase2' | 'phase3'; cdsAt: number; edsAt: number }
  | { t: 'stopped' };

async function serverMain(): Promise<void> {
  const send = (m: FromServer) => process.send!(m);
  const t = performance.now();
  const clusters: FakeResource[] = [];
  const claList: FakeResource[] = [];
  for (let i = 0; i < CLUSTERS; i++) {
    clusters.push(cluster(i, 10));
    claList.push(assignment(i, 8080));
  }
  const rc = routeConfig();
  const bytes = clusters.reduce((n, r) => n + r.value.length, 0) + claList.reduce((n, r) => n + r.value.length, 0) + rc.value.length;
  const encodeMs = performance.now() - t;
  const ads = await FakeAdsServer.start();
  ads.setResources(CLUSTER_TYPE_URL, clusters, 'c1');
  ads.setResources(ENDPOINT_TYPE_URL, claList, 'e1');
  ads.setResources(LISTENER_TYPE_URL, [listener()], 'l1');
  ads.setResources(ROUTE_TYPE_URL, [rc], 'r1');
  // Report every ACK/NACK (a request answering one of our nonces) with its arrival time.
  const sent = new Set<string>();
  let seen = 0;
  const scan = () => {
    for (; seen < ads.requests.length; seen++) {
      const r = ads.requests[seen]!;
      const nonce = r.request.responseNonce as string | undefined;
      if (!nonce) continue;
      if (!sent.has(nonce)) for (const s of ads.responses) sent.add(s.nonce);
      if (!sent.has(nonce)) continue;
      send({ t: 'ack', typeUrl: r.typeUrl, version: nonce.slice(0, nonce.indexOf('/')), at: epochMs(), nack: !!r.request.errorDetail });
    }
  };
  // waitForRequest's predicate runs as each request arrives: a cheap hook for arrival times.
  const hook = () => void ads.waitForRequest((r) => (scan(), r.seq < 0), 10 * TIMEOUT_MS).catch(() => undefined);
  hook();
  process.on('message', (m: ToServer) => {
    if (m.cmd === 'phase2') {
      const changed: FakeResource[] = [];
      for (let i = 0; i < CLUSTERS; i++) changed.push(cluster(i, 11));
      ads.setResources(CLUSTER_TYPE_URL, changed, 'c2');
      ads.upsertResources(ENDPOINT_TYPE_URL, [assignment(TARGET, NEW_PORT)], 'e2');
      const cdsAt = epochMs();
      ads.push(CLUSTER_TYPE_URL);
      const edsAt = epochMs();
      ads.push(ENDPOINT_TYPE_URL, { names: [clusterName(TARGET)] });
      for (const s of ads.responses) sent.add(s.nonce);
      send({ t: 'sent', what: 'phase2', cdsAt, edsAt });
    } else if (m.cmd === 'phase3') {
      ads.upsertResources(ENDPOINT_TYPE_URL, [assignment(TARGET, NEW_PORT + 1)], 'e3');
      const edsAt = epochMs();
      ads.push(ENDPOINT_TYPE_URL, { names: [clusterName(TARGET)] });
      for (const s of ads.responses) sent.add(s.nonce);
      send({ t: 'sent', what: 'phase3', cdsAt: edsAt, edsAt });
    } else {
      void ads.stop().then(() => {
        send({ t: 'stopped' });
        process.exit(0);
      });
    }
  });
  send({ t: 'ready', target: ads.target, bytes, encodeMs });
}

/** The proxy's bootstrap: delta ADS over the fake server's Unix socket, as Istio's sidecar. */
function bootstrapFor(target: string): Obj {
  return {
    node: { id: 'sidecar~127.0.0.1~bench.ns~ns.svc.cluster.local', cluster: 'bench.ns' },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
    dynamic_resources: {
      lds_config: { ads: {}, initial_fetch_timeout: '0s' },
      cds_config: { ads: {}, initial_fetch_timeout: '0s' },
      ads_config: { api_type: 'DELTA_GRPC', set_node_on_first_message_only: true, grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }] },
    },
    ...(ISTIO_STATS ? { stats_config: { stats_matcher: ISTIO_STATS_MATCHER } } : {}),
    static_resources: { clusters: [{ name: 'xds-grpc', type: 'STATIC', load_assignment: { cluster_name: 'xds-grpc', endpoints: [{ lb_endpoints: [{ endpoint: { address: { pipe: { path: target.replace('unix://', '') } } } }] }] } }] },
  };
}

// ---- proxy role (this process) ----

// heap = V8 heap + memory outside it (`external`, which already includes `arrayBuffers`: Node
// Buffers such as the raw resource bytes; adding arrayBuffers again would count them twice).
function mem(): { rss: number; heap: number; v8: number; external: number } {
  (globalThis as { gc?: () => void }).gc?.();
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed + m.external, v8: m.heapUsed, external: m.external };
}
const mb = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;

async function until(cond: () => boolean, what: string): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > TIMEOUT_MS) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

class ServerChild {
  private readonly msgs: FromServer[] = [];
  private waiters: (() => void)[] = [];
  constructor(readonly child: ChildProcess) {
    child.on('message', (m: FromServer) => {
      this.msgs.push(m);
      for (const w of this.waiters.splice(0)) w();
    });
  }
  send(m: ToServer): void {
    this.child.send(m);
  }
  async next<T extends FromServer>(pred: (m: FromServer) => m is T, from = 0): Promise<T> {
    const start = Date.now();
    for (;;) {
      const found = this.msgs.slice(from).find(pred);
      if (found) return found;
      if (Date.now() - start > TIMEOUT_MS) throw new Error('server child: timed out');
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 1000).unref();
      });
    }
  }
  get count(): number {
    return this.msgs.length;
  }
}

const isAck = (typeUrl: string, version: string) => (m: FromServer): m is Extract<FromServer, { t: 'ack' }> => m.t === 'ack' && m.typeUrl === typeUrl && m.version === version;

async function proxyMain(): Promise<void> {
  console.log(`xds-scale: ${CLUSTERS} clusters x ${ENDPOINTS} endpoints, ${ROUTES} routes (delta ADS over a Unix socket; fake server in a child process; in-process worker; stats: ${ISTIO_STATS ? "Istio's stats_matcher inclusion list" : 'Envoy defaults, all kept'})`);
  const srv = new ServerChild(fork(process.argv[1]!, ['--xds-scale-server'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env } }));
  const ready = await srv.next((m): m is Extract<FromServer, { t: 'ready' }> => m.t === 'ready');
  console.log(`fixture (server process): ${mb(ready.bytes)} of resources encoded in ${ready.encodeMs.toFixed(0)} ms`);
  const dir = mkdtempSync(join(tmpdir(), 'xds-scale-'));
  const bootstrap = JSON.stringify(bootstrapFor(ready.target));
  const flags = parseFlags(['--config-yaml', bootstrap, '--admin-address-path', join(dir, 'admin'), '--concurrency', '1']);
  const server = new Server(flags, new LogRoot({ level: 'error', componentLevels: new Map(process.env.XDS_LOG ? [['config', 'info']] : []) }), loadBootstrap(flags));
  const before = mem();

  // ---- phase 1: everything at once ----
  const t0 = epochMs();
  await server.start();
  const [cds, eds, lds, rds] = await Promise.all([srv.next(isAck(CLUSTER_TYPE_URL, 'c1')), srv.next(isAck(ENDPOINT_TYPE_URL, 'e1')), srv.next(isAck(LISTENER_TYPE_URL, 'l1')), srv.next(isAck(ROUTE_TYPE_URL, 'r1'))]);
  await until(() => server.serverState === 'LIVE', 'LIVE');
  const liveMs = epochMs() - t0;
  const nacks = [cds, eds, lds, rds].filter((a) => a.nack).length;
  const store = server.xdsController!.store;
  const after = mem();
  // HEAPSNAP=<file>: a heap snapshot of the proxy after phase 1 (to see what a cluster costs).
  if (process.env.HEAPSNAP) (await import('node:v8')).writeHeapSnapshot(process.env.HEAPSNAP);
  const ms = (a: { at: number }) => (a.at - t0).toFixed(0);
  console.log(`phase 1: ACK cds ${ms(cds)} ms, eds ${ms(eds)} ms, lds ${ms(lds)} ms, rds ${ms(rds)} ms after start; LIVE at ${liveMs.toFixed(0)} ms; NACKs ${nacks}`);
  const statCount = (server as unknown as { stats: { size: number } }).stats.size;
  console.log(`         active clusters ${store.activeClusterCount}, warming ${store.warmingClusterCount}, listeners ${store.activeListenerCount}; stats kept ${statCount}`);
  console.log(`proxy memory: RSS ${mb(before.rss)} -> ${mb(after.rss)} (+${mb(after.rss - before.rss)}), heap+external ${mb(before.heap)} -> ${mb(after.heap)} (+${mb(after.heap - before.heap)})`);
  const perCluster = (d: number) => `${(d / CLUSTERS / 1024).toFixed(1)} KiB`;
  console.log(
    `per cluster (with its 5 endpoints, raw bytes kept for config_dump, worker runtime): RSS ${perCluster(after.rss - before.rss)}, heap ${perCluster(after.heap - before.heap)} ` +
      `(V8 heap ${perCluster(after.v8 - before.v8)} + external ${perCluster(after.external - before.external)})`,
  );

  // ---- phase 2: second full CDS push with one EDS change right behind it ----
  type Engine = { currentRuntime(): { clusters: { get(n: string): { chooseHost(): { key: string } | undefined } | undefined } } };
  const engine = (server as unknown as { workers: { engine: Engine } }).workers.engine;
  const picks = (port: number) => () => engine.currentRuntime().clusters.get(clusterName(TARGET))?.chooseHost()?.key.endsWith(`:${port}`) === true;
  const publisher = (server as unknown as { publisher: { appliedGeneration: number } }).publisher;
  const gen = publisher.appliedGeneration;
  const from = srv.count;
  srv.send({ cmd: 'phase2' });
  await until(picks(NEW_PORT), 'EDS change live');
  const liveAt = epochMs();
  const sent2 = await srv.next((m): m is Extract<FromServer, { t: 'sent' }> => m.t === 'sent' && m.what === 'phase2', from);
  const cdsAck2 = await srv.next(isAck(CLUSTER_TYPE_URL, 'c2'), from);
  const edsAck2 = await srv.next(isAck(ENDPOINT_TYPE_URL, 'e2'), from);
  await until(() => publisher.appliedGeneration > gen, 'second CDS snapshot applied');
  const cdsLive2 = epochMs() - sent2.cdsAt;
  console.log(
    `phase 2: second full CDS (${CLUSTERS} changed) ACK ${(cdsAck2.at - sent2.cdsAt).toFixed(0)} ms, applied on the worker ${cdsLive2.toFixed(0)} ms; ` +
      `one EDS change sent right behind it: ACK ${(edsAck2.at - sent2.edsAt).toFixed(1)} ms (${edsAck2.at < cdsAck2.at ? 'before' : 'after'} the CDS ACK), picked by the data path ${(liveAt - sent2.edsAt).toFixed(1)} ms after it was sent`,
  );

  // ---- phase 3: EDS alone, no CDS in flight ----
  const from3 = srv.count;
  srv.send({ cmd: 'phase3' });
  await until(picks(NEW_PORT + 1), 'EDS alone live');
  const live3 = epochMs();
  const sent3 = await srv.next((m): m is Extract<FromServer, { t: 'sent' }> => m.t === 'sent' && m.what === 'phase3', from3);
  console.log(`phase 3: one EDS change alone picked by the data path ${(live3 - sent3.edsAt).toFixed(1)} ms after it was sent`);

  await server.stop();
  srv.send({ cmd: 'stop' });
  await srv.next((m): m is Extract<FromServer, { t: 'stopped' }> => m.t === 'stopped');
  rmSync(dir, { recursive: true, force: true });
}

// ---- WORKERS=<n>: the built proxy (bin/meshproxy --concurrency n) as a child process ----
//
// The control process sends each full snapshot to every worker process over IPC and each worker
// builds its cluster manager from it. Times come from the proxy's own log lines, read as they
// arrive on its stdout/stderr: "config: snapshot applied on workers" (every worker acknowledged
// the snapshot) and, at debug level, "eds: endpoint update applied on workers" (every worker
// applied the EDS delta to its current runtime, which is what its data path picks from).
// Memory: RSS of the control process and of each worker process (/proc), before (after the
// proxy started, no xDS yet) and after phase 1.

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}
function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    const c = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
    if (c) out.push(...c.split(/\s+/).map(Number));
  }
  return out;
}

async function processMain(workers: number): Promise<void> {
  console.log(`xds-scale: ${CLUSTERS} clusters x ${ENDPOINTS} endpoints, ${ROUTES} routes (delta ADS over a Unix socket; fake server in a child process; bin/meshproxy --concurrency ${workers}; stats: ${ISTIO_STATS ? "Istio's stats_matcher inclusion list" : 'Envoy defaults, all kept'})`);
  const srv = new ServerChild(fork(process.argv[1]!, ['--xds-scale-server'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env } }));
  const ready = await srv.next((m): m is Extract<FromServer, { t: 'ready' }> => m.t === 'ready');
  console.log(`fixture (server process): ${mb(ready.bytes)} of resources encoded in ${ready.encodeMs.toFixed(0)} ms`);
  // "before" memory is read right after the admin is up: the workers may have started on phase 1.
  const bootstrap = bootstrapFor(ready.target);
  const lines: { at: number; line: string }[] = [];
  const t0 = epochMs();
  const proxy = await startProxy(bootstrap, ['--concurrency', String(workers), '-l', 'error', '--component-log-level', 'config:debug']);
  let partial = '';
  const onData = (d: Buffer) => {
    const at = epochMs();
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop()!;
    for (const line of parts) lines.push({ at, line });
  };
  proxy.child.stdout!.on('data', onData);
  proxy.child.stderr!.on('data', onData);
  const pids = () => [proxy.child.pid!, ...childPids(proxy.child.pid!)];
  const rss = () => pids().map(rssOf);
  const before = rss();
  const logged = async (text: string, from: number): Promise<{ at: number; index: number }> => {
    await until(() => lines.slice(from).some((l) => l.line.includes(text)), text);
    const index = lines.findIndex((l, i) => i >= from && l.line.includes(text));
    return { at: lines[index]!.at, index };
  };

  const [cds, eds, lds, rds] = await Promise.all([srv.next(isAck(CLUSTER_TYPE_URL, 'c1')), srv.next(isAck(ENDPOINT_TYPE_URL, 'e1')), srv.next(isAck(LISTENER_TYPE_URL, 'l1')), srv.next(isAck(ROUTE_TYPE_URL, 'r1'))]);
  for (let i = 0; ; i++) {
    const r = await proxy.get('/ready');
    if (r.status === 200) break;
    if (i > 2400) throw new Error('proxy not LIVE');
    await new Promise((res) => setTimeout(res, 50));
  }
  const liveMs = epochMs() - t0;
  // Let the workers finish applying the first snapshot before reading memory.
  await new Promise((res) => setTimeout(res, 2000));
  const after = rss();
  const ms = (a: { at: number }) => (a.at - t0).toFixed(0);
  console.log(`phase 1: ACK cds ${ms(cds)} ms, eds ${ms(eds)} ms, lds ${ms(lds)} ms, rds ${ms(rds)} ms after the proxy was spawned; LIVE (/ready 200) at ${liveMs.toFixed(0)} ms`);
  const names = ['control', ...Array.from({ length: after.length - 1 }, (_, i) => `worker ${i}`)];
  console.log(`RSS: ${names.map((n, i) => `${n} ${mb(before[i] ?? 0)} -> ${mb(after[i]!)} (${(((after[i]! - (before[i] ?? 0)) / CLUSTERS / 1024)).toFixed(1)} KiB/cluster)`).join('; ')}`);

  const from = srv.count;
  const fromLine = lines.length;
  srv.send({ cmd: 'phase2' });
  const sent2 = await srv.next((m): m is Extract<FromServer, { t: 'sent' }> => m.t === 'sent' && m.what === 'phase2', from);
  const edsLive = await logged('eds: endpoint update applied on workers', fromLine);
  const cdsApplied = await logged('config: snapshot applied on workers', fromLine);
  const cdsAck2 = await srv.next(isAck(CLUSTER_TYPE_URL, 'c2'), from);
  const edsAck2 = await srv.next(isAck(ENDPOINT_TYPE_URL, 'e2'), from);
  console.log(
    `phase 2: second full CDS (${CLUSTERS} changed) ACK ${(cdsAck2.at - sent2.cdsAt).toFixed(0)} ms, applied on every worker ${(cdsApplied.at - sent2.cdsAt).toFixed(0)} ms; ` +
      `one EDS change sent right behind it: ACK ${(edsAck2.at - sent2.edsAt).toFixed(1)} ms, applied on every worker ${(edsLive.at - sent2.edsAt).toFixed(1)} ms after it was sent (${edsLive.index < cdsApplied.index ? 'before' : 'after'} the CDS snapshot)`,
  );
  const from3 = srv.count;
  const fromLine3 = lines.length;
  srv.send({ cmd: 'phase3' });
  const sent3 = await srv.next((m): m is Extract<FromServer, { t: 'sent' }> => m.t === 'sent' && m.what === 'phase3', from3);
  const live3 = await logged('eds: endpoint update applied on workers', fromLine3);
  console.log(`phase 3: one EDS change alone applied on every worker ${(live3.at - sent3.edsAt).toFixed(1)} ms after it was sent`);
  await proxy.stop();
  srv.send({ cmd: 'stop' });
  await srv.next((m): m is Extract<FromServer, { t: 'stopped' }> => m.t === 'stopped');
}

const WORKERS = Number(process.env.WORKERS ?? 0);
const main = process.argv.includes('--xds-scale-server') ? serverMain : WORKERS > 0 ? () => processMain(WORKERS) : proxyMain;

main().then(
  // The server role stays up until the proxy says stop.
  () => (main !== serverMain ? process.exit(0) : undefined),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
