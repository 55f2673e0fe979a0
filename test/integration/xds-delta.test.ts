// Integration: AdsClient (incremental / delta xDS) against the fake ADS server over a Unix
// socket, serving the real Istio 1.26 sidecar resources. Checks ACK-by-nonce per type, that ACKs
// and subscription changes never share a request (istiod rejects the mix), per-resource version
// tracking through a NACK, removed_resources, node-on-first-only, and reconnect with
// initial_resource_versions.
import { AdsClient } from '../../src/xds/ads-client';
import type { AdsUpdate, AdsUpdateResult } from '../../src/xds/ads-types';
import { typeForUrl } from '../../src/gen/proto-root';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL, SECRET_TYPE_URL } from '../../src/xds/type-urls';
import { FakeAdsServer, FRONTEND_NODE, loadFrontendCorpus, type CorpusResponse, type RecordedRequest } from '../support/fake-ads-server';

const NODE = FRONTEND_NODE;

let corpus = new Map<string, CorpusResponse>();
beforeAll(() => {
  corpus = loadFrontendCorpus();
});
const namesOf = (typeUrl: string) => corpus.get(typeUrl)!.resources.map((r) => r.name);

function isAck(server: FakeAdsServer, typeUrl: string, streamId?: number) {
  return (r: RecordedRequest): boolean => {
    if (r.typeUrl !== typeUrl || (streamId !== undefined && r.streamId !== streamId) || r.request.errorDetail) return false;
    const sent = server.responses.filter((s) => s.typeUrl === typeUrl && s.streamId === r.streamId);
    return sent.length > 0 && r.request.responseNonce === sent[sent.length - 1]!.nonce;
  };
}

