// A fake pilot-agent SDS server for tests: FakeAdsServer serving SecretDiscoveryService
// (StreamSecrets, SotW) on its own Unix socket, holding Istio-shaped secrets — `default` as a
// tls_certificate with inline PEM bytes, `ROOTCA` as a validation_context with trusted_ca inline
// bytes (contract 5.2) — and pushing a secret again on rotation. Test-only.
import { lookupType } from '../../src/gen/proto-root';
import { SECRET_TYPE_URL } from '../../src/xds/type-urls';
import { FakeAdsServer, type RecordedRequest } from './fake-ads-server';

const SECRET = 'envoy.extensions.transport_sockets.tls.v3.Secret';

/** Secret bytes as pilot-agent sends them. */
export function certificateSecret(name: string, certPem: string, keyPem: string): Uint8Array {
  const t = lookupType(SECRET);
  return t.encode(t.fromObject({ name, tlsCertificate: { certificateChain: { inlineBytes: Buffer.from(certPem) }, privateKey: { inlineBytes: Buffer.from(keyPem) } } })).finish();
}

export function rootSecret(name: string, caPem: string): Uint8Array {
  const t = lookupType(SECRET);
  return t.encode(t.fromObject({ name, validationContext: { trustedCa: { inlineBytes: Buffer.from(caPem) } } })).finish();
}

export class FakeSdsServer {
  private version = 0;

  private constructor(readonly ads: FakeAdsServer) {}

  static async start(): Promise<FakeSdsServer> {
    return new FakeSdsServer(await FakeAdsServer.start({ services: ['sds'] }));
  }

  /** The socket path (for the bootstrap's sds-grpc pipe). */
  get socketPath(): string {
    return this.ads.target.replace(/^unix:\/\//, '');
  }

  get requests(): RecordedRequest[] {
    return this.ads.requests;
  }

  /**
   * Sets (or rotates) `default`-style and `ROOTCA`-style secrets and pushes them to streams
   * watching them; returns the response version (pilot-agent: a time plus a counter).
   */
  set(secrets: { name: string; cert?: { certPem: string; keyPem: string }; caPem?: string }[], push = true): string {
    const version = `${new Date().toISOString()}/${++this.version}`;
    const resources = secrets.map((s) => ({ name: s.name, value: s.cert ? certificateSecret(s.name, s.cert.certPem, s.cert.keyPem) : rootSecret(s.name, s.caPem!) }));
    this.ads.upsertResources(SECRET_TYPE_URL, resources, version);
    if (push) this.ads.push(SECRET_TYPE_URL, { names: secrets.map((s) => s.name) });
    return version;
  }

  /** Resolves when a stream ACKed the response of `version` (from request index `from`). */
  waitForAck(version: string, timeoutMs = 5000, from = 0): Promise<RecordedRequest> {
    return this.ads.waitForRequest((r) => r.typeUrl === SECRET_TYPE_URL && String(r.request.responseNonce).startsWith(`${version}/`) && !r.request.errorDetail, timeoutMs, from);
  }

  stop(): Promise<void> {
    return this.ads.stop();
  }
}
