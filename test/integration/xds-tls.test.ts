// TLS towards the xDS server: the static cluster named by ads_config's envoy_grpc has an
// UpstreamTlsContext, and the ADS channel uses it (control side in-process, fake ADS server
// listening with grpc-js ServerCredentials.createSsl behind a relay that records the SNI):
// - mTLS: the server requires a client certificate; the proxy presents one loaded over SDS from
//   a DiscoveryResponse file (as Istio does for file-mounted certs), trusts the CA from a file,
//   sends the configured SNI, checks the server's SPIFFE SAN, and applies its config; after a
//   rotation of the file, a new connection presents the new certificate.
// - mTLS with certificate, key and CA as file DataSources in the context (prefix SAN matcher).
// - a server whose SAN does not match: no config applied, the failure logged, and the proxy
//   keeps retrying with backoff (several TLS connections, no xDS request ever reaches the server).
// - no client certificate against an mTLS server: refused the same way.
import { freePort, untilValue } from '../support/wait';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseFlags } from '../../src/config/bootstrap/flags';
import { loadBootstrap } from '../../src/config/bootstrap/load-bootstrap';
import { Server } from '../../src/control/server';
import { LogRoot } from '../../src/log/logger';
import { CLUSTER_TYPE_URL, LISTENER_TYPE_URL } from '../../src/xds/type-urls';
import { createMeshCa, type CertFiles, type MeshCa } from '../support/certs';
import { FakeAdsServer, protoResource } from '../support/fake-ads-server';
import { upstream } from '../support/http-harness';
import { startSniRelay, type SniRelay } from '../support/sni-relay';

const T = 'type.googleapis.com/';
const ISTIOD_SAN = 'spiffe://cluster.local/ns/istio-system/sa/istiod';
const SNI = 'istiod.istio-system.svc';

function get(port: number): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/** A DiscoveryResponse file carrying one tls_certificate Secret whose PEMs are files. */
function sdsFile(dir: string, name: string, cert: CertFiles): string {
  const path = join(dir, `${name}.json`);
  writeFileSync(
    path,
    JSON.stringify({
      version_info: '1',
      resources: [{ '@type': `${T}envoy.extensions.transport_sockets.tls.v3.Secret`, name, tls_certificate: { certificate_chain: { filename: cert.certPath }, private_key: { filename: cert.keyPath } } }],
    }),
  );
  return path;
}

function xdsCluster(port: number, tlsContext: object): object {
  return {
    name: 'xds-grpc',
    type: 'STATIC',
    connect_timeout: '1s',
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': `${T}envoy.extensions.upstreams.http.v3.HttpProtocolOptions`, explicit_http_config: { http2_protocol_options: {} } },
    },
    load_assignment: { cluster_name: 'xds-grpc', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] },
    transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': `${T}envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext`, ...tlsContext } },
  };
}

function tlsContext(ca: MeshCa, san: string, clientCert?: { sdsName: string; file: string }): object {
  return {
    sni: SNI,
    common_tls_context: {
      ...(clientCert ? { tls_certificate_sds_secret_configs: [{ name: clientCert.sdsName, sds_config: { path_config_source: { path: clientCert.file }, resource_api_version: 'V3' } }] } : {}),
      combined_validation_context: {
        default_validation_context: { match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: san } }] },
        validation_context_sds_secret_config: { name: 'xds-ca', sds_config: { path_config_source: { path: caFile(ca) }, resource_api_version: 'V3' } },
      },
    },
  };
}

/** The CA as a validation_context Secret in a DiscoveryResponse file (trusted_ca from a file). */
function caFile(ca: MeshCa): string {
  const path = join(ca.dir, 'xds-ca.json');
  writeFileSync(path, JSON.stringify({ version_info: '1', resources: [{ '@type': `${T}envoy.extensions.transport_sockets.tls.v3.Secret`, name: 'xds-ca', validation_context: { trusted_ca: { filename: ca.certPath } } }] }));
  return path;
}

function listener(port: number, cluster: string): { name: string; value: Uint8Array } {
  return protoResource('envoy.config.listener.v3.Listener', {
    name: 'tls-xds-http',
    address: { socket_address: { address: '127.0.0.1', port_value: port } },
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': `${T}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`, stat_prefix: 'tls_xds', cluster } }] }],
  });
}

function staticCluster(name: string, port: number): { name: string; value: Uint8Array } {
  return protoResource('envoy.config.cluster.v3.Cluster', {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] },
  });
}

interface Started {
  server: Server;
  logs: string[];
}

async function startServer(dir: string, xdsPort: number, tls: object): Promise<Started> {
  const bootstrap = {
    node: { id: 'sidecar~127.0.0.1~tls.default~default.svc.cluster.local', cluster: 'tls.default' },
    dynamic_resources: {
      lds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' },
      cds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' },
      ads_config: { api_type: 'GRPC', set_node_on_first_message_only: true, transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }] },
    },
    static_resources: { clusters: [xdsCluster(xdsPort, tls)] },
  };
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString());
      cb();
    },
  });
  const flags = parseFlags(['--config-yaml', JSON.stringify(bootstrap), '--admin-address-path', join(dir, 'admin'), '--concurrency', '1', '--drain-time-s', '1']);
  const server = new Server(flags, new LogRoot({ level: 'info', componentLevels: new Map() }, sink), loadBootstrap(flags));
  await server.start();
  return { server, logs };
}

