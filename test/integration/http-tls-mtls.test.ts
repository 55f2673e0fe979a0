// Istio's HTTP-over-mTLS hop between two built proxy processes, with static certificate files:
//   client --HTTP/1.x or h2c--> proxy A outbound HCM [istio.alpn, router]
//     --ISTIO_MUTUAL TLS, ALPN chosen per request--> proxy B inbound listener (tls_inspector;
//     chains on application_protocols istio-http/1.x | istio-h2 | any TLS; client cert required)
//     --> HCM --> app (HTTP/1.1) or gRPC app (h2c)
// Each inbound chain tags its responses (x-chain) and has its own HCM stat prefix, so the test
// sees which ALPN the client side offered. Also: curl --http2 / --http1.1 over TLS to an HCM TLS
// listener (ALPN selects the codec), and gRPC (@grpc/grpc-js) across the mTLS hop.
// Requires a build (dist/): `npx tsc -p tsconfig.build.json`.
import { execFile } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import type * as net from 'node:net';
import * as tls from 'node:tls';
import { promisify } from 'node:util';
import { createMeshCa, type CertFiles, type MeshCa } from '../support/certs';
import { rawRequest } from '../support/http-harness';
import { startProxy, type ProxyProcess } from '../support/proxy-process';

const T = 'type.googleapis.com/';
const run = promisify(execFile);
const B_CLUSTER = 'outbound|80||b.default.svc.cluster.local';
const GRPC_CLUSTER = 'outbound|90||grpc.default.svc.cluster.local';
const OPTOUT_CLUSTER = 'outbound|80||external.example.com';
const SA_B = 'spiffe://cluster.local/ns/default/sa/b';

const admin = { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } };
const loopback = (port: number) => ({ socket_address: { address: '127.0.0.1', port_value: port } });

function staticCluster(name: string, port: number, extra: Record<string, unknown> = {}): object {
  return { name, type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: loopback(port) } }] }] }, ...extra };
}

function protocolOptions(kind: 'downstream' | 'h2'): Record<string, unknown> {
  const opts = kind === 'h2' ? { explicit_http_config: { http2_protocol_options: {} } } : { use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} } };
  return { typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': `${T}envoy.extensions.upstreams.http.v3.HttpProtocolOptions`, ...opts } } };
}

/** Istio's ISTIO_MUTUAL UpstreamTlsContext (contract 5.3) with the workload cert from files. */
function istioMutual(cert: CertFiles, ca: MeshCa, sni: string, alpn: string[]): object {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': `${T}envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext`,
      sni,
      common_tls_context: {
        tls_params: { tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_3' },
        alpn_protocols: alpn,
        tls_certificates: [{ certificate_chain: { filename: cert.certPath }, private_key: { filename: cert.keyPath } }],
        validation_context: { trusted_ca: { filename: ca.certPath }, match_subject_alt_names: [{ exact: SA_B }] },
      },
    },
  };
}

/** Inbound DownstreamTlsContext (HTTP chains: ALPN h2, http/1.1), client cert required when `mtls`. */
function inboundTls(cert: CertFiles, ca: MeshCa, mtls: boolean): object {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': `${T}envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext`,
      ...(mtls ? { require_client_certificate: true } : {}),
      common_tls_context: {
        alpn_protocols: ['h2', 'http/1.1'],
        tls_certificates: [{ certificate_chain: { filename: cert.certPath }, private_key: { filename: cert.keyPath } }],
        ...(mtls ? { validation_context: { trusted_ca: { filename: ca.certPath } } } : {}),
      },
    },
  };
}

function hcm(statPrefix: string, chainTag: string, routes: object[], httpFilters: object[] = []): object {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': `${T}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`,
      stat_prefix: statPrefix,
      codec_type: 'AUTO',
      route_config: { name: statPrefix, virtual_hosts: [{ name: statPrefix, domains: ['*'], routes, response_headers_to_add: [{ header: { key: 'x-chain', value: chainTag } }] }] },
      http_filters: [...httpFilters, { name: 'envoy.filters.http.router', typed_config: { '@type': `${T}envoy.extensions.filters.http.router.v3.Router` } }],
    },
  };
}

