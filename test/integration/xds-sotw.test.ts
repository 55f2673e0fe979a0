// Integration: AdsClient (state of the world) against the fake ADS server over a Unix socket,
// serving the real Istio 1.26 sidecar resources from the shared corpus. Checks ACK nonces and
// versions per type, exact raw bytes, NACK naming the bad resource with the version held at the
// last good one, istiod-style partial EDS pushes, deletion by absence, node-on-first-only and
// reconnect re-sending every subscription.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { adsMessageTypes } from '../../src/xds/ads-grpc';
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

function versionOf(typeUrl: string): string {
  return corpus.get(typeUrl)!.versionInfo || 'v-rds';
}

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out waiting for condition');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A consumer that records updates and subscribes to dependencies like the store will. */
function consumer(client: () => AdsClient, reject?: (u: AdsUpdate) => AdsUpdateResult | undefined) {
  const updates: AdsUpdate[] = [];
  const handler = (u: AdsUpdate): AdsUpdateResult => {
    updates.push(u);
    if (u.typeUrl === CLUSTER_TYPE_URL) client().watch(ENDPOINT_TYPE_URL, corpus.get(ENDPOINT_TYPE_URL)!.resources.map((r) => r.name));
    if (u.typeUrl === LISTENER_TYPE_URL) {
      client().watch(ROUTE_TYPE_URL, corpus.get(ROUTE_TYPE_URL)!.resources.map((r) => r.name));
      client().watch(SECRET_TYPE_URL, corpus.get(SECRET_TYPE_URL)!.resources.map((r) => r.name));
    }
    return reject?.(u) ?? { errors: [] };
  };
  return { updates, handler };
}

function isAckOf(server: FakeAdsServer, typeUrl: string, version: string) {
  return (r: RecordedRequest): boolean => {
    const sent = server.responses.filter((s) => s.typeUrl === typeUrl && s.streamId === r.streamId);
    return r.typeUrl === typeUrl && sent.length > 0 && r.request.responseNonce === sent[sent.length - 1]!.nonce && r.request.versionInfo === version && !r.request.errorDetail;
  };
}