describe('TLS to the xDS server', () => {
  let ca: MeshCa;
  let istiod: CertFiles;
  let impostor: CertFiles;
  let proxyCert: CertFiles;
  const cleanup: (() => Promise<void> | void)[] = [];

  beforeAll(() => {
    ca = createMeshCa();
    istiod = ca.issue({ ns: 'istio-system', sa: 'istiod', dns: [SNI], name: 'istiod' });
    impostor = ca.issue({ ns: 'default', sa: 'impostor', dns: [SNI], name: 'impostor' });
    proxyCert = ca.issue({ ns: 'default', sa: 'tls', name: 'proxy' });
  });
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });
  afterAll(() => rmSync(ca.dir, { recursive: true, force: true }));

  async function setup(serverCert: CertFiles, requireClientCert: boolean): Promise<{ ads: FakeAdsServer; relay: SniRelay; dir: string; port: number; up: number }> {
    const ads = await FakeAdsServer.start({ tcp: true, tls: { certPem: serverCert.certPem, keyPem: serverCert.keyPem, ...(requireClientCert ? { clientCaPem: ca.certPem } : {}) } });
    cleanup.push(() => ads.stop());
    const relay = await startSniRelay(Number(ads.target.split(':').pop()));
    cleanup.push(() => relay.close());
    const dir = mkdtempSync(join(tmpdir(), 'xds-tls-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const u = await upstream((_q, r) => r.end('over-tls-config'));
    cleanup.push(() => u.close());
    const port = await freePort();
    ads.setResources(CLUSTER_TYPE_URL, [staticCluster('app', u.port)], 'c1');
    ads.setResources(LISTENER_TYPE_URL, [listener(port, 'app')], 'l1');
    return { ads, relay, dir, port, up: u.port };
  }

  it('mTLS with the client certificate over SDS from a file, CA from a file, SNI and a SPIFFE SAN check', async () => {
    const { ads, relay, dir, port } = await setup(istiod, true);
    const { server } = await startServer(dir, relay.port, tlsContext(ca, ISTIOD_SAN, { sdsName: 'xds-client', file: sdsFile(dir, 'xds-client', proxyCert) }));
    cleanup.push(() => server.stop());
    await untilValue('LIVE over TLS', () => server.serverState === 'LIVE');
    expect(await untilValue('traffic', () => get(port))).toEqual({ status: 200, body: 'over-tls-config' });
    expect(ads.requests.some((r) => r.typeUrl === LISTENER_TYPE_URL && r.request.versionInfo === 'l1')).toBe(true);
    expect(relay.snis[0]).toBe(SNI);
    // The server saw the proxy's certificate.
    expect(ads.requests[0]!.peerCertSerial).toBe(proxyCert.serial);

    // Rotation: a new certificate lands in the SDS file; after the connection drops, the proxy
    // reconnects presenting it.
    const rotated = ca.issue({ ns: 'default', sa: 'tls', name: 'proxy-rotated' });
    sdsFile(dir, 'xds-client', rotated);
    const seen = ads.requests.length;
    relay.dropConnections();
    const after = await ads.waitForRequest((r) => r.seq >= seen, 15_000);
    expect(after.peerCertSerial).toBe(rotated.serial);
    expect(rotated.serial).not.toBe(proxyCert.serial);
  }, 20_000);

  it('mTLS with the certificate, key and CA as file DataSources in the context itself', async () => {
    const { ads, relay, dir, port } = await setup(istiod, true);
    const fileContext = {
      sni: SNI,
      common_tls_context: {
        tls_certificates: [{ certificate_chain: { filename: proxyCert.certPath }, private_key: { filename: proxyCert.keyPath } }],
        validation_context: { trusted_ca: { filename: ca.certPath }, match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { prefix: 'spiffe://cluster.local/ns/istio-system/' } }] },
      },
    };
    const { server } = await startServer(dir, relay.port, fileContext);
    cleanup.push(() => server.stop());
    await untilValue('LIVE over TLS', () => server.serverState === 'LIVE');
    expect(await untilValue('traffic', () => get(port))).toEqual({ status: 200, body: 'over-tls-config' });
    expect(ads.requests.length).toBeGreaterThan(0);
    expect(relay.snis.every((s) => s === SNI)).toBe(true);
  }, 20_000);

  it('a server certificate whose SAN does not match: nothing applied, error logged, retried with backoff', async () => {
    const { ads, relay, dir } = await setup(impostor, false);
    const { server, logs } = await startServer(dir, relay.port, tlsContext(ca, ISTIOD_SAN));
    cleanup.push(() => server.stop());
    await untilValue('three TLS attempts', () => relay.snis.length >= 3 || undefined, 15_000);
    expect(ads.requests).toEqual([]);
    expect(server.serverState).toBe('INITIALIZING');
    expect(server.xdsController!.store.cds.size).toBe(0);
    const closed = logs.filter((l) => l.includes('ads: stream closed, reconnecting'));
    expect(closed.length).toBeGreaterThanOrEqual(2);
    expect(closed.join('\n')).toMatch(/match none of cluster 'xds-grpc' SAN matchers/);
    // Backoff: the retries are spaced out, not a tight loop.
    const retryMs = closed.map((l) => JSON.parse(l) as { retryMs: number }).map((l) => l.retryMs);
    expect(retryMs.every((ms) => ms > 0)).toBe(true);
  }, 20_000);

  it('no client certificate against an mTLS server: refused, nothing applied', async () => {
    const { ads, relay, dir } = await setup(istiod, true);
    const { server, logs } = await startServer(dir, relay.port, tlsContext(ca, ISTIOD_SAN));
    cleanup.push(() => server.stop());
    await untilValue('two TLS attempts', () => relay.snis.length >= 2 || undefined, 15_000);
    await untilValue('the failure logged', () => logs.some((l) => l.includes('ads: stream closed, reconnecting')) || undefined);
    expect(ads.requests).toEqual([]);
    expect(server.serverState).toBe('INITIALIZING');
  }, 20_000);
});
