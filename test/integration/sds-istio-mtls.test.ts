// The built proxy process with Istio's certificate delivery: LDS/CDS over ADS (xds-grpc pipe),
// `default` and `ROOTCA` over a separate SDS stream on the sds-grpc pipe (a fake pilot-agent
// SDS server), and an inbound listener whose DownstreamTlsContext names them with
// require_client_certificate and a SPIFFE SAN matcher, in front of a loopback app.
// Checks: the SDS stream asks for exactly default+ROOTCA (node on the first request); the
// listener warms (not bound, server INITIALIZING) until both secrets arrive; an mTLS client gets
// through and sees the SDS certificate; a client with another SPIFFE id is refused; a bad secret
// is NACKed per resource and the last good one keeps serving; rotating `default` every second for
// 10 s under bounded new-connection load fails no connection, new handshakes present the new
// serial soon after the ACK, and a connection opened before the rotations keeps working.
// Requires a build (dist/).
import * as net from 'node:net';
import * as tls from 'node:tls';
import { fromProtoJson } from '../../src/config/bootstrap/proto-json';
import { lookupType } from '../../src/gen/proto-root';
import { CLUSTER_TYPE_URL, LISTENER_TYPE_URL, SECRET_TYPE_URL } from '../../src/xds/type-urls';
import { createMeshCa, type CertFiles, type MeshCa } from '../support/certs';
import { FakeAdsServer } from '../support/fake-ads-server';
import { FakeSdsServer, istioDownstreamTls, sidecarBootstrap } from '../support/fake-sds-server';
import { startProxy, type ProxyProcess } from '../support/proxy-process';

const T = 'type.googleapis.com/';
const LISTENER = '127.0.0.1_15006';
const SERVER_ID = 'spiffe://cluster.local/ns/default/sa/server';

function resource(typeName: string, json: { name: string }): { name: string; value: Uint8Array } {
  const t = lookupType(typeName);
  return { name: json.name, value: t.encode(fromProtoJson(t, json)).finish() };
}

/** The issue asks for a new `default` every second for 10 s. */
const ROTATIONS = 10;
let ca: MeshCa;
let serverCerts: CertFiles[];
let client: CertFiles;
let stranger: CertFiles;
let app: net.Server;
let ads: FakeAdsServer;
let sds: FakeSdsServer;
let proxy: ProxyProcess;
let port = 0;

interface Conn {
  serial: string;
  san: string;
  socket: tls.TLSSocket;
}