describe('AdsClient delta over a Unix socket', () => {
  let server: FakeAdsServer;
  let client: AdsClient | undefined;
  let updates: AdsUpdate[];
  let reject: ((u: AdsUpdate) => AdsUpdateResult | undefined) | undefined;
  /** Extra names to watch from inside the first EDS callback (subscription change mid-response). */
  let watchFromEds: string[] = [];

  beforeEach(async () => {
    server = await FakeAdsServer.start();
    for (const [typeUrl, c] of corpus) {
      // Per-resource versions, so initial_resource_versions has something to say.
      server.setResources(typeUrl, c.resources.map((r) => ({ ...r, version: 'r1' })), c.versionInfo || 'v-rds');
    }
    updates = [];
    reject = undefined;
    watchFromEds = [];
    client = new AdsClient({
      target: server.target,
      node: NODE,
      apiType: 'DELTA_GRPC',
      setNodeOnFirstMessageOnly: true,
      backoff: { initialMs: 20, maxMs: 200 },
      onResponse: async (u) => {
        updates.push(u);
        // Let other I/O run, as a real consumer (translate + store) may.
        await new Promise((r) => setImmediate(r));
        if (u.typeUrl === CLUSTER_TYPE_URL) client!.watch(ENDPOINT_TYPE_URL, namesOf(ENDPOINT_TYPE_URL));
        if (u.typeUrl === ENDPOINT_TYPE_URL && watchFromEds.length) {
          client!.watch(ENDPOINT_TYPE_URL, watchFromEds);
          watchFromEds = [];
        }
        if (u.typeUrl === LISTENER_TYPE_URL) {
          client!.watch(ROUTE_TYPE_URL, namesOf(ROUTE_TYPE_URL));
          client!.watch(SECRET_TYPE_URL, namesOf(SECRET_TYPE_URL));
        }
        return reject?.(u) ?? { errors: [] };
      },
    });
    client.watch(CLUSTER_TYPE_URL, '*');
    client.watch(LISTENER_TYPE_URL, '*');
  });
  afterEach(async () => {
    client?.stop();
    client = undefined;
    await server.stop();
  });

  async function allAcked(streamId?: number): Promise<void> {
    for (const typeUrl of corpus.keys()) await server.waitForRequest(isAck(server, typeUrl, streamId));
  }

  test('every corpus type is delivered exactly and ACKed by nonce; ACKs never change subscriptions', async () => {
    const extra = 'outbound|9999||extra.demo.svc.cluster.local';
    watchFromEds = [extra];
    client!.start();
    await allAcked();
    await server.waitForRequest((r) => r.typeUrl === ENDPOINT_TYPE_URL && r.request.resourceNamesSubscribe.includes(extra));

    for (const [typeUrl, c] of corpus) {
      const got = updates.filter((u) => u.typeUrl === typeUrl);
      const byName = new Map(got.flatMap((u) => u.resources).map((r) => [r.name, r]));
      expect([...byName.keys()].sort()).toEqual(c.resources.map((r) => r.name).sort());
      const type = typeForUrl(typeUrl)!;
      for (const want of c.resources) {
        const r = byName.get(want.name)!;
        expect(r.version).toBe('r1');
        expect(Buffer.from(r.raw).equals(Buffer.from(want.value))).toBe(true);
        expect(type.toObject(type.decode(r.raw) as never)).toEqual(type.toObject(r.message as never));
      }
      expect(got.every((u) => !u.sotw && u.invalid.length === 0)).toBe(true);
    }
    const reqs = server.requests;
    // First requests: wildcard types subscribe '*', named types their names; no nonce.
    const first = (t: string) => reqs.find((r) => r.typeUrl === t)!.request;
    expect(first(CLUSTER_TYPE_URL).resourceNamesSubscribe).toEqual(['*']);
    expect(first(LISTENER_TYPE_URL).resourceNamesSubscribe).toEqual(['*']);
    expect(first(ROUTE_TYPE_URL).resourceNamesSubscribe).toEqual(namesOf(ROUTE_TYPE_URL).sort());
    expect(first(ROUTE_TYPE_URL).responseNonce).toBe('');
    // No request both ACKs and changes subscriptions.
    for (const r of reqs) {
      const changesSubs = r.request.resourceNamesSubscribe.length > 0 || r.request.resourceNamesUnsubscribe.length > 0;
      expect(changesSubs && r.request.responseNonce !== '').toBe(false);
    }
    // The mid-callback EDS watch went out after that response's ACK, on its own.
    const edsAck = reqs.findIndex(isAck(server, ENDPOINT_TYPE_URL));
    const edsSub = reqs.findIndex((r) => r.typeUrl === ENDPOINT_TYPE_URL && r.request.resourceNamesSubscribe.includes(extra));
    expect(edsSub).toBeGreaterThan(edsAck);
    expect(reqs[edsSub]!.request.resourceNamesSubscribe).toEqual([extra]);
    // Node on the first request only.
    expect(reqs[0]!.request.node.id).toBe(NODE.id);
    expect(reqs.slice(1).every((r) => r.request.node === null)).toBe(true);
    expect(reqs.some((r) => r.request.errorDetail)).toBe(false);
  });

  test('NACK names the bad resource; it keeps its old version; a fixed push is ACKed', async () => {
    client!.start();
    await allAcked();
    const bad = namesOf(CLUSTER_TYPE_URL)[5]!;
    reject = (u) => (u.typeUrl === CLUSTER_TYPE_URL ? { errors: [{ name: bad, reason: 'transport_socket: unknown' }] } : undefined);
    const from = server.requests.length;
    server.setResources(CLUSTER_TYPE_URL, corpus.get(CLUSTER_TYPE_URL)!.resources.map((r) => ({ ...r, version: 'r2' })), 'v2');
    server.push(CLUSTER_TYPE_URL);
    const nack = await server.waitForRequest((r) => r.typeUrl === CLUSTER_TYPE_URL && !!r.request.errorDetail, 5000, from);
    expect(nack.request.responseNonce).toBe(server.responses.filter((s) => s.typeUrl === CLUSTER_TYPE_URL).pop()!.nonce);
    expect(nack.request.errorDetail).toEqual({ code: 13, message: `${bad}: transport_socket: unknown`, details: [] });
    expect(nack.request.resourceNamesSubscribe).toEqual([]);
    const versions = client!.subscription(CLUSTER_TYPE_URL)!.resourceVersions!;
    expect(versions[bad]).toBe('r1');
    expect(versions[namesOf(CLUSTER_TYPE_URL)[0]!]).toBe('r2');

    reject = undefined;
    const from2 = server.requests.length;
    server.push(CLUSTER_TYPE_URL);
    await server.waitForRequest(isAck(server, CLUSTER_TYPE_URL), 5000, from2);
    expect(client!.subscription(CLUSTER_TYPE_URL)!.resourceVersions![bad]).toBe('r2');
    expect(client!.subscription(CLUSTER_TYPE_URL)!.version).toBe('v2');
  });

  test('a consumer that throws NACKs the whole response with its message', async () => {
    client!.start();
    await allAcked();
    reject = (u) => {
      if (u.typeUrl === LISTENER_TYPE_URL) throw new Error('store exploded');
      return undefined;
    };
    const from = server.requests.length;
    server.upsertResources(LISTENER_TYPE_URL, [], 'v2');
    server.push(LISTENER_TYPE_URL);
    const nack = await server.waitForRequest((r) => r.typeUrl === LISTENER_TYPE_URL && !!r.request.errorDetail, 5000, from);
    expect(nack.request.errorDetail.message).toBe('lds: update failed: store exploded');
    expect(client!.typeCounters(LISTENER_TYPE_URL).update_rejected).toBe(1);
    expect(client!.subscription(LISTENER_TYPE_URL)!.version).not.toBe('v2');
  });

  test('removed_resources reach the consumer and drop the held version', async () => {
    client!.start();
    await allAcked();
    const gone = namesOf(CLUSTER_TYPE_URL)[1]!;
    server.removeResources(CLUSTER_TYPE_URL, [gone], 'v2');
    const from = server.requests.length;
    server.push(CLUSTER_TYPE_URL);
    await server.waitForRequest(isAck(server, CLUSTER_TYPE_URL), 5000, from);
    const last = updates.filter((u) => u.typeUrl === CLUSTER_TYPE_URL).pop()!;
    expect(last.removed).toEqual([gone]);
    expect(client!.subscription(CLUSTER_TYPE_URL)!.resourceVersions![gone]).toBeUndefined();
  });

  test('reconnect re-subscribes with initial_resource_versions for what we hold', async () => {
    client!.start();
    await allAcked();
    const firstStream = server.openStreamIds[0]!;
    server.closeStreams();
    await server.waitForRequest((r) => r.streamId !== firstStream && r.typeUrl === SECRET_TYPE_URL);
    const second = server.requests.filter((r) => r.streamId !== firstStream);
    expect(second[0]!.request.node.id).toBe(NODE.id);
    expect(second.slice(1).every((r) => r.request.node === null)).toBe(true);
    for (const typeUrl of corpus.keys()) {
      const r = second.find((x) => x.typeUrl === typeUrl)!.request;
      expect(r.responseNonce).toBe('');
      expect(Object.keys(r.initialResourceVersions).sort()).toEqual(namesOf(typeUrl).sort());
      expect(Object.values(r.initialResourceVersions).every((v) => v === 'r1')).toBe(true);
    }
    expect(second.find((x) => x.typeUrl === CLUSTER_TYPE_URL)!.request.resourceNamesSubscribe).toEqual(['*']);
    expect(second.find((x) => x.typeUrl === ENDPOINT_TYPE_URL)!.request.resourceNamesSubscribe).toEqual(namesOf(ENDPOINT_TYPE_URL).sort());
    await allAcked(second[0]!.streamId);
    expect(client!.counters.disconnected).toBe(1);
    expect(client!.typeCounters(CLUSTER_TYPE_URL).update_failure).toBe(1);
  });

  test('unwatching named resources sends an unsubscribe without a nonce', async () => {
    client!.start();
    await allAcked();
    const drop = namesOf(ROUTE_TYPE_URL).slice(0, 2);
    const from = server.requests.length;
    client!.unwatch(ROUTE_TYPE_URL, drop);
    const req = await server.waitForRequest((r) => r.typeUrl === ROUTE_TYPE_URL, 5000, from);
    expect(req.request.resourceNamesUnsubscribe).toEqual([...drop].sort());
    expect(req.request.resourceNamesSubscribe).toEqual([]);
    expect(req.request.responseNonce).toBe('');
    expect(Object.keys(client!.subscription(ROUTE_TYPE_URL)!.resourceVersions!)).toHaveLength(namesOf(ROUTE_TYPE_URL).length - 2);
  });
});