describe('AdsClient SotW over a Unix socket', () => {
  let server: FakeAdsServer;
  let client: AdsClient | undefined;

  beforeEach(async () => {
    server = await FakeAdsServer.start();
    for (const [typeUrl, c] of corpus) server.setResources(typeUrl, c.resources, versionOf(typeUrl));
  });
  afterEach(async () => {
    client?.stop();
    client = undefined;
    await server.stop();
  });

  function makeClient(handler: (u: AdsUpdate) => AdsUpdateResult): AdsClient {
    const c = new AdsClient({
      target: server.target,
      node: NODE,
      apiType: 'GRPC',
      setNodeOnFirstMessageOnly: true,
      backoff: { initialMs: 20, maxMs: 200 },
      onResponse: handler,
    });
    c.watch(CLUSTER_TYPE_URL, '*');
    c.watch(LISTENER_TYPE_URL, '*');
    return c;
  }

  test('every corpus type is delivered exactly and ACKed with its nonce and version', async () => {
    const { updates, handler } = consumer(() => client!);
    client = makeClient(handler);
    client.start();
    for (const typeUrl of corpus.keys()) await server.waitForRequest(isAckOf(server, typeUrl, versionOf(typeUrl)));

    for (const [typeUrl, c] of corpus) {
      const got = updates.filter((u) => u.typeUrl === typeUrl);
      expect(got.length).toBeGreaterThanOrEqual(1);
      const byName = new Map(got.flatMap((u) => u.resources).map((r) => [r.name, r]));
      expect([...byName.keys()].sort()).toEqual(c.resources.map((r) => r.name).sort());
      const type = typeForUrl(typeUrl)!;
      for (const want of c.resources) {
        const r = byName.get(want.name)!;
        expect(Buffer.from(r.raw).equals(Buffer.from(want.value))).toBe(true);
        expect(type.toObject(type.decode(r.raw) as never)).toEqual(type.toObject(r.message as never));
      }
      expect(got.every((u) => u.sotw && u.invalid.length === 0 && u.removed.length === 0)).toBe(true);
    }
    // Wildcard types go out with empty names, named ones with their names.
    const first = (t: string) => server.requests.find((r) => r.typeUrl === t)!;
    expect(first(CLUSTER_TYPE_URL).request.resourceNames).toEqual([]);
    expect(first(LISTENER_TYPE_URL).request.resourceNames).toEqual([]);
    expect(first(ENDPOINT_TYPE_URL).request.resourceNames).toEqual(corpus.get(ENDPOINT_TYPE_URL)!.resources.map((r) => r.name).sort());
    // Node only on the first request of the stream.
    expect(server.requests[0]!.request.node.id).toBe(NODE.id);
    expect(server.requests.slice(1).every((r) => r.request.node === null)).toBe(true);
    expect(server.requests.some((r) => r.request.errorDetail)).toBe(false);
    const cds = client.typeCounters(CLUSTER_TYPE_URL);
    expect(cds.update_success).toBe(cds.update_attempt);
    expect(client.counters.connected).toBe(1);
  });

  test('one bad resource is NACKed by name at the last good version; a fixed push is ACKed', async () => {
    const bad = corpus.get(CLUSTER_TYPE_URL)!.resources[3]!.name;
    let rejecting = false;
    const { handler } = consumer(
      () => client!,
      (u) => (rejecting && u.typeUrl === CLUSTER_TYPE_URL ? { errors: [{ name: bad, reason: 'cluster.lb_policy: unsupported' }] } : undefined),
    );
    client = makeClient(handler);
    client.start();
    const v1 = versionOf(CLUSTER_TYPE_URL);
    await server.waitForRequest(isAckOf(server, CLUSTER_TYPE_URL, v1));

    rejecting = true;
    const from = server.requests.length;
    server.upsertResources(CLUSTER_TYPE_URL, [], 'v2');
    expect(server.push(CLUSTER_TYPE_URL)).toBe(1);
    const nack = await server.waitForRequest((r) => r.typeUrl === CLUSTER_TYPE_URL && !!r.request.errorDetail, 5000, from);
    const sent = server.responses.filter((s) => s.typeUrl === CLUSTER_TYPE_URL).pop()!;
    expect(nack.request.responseNonce).toBe(sent.nonce);
    expect(nack.request.versionInfo).toBe(v1);
    expect(nack.request.errorDetail.code).toBe(13);
    expect(nack.request.errorDetail.message).toBe(`${bad}: cluster.lb_policy: unsupported`);
    expect(client.subscription(CLUSTER_TYPE_URL)!.version).toBe(v1);

    rejecting = false;
    server.upsertResources(CLUSTER_TYPE_URL, [], 'v3');
    server.push(CLUSTER_TYPE_URL);
    await server.waitForRequest(isAckOf(server, CLUSTER_TYPE_URL, 'v3'), 5000, from);
    expect(client.subscription(CLUSTER_TYPE_URL)!.version).toBe('v3');
    expect(client.typeCounters(CLUSTER_TYPE_URL).update_rejected).toBe(1);
  });

  test('a resource with the wrong Any type is NACKed alone; its siblings are handed over', async () => {
    const { updates, handler } = consumer(() => client!);
    client = makeClient(handler);
    const cds = corpus.get(CLUSTER_TYPE_URL)!;
    const listener = corpus.get(LISTENER_TYPE_URL)!.resources[0]!;
    server.setResources(CLUSTER_TYPE_URL, [...cds.resources, { name: 'bogus', value: listener.value, anyTypeUrl: LISTENER_TYPE_URL }], 'v1');
    client.start();
    const nack = await server.waitForRequest((r) => r.typeUrl === CLUSTER_TYPE_URL && !!r.request.errorDetail);
    expect(nack.request.versionInfo).toBe('');
    expect(nack.request.errorDetail.message).toMatch(/^resources\[17\]: resource type .*Listener does not match response type .*Cluster$/);
    const u = updates.find((x) => x.typeUrl === CLUSTER_TYPE_URL)!;
    expect(u.resources).toHaveLength(cds.resources.length);
    expect(u.invalid).toHaveLength(1);
  });

  test('istiod-style partial EDS pushes and LDS deletion by absence', async () => {
    const { updates, handler } = consumer(() => client!);
    client = makeClient(handler);
    client.start();
    await server.waitForRequest(isAckOf(server, ENDPOINT_TYPE_URL, versionOf(ENDPOINT_TYPE_URL)));
    await server.waitForRequest(isAckOf(server, LISTENER_TYPE_URL, versionOf(LISTENER_TYPE_URL)));

    const one = corpus.get(ENDPOINT_TYPE_URL)!.resources[0]!.name;
    server.upsertResources(ENDPOINT_TYPE_URL, [], 'e2');
    server.push(ENDPOINT_TYPE_URL, { names: [one] });
    await server.waitForRequest(isAckOf(server, ENDPOINT_TYPE_URL, 'e2'));
    const eds = updates.filter((u) => u.typeUrl === ENDPOINT_TYPE_URL).pop()!;
    expect(eds.resources.map((r) => r.name)).toEqual([one]);
    expect(eds.removed).toEqual([]);

    const gone = corpus.get(LISTENER_TYPE_URL)!.resources[2]!.name;
    server.removeResources(LISTENER_TYPE_URL, [gone], 'l2');
    server.push(LISTENER_TYPE_URL);
    await server.waitForRequest(isAckOf(server, LISTENER_TYPE_URL, 'l2'));
    const lds = updates.filter((u) => u.typeUrl === LISTENER_TYPE_URL).pop()!;
    expect(lds.removed).toEqual([gone]);
    expect(lds.resources).toHaveLength(corpus.get(LISTENER_TYPE_URL)!.resources.length - 1);
  });

  test('unsubscribing every name of a named type sends an empty list', async () => {
    const { handler } = consumer(() => client!);
    client = makeClient(handler);
    client.start();
    await server.waitForRequest(isAckOf(server, SECRET_TYPE_URL, versionOf(SECRET_TYPE_URL)));
    const from = server.requests.length;
    client.unwatch(SECRET_TYPE_URL, corpus.get(SECRET_TYPE_URL)!.resources.map((r) => r.name));
    const req = await server.waitForRequest((r) => r.typeUrl === SECRET_TYPE_URL, 5000, from);
    expect(req.request.resourceNames).toEqual([]);
    expect(req.request.versionInfo).toBe(versionOf(SECRET_TYPE_URL));
  });

  test('reconnect re-sends every subscription with the accepted versions and the node again', async () => {
    const { handler } = consumer(() => client!);
    client = makeClient(handler);
    const disconnected = jest.fn();
    client.on('disconnected', disconnected);
    client.start();
    for (const typeUrl of corpus.keys()) await server.waitForRequest(isAckOf(server, typeUrl, versionOf(typeUrl)));
    const firstStream = server.openStreamIds[0]!;
    server.closeStreams();
    await server.waitForRequest((r) => r.streamId !== firstStream && r.typeUrl === SECRET_TYPE_URL);
    const second = server.requests.filter((r) => r.streamId !== firstStream);
    expect(second[0]!.request.node.id).toBe(NODE.id);
    for (const typeUrl of corpus.keys()) {
      const r = second.find((x) => x.typeUrl === typeUrl)!;
      expect(r.request.responseNonce).toBe('');
      expect(r.request.versionInfo).toBe(versionOf(typeUrl));
    }
    expect(second.find((x) => x.typeUrl === ROUTE_TYPE_URL)!.request.resourceNames).toEqual(corpus.get(ROUTE_TYPE_URL)!.resources.map((r) => r.name).sort());
    // The new stream is answered and ACKed again.
    for (const typeUrl of corpus.keys()) await server.waitForRequest((r) => r.streamId !== firstStream && isAckOf(server, typeUrl, versionOf(typeUrl))(r));
    expect(disconnected).toHaveBeenCalledTimes(1);
    expect(client.counters.connected).toBe(2);
  });

  test('responses are handed over one at a time in arrival order, each ACKed with its own nonce', async () => {
    let active = 0;
    let overlap = false;
    const seen: string[] = [];
    const c = new AdsClient({
      target: server.target,
      node: NODE,
      setNodeOnFirstMessageOnly: true,
      onResponse: async (u) => {
        if (active++ > 0) overlap = true;
        seen.push(`${u.typeUrl === CLUSTER_TYPE_URL ? 'cds' : 'lds'}:${u.versionInfo}`);
        await new Promise((r) => setTimeout(r, 30));
        active--;
        return { errors: [] };
      },
    });
    client = c;
    c.watch(CLUSTER_TYPE_URL, '*');
    c.watch(LISTENER_TYPE_URL, '*');
    server.autoRespond = false;
    c.start();
    await server.waitForRequest((r) => r.typeUrl === LISTENER_TYPE_URL);
    for (const v of ['a', 'b', 'c']) {
      server.upsertResources(CLUSTER_TYPE_URL, [], `c-${v}`);
      server.push(CLUSTER_TYPE_URL);
      server.upsertResources(LISTENER_TYPE_URL, [], `l-${v}`);
      server.push(LISTENER_TYPE_URL);
    }
    await server.waitForRequest(isAckOf(server, LISTENER_TYPE_URL, 'l-c'));
    expect(overlap).toBe(false);
    expect(seen).toEqual(['cds:c-a', 'lds:l-a', 'cds:c-b', 'lds:l-b', 'cds:c-c', 'lds:l-c']);
    // Every response got exactly one reply carrying its nonce, in order.
    const replies = server.requests.filter((r) => r.request.responseNonce !== '').map((r) => r.request.responseNonce);
    expect(replies).toEqual(server.responses.map((r) => r.nonce));
  });

  test('names watched inside a callback ride on that response\'s ACK, not an early request', async () => {
    const extra = 'outbound|9999||extra.demo.svc.cluster.local';
    let added = false;
    const { handler } = consumer(() => client!);
    client = makeClient((u) => {
      if (u.typeUrl === ENDPOINT_TYPE_URL && !added) {
        added = true;
        client!.watch(ENDPOINT_TYPE_URL, [extra]);
      }
      return handler(u);
    });
    client.start();
    await server.waitForRequest((r) => r.typeUrl === ENDPOINT_TYPE_URL && r.request.resourceNames.includes(extra));
    const edsReqs = server.requests.filter((r) => r.typeUrl === ENDPOINT_TYPE_URL);
    const firstEds = server.responses.find((r) => r.typeUrl === ENDPOINT_TYPE_URL)!;
    // Request 0 subscribes; request 1 is the ACK of the first response and already has the name.
    expect(edsReqs[1]!.request.responseNonce).toBe(firstEds.nonce);
    expect(edsReqs[1]!.request.versionInfo).toBe(firstEds.version);
    expect(edsReqs[1]!.request.resourceNames).toContain(extra);
  });

  test('a response far above gRPC\'s default 4 MiB receive limit is accepted (contract 3.1)', async () => {
    const Cluster = typeForUrl(CLUSTER_TYPE_URL)!;
    const big = Array.from({ length: 40 }, (_, i) => {
      const name = `outbound|80||svc-${i}.big.svc.cluster.local`;
      return { name, value: Cluster.encode(Cluster.fromObject({ name, altStatName: 'x'.repeat(150 * 1024) })).finish() };
    });
    server.setResources(CLUSTER_TYPE_URL, big, 'big-1');
    let got = 0;
    client = makeClient((u) => {
      if (u.typeUrl === CLUSTER_TYPE_URL) got = u.resources.length;
      return { errors: [] };
    });
    client.start();
    await server.waitForRequest(isAckOf(server, CLUSTER_TYPE_URL, 'big-1'));
    expect(got).toBe(40);
    expect(client.counters.disconnected).toBe(0);
  });

  test('keeps retrying with backoff while nobody listens, then connects when the server appears', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ads-late-'));
    const sock = join(dir, 'XDS');
    const got: string[] = [];
    const c = new AdsClient({
      target: `unix://${sock}`,
      node: NODE,
      backoff: { initialMs: 20, maxMs: 100 },
      onResponse: (u) => (got.push(u.versionInfo), { errors: [] }),
    });
    client = c;
    c.watch(CLUSTER_TYPE_URL, '*');
    c.start();
    await until(() => c.counters.disconnected >= 2);
    expect(c.counters.connected).toBe(0);
    expect(c.typeCounters(CLUSTER_TYPE_URL).update_failure).toBeGreaterThanOrEqual(2);
    const late = await FakeAdsServer.start({ socketPath: sock });
    try {
      late.setResources(CLUSTER_TYPE_URL, corpus.get(CLUSTER_TYPE_URL)!.resources, 'late-1');
      await late.waitForRequest(isAckOf(late, CLUSTER_TYPE_URL, 'late-1'), 15000);
      expect(got).toEqual(['late-1']);
      expect(c.counters.connected).toBe(1);
    } finally {
      c.stop();
      await late.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a relative unix: target (as in Istio\'s ./etc/istio/proxy/XDS) resolves from the cwd', async () => {
    const abs = server.target.slice('unix://'.length);
    const rel = relative(process.cwd(), abs);
    expect(rel.startsWith('/')).toBe(false);
    const got: string[] = [];
    const c = new AdsClient({ target: `unix:${rel}`, node: NODE, onResponse: (u) => (got.push(u.typeUrl), { errors: [] }) });
    client = c;
    c.watch(CLUSTER_TYPE_URL, '*');
    c.start();
    await server.waitForRequest(isAckOf(server, CLUSTER_TYPE_URL, versionOf(CLUSTER_TYPE_URL)));
    expect(got).toEqual([CLUSTER_TYPE_URL]);
  });

  test('TCP target on 127.0.0.1 port 0 works the same', async () => {
    const tcp = await FakeAdsServer.start({ tcp: true });
    try {
      tcp.setResources(CLUSTER_TYPE_URL, corpus.get(CLUSTER_TYPE_URL)!.resources, 'v1');
      const got: AdsUpdate[] = [];
      const c = new AdsClient({ target: tcp.target, node: adsMessageTypes().node.fromObject(NODE), onResponse: (u) => (got.push(u), { errors: [] }) });
      c.watch(CLUSTER_TYPE_URL, '*');
      c.start();
      try {
        await tcp.waitForRequest((r) => r.request.responseNonce !== '' && r.request.versionInfo === 'v1');
        expect(got[0]!.resources).toHaveLength(corpus.get(CLUSTER_TYPE_URL)!.resources.length);
        // Without set_node_on_first_message_only the node goes on every request.
        expect(tcp.requests.every((r) => r.request.node?.id === NODE.id)).toBe(true);
      } finally {
        c.stop();
      }
      await until(() => !c.isConnected);
    } finally {
      await tcp.stop();
    }
  });
});
