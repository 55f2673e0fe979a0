// Unit tests for the Any decoder: per-resource isolation of bad Anys, names, Resource wrappers.
import { lookupType } from '../gen/proto-root';
import { adsMessageTypes } from './ads-grpc';
import { decodeDeltaResources, decodeDeltaResourcesInSlices, decodeSotwResources, decodeSotwResourcesInSlices, peekNameField, shallowResponseDeserializer } from './resource-decoder';
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

  test('a shallow response keeps resources as bytes; they decode in slices, lazily, with bad bytes failing on read', async () => {
    const t = adsMessageTypes();
    const good = enc(Cluster, { name: 'c1', connectTimeout: { seconds: 1 } });
    const delta = t.deltaResponse.encode(
      t.deltaResponse.fromObject({
        systemVersionInfo: 'v7',
        typeUrl: CLUSTER_TYPE_URL,
        nonce: 'n1',
        removedResources: ['gone'],
        resources: [
          { name: 'c1', version: '3', resource: { typeUrl: CLUSTER_TYPE_URL, value: good } },
          { name: 'c2', resource: { typeUrl: CLUSTER_TYPE_URL, value: new Uint8Array([0x0a, 0x05, 0x61]) } },
        ],
      }),
    ).finish();
    const m = shallowResponseDeserializer(t.deltaResponse)(Buffer.from(delta));
    expect([m.systemVersionInfo, m.typeUrl, m.nonce, m.removedResources]).toEqual(['v7', CLUSTER_TYPE_URL, 'n1', ['gone']]);
    expect(m.resources).toHaveLength(2);
    expect(m.resources[0]).toBeInstanceOf(Uint8Array);
    const out = await decodeDeltaResourcesInSlices(CLUSTER_TYPE_URL, m.resources);
    expect(out.resources.map((r) => [r.name, r.version])).toEqual([
      ['c1', '3'],
      ['c2', undefined],
    ]);
    expect(Number(out.resources[0]!.message.connectTimeout.seconds)).toBe(1);
    // The truncated cluster is named by its Resource; its bytes fail when the store reads them.
    expect(() => out.resources[1]!.message).toThrow(expect.objectContaining({ resourceError: true, message: expect.stringMatching(/^cannot decode envoy.config.cluster.v3.Cluster/) }));
    // SotW: the name is read off the wire without decoding the resource.
    const sotw = t.response.encode(t.response.fromObject({ versionInfo: 'v1', typeUrl: CLUSTER_TYPE_URL, nonce: 'n2', resources: [{ typeUrl: CLUSTER_TYPE_URL, value: good }] })).finish();
    const ms = shallowResponseDeserializer(t.response)(Buffer.from(sotw));
    const so = await decodeSotwResourcesInSlices(CLUSTER_TYPE_URL, ms.resources);
    expect([ms.versionInfo, ms.nonce, so.resources.map((r) => r.name)]).toEqual(['v1', 'n2', ['c1']]);
  });

  test('peekNameField finds field 1 wherever it sits, and gives up on malformed bytes', () => {
    // connect_timeout (field 4) first, then name (field 1): [0x22 len ...] [0x0a len "ab"]
    const reordered = new Uint8Array([0x22, 0x02, 0x08, 0x01, 0x0a, 0x02, 0x61, 0x62]);
    expect(peekNameField(reordered)).toBe('ab');
    expect((Cluster.decode(reordered) as unknown as { name: string }).name).toBe('ab');
    expect(peekNameField(new Uint8Array([0x22, 0x09, 0x08]))).toBeUndefined();
    expect(peekNameField(enc(Cla, { clusterName: 'outbound|80||a' }))).toBe('outbound|80||a');
  });
});
