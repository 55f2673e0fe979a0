// The built proxy process terminating mTLS on a PERMISSIVE inbound listener (tls_inspector,
// certificates and trust bundle from files in the bootstrap) in front of a loopback app:
// curl and openssl s_client with a SPIFFE client certificate get through, a client without a
// certificate and one with a SAN outside the allowed namespace are refused, and a plaintext
// client reaches the same port through the raw_buffer chain. Under bounded load, every
// handshake succeeds. Requires `make build` (dist/).
import { execFile, spawn } from 'node:child_process';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { createMeshCa, type CertFiles, type MeshCa } from '../support/certs';
import { startProxy, type ProxyProcess } from '../support/proxy-process';

const T = 'type.googleapis.com/';
let ca: MeshCa;
let server: CertFiles;
let client: CertFiles;
let otherNs: CertFiles;
let app: net.Server;
let proxy: ProxyProcess;
let port: number;

beforeAll(async () => {
  ca = createMeshCa();
  server = ca.issue({ ns: 'default', sa: 'server', name: 'server' });
  client = ca.issue({ ns: 'default', sa: 'client', name: 'client' });
  otherNs = ca.issue({ ns: 'other', sa: 'client', name: 'other' });
  app = net.createServer((s) => {
    s.on('data', (d) => {
      if (d.toString().startsWith('GET ')) s.end('HTTP/1.1 200 OK\r\ncontent-length: 3\r\nconnection: close\r\n\r\napp');
      else s.write(`app:${d.toString()}`);
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  const appPort = (app.address() as net.AddressInfo).port;
  const tcp = { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': `${T}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`, stat_prefix: 'inbound', cluster: 'app' } };
  proxy = await startProxy({
    node: { id: 'sidecar~127.0.0.1~server.default~default.svc.cluster.local', cluster: 'server.default' },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
    static_resources: {
      listeners: [
        {
          name: 'inbound',
          address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
          listener_filters: [{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': `${T}envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector` } }],
          continue_on_listener_filters_timeout: true,
          listener_filters_timeout: '0s',
          filter_chains: [
            {
              name: 'mtls',
              filter_chain_match: { transport_protocol: 'tls' },
              filters: [tcp],
              transport_socket: {
                name: 'envoy.transport_sockets.tls',
                typed_config: {
                  '@type': `${T}envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext`,
                  require_client_certificate: true,
                  common_tls_context: {
                    alpn_protocols: ['istio-peer-exchange', 'h2', 'http/1.1'],
                    tls_certificates: [{ certificate_chain: { filename: server.certPath }, private_key: { filename: server.keyPath } }],
                    validation_context: { trusted_ca: { filename: ca.certPath }, match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { prefix: 'spiffe://cluster.local/ns/default/' } }] },
                  },
                },
              },
            },
            { name: 'plaintext', filter_chain_match: { transport_protocol: 'raw_buffer' }, filters: [tcp] },
          ],
        },
      ],
      clusters: [{ name: 'app', type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: 'app', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: appPort } } } }] }] } }],
    },
  });
  port = (await proxy.listener('inbound')).port;
}, 30_000);

afterAll(async () => {
  await proxy?.stop();
  app?.close();
});

function curl(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => execFile('curl', ['-sS', '--http1.1', '--max-time', '5', ...args], (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout + stderr })));
}

test('curl with a SPIFFE client certificate gets the app over mTLS; without one it is refused', async () => {
  const ok = await curl(['--cacert', ca.certPath, '--cert', client.certPath, '--key', client.keyPath, '-k', `https://127.0.0.1:${port}/`]);
  expect(ok).toEqual({ code: 0, out: 'app' });
  const noCert = await curl(['--cacert', ca.certPath, '-k', `https://127.0.0.1:${port}/`]);
  expect(noCert.code).not.toBe(0);
});

test('openssl s_client: the allowed namespace gets through, a SAN in another namespace is refused', async () => {
  const run = (c: CertFiles) =>
    new Promise<string>((resolve) => {
      const p = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', ca.certPath, '-cert', c.certPath, '-key', c.keyPath, '-alpn', 'istio-peer-exchange,istio', '-quiet']);
      let text = '';
      const end = () => {
        clearTimeout(t);
        p.kill();
        resolve(text);
      };
      const t = setTimeout(end, 3000);
      p.stdout.on('data', (d: Buffer) => {
        text += d.toString();
        if (text.includes('app:hello')) end();
      });
      p.on('exit', end);
      p.stdin.write('hello\n');
    });
  expect(await run(client)).toContain('app:hello');
  expect(await run(otherNs)).not.toContain('app:hello');
});

test('a plaintext client reaches the same port through the raw_buffer chain', async () => {
  const r = await curl([`http://127.0.0.1:${port}/`]);
  expect(r).toEqual({ code: 0, out: 'app' });
});

test('bounded load: 100 mTLS handshakes, 8 at a time, all succeed', async () => {
  let ok = 0;
  let failed = 0;
  const deadline = Date.now() + 15_000;
  const one = () =>
    new Promise<void>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port, ca: ca.certPem, cert: client.certPem, key: client.keyPem, ALPNProtocols: ['istio'], checkServerIdentity: () => undefined });
      s.once('secureConnect', () => s.write('x'));
      s.once('data', () => {
        ok++;
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        failed++;
        resolve();
      });
    });
  let started = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (started < 100 && Date.now() < deadline) {
        started++;
        await one();
      }
    }),
  );
  expect(failed).toBe(0);
  expect(ok).toBe(started);
  const stats = await proxy.get('/stats?filter=ssl.handshake');
  expect(stats.body).toMatch(/ssl\.handshake: \d+/);
}, 20_000);
