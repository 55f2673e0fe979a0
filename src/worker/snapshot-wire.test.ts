// Snapshots to worker processes carry only what changed: unchanged clusters and EDS sets travel
// as names (through a real IPC round trip: JSON, as node:cluster sends it) and the worker gets
// back its previous objects, so its cluster manager keeps those clusters without a JSON compare.
import type { ClusterConfig, EndpointSetConfig } from '../config/model/cluster';
import type { ConfigSnapshot } from '../config/model/snapshot';
import { xdsTranslators } from '../control/resource-translators';
import { typeForUrl } from '../gen/proto-root';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL } from '../xds/type-urls';
import { fromWire, toWire, type WireSnapshot } from './snapshot-wire';

const tr = xdsTranslators();
const name = (i: number) => `outbound|8080||svc-${i}.ns.svc.cluster.local`;

function cluster(i: number, connectTimeoutS: number): ClusterConfig {
  const t = typeForUrl(CLUSTER_TYPE_URL)!;
  const r = tr.cds(t.decode(t.encode(t.fromObject({ name: name(i), type: 'EDS', edsClusterConfig: { edsConfig: { ads: {} } }, connectTimeout: { seconds: connectTimeoutS } })).finish()));
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}

function endpoints(i: number, port: number): EndpointSetConfig {
  const t = typeForUrl(ENDPOINT_TYPE_URL)!;
  const r = tr.eds(t.decode(t.encode(t.fromObject({ clusterName: name(i), endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: `127.0.0.${i + 1}`, portValue: port } } } }] }] })).finish()));
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}

const snap = (generation: number, clusters: ClusterConfig[], eps: Record<string, EndpointSetConfig>): ConfigSnapshot => ({ generation, listeners: [], routeConfigs: [], clusters, endpoints: eps, secrets: [], versions: { cds: String(generation) } });
/** What a worker process receives: node:cluster IPC serializes messages as JSON. */
const overIpc = (w: WireSnapshot): WireSnapshot => JSON.parse(JSON.stringify(w)) as WireSnapshot;

describe('snapshot wire format', () => {
  it('sends only changed clusters and EDS sets; the worker rebuilds the snapshot with its previous objects', () => {
    const c = [0, 1, 2].map((i) => cluster(i, 1));
    const e = [0, 1, 2].map((i) => endpoints(i, 80));
    const s1 = snap(1, c, { [name(0)]: e[0]!, [name(1)]: e[1]!, [name(2)]: e[2]! });
    const w1 = overIpc(toWire(undefined, s1));
    expect(w1.clusters.every((x) => typeof x !== 'string')).toBe(true);
    const r1 = fromWire(undefined, w1);
    expect(r1).toEqual(s1);

    // Cluster 1 changes, EDS set 2 changes; the rest are the same objects on the control side.
    const c1b = cluster(1, 5);
    const e2b = endpoints(2, 81);
    const s2 = snap(2, [c[0]!, c1b, c[2]!], { [name(0)]: e[0]!, [name(1)]: e[1]!, [name(2)]: e2b });
    const w2 = overIpc(toWire(s1, s2));
    expect(w2.clusters).toEqual([name(0), c1b, name(2)]);
    expect(Object.keys(w2.endpoints)).toEqual([name(2)]);
    expect(w2.sameEndpoints).toEqual([name(0), name(1)]);
    expect(JSON.stringify(w2).length).toBeLessThan(JSON.stringify(s2).length / 2);
    const r2 = fromWire(r1, w2);
    expect(r2).toEqual(s2);
    // Unchanged ones are the worker's previous objects (identity), changed ones are new.
    expect(r2.clusters[0]).toBe(r1.clusters[0]);
    expect(r2.clusters[2]).toBe(r1.clusters[2]);
    expect(r2.clusters[1]).not.toBe(r1.clusters[1]);
    expect(r2.endpoints[name(1)]).toBe(r1.endpoints[name(1)]);
    expect(r2.endpoints[name(2)]!.localities[0]!.endpoints[0]!.address).toMatchObject({ port: 81 });
  });

  it('removed clusters and EDS sets are gone; a name the worker does not have is an error, not a guess', () => {
    const s1 = snap(1, [cluster(0, 1), cluster(1, 1)], { [name(0)]: endpoints(0, 80), [name(1)]: endpoints(1, 80) });
    const r1 = fromWire(undefined, overIpc(toWire(undefined, s1)));
    const s2 = snap(2, [s1.clusters[1]!], { [name(1)]: s1.endpoints[name(1)]! });
    const r2 = fromWire(r1, overIpc(toWire(s1, s2)));
    expect(r2.clusters.map((c) => c.name)).toEqual([name(1)]);
    expect(Object.keys(r2.endpoints)).toEqual([name(1)]);
    expect(() => fromWire(undefined, overIpc(toWire(s1, s2)))).toThrow(/sent as unchanged but the previous snapshot lacks it/);
  });
});