/** mTLS connect, check the server's SPIFFE id, and read one echo from the app through the proxy. */
function mtls(cert: CertFiles, keepOpen = false, timeoutMs = 3000): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, cert: cert.certPem, key: cert.keyPem, ca: ca.certPem, checkServerIdentity: () => undefined, ALPNProtocols: ['istio-peer-exchange', 'h2'] });
    let got = '';
    let peer = { serial: '', san: '' };
    const timer = setTimeout(() => fail(new Error('timed out')), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once('secureConnect', () => {
      const c = socket.getPeerCertificate();
      peer = { serial: c.serialNumber.toUpperCase(), san: c.subjectaltname ?? '' };
      socket.write('ping');
    });
    socket.on('data', (d) => {
      got += d.toString();
      if (got === 'app:ping') {
        clearTimeout(timer);
        if (!keepOpen) socket.end();
        resolve({ ...peer, socket });
      }
    });
    socket.once('error', fail);
    socket.once('close', () => fail(new Error(`closed after '${got}'`)));
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 8000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const stat = async (name: string): Promise<number | undefined> => {
  const r = await proxy.get(`/stats?filter=^${name.replace(/[.]/g, '\\.')}$`);
  const m = new RegExp(`^${name.replace(/[.]/g, '\\.')}: (\\d+)$`, 'm').exec(r.body);
  return m ? Number(m[1]) : undefined;
};

beforeAll(async () => {
  ca = createMeshCa();
  serverCerts = Array.from({ length: ROTATIONS + 1 }, (_v, i) => i).map((i) => ca.issue({ ns: 'default', sa: 'server', name: `server${i}`, serial: 0x1000 + i }));
  client = ca.issue({ ns: 'default', sa: 'client', name: 'client' });
  stranger = ca.issue({ ns: 'default', sa: 'stranger', name: 'stranger' });
  app = net.createServer((s) => {
    s.on('data', (d) => s.write(`app:${d.toString()}`));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  const appPort = (app.address() as net.AddressInfo).port;
  ads = await FakeAdsServer.start();
  sds = await FakeSdsServer.start();
  ads.setResources(CLUSTER_TYPE_URL, [resource('envoy.config.cluster.v3.Cluster', { name: 'inbound|9080||', type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: 'inbound|9080||', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: appPort } } } }] }] } } as never)], 'c1');
  ads.setResources(
    LISTENER_TYPE_URL,
    [
      resource('envoy.config.listener.v3.Listener', {
        name: LISTENER,
        address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
        filter_chains: [
          {
            name: 'inbound|9080||',
            filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': `${T}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`, stat_prefix: 'inbound|9080||', cluster: 'inbound|9080||' } }],
            transport_socket: istioDownstreamTls(['spiffe://cluster.local/ns/default/sa/client']),
          },
        ],
      } as never),
    ],
    'l1',
  );
  proxy = await startProxy(sidecarBootstrap('sidecar~127.0.0.1~server.default~default.svc.cluster.local', ads.target.replace(/^unix:\/\//, ''), sds.socketPath));
}, 30_000);

afterAll(async () => {
  await proxy?.stop();
  await ads?.stop();
  await sds?.stop();
  app?.close();
});

test('the listener warms until default and ROOTCA arrive over sds-grpc, then serves mTLS with them', async () => {
  const first = await sds.ads.waitForRequest((r) => r.typeUrl === SECRET_TYPE_URL, 8000);
  expect([...first.request.resourceNames].sort()).toEqual(['ROOTCA', 'default']);
  expect(first.request.node?.id).toBe('sidecar~127.0.0.1~server.default~default.svc.cluster.local');
  // LDS applied, secrets missing: warming, not bound, server still INITIALIZING.
  await until('LDS ACK', () => ads.requests.find((r) => r.typeUrl === LISTENER_TYPE_URL && r.request.responseNonce));
  expect(await stat('listener_manager.total_listeners_warming')).toBe(1);
  expect(await stat('server.state')).toBe(3);
  const listeners = JSON.parse((await proxy.get('/listeners?format=json')).body) as { listener_statuses?: { name: string }[] };
  expect((listeners.listener_statuses ?? []).map((l) => l.name)).not.toContain(LISTENER);
  expect(sds.ads.requests.filter((r) => r.request.node?.id)).toHaveLength(1);

  const v = sds.set([{ name: 'default', cert: serverCerts[0]! }, { name: 'ROOTCA', caPem: ca.certPem }]);
  await sds.waitForAck(v);
  port = (await proxy.listener(LISTENER)).port;
  await until('LIVE', async () => ((await stat('server.state')) === 0 ? true : undefined));
  const c = await mtls(client);
  expect(c.serial).toBe(serverCerts[0]!.serial);
  expect(c.san).toContain(`URI:${SERVER_ID}`);
  expect(await stat('sds.default.update_success')).toBeGreaterThanOrEqual(1);
  expect(await stat('sds.ROOTCA.update_success')).toBeGreaterThanOrEqual(1);
  expect(await stat('sds.default.update_rejected')).toBe(0);
  // config_dump lists the SDS-delivered secrets like Envoy (dynamic_active_secrets), keys redacted.
  const dump = (await proxy.get('/config_dump?resource=dynamic_active_secrets')).body;
  expect(dump).toContain('"name": "default"');
  expect(dump).toContain('"name": "ROOTCA"');
  expect(dump).not.toContain('PRIVATE KEY');
}, 20_000);

test('a client whose SPIFFE id the SAN matcher does not allow is refused', async () => {
  await expect(mtls(stranger)).rejects.toThrow();
  // The allowed client still gets through.
  await expect(mtls(client)).resolves.toBeDefined();
});

test('a bad secret is NACKed per resource and the last good one keeps serving', async () => {
  const from = sds.requests.length;
  const v = sds.set([{ name: 'default', cert: { certPem: serverCerts[0]!.certPem, keyPem: '' } }]);
  const nack = await sds.ads.waitForRequest((r) => String(r.request.responseNonce).startsWith(`${v}/`), 5000, from);
  expect(nack.request.errorDetail?.message).toMatch(/default/);
  expect(nack.request.errorDetail?.message).toMatch(/private_key/);
  expect(await stat('sds.default.update_rejected')).toBe(1);
  expect((await mtls(client)).serial).toBe(serverCerts[0]!.serial);
});

test('rotating default every second under new-connection load: no failed connection, new handshakes use the new certificate, old connections continue', async () => {
  const longLived = await mtls(client, true);
  const serialIndex = new Map(serverCerts.map((c, i) => [c.serial, i]));
  const acks: number[] = [];
  const results: { start: number; index: number }[] = [];
  const failures: string[] = [];
  let stop = false;
  const MAX_CONNECTIONS = 3000;
  const loop = async () => {
    while (!stop && results.length + failures.length < MAX_CONNECTIONS) {
      const start = Date.now();
      try {
        const c = await mtls(client);
        results.push({ start, index: serialIndex.get(c.serial) ?? -1 });
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  };
  const loops = [loop(), loop(), loop()];
  for (let i = 1; i <= ROTATIONS; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const from = sds.requests.length;
    const v = sds.set([{ name: 'default', cert: serverCerts[i]! }]);
    await sds.waitForAck(v, 5000, from);
    acks[i] = Date.now();
  }
  await new Promise((r) => setTimeout(r, 500));
  stop = true;
  await Promise.all(loops);
  expect(failures).toEqual([]);
  expect(results.length).toBeGreaterThan(20);
  expect(results.every((r) => r.index >= 0)).toBe(true);
  // Every rotated certificate was served, and a handshake started 300 ms after an ACK never
  // presents an older certificate (the snapshot reaches workers within the debounce).
  for (let i = 1; i <= ROTATIONS; i++) expect(results.some((r) => r.index === i)).toBe(true);
  for (const r of results) {
    let due = 0;
    for (let i = 1; i <= ROTATIONS; i++) if (r.start >= acks[i]! + 300) due = i;
    expect(r.index).toBeGreaterThanOrEqual(due);
  }
  // The connection opened before the rotations kept its session and still relays.
  const echoed = new Promise<string>((resolve) => longLived.socket.once('data', (d) => resolve(d.toString())));
  longLived.socket.write('again');
  expect(await echoed).toBe('app:again');
  expect(longLived.serial).toBe(serverCerts[0]!.serial);
  longLived.socket.destroy();
  expect(await stat('sds.default.update_success')).toBeGreaterThanOrEqual(6);
}, 30_000);

test('a failed SDS stream (pilot-agent cannot sign) is reopened with backoff and re-sends both names; serving continues meanwhile', async () => {
  const from = sds.requests.length;
  const streamsBefore = new Set(sds.requests.map((r) => r.streamId));
  const failuresBefore = (await stat('sds.default.update_failure')) ?? 0;
  sds.ads.closeStreams(14, 'failed to generate secret');
  const again = await sds.ads.waitForRequest((r) => !streamsBefore.has(r.streamId) && r.typeUrl === SECRET_TYPE_URL, 8000, from);
  expect([...again.request.resourceNames].sort()).toEqual(['ROOTCA', 'default']);
  // The new stream resumes from the last accepted version (Envoy re-sends version_info).
  expect(again.request.versionInfo).not.toBe('');
  expect(await stat('sds.default.update_failure')).toBe(failuresBefore + 1);
  expect((await mtls(client)).serial).toBe(serverCerts[ROTATIONS]!.serial);
});