describe('AdsClient delta: EDS is not blocked by a CDS response in progress', () => {
  test('an EDS response arriving behind a CDS response is handed over and ACKed while the CDS one is still being applied; CDS/LDS keep their order', async () => {
    const server = await FakeAdsServer.start();
    const cds = corpus.get(CLUSTER_TYPE_URL)!;
    const eds = corpus.get(ENDPOINT_TYPE_URL)!;
    server.setResources(CLUSTER_TYPE_URL, cds.resources, 'c1');
    server.setResources(ENDPOINT_TYPE_URL, eds.resources, 'e1');
    server.setResources(LISTENER_TYPE_URL, corpus.get(LISTENER_TYPE_URL)!.resources, 'l1');
    server.autoRespond = false;
    const events: string[] = [];
    let edsAcked!: () => void;
    const edsDone = new Promise<void>((r) => (edsAcked = r));
    const client = new AdsClient({
      target: server.target,
      node: NODE,
      apiType: 'DELTA_GRPC',
      onResponse: async (u) => {
        const what = `${u.typeUrl === CLUSTER_TYPE_URL ? 'cds' : u.typeUrl === LISTENER_TYPE_URL ? 'lds' : 'eds'}:${u.versionInfo}`;
        events.push(`start ${what}`);
        // A long CDS apply (the store translates in slices): it ends once the EDS update was
        // handed over and ACKed, or after 1.5 s if the client held it back behind this one.
        if (u.typeUrl === CLUSTER_TYPE_URL) await Promise.race([edsDone, new Promise((r) => setTimeout(r, 1500))]);
        events.push(`end ${what}`);
        return { errors: [] };
      },
    });
    client.on('ack', (a: { typeUrl: string; version: string }) => {
      events.push(`ack ${a.typeUrl === CLUSTER_TYPE_URL ? 'cds' : a.typeUrl === LISTENER_TYPE_URL ? 'lds' : 'eds'}:${a.version}`);
      if (a.typeUrl === ENDPOINT_TYPE_URL) edsAcked();
    });
    try {
      client.watch(CLUSTER_TYPE_URL, '*');
      client.watch(LISTENER_TYPE_URL, '*');
      client.watch(ENDPOINT_TYPE_URL, eds.resources.map((r) => r.name));
      client.start();
      await server.waitForRequest((r) => r.typeUrl === ENDPOINT_TYPE_URL);
      await server.waitForRequest((r) => r.typeUrl === LISTENER_TYPE_URL);
      // CDS, then LDS and EDS right behind it on the one stream.
      server.push(CLUSTER_TYPE_URL);
      server.push(LISTENER_TYPE_URL);
      server.push(ENDPOINT_TYPE_URL);
      await server.waitForRequest(isAck(server, LISTENER_TYPE_URL));
      await server.waitForRequest(isAck(server, CLUSTER_TYPE_URL));
      await server.waitForRequest(isAck(server, ENDPOINT_TYPE_URL));
      // EDS was handed over and ACKed inside the CDS apply; LDS waited for CDS (Envoy's order).
      expect(events).toEqual(['start cds:c1', 'start eds:e1', 'end eds:e1', 'ack eds:e1', 'end cds:c1', 'ack cds:c1', 'start lds:l1', 'end lds:l1', 'ack lds:l1']);
      // Each response got one ACK carrying its own nonce.
      const acks = server.requests.filter((r) => r.request.responseNonce).map((r) => r.request.responseNonce);
      expect([...acks].sort()).toEqual(server.responses.map((r) => r.nonce).sort());
    } finally {
      client.stop();
      await server.stop();
    }
  });
});
