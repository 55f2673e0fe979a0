// In-process TLS data path: an inbound-style ActiveListener (tls_inspector + http_inspector,
// Istio's PERMISSIVE chains) built from Envoy JSON through the real translators, with secrets
// `default` / `ROOTCA` in the runtime, in front of loopback apps; real clients (Node tls,
// wrapUpstreamTls, openssl s_client, curl). Covers mTLS, SAN refusal, plaintext fall-through,
// HTTP detection, server-first protocols, secret rotation without a listener restart, and CRLs.
import { execFile, spawn } from 'node:child_process';
import * as net from 'node:net';
import * as tls from 'node:tls';
import pino from 'pino';
import { ErrorSink } from '../../src/common/result';
import { fromProtoJson } from '../../src/config/bootstrap/proto-json';
import type { ClusterConfig } from '../../src/config/model/cluster';
import type { ListenerConfig, TransportSocketConfig } from '../../src/config/model/listener';
import type { SecretConfig } from '../../src/config/model/secret';
import { createExtensionTranslator } from '../../src/config/translate/extension';
import { translateCluster } from '../../src/config/translate/cluster';
import { translateListener } from '../../src/config/translate/listener';
import { translateSecret } from '../../src/config/translate/secret';
import type { ConnectionRuntime } from '../../src/engine/api/network-filter';
import { ActiveListener } from '../../src/engine/listener/active-listener';
import { wrapUpstreamTls } from '../../src/engine/tls/upstream-tls';
import { ClusterManager } from '../../src/engine/upstream/cluster-manager';
import { builtinParsers } from '../../src/extensions/parsers';
import { lookupType } from '../../src/gen/proto-root';
import { StatsStore } from '../../src/stats/stats-store';
import { createMeshCa, type CertFiles, type MeshCa } from '../support/certs';

const T = 'type.googleapis.com/';
const log = pino({ level: process.env.TLS_DEBUG ? 'debug' : 'silent' });
const ext = createExtensionTranslator(builtinParsers());

function translate<R>(typeName: string, json: unknown, fn: (msg: never, errors: ErrorSink) => R | undefined): R {
  const errors = ErrorSink.create();
  const out = fn(fromProtoJson(lookupType(typeName), json) as never, errors);
  if (!out || errors.failed) throw new Error(JSON.stringify(errors.errors));
  return out;
}

const sds = (name: string) => ({ name, sds_config: { ads: {}, resource_api_version: 'V3' } });
const tcpProxy = (cluster: string) => ({ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': `${T}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`, stat_prefix: cluster, cluster } });
const staticCluster = (name: string, port: number) => ({ name, type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] } });

function secret(name: string, c: CertFiles | { ca: string; crl?: string }): SecretConfig {
  const json = 'ca' in c ? { name, validation_context: { trusted_ca: { inline_string: c.ca }, ...(c.crl ? { crl: { inline_string: c.crl } } : {}) } } : { name, tls_certificate: { certificate_chain: { inline_string: c.certPem }, private_key: { inline_string: c.keyPem } } };
  return translate('envoy.extensions.transport_sockets.tls.v3.Secret', json, (m, e) => translateSecret(m, e));
}

/** Istio's inbound DownstreamTlsContext (ROOTCA + default over SDS), optionally with a SAN prefix. */
function downstreamTls(alpn: string[], sanPrefix?: string) {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': `${T}envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext`,
      require_client_certificate: true,
      common_tls_context: {
        alpn_protocols: alpn,
        tls_params: { tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_3', cipher_suites: ['ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'AES256-GCM-SHA384', 'AES128-GCM-SHA256'] },
        tls_certificate_sds_secret_configs: [sds('default')],
        combined_validation_context: {
          default_validation_context: sanPrefix ? { match_subject_alt_names: [{ prefix: sanPrefix }] } : {},
          validation_context_sds_secret_config: sds('ROOTCA'),
        },
      },
    },
  };
}