const toApp = [
  { match: { prefix: '/test.Echo/' }, route: { cluster: 'grpc_app', timeout: '5s' } },
  { match: { prefix: '/' }, route: { cluster: 'app', timeout: '5s' } },
];

/** What istiod puts in every outbound HCM (pilot/pkg/xds/filters/filters.go). */
const ISTIO_ALPN_FILTER = {
  name: 'istio.alpn',
  typed_config: {
    '@type': `${T}istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig`,
    alpn_override: [
      { upstream_protocol: 'HTTP10', alpn_override: ['istio-http/1.0', 'istio', 'http/1.0'] },
      { upstream_protocol: 'HTTP11', alpn_override: ['istio-http/1.1', 'istio', 'http/1.1'] },
      { upstream_protocol: 'HTTP2', alpn_override: ['istio-h2', 'istio', 'h2'] },
    ],
  },
};

function serverBootstrap(certB: CertFiles, ca: MeshCa, appPort: number, grpcPort: number): object {
  const chain = (name: string, alpn: string[] | undefined, tag: string) => ({
    name,
    filter_chain_match: { transport_protocol: 'tls', ...(alpn ? { application_protocols: alpn } : {}) },
    filters: [hcm(`inbound_${tag}`, tag, toApp)],
    transport_socket: inboundTls(certB, ca, true),
  });
  return {
    node: { id: 'sidecar~127.0.0.1~b.default~default.svc.cluster.local', cluster: 'b' },
    admin,
    static_resources: {
      listeners: [
        {
          name: 'virtualInbound',
          address: loopback(0),
          listener_filters: [{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': `${T}envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector` } }],
          filter_chains: [chain('mtls-http1', ['istio-http/1.0', 'istio-http/1.1'], 'h1'), chain('mtls-h2', ['istio-h2'], 'h2'), chain('mtls-other', undefined, 'other')],
        },
        { name: 'edge', address: loopback(0), filter_chains: [{ filters: [hcm('edge', 'edge', toApp)], transport_socket: inboundTls(certB, ca, false) }] },
      ],
      clusters: [staticCluster('app', appPort), staticCluster('grpc_app', grpcPort, protocolOptions('h2'))],
    },
  };
}

function clientBootstrap(certA: CertFiles, ca: MeshCa, bPort: number): object {
  const sni = (c: string) => c.replace(/^outbound\|(\d+)\|(\w*)\|/, 'outbound_.$1_.$2_.');
  const vh = (domain: string, cluster: string) => ({ name: domain, domains: [domain], routes: [{ match: { prefix: '/' }, route: { cluster, timeout: '5s' } }] });
  return {
    node: { id: 'sidecar~127.0.0.1~a.default~default.svc.cluster.local', cluster: 'a' },
    admin,
    static_resources: {
      listeners: [
        {
          name: 'outbound',
          address: loopback(0),
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type': `${T}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`,
                    stat_prefix: 'outbound_0.0.0.0_80',
                    // Istio adds this with PILOT_HTTP10; it lets the HTTP/1.0 case through.
                    http_protocol_options: { accept_http_10: true },
                    route_config: { name: '80', virtual_hosts: [vh('b', B_CLUSTER), vh('grpc', GRPC_CLUSTER), vh('external', OPTOUT_CLUSTER)] },
                    http_filters: [ISTIO_ALPN_FILTER, { name: 'envoy.filters.http.router', typed_config: { '@type': `${T}envoy.extensions.filters.http.router.v3.Router` } }],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: [
        staticCluster(B_CLUSTER, bPort, { ...protocolOptions('downstream'), transport_socket: istioMutual(certA, ca, sni(B_CLUSTER), ['istio-peer-exchange', 'istio']) }),
        staticCluster(GRPC_CLUSTER, bPort, { ...protocolOptions('h2'), transport_socket: istioMutual(certA, ca, sni(GRPC_CLUSTER), ['istio-peer-exchange', 'istio', 'h2']) }),
        // User TLS (a DestinationRule with SIMPLE/MUTUAL): istiod marks it istio.alpn_override "false".
        staticCluster(OPTOUT_CLUSTER, bPort, { ...protocolOptions('downstream'), metadata: { filter_metadata: { istio: { alpn_override: 'false' } } }, transport_socket: istioMutual(certA, ca, 'external.example.com', ['istio']) }),
      ],
    },
  };
}

async function stat(p: ProxyProcess, name: string): Promise<number> {
  const r = await p.get('/stats');
  const line = r.body.split('\n').find((l) => l.startsWith(`${name}: `));
  return line === undefined ? 0 : Number(line.slice(name.length + 2));
}

function h1Get(port: number, host: string): Promise<{ status: number; chain: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/hello', headers: { host }, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, chain: String(res.headers['x-chain'] ?? ''), body }));
    });
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function h2cGet(port: number, authority: string): Promise<{ status: number; chain: string; body: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const st = session.request({ ':path': '/hello', ':authority': authority });
    st.setTimeout(5000, () => st.close(http2.constants.NGHTTP2_CANCEL));
    let head: http2.IncomingHttpHeaders = {};
    let body = '';
    st.on('response', (h) => (head = h));
    st.on('data', (d: Buffer) => (body += d.toString()));
    st.on('end', () => {
      session.close();
      resolve({ status: Number(head[':status']), chain: String(head['x-chain'] ?? ''), body });
    });
    st.on('error', reject);
    st.end();
  });
}

let ca: MeshCa;
let app: http.Server;
let grpcApp: grpc.Server;
let proxyA: ProxyProcess;
let proxyB: ProxyProcess;
let aPort: number;
let edgePort: number;

const echoService: grpc.ServiceDefinition = {
  Echo: { path: '/test.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b },
};

beforeAll(async () => {
  ca = createMeshCa();
  const certA = ca.issue({ ns: 'default', sa: 'a', name: 'a' });
  const certB = ca.issue({ ns: 'default', sa: 'b', name: 'b' });
  app = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ version: req.httpVersion, host: req.headers.host }));
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  grpcApp = new grpc.Server();
  grpcApp.addService(echoService, { Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.concat([Buffer.from('echo:'), call.request])) });
  const grpcPort = await new Promise<number>((resolve, reject) => grpcApp.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  proxyB = await startProxy(serverBootstrap(certB, ca, (app.address() as net.AddressInfo).port, grpcPort));
  const bPort = (await proxyB.listener('virtualInbound')).port;
  edgePort = (await proxyB.listener('edge')).port;
  proxyA = await startProxy(clientBootstrap(certA, ca, bPort));
  aPort = (await proxyA.listener('outbound')).port;
}, 30_000);

