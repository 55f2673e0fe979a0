// The control side in-process (Server with an in-process worker) following what live config
// loads from sds-grpc: the SDS stream opens with the names the first listener's TLS context
// names, re-subscribes (on the same stream) when an LDS update names one more secret, unsubscribes
// when it is gone again, and closes when no listener or cluster loads anything from sds-grpc.
// A listener whose secrets do not exist yet warms while the others keep serving.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFlags } from '../../src/config/bootstrap/flags';
import { fromProtoJson } from '../../src/config/bootstrap/proto-json';
import { loadBootstrap } from '../../src/config/bootstrap/load-bootstrap';
import { Server } from '../../src/control/server';
import { lookupType } from '../../src/gen/proto-root';
import { LogRoot } from '../../src/log/logger';
import { CLUSTER_TYPE_URL, LISTENER_TYPE_URL, SECRET_TYPE_URL } from '../../src/xds/type-urls';
import { createMeshCa } from '../support/certs';
import { FakeAdsServer } from '../support/fake-ads-server';
import { FakeSdsServer, ISTIO_SDS_CONFIG, istioDownstreamTls, sidecarBootstrap } from '../support/fake-sds-server';

const T = 'type.googleapis.com/';

function listener(name: string, transportSocket: object): { name: string; value: Uint8Array } {
  const t = lookupType('envoy.config.listener.v3.Listener');
  const json = {
    name,
    address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': `${T}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`, stat_prefix: name, cluster: 'app' } }], transport_socket: transportSocket }],
  };
  return { name, value: t.encode(fromProtoJson(t, json as never)).finish() };
}

/** A server context loading its certificate from `file-cert:...` and the roots from ROOTCA. */
const fileCertTls = {
  name: 'envoy.transport_sockets.tls',
  typed_config: {
    '@type': `${T}envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext`,
    common_tls_context: { tls_certificate_sds_secret_configs: [{ name: 'file-cert:/etc/certs/cert.pem~/etc/certs/key.pem', sds_config: ISTIO_SDS_CONFIG }], validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: ISTIO_SDS_CONFIG } },
  },
};

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('the sds-grpc stream follows the secret names live listeners load', async () => {
  const ca = createMeshCa();
  const cert = ca.issue({ ns: 'default', sa: 'server', name: 'server' });
  const ads = await FakeAdsServer.start();
  const sds = await FakeSdsServer.start();
  const dir = mkdtempSync(join(tmpdir(), 'sds-subs-'));
  ads.setResources(CLUSTER_TYPE_URL, [], 'c1');
  ads.setResources(LISTENER_TYPE_URL, [listener('one', istioDownstreamTls())], 'l1');
  sds.set([{ name: 'default', cert }, { name: 'ROOTCA', caPem: ca.certPem }], false);
  const bootstrap = sidecarBootstrap('sidecar~127.0.0.1~s.default~default.svc.cluster.local', ads.target.replace(/^unix:\/\//, ''), sds.socketPath);
  const flags = parseFlags(['--config-yaml', JSON.stringify(bootstrap), '--admin-address-path', join(dir, 'admin'), '--concurrency', '1', '--drain-time-s', '1']);
  const server = new Server(flags, new LogRoot({ level: 'critical', componentLevels: new Map() }), loadBootstrap(flags));
  try {
    await server.start();
    const xds = server.xdsController!;
    await until('LIVE', () => server.serverState === 'LIVE');
    const names = () => xds.sds.client('sds-grpc')?.subscription(SECRET_TYPE_URL)?.names.join(',');
    expect(names()).toBe('ROOTCA,default');
    const firstStream = sds.requests[0]!.streamId;

    // A second listener names a secret the agent has not sent yet: it warms, 'one' keeps serving.
    ads.setResources(LISTENER_TYPE_URL, [listener('one', istioDownstreamTls()), listener('two', fileCertTls)], 'l2');
    ads.push(LISTENER_TYPE_URL);
    const sub = await sds.ads.waitForRequest((r) => r.typeUrl === SECRET_TYPE_URL && r.request.resourceNames.length === 3);
    expect(sub.streamId).toBe(firstStream);
    expect([...sub.request.resourceNames].sort()).toEqual(['ROOTCA', 'default', 'file-cert:/etc/certs/cert.pem~/etc/certs/key.pem']);
    expect(xds.store.isWarming('lds', 'two')).toBe(true);
    expect(xds.store.isWarming('lds', 'one')).toBe(false);
    const v = sds.set([{ name: 'file-cert:/etc/certs/cert.pem~/etc/certs/key.pem', cert }]);
    await sds.waitForAck(v);
    await until('two active', () => !xds.store.isWarming('lds', 'two'));

    // 'two' goes away: its name is unsubscribed on the same stream, and its secret forgotten.
    ads.setResources(LISTENER_TYPE_URL, [listener('one', istioDownstreamTls())], 'l3');
    ads.push(LISTENER_TYPE_URL);
    await until('unsubscribe', () => sds.requests.some((r) => r.streamId === firstStream && r.request.resourceNames.length === 2 && r.seq > sub.seq));
    expect(xds.store.sds.has('file-cert:/etc/certs/cert.pem~/etc/certs/key.pem')).toBe(false);

    // Nothing loads from sds-grpc any more: the stream is closed.
    ads.setResources(LISTENER_TYPE_URL, [], 'l4');
    ads.push(LISTENER_TYPE_URL);
    await until('stream closed', () => xds.sds.sources().length === 0 && sds.ads.openStreamIds.length === 0);
    expect(xds.store.sds.size).toBe(0);
  } finally {
    await server.stop();
    await ads.stop();
    await sds.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}, 20_000);