function upstreamTls(sans: object[], alpn: string[] = ['istio-peer-exchange', 'istio']): TransportSocketConfig {
  const json = {
    sni: 'outbound_.9080_._.app.default.svc.cluster.local',
    common_tls_context: {
      alpn_protocols: alpn,
      tls_params: { tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_3' },
      tls_certificate_sds_secret_configs: [sds('default')],
      combined_validation_context: { default_validation_context: { match_subject_alt_names: sans }, validation_context_sds_secret_config: sds('ROOTCA') },
    },
  };
  const cfg = translate('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', json, (m, e) => builtinParsers().lookup('transport_socket', `${T}envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext`, '')!.parse(m, ext, e));
  return { name: 'envoy.transport_sockets.tls', typeUrl: `${T}envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext`, config: cfg };
}

let ca: MeshCa;
let serverCert: CertFiles;
let clientCert: CertFiles;
let otherNsCert: CertFiles;
let rogueCert: CertFiles;
let tcpApp: net.Server;
let httpApp: net.Server;
let bannerApp: net.Server;
let listener: ActiveListener;
let port: number;
let runtime: ConnectionRuntime;
let clusters: ClusterManager;
const stats = new StatsStore();

function listen(s: net.Server): Promise<number> {
  return new Promise((r) => s.listen(0, '127.0.0.1', () => r((s.address() as net.AddressInfo).port)));
}

beforeAll(async () => {
  ca = createMeshCa();
  serverCert = ca.issue({ ns: 'default', sa: 'server', name: 'server' });
  clientCert = ca.issue({ ns: 'default', sa: 'client', name: 'client' });
  otherNsCert = ca.issue({ ns: 'other', sa: 'client', name: 'other' });
  rogueCert = createMeshCa({ cn: 'rogue' }).issue({ ns: 'default', sa: 'client', name: 'rogue' });
  // tcp app echoes with a prefix; http app answers one response; banner app speaks first.
  tcpApp = net.createServer((s) => s.on('data', (d) => s.write(`tcp:${d.toString()}`)));
  httpApp = net.createServer((s) => s.once('data', () => s.end('HTTP/1.1 200 OK\r\ncontent-length: 4\r\nconnection: close\r\n\r\nhttp')));
  bannerApp = net.createServer((s) => s.write('220 banner\r\n'));
  const [tcpPort, httpPort, bannerPort] = await Promise.all([listen(tcpApp), listen(httpApp), listen(bannerApp)]);
  const clusterCfgs = [staticCluster('tcp_app', tcpPort), staticCluster('http_app', httpPort), staticCluster('banner_app', bannerPort)].map((c) => translate<ClusterConfig>('envoy.config.cluster.v3.Cluster', c, (m, e) => translateCluster(m, ext, e)));
  clusters = new ClusterManager(clusterCfgs, new Map(), undefined, stats, log);
  runtime = { generation: 1, clusters, routes: new Map(), secrets: new Map([['default', secret('default', serverCert)], ['ROOTCA', secret('ROOTCA', { ca: ca.certPem })]]) };
  const cfg = translate<ListenerConfig>(
    'envoy.config.listener.v3.Listener',
    {
      name: 'virtualInbound',
      address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
      listener_filters: [
        { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': `${T}envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector` } },
        { name: 'envoy.filters.listener.http_inspector', typed_config: { '@type': `${T}envoy.extensions.filters.listener.http_inspector.v3.HttpInspector` } },
      ],
      listener_filters_timeout: '0s',
      continue_on_listener_filters_timeout: true,
      filter_chains: [
        { name: 'mtls-tcp', filter_chain_match: { transport_protocol: 'tls', application_protocols: ['istio-peer-exchange', 'istio'] }, filters: [tcpProxy('tcp_app')], transport_socket: downstreamTls(['istio-peer-exchange', 'h2', 'http/1.1'], 'spiffe://cluster.local/ns/default/') },
        { name: 'mtls-http', filter_chain_match: { transport_protocol: 'tls', application_protocols: ['istio-http/1.0', 'istio-http/1.1', 'istio-h2'] }, filters: [tcpProxy('http_app')], transport_socket: downstreamTls(['h2', 'http/1.1']) },
        { name: 'mtls-any', filter_chain_match: { transport_protocol: 'tls' }, filters: [tcpProxy('http_app')], transport_socket: downstreamTls(['h2', 'http/1.1']) },
        { name: 'plain-http', filter_chain_match: { transport_protocol: 'raw_buffer', application_protocols: ['http/1.1', 'h2c'] }, filters: [tcpProxy('http_app')] },
        { name: 'plain-tcp', filter_chain_match: { transport_protocol: 'raw_buffer' }, filters: [tcpProxy('banner_app')] },
      ],
    },
    (m, e) => translateListener(m, ext, e),
  );
  listener = new ActiveListener(cfg, { currentRuntime: () => runtime, findListenerFor: () => undefined, originalDestination: () => null, nextConnectionId: (() => { let n = 0; return () => ++n; })() }, stats, log);
  await listener.start();
  port = (listener.boundAddress as net.AddressInfo).port;
}, 30_000);

afterAll(() => {
  listener?.close();
  clusters?.destroy();
  for (const s of [tcpApp, httpApp, bannerApp]) s?.close();
});

function mtls(opts: { cert?: CertFiles; alpn?: string[]; servername?: string }): Promise<{ socket: tls.TLSSocket; serial: string; alpn: string | false | null }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: ca.certPem, ...(opts.cert ? { cert: opts.cert.certPem, key: opts.cert.keyPem } : {}), ALPNProtocols: opts.alpn ?? ['istio-peer-exchange', 'istio'], servername: opts.servername ?? 'outbound_.9080_._.app.default.svc.cluster.local', checkServerIdentity: () => undefined });
    s.once('secureConnect', () => resolve({ socket: s, serial: s.getPeerCertificate().serialNumber.toUpperCase(), alpn: s.alpnProtocol }));
    s.once('error', reject);
  });
}