afterAll(async () => {
  await Promise.all([proxyA?.stop(), proxyB?.stop()]);
  grpcApp?.forceShutdown();
  app?.closeAllConnections();
  await new Promise((r) => app?.close(r));
});

describe('HTTP over Istio mTLS with istio.alpn', () => {
  test('an HTTP/1.1 request is offered upstream as istio-http/1.1 and lands on the inbound HTTP chain', async () => {
    const r = await h1Get(aPort, 'b');
    expect(r.status).toBe(200);
    expect(r.chain).toBe('h1');
    expect(JSON.parse(r.body)).toMatchObject({ version: '1.1', host: 'b' });
    expect(await stat(proxyB, 'http.inbound_h1.downstream_rq_total')).toBeGreaterThanOrEqual(1);
    expect(await stat(proxyB, 'http.inbound_h1.downstream_cx_http1_total')).toBeGreaterThanOrEqual(1);
    expect(await stat(proxyB, 'http.inbound_other.downstream_rq_total')).toBe(0);
  });

  test('an HTTP/1.0 request is offered as istio-http/1.0 (its own upstream connection)', async () => {
    const raw = await rawRequest(aPort, 'GET /hello HTTP/1.0\r\nHost: b\r\n\r\n');
    expect(raw).toMatch(/^HTTP\/1\.[01] 200/);
    expect(raw.toLowerCase()).toContain('x-chain: h1');
    // A's idle istio-http/1.1 connection from the previous test is not reused for it.
    expect(await stat(proxyB, 'http.inbound_h1.downstream_cx_http1_total')).toBe(2);
  });

  test('an h2c request is offered upstream as istio-h2 and B serves HTTP/2 over the TLS socket', async () => {
    const before = await stat(proxyB, 'http.inbound_h2.downstream_cx_http2_total');
    const r = await h2cGet(aPort, 'b');
    expect(r.status).toBe(200);
    expect(r.chain).toBe('h2');
    expect(JSON.parse(r.body)).toMatchObject({ version: '1.1' });
    expect(await stat(proxyB, 'http.inbound_h2.downstream_cx_http2_total')).toBe(before + 1);
    expect(await stat(proxyA, `cluster.${B_CLUSTER}.upstream_cx_http2_total`)).toBeGreaterThanOrEqual(1);
    // The HTTP/1.1 connection of the first test is not reused for it (different ALPN).
    expect(await stat(proxyA, `cluster.${B_CLUSTER}.upstream_cx_http1_total`)).toBeGreaterThanOrEqual(1);
  });

  test('a cluster marked istio.alpn_override "false" keeps its own ALPN (no istio-http chain)', async () => {
    const r = await h1Get(aPort, 'external');
    expect(r.status).toBe(200);
    expect(r.chain).toBe('other');
  });

  test('gRPC crosses the mTLS hop (h2c -> istio-h2 over TLS -> h2c)', async () => {
    const Client = grpc.makeGenericClientConstructor(echoService, 'Echo');
    const client = new Client(`127.0.0.1:${aPort}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'grpc' });
    try {
      const reply = await new Promise<Buffer>((resolve, reject) => {
        const deadline = new Date(Date.now() + 5000);
        (client as unknown as { Echo(req: Buffer, opts: object, cb: (e: Error | null, r: Buffer) => void): void }).Echo(Buffer.from('ping'), { deadline }, (e, r) => (e ? reject(e) : resolve(r)));
      });
      expect(reply.toString()).toBe('echo:ping');
    } finally {
      client.close();
    }
    expect(await stat(proxyB, 'http.inbound_h2.downstream_rq_total')).toBeGreaterThanOrEqual(1);
    expect(await stat(proxyB, 'cluster.grpc_app.upstream_cx_http2_total')).toBeGreaterThanOrEqual(1);
  });

  test('curl --http2 over TLS to an HCM TLS listener negotiates h2; --http1.1 gets HTTP/1.1', async () => {
    const url = `https://127.0.0.1:${edgePort}/hello`;
    const h2 = await run('curl', ['-sk', '--http2', '-D', '-', '-o', '/dev/null', '-w', '%{http_version}', '--max-time', '5', url]);
    expect(h2.stdout.endsWith('2')).toBe(true);
    expect(h2.stdout.toLowerCase()).toContain('x-chain: edge');
    const h1 = await run('curl', ['-sk', '--http1.1', '-o', '-', '-w', ' %{http_version}', '--max-time', '5', url]);
    expect(h1.stdout).toMatch(/"version":"1.1".* 1\.1$/);
    expect(await stat(proxyB, 'http.edge.downstream_cx_http2_total')).toBe(1);
    expect(await stat(proxyB, 'http.edge.downstream_cx_http1_total')).toBe(1);
  });

  test('prior-knowledge HTTP/2 over TLS without ALPN is detected by its preface', async () => {
    const socket = tls.connect({ host: '127.0.0.1', port: edgePort, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    expect(socket.alpnProtocol).toBe(false);
    const session = http2.connect(`https://127.0.0.1:${edgePort}`, { createConnection: () => socket });
    try {
      const got = await new Promise<{ status: number; chain: string }>((resolve, reject) => {
        const st = session.request({ ':path': '/hello' });
        st.setTimeout(5000, () => st.close(http2.constants.NGHTTP2_CANCEL));
        st.on('response', (h) => {
          st.resume();
          st.on('end', () => resolve({ status: Number(h[':status']), chain: String(h['x-chain'] ?? '') }));
        });
        st.on('error', reject);
        st.end();
      });
      expect(got).toEqual({ status: 200, chain: 'edge' });
    } finally {
      session.close();
    }
  });
});
