// WorkerEngine cluster updates at scale: a snapshot's cluster manager is built in time slices
// while the current runtime keeps serving, an EDS delta that arrives during the build is live at
// once and still holds after the swap (for carried-over, rebuilt and new clusters alike), and
// unchanged clusters keep their runtime and host set (no rebuild of all clusters per snapshot).
import pino from 'pino';
import type { ClusterConfig, EndpointSetConfig } from '../config/model/cluster';
import type { ConfigSnapshot } from '../config/model/snapshot';
import { xdsTranslators } from '../control/resource-translators';
import { typeForUrl } from '../gen/proto-root';
import { StatsStore } from '../stats/stats-store';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL } from '../xds/type-urls';
import { WorkerEngine } from './worker-engine';

const tr = xdsTranslators();
const name = (i: number) => `outbound|8080||svc-${i}.ns.svc.cluster.local`;

function cluster(i: number, connectTimeoutS: number): ClusterConfig {
  const t = typeForUrl(CLUSTER_TYPE_URL)!;
  const msg = t.decode(t.encode(t.fromObject({ name: name(i), type: 'EDS', edsClusterConfig: { edsConfig: { ads: {} } }, connectTimeout: { seconds: connectTimeoutS }, lbPolicy: 'ROUND_ROBIN' })).finish());
  const r = tr.cds(msg);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}

function endpoints(i: number, port: number): EndpointSetConfig {
  const t = typeForUrl(ENDPOINT_TYPE_URL)!;
  const lbEndpoints = [1, 2].map((e) => ({ endpoint: { address: { socketAddress: { address: `127.0.${i & 255}.${e}`, portValue: port } } } }));
  const r = tr.eds(t.decode(t.encode(t.fromObject({ clusterName: name(i), endpoints: [{ lbEndpoints }] })).finish()));
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}

function snapshot(generation: number, clusters: ClusterConfig[], eps: Record<string, EndpointSetConfig>): ConfigSnapshot {
  return { generation, listeners: [], routeConfigs: [], clusters, endpoints: eps, secrets: [], versions: {} };
}

const N = 1500;
let engine: WorkerEngine;

beforeEach(() => {
  engine = new WorkerEngine(new StatsStore(), pino({ level: 'silent' }), 0, () => null);
});
afterEach(() => engine.close());

const ports = (i: number) => [...new Set(engine.currentRuntime().clusters.get(name(i))!.allHosts().map((h) => Number(h.key.split(':')[1])))];

describe('WorkerEngine cluster updates', () => {
  test('unchanged clusters keep their runtime and host set; only changed ones are rebuilt', async () => {
    const clusters = Array.from({ length: 50 }, (_, i) => cluster(i, 10));
    const eps = Object.fromEntries(clusters.map((c, i) => [c.name, endpoints(i, 8080)]));
    await engine.apply(snapshot(1, clusters, eps));
    const before = clusters.map((c) => engine.currentRuntime().clusters.get(c.name)!);
    const versions = before.map((rt) => rt.hostSetVersion);
    const hosts7 = [...before[7]!.allHosts()];
    // Generation 2: cluster 7 changed, the rest are the same objects (as the store shares them).
    const next = clusters.slice();
    next[7] = cluster(7, 11);
    await engine.apply(snapshot(2, next, eps));
    const after = next.map((c) => engine.currentRuntime().clusters.get(c.name)!);
    for (let i = 0; i < 50; i++) {
      if (i === 7) continue;
      expect(after[i]).toBe(before[i]);
      expect(after[i]!.hostSetVersion).toBe(versions[i]);
    }
    expect(after[7]).not.toBe(before[7]);
    expect(after[7]!.config.connectTimeoutMs).toBe(11_000);
    // The rebuilt cluster took over the host objects (state by key).
    expect(after[7]!.allHosts()).toHaveLength(2);
    after[7]!.allHosts().forEach((h, i) => expect(h).toBe(hosts7[i]));
    expect(before[7]!.allHosts()).toEqual([]);
  });

  test('a large snapshot builds in slices: an EDS delta during the build is live at once and survives the swap', async () => {
    const clusters = Array.from({ length: N }, (_, i) => cluster(i, 10));
    const eps = Object.fromEntries(clusters.map((c, i) => [c.name, endpoints(i, 8080)]));
    await engine.apply(snapshot(1, clusters, eps));
    const oldRuntime = engine.currentRuntime();
    // Generation 2: every cluster changed except 0, and one new cluster (N).
    const next = clusters.map((c, i) => (i === 0 ? c : cluster(i, 11)));
    next.push(cluster(N, 11));
    const nextEps = { ...eps, [name(N)]: endpoints(N, 8080) };
    let applied = false;
    const done = engine.apply(snapshot(2, next, nextEps)).then(() => (applied = true));
    await new Promise((r) => setImmediate(r));
    // Still building: the old runtime serves.
    expect(applied).toBe(false);
    expect(engine.currentRuntime()).toBe(oldRuntime);
    // EDS deltas for a carried-over (0), a rebuilt (5) and a new (N) cluster arrive mid-build.
    const n = engine.updateEndpoints([0, 5, N].map((i) => ({ serviceName: name(i), set: endpoints(i, 9090) })));
    expect(n).toBe(2); // the current runtime has 0 and 5, not N yet
    expect(ports(0)).toEqual([9090]);
    expect(ports(5)).toEqual([9090]);
    expect(applied).toBe(false);
    await done;
    expect(engine.currentRuntime()).not.toBe(oldRuntime);
    expect(engine.currentRuntime().generation).toBe(2);
    // The snapshot's endpoints were older: the delta holds after the swap.
    expect(ports(0)).toEqual([9090]);
    expect(ports(5)).toEqual([9090]);
    expect(ports(N)).toEqual([9090]);
    expect(ports(6)).toEqual([8080]);
    expect(engine.currentRuntime().clusters.get(name(5))!.config.connectTimeoutMs).toBe(11_000);
    expect(engine.currentRuntime().clusters.get(name(5))!.chooseHost()!.key).toMatch(/:9090$/);
  });
});