/** Writes `msg` and resolves with what comes back before the peer closes or `ms` passes. */
function roundTrip(s: net.Socket, msg: string, ms = 2000): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const t = setTimeout(() => resolve(got), ms);
    s.on('data', (d) => {
      got += d.toString();
      if (got.includes(msg) || got.includes('http')) {
        clearTimeout(t);
        resolve(got);
      }
    });
    s.on('close', () => {
      clearTimeout(t);
      resolve(got);
    });
    s.on('error', () => undefined);
    s.write(msg);
  });
}

/** True when the connection is refused during or right after the handshake (no app data back). */
async function refused(opts: { cert?: CertFiles }): Promise<boolean> {
  try {
    const c = await mtls(opts);
    const got = await roundTrip(c.socket, 'ping', 1500);
    c.socket.destroy();
    return got === '';
  } catch {
    return true;
  }
}

test('mTLS with a SPIFFE client certificate reaches the TCP app; server presents the default secret', async () => {
  const c = await mtls({ cert: clientCert });
  expect(c.serial).toBe(serverCert.serial);
  expect(c.alpn).toBe('istio-peer-exchange');
  expect(await roundTrip(c.socket, 'ping')).toBe('tcp:ping');
  c.socket.destroy();
  expect(stats.counter('listener.127.0.0.1_0.ssl.handshake').value).toBeGreaterThan(0);
});

test('no client certificate, a certificate from another CA, and a SAN outside ns/default are refused', async () => {
  expect(await refused({})).toBe(true);
  expect(await refused({ cert: rogueCert })).toBe(true);
  expect(await refused({ cert: otherNsCert })).toBe(true);
  expect(stats.counter('listener.127.0.0.1_0.ssl.fail_verify_san').value).toBeGreaterThan(0);
});

test('istio-http ALPN selects the HTTP mTLS chain; curl (plain ALPN) lands on the any-TLS chain', async () => {
  const c = await mtls({ cert: clientCert, alpn: ['istio-http/1.1', 'istio', 'http/1.1'] });
  expect(c.alpn).toBe('http/1.1');
  c.socket.destroy();
  const out = await new Promise<string>((resolve, reject) =>
    execFile('curl', ['-sS', '--http1.1', '--max-time', '5', '--cacert', ca.certPath, '--cert', clientCert.certPath, '--key', clientCert.keyPath, '-k', `https://127.0.0.1:${port}/`], (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout))),
  );
  // curl offers only http/1.1: no istio-* ALPN chain matches, the TLS chain without ALPN rules does.
  expect(out).toBe('http');
});

