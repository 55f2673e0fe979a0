// The store's translators share equal read-only parts between resources (memory at 10,000
// clusters): equal circuit breakers / LB settings across clusters are one object, equal endpoint
// metadata within an assignment is one object, names are the process's one copy.
import { typeForUrl } from '../gen/proto-root';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL } from '../xds/type-urls';
import { xdsTranslators } from './resource-translators';
import type { ClusterConfig, EndpointSetConfig } from '../config/model/cluster';

const tr = xdsTranslators();
const decode = (typeUrl: string, obj: object) => {
  const t = typeForUrl(typeUrl)!;
  return t.decode(t.encode(t.fromObject(obj)).finish());
};
const cluster = (name: string, maxConnections: number): ClusterConfig => {
  const r = tr.cds(decode(CLUSTER_TYPE_URL, { name, type: 'EDS', edsClusterConfig: { edsConfig: { ads: {} }, serviceName: name }, connectTimeout: { seconds: 1 }, circuitBreakers: { thresholds: [{ maxConnections: { value: maxConnections }, trackRemaining: true }] } }));
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
};

describe('xdsTranslators share equal parts', () => {
  test('clusters with equal circuit breakers and LB settings share them; different ones do not', () => {
    const a = cluster('outbound|80||a.ns.svc.cluster.local', 1000);
    const b = cluster('outbound|80||b.ns.svc.cluster.local', 1000);
    const c = cluster('outbound|80||c.ns.svc.cluster.local', 7);
    expect(a.circuitBreakers).toEqual(b.circuitBreakers);
    expect(a.circuitBreakers).toBe(b.circuitBreakers);
    expect(a.lb).toBe(b.lb);
    expect(c.circuitBreakers).not.toBe(a.circuitBreakers);
    expect(c.circuitBreakers[0]!.maxConnections).toBe(7);
    expect(a.edsServiceName).toBe(a.name);
  });

  test('endpoints of one assignment with equal metadata share it; lists are trimmed, values kept', () => {
    const md = (w: string) => ({ filterMetadata: { istio: { fields: { workload: { stringValue: w } } } } });
    const r = tr.eds(
      decode(ENDPOINT_TYPE_URL, {
        clusterName: 'outbound|80||a.ns.svc.cluster.local',
        endpoints: [{ lbEndpoints: [1, 2, 3].map((i) => ({ endpoint: { address: { socketAddress: { address: `10.0.0.${i}`, portValue: 80 } } }, metadata: md(i === 3 ? 'other' : 'a-v1') })) }],
      }),
    );
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const eps = (r.value as EndpointSetConfig).localities[0]!.endpoints;
    expect(eps.map((e) => e.metadata)).toEqual([{ istio: { workload: 'a-v1' } }, { istio: { workload: 'a-v1' } }, { istio: { workload: 'other' } }]);
    expect(eps[0]!.metadata).toBe(eps[1]!.metadata);
    expect(eps[2]!.metadata).not.toBe(eps[0]!.metadata);
    expect(eps.map((e) => (e.address as { address: string }).address)).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    // Equal localities and empty drop lists are shared across assignments too.
    const other = tr.eds(decode(ENDPOINT_TYPE_URL, { clusterName: 'outbound|80||b.ns.svc.cluster.local', endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '10.0.1.1', portValue: 80 } } } }] }] }));
    if (!other.ok) throw new Error(JSON.stringify(other.errors));
    expect(other.value.localities[0]!.locality).toBe(r.value.localities[0]!.locality);
    expect(other.value.dropOverloads).toBe(r.value.dropOverloads);
  });
});
