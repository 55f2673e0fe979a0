// Unit tests for the Any decoder: per-resource isolation of bad Anys, names, Resource wrappers.
import { lookupType } from '../gen/proto-root';
import { adsMessageTypes } from './ads-grpc';
import { decodeDeltaResources, decodeSotwResources } from './resource-decoder';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, RESOURCE_WRAPPER_TYPE_URL } from './type-urls';

const Cluster = lookupType('envoy.config.cluster.v3.Cluster');
const Cla = lookupType('envoy.config.endpoint.v3.ClusterLoadAssignment');
const enc = (t: typeof Cluster, o: object) => t.encode(t.fromObject(o)).finish();

describe('resource decoder', () => {
  test('decodes good resources and isolates each bad one', () => {
    const good = enc(Cluster, { name: 'c1', connectTimeout: { seconds: 1 } });
    const out = decodeSotwResources(CLUSTER_TYPE_URL, [
      { typeUrl: CLUSTER_TYPE_URL, value: good },
      { typeUrl: LISTENER_TYPE_URL, value: good },
      { typeUrl: CLUSTER_TYPE_URL, value: new Uint8Array([0x0a, 0xff]) },
      { typeUrl: CLUSTER_TYPE_URL, value: enc(Cluster, {}) },
      { typeUrl: CLUSTER_TYPE_URL, value: good },
    ]);
    expect(out.resources.map((r) => r.name)).toEqual(['c1']);
    expect(Buffer.from(out.resources[0]!.raw).equals(Buffer.from(good))).toBe(true);
    // An own copy, not a view of the received bytes (which would pin the whole response).
    const received = out.resources[0]!.raw;
    good.fill(0);
    expect(received[0]).toBe(0x0a);
    expect(out.invalid.map((e) => e.name)).toEqual(['resources[1]', 'resources[2]', 'resources[3]', 'c1']);
    expect(out.invalid[3]!.reason).toMatch(/duplicate/);
  });

  test('EDS is named by cluster_name; a SotW Resource wrapper gives name and version', () => {
    const cla = enc(Cla, { clusterName: 'outbound|80||a' });
    const wrapper = adsMessageTypes().resource;
    const wrapped = wrapper.encode(wrapper.fromObject({ name: 'outbound|80||b', version: '7', resource: { typeUrl: ENDPOINT_TYPE_URL, value: enc(Cla, { clusterName: 'outbound|80||b' }) } })).finish();
    const out = decodeSotwResources(ENDPOINT_TYPE_URL, [
      { typeUrl: ENDPOINT_TYPE_URL, value: cla },
      { typeUrl: RESOURCE_WRAPPER_TYPE_URL, value: wrapped },
    ]);
    expect(out.invalid).toEqual([]);
    expect(out.resources.map((r) => [r.name, r.version])).toEqual([
      ['outbound|80||a', undefined],
      ['outbound|80||b', '7'],
    ]);
  });

  test('delta resources use Resource.name and version', () => {
    const out = decodeDeltaResources(CLUSTER_TYPE_URL, [
      { name: 'c1', version: '3', resource: { typeUrl: CLUSTER_TYPE_URL, value: enc(Cluster, { name: 'c1' }) } },
      { name: 'c2', resource: null },
      { name: '', resource: { typeUrl: CLUSTER_TYPE_URL, value: enc(Cluster, { name: 'x' }) } },
    ]);
    expect(out.resources.map((r) => [r.name, r.version, r.message.name])).toEqual([['c1', '3', 'c1']]);
    expect(out.invalid).toEqual([
      { name: 'c2', reason: 'missing resource' },
      { name: 'resources[2]', reason: 'missing name' },
    ]);
  });
});