test('plaintext HTTP reaches the HTTP app through the raw_buffer chain (PERMISSIVE)', async () => {
  const s = net.connect(port, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  const got = await roundTrip(s, 'GET / HTTP/1.1\r\nhost: x\r\n\r\n');
  expect(got).toContain('200 OK');
  expect(got).toContain('http');
  s.destroy();
});

test('a silent (server-first) client gets the upstream banner quickly through the TCP chain', async () => {
  const start = Date.now();
  const s = net.connect(port, '127.0.0.1');
  const banner = await new Promise<string>((resolve) => s.once('data', (d) => resolve(d.toString())));
  expect(banner).toBe('220 banner\r\n');
  expect(Date.now() - start).toBeLessThan(1500);
  s.destroy();
});

test('openssl s_client completes mTLS and sees the server SPIFFE certificate', async () => {
  const out = await new Promise<string>((resolve) => {
    const p = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', ca.certPath, '-cert', clientCert.certPath, '-key', clientCert.keyPath, '-alpn', 'istio-peer-exchange,istio', '-servername', 'outbound_.9080_._.app.default.svc.cluster.local', '-verify_return_error', '-quiet']);
    let text = '';
    const end = () => {
      clearTimeout(t);
      p.kill();
      resolve(text);
    };
    const t = setTimeout(end, 5000);
    p.stdout.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('tcp:hello')) end();
    });
    p.stderr.on('data', (d: Buffer) => (text += d.toString()));
    p.stdin.write('hello\n');
  });
  expect(out).toContain('tcp:hello');
});

test('upstream wrapUpstreamTls: exact SPIFFE SAN accepted, wrong SAN refused', async () => {
  const connectRaw = () => new Promise<net.Socket>((r) => { const s = net.connect(port, '127.0.0.1', () => r(s)); });
  const clientRuntime = { secrets: new Map([['default', secret('default', clientCert)], ['ROOTCA', secret('ROOTCA', { ca: ca.certPem })]]) };
  const ok = await new Promise<{ err: Error | null; alpn?: string; socket?: net.Socket }>(async (resolve) => {
    wrapUpstreamTls(await connectRaw(), upstreamTls([{ exact: 'spiffe://cluster.local/ns/default/sa/server' }]), clientRuntime, undefined, (err, r) => resolve({ err, ...(r?.alpn ? { alpn: r.alpn } : {}), ...(r ? { socket: r.socket } : {}) }));
  });
  expect(ok.err).toBeNull();
  expect(ok.alpn).toBe('istio-peer-exchange');
  expect(await roundTrip(ok.socket!, 'up')).toBe('tcp:up');
  ok.socket!.destroy();
  const bad = await new Promise<Error | null>(async (resolve) => {
    wrapUpstreamTls(await connectRaw(), upstreamTls([{ exact: 'spiffe://cluster.local/ns/default/sa/someone-else' }]), clientRuntime, undefined, (err) => resolve(err));
  });
  expect(bad?.message).toMatch(/SAN/);
  const regex = await new Promise<Error | null>(async (resolve) => {
    wrapUpstreamTls(await connectRaw(), upstreamTls([{ safe_regex: { regex: 'spiffe://cluster\\.local/ns/[a-z]+/sa/server' } }]), clientRuntime, undefined, (err, r) => {
      r?.socket.destroy();
      resolve(err);
    });
  });
  expect(regex).toBeNull();
});

test('rotation: new handshakes present the new default certificate, an open connection keeps working, no listener restart', async () => {
  const before = await mtls({ cert: clientCert });
  expect(before.serial).toBe(serverCert.serial);
  const next = ca.issue({ ns: 'default', sa: 'server', name: 'server2' });
  const boundBefore = listener.boundAddress;
  runtime = { ...runtime, generation: 2, secrets: new Map([...runtime.secrets, ['default', secret('default', next)]]) };
  const after = await mtls({ cert: clientCert });
  expect(after.serial).toBe(next.serial);
  expect(await roundTrip(before.socket, 'still')).toBe('tcp:still');
  expect(listener.boundAddress).toBe(boundBefore);
  before.socket.destroy();
  after.socket.destroy();
});

test('a CRL in ROOTCA revokes a client certificate', async () => {
  const revoked = ca.issue({ ns: 'default', sa: 'client', name: 'revoked' });
  const crl = ca.crl([revoked.serial]);
  const prev = runtime;
  runtime = { ...runtime, generation: 3, secrets: new Map([...runtime.secrets, ['ROOTCA', secret('ROOTCA', { ca: ca.certPem, crl: crl.pem })]]) };
  try {
    expect(await refused({ cert: revoked })).toBe(true);
    const ok = await mtls({ cert: clientCert });
    expect(await roundTrip(ok.socket, 'crl')).toBe('tcp:crl');
    ok.socket.destroy();
  } finally {
    runtime = prev;
  }
});
