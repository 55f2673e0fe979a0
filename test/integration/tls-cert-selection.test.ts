// Several certificates in one DownstreamTlsContext, chosen per handshake as Envoy does: by the
// client's SNI against each certificate's DNS names (exact, then wildcard, else the first
// certificate), and among those by key type (ECDSA or RSA) from the client's signature algorithms.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { createMeshCa } from '../support/certs';
import { startProxy } from '../support/proxy-process';

const T = 'type.googleapis.com/';

it('picks the certificate by SNI and then by key type', async () => {
  const ca = createMeshCa();
  const aEc = ca.issue({ ns: 'default', sa: 'a', dns: ['a.example.com'], keyType: 'ec', name: 'a-ec' });
  const aRsa = ca.issue({ ns: 'default', sa: 'a', dns: ['a.example.com'], keyType: 'rsa', name: 'a-rsa' });
  const bWild = ca.issue({ ns: 'default', sa: 'b', dns: ['*.b.example.com'], keyType: 'ec', name: 'b-wild' });
  const app = net.createServer((s) => s.on('data', (d) => s.write(d)));
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  const cert = (c: { certPath: string; keyPath: string }) => ({ certificate_chain: { filename: c.certPath }, private_key: { filename: c.keyPath } });
  const proxy = await startProxy({
    node: { id: 'n', cluster: 'c' },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
    static_resources: {
      listeners: [
        {
          name: 'tls',
          address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
          filter_chains: [
            {
              filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': `${T}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`, stat_prefix: 't', cluster: 'app' } }],
              transport_socket: {
                name: 'envoy.transport_sockets.tls',
                typed_config: { '@type': `${T}envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext`, common_tls_context: { tls_certificates: [cert(aEc), cert(aRsa), cert(bWild)] } },
              },
            },
          ],
        },
      ],
      clusters: [{ name: 'app', type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: 'app', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: (app.address() as net.AddressInfo).port } } } }] }] } }],
    },
  });
  try {
    const { port } = await proxy.listener('tls');
    const serialFor = (servername: string | undefined, sigalgs?: string) =>
      new Promise<string>((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port, ...(servername ? { servername } : {}), ca: ca.certPem, checkServerIdentity: () => undefined, maxVersion: 'TLSv1.2', ...(sigalgs ? { sigalgs } : {}) }, () => {
          resolve(s.getPeerCertificate().serialNumber.toUpperCase());
          s.destroy();
        });
        s.once('error', reject);
      });
    // ECDSA-capable client: the ECDSA certificate for a.example.com.
    expect(await serialFor('a.example.com')).toBe(aEc.serial);
    // A client that signs with RSA only gets the RSA certificate of the same name.
    expect(await serialFor('a.example.com', 'RSA-PSS+SHA256:RSA+SHA256')).toBe(aRsa.serial);
    // A wildcard certificate serves a matching name.
    expect(await serialFor('x.b.example.com')).toBe(bWild.serial);
    // No SNI (or an unknown name): the first certificate, as Envoy falls back.
    expect(await serialFor(undefined)).toBe(aEc.serial);
  } finally {
    await proxy.stop();
    app.close();
  }
}, 30_000);
