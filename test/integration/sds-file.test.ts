// File-based SDS (sds_config.path_config_source), as Envoy does it: the workload certificate and
// trust bundle are Secret resources in a DiscoveryResponse file. A static mTLS listener loads
// them from the file; replacing the file (new file renamed into place) rotates the certificate:
// new handshakes present the new serial, an open connection keeps working, no restart.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { createMeshCa, type CertFiles } from '../support/certs';
import { findUnknownFields } from '../../src/config/bootstrap/proto-json';
import { lookupType } from '../../src/gen/proto-root';
import { startProxy } from '../support/proxy-process';

const T = 'type.googleapis.com/';

function secretsFile(cert: CertFiles, caPem: string): string {
  return JSON.stringify({
    version_info: cert.serial,
    resources: [
      { '@type': `${T}envoy.extensions.transport_sockets.tls.v3.Secret`, name: 'default', tls_certificate: { certificate_chain: { inline_string: cert.certPem }, private_key: { inline_string: cert.keyPem } } },
      { '@type': `${T}envoy.extensions.transport_sockets.tls.v3.Secret`, name: 'ROOTCA', validation_context: { trusted_ca: { inline_string: caPem } } },
    ],
  });
}

it('serves mTLS with certificates from a secrets file and follows a renamed-in rotation', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mp-sds-file-'));
  const ca = createMeshCa();
  const server1 = ca.issue({ ns: 'default', sa: 'server' });
  const server2 = ca.issue({ ns: 'default', sa: 'server' });
  const client = ca.issue({ ns: 'default', sa: 'client' });
  const file = join(dir, 'secrets.json');
  writeFileSync(file, secretsFile(server1, ca.certPem));
  const app = net.createServer((s) => s.on('data', (d) => s.write(`app:${d}`)));
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  const appPort = (app.address() as net.AddressInfo).port;
  const sds = { path_config_source: { path: file } };
  const proxy = await startProxy({
    node: { id: 'sidecar~127.0.0.1~t.default~default.svc.cluster.local', cluster: 't' },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
    static_resources: {
      listeners: [
        {
          name: 'inbound',
          address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
          filter_chains: [
            {
              filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': `${T}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`, stat_prefix: 'in', cluster: 'app' } }],
              transport_socket: {
                name: 'envoy.transport_sockets.tls',
                typed_config: {
                  '@type': `${T}envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext`,
                  require_client_certificate: true,
                  common_tls_context: {
                    tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: sds }],
                    combined_validation_context: {
                      default_validation_context: { match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { prefix: 'spiffe://cluster.local/ns/default/' } }] },
                      validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: sds },
                    },
                  },
                },
              },
            },
          ],
        },
      ],
      clusters: [{ name: 'app', type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: 'app', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: appPort } } } }] }] } }],
    },
  });
  try {
    const { port } = await proxy.listener('inbound');
    const connect = () =>
      new Promise<{ sock: tls.TLSSocket; serial: string; ask(s: string): Promise<string> }>((resolve, reject) => {
        const sock = tls.connect({ host: '127.0.0.1', port, ca: ca.certPem, cert: client.certPem, key: client.keyPem, checkServerIdentity: () => undefined }, () =>
          resolve({
            sock,
            serial: sock.getPeerCertificate().serialNumber.toUpperCase(),
            ask: (s) =>
              new Promise((res) => {
                sock.once('data', (d) => res(d.toString()));
                sock.write(s);
              }),
          }),
        );
        sock.once('error', reject);
      });
    // The file is read at startup; retry until the secret is loaded.
    let first: Awaited<ReturnType<typeof connect>> | undefined;
    for (let i = 0; i < 50 && !first; i++) first = await connect().catch(async () => (await new Promise((r) => setTimeout(r, 100)), undefined));
    expect(first!.serial).toBe(server1.serial);
    expect(await first!.ask('one')).toBe('app:one');
    // Rotate the way file-based setups do: write a new file and rename it over the old one.
    writeFileSync(`${file}.tmp`, secretsFile(server2, ca.certPem));
    renameSync(`${file}.tmp`, file);
    let serial = '';
    for (let i = 0; i < 50 && serial !== server2.serial; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const c = await connect();
      serial = c.serial;
      c.sock.destroy();
    }
    expect(serial).toBe(server2.serial);
    expect(await first!.ask('still')).toBe('app:still');
    first!.sock.destroy();
    // /certs shows the rotated certificate and the CA, in envoy.admin.v3.Certificates shape.
    const certsBody = JSON.parse((await proxy.get('/certs')).body) as Record<string, unknown>;
    expect(findUnknownFields(lookupType('envoy.admin.v3.Certificates'), certsBody)).toEqual([]);
    const certs = certsBody as { certificates: { ca_cert: { serial_number: string }[]; cert_chain: { serial_number: string; path: string; subject_alt_names: { uri?: string }[]; days_until_expiration: string }[] }[] };
    expect(certs.certificates).toHaveLength(1);
    expect(certs.certificates[0]!.cert_chain[0]).toMatchObject({ serial_number: server2.serial.toLowerCase(), path: '<sds:default>', subject_alt_names: [{ uri: 'spiffe://cluster.local/ns/default/sa/server' }] });
    expect(Number(certs.certificates[0]!.cert_chain[0]!.days_until_expiration)).toBeGreaterThanOrEqual(0);
    expect(certs.certificates[0]!.ca_cert[0]!.serial_number).toBe(ca.serial.toLowerCase());
    const hist = JSON.parse((await proxy.get('/config_history?type=sds')).body) as { updates: { result: string; version: string }[] };
    expect(hist.updates.map((u) => u.version)).toEqual(expect.arrayContaining([server1.serial, server2.serial]));
  } finally {
    await proxy.stop();
    app.close();
    execFileSync('rm', ['-rf', dir]);
  }
}, 30_000);
