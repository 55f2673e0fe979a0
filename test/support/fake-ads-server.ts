// A fake ADS control plane for tests (grpc-js server on a Unix socket or 127.0.0.1 port 0),
// modelled on grpc-js-xds's test ControlPlaneServer and on istiod's answering rules (contract
// 3.4: pilot/pkg/xds ads.go ShouldRespond, delta.go shouldRespondDelta). It serves SotW and
// delta, pushes resources per type, records every request, and closes streams on demand. With
// {services: ['sds']} it serves SecretDiscoveryService (StreamSecrets/DeltaSecrets) instead, as
// pilot-agent does on the sds-grpc socket (test/support/fake-sds-server.ts builds on that); any
// per-type service ('lds', 'cds', 'rds', 'eds') serves an api_config_source the same way.
// {tls} listens with TLS (grpc-js ServerCredentials.createSsl, optionally requiring a client cert).
// Test-only: nothing in src imports it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import protojson from 'protobufjs/ext/protojson.js';
import { adsMessageTypes, adsServiceDefinition, serviceMethodNames, type XdsService } from '../../src/xds/ads-grpc';
import { lookupType, typeForUrl } from '../../src/gen/proto-root';
import { fromProtoJson } from '../../src/config/bootstrap/proto-json';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, isWildcardType, LISTENER_TYPE_URL, nameFieldFor, ROUTE_TYPE_URL, SECRET_TYPE_URL } from '../../src/xds/type-urls';

/** One resource the server holds: the Any value bytes plus the Any type URL to send. */
export interface FakeResource {
  readonly name: string;
  readonly value: Uint8Array;
  /** Per-resource version (delta Resource.version); unset like istiod by default. */
  readonly version?: string;
  /** Override the Any type URL (to test a wrong-type resource). */
  readonly anyTypeUrl?: string;
}

/** A request as received, decoded to a plain object with defaults (lowerCamelCase fields). */
export interface RecordedRequest {
  readonly seq: number;
  readonly streamId: number;
  /** The discovery service the stream called ('ads', 'cds', 'sds', ...). */
  readonly service: XdsService;
  /** Serial of the client certificate on the stream's TLS connection (mTLS), upper-case hex. */
  readonly peerCertSerial?: string;
  readonly delta: boolean;
  readonly typeUrl: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly request: Record<string, any>;
}

/** A response as sent. */
export interface SentResponse {
  readonly streamId: number;
  readonly delta: boolean;
  readonly typeUrl: string;
  readonly nonce: string;
  readonly version: string;
  readonly names: readonly string[];
  readonly removed: readonly string[];
}

interface TypeSet {
  version: string;
  readonly resources: Map<string, FakeResource>;
}

interface StreamTypeState {
  wildcard: boolean;
  names: Set<string>;
  lastNonce: string;
  /** Delta: name -> version the client is known to hold (sent or declared). */
  sent: Map<string, string>;
}

interface FakeStream {
  readonly id: number;
  readonly service: XdsService;
  readonly peerCertSerial?: string;
  readonly delta: boolean;
  readonly call: grpc.ServerDuplexStream<object, object>;
  readonly types: Map<string, StreamTypeState>;
  open: boolean;
}

export interface PushOptions {
  /** Send only these names (istiod's incremental EDS/RDS pushes carry only changed names). */
  readonly names?: readonly string[];
  /** Only this stream; default every open stream watching the type. */
  readonly streamId?: number;
}

/** TLS for the fake server: its certificate chain and key, and a CA to require client certs. */
export interface FakeServerTls {
  readonly certPem: string;
  readonly keyPem: string;
  /** When set, clients must present a certificate signed by this CA (mTLS). */
  readonly clientCaPem?: string;
}

function serverCredentials(tls: FakeServerTls | undefined): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  const ca = tls.clientCaPem ? Buffer.from(tls.clientCaPem) : null;
  return grpc.ServerCredentials.createSsl(ca, [{ cert_chain: Buffer.from(tls.certPem), private_key: Buffer.from(tls.keyPem) }], !!tls.clientCaPem);
}

export class FakeAdsServer {
  readonly requests: RecordedRequest[] = [];
  readonly responses: SentResponse[] = [];
  /** Answer new subscriptions like istiod does; off = respond only on push(). */
  autoRespond = true;
  private readonly sets = new Map<string, TypeSet>();
  private readonly streams: FakeStream[] = [];
  private streamSeq = 0;
  private seq = 0;
  private nonceSeq = 0;
  private waiters: { pred: (r: RecordedRequest) => boolean; resolve: (r: RecordedRequest) => void }[] = [];

  private constructor(
    private readonly server: grpc.Server,
    readonly target: string,
    private readonly tmpDir: string | undefined,
  ) {}

  /**
   * Starts on a fresh Unix socket (default), on a given socket path (to come up where a client
   * is already retrying), or on 127.0.0.1 port 0 with {tcp: true}.
   */
  static async start(opts: { tcp?: boolean; socketPath?: string; services?: readonly XdsService[]; tls?: FakeServerTls } = {}): Promise<FakeAdsServer> {
    const server = new grpc.Server({ 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 });
    let tmpDir: string | undefined;
    let address: string;
    if (opts.tcp) {
      address = '127.0.0.1:0';
    } else if (opts.socketPath) {
      address = `unix://${opts.socketPath}`;
    } else {
      tmpDir = mkdtempSync(join(tmpdir(), 'fake-ads-'));
      address = `unix://${join(tmpDir, 'xds.sock')}`;
    }
    const port = await new Promise<number>((res, rej) => server.bindAsync(address, serverCredentials(opts.tls), (err, p) => (err ? rej(err) : res(p))));
    const target = opts.tcp ? `127.0.0.1:${port}` : address;
    const fake = new FakeAdsServer(server, target, tmpDir);
    const services = opts.services ?? ['ads'];
    for (const service of services) {
      const m = serviceMethodNames(service);
      server.addService(adsServiceDefinition(service), {
        [m.sotw]: (call: grpc.ServerDuplexStream<object, object>) => fake.onStream(call, false, service),
        [m.delta]: (call: grpc.ServerDuplexStream<object, object>) => fake.onStream(call, true, service),
      });
    }
    return fake;
  }

  /** Replaces the server's resources of a type (does not push; call push()). */
  setResources(typeUrl: string, resources: readonly FakeResource[], version: string): void {
    this.sets.set(typeUrl, { version, resources: new Map(resources.map((r) => [r.name, r])) });
  }

  /** Adds or replaces some resources of a type and bumps its version. */
  upsertResources(typeUrl: string, resources: readonly FakeResource[], version: string): void {
    const set = this.sets.get(typeUrl) ?? { version, resources: new Map() };
    set.version = version;
    for (const r of resources) set.resources.set(r.name, r);
    this.sets.set(typeUrl, set);
  }

  removeResources(typeUrl: string, names: readonly string[], version: string): void {
    const set = this.sets.get(typeUrl);
    if (!set) return;
    set.version = version;
    for (const n of names) set.resources.delete(n);
  }

  get openStreamIds(): number[] {
    return this.streams.filter((s) => s.open).map((s) => s.id);
  }

  /** Sends the type's current resources to every open stream watching it; returns responses sent. */
  push(typeUrl: string, opts: PushOptions = {}): number {
    let n = 0;
    for (const s of this.streams) {
      if (!s.open || (opts.streamId !== undefined && s.id !== opts.streamId)) continue;
      const st = s.types.get(typeUrl);
      if (!st) continue;
      if (s.delta) n += this.sendDelta(s, typeUrl, st, opts.names) ? 1 : 0;
      else n += this.sendSotw(s, typeUrl, st, opts.names) ? 1 : 0;
    }
    return n;
  }

  /** Ends every open stream with a gRPC status (UNAVAILABLE by default), as istiod restarts do. */
  closeStreams(code: grpc.status = grpc.status.UNAVAILABLE, details = 'fake server closed the stream'): void {
    for (const s of this.streams) {
      if (!s.open) continue;
      s.open = false;
      s.call.emit('error', { code, details });
    }
  }

  /** Resolves with the first recorded request (from index `from`) matching pred. */
  waitForRequest(pred: (r: RecordedRequest) => boolean, timeoutMs = 5000, from = 0): Promise<RecordedRequest> {
    const found = this.requests.slice(from).find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((res, rej) => {
      const w = {
        pred,
        resolve: (r: RecordedRequest) => {
          clearTimeout(timer);
          res(r);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        rej(new Error(`fake ADS: no matching request within ${timeoutMs} ms (got ${this.requests.length})`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  async stop(): Promise<void> {
    this.closeStreams(grpc.status.CANCELLED, 'fake server stopping');
    this.server.forceShutdown();
    if (this.tmpDir) rmSync(this.tmpDir, { recursive: true, force: true });
  }

  // ---- stream handling ----

  private onStream(call: grpc.ServerDuplexStream<object, object>, delta: boolean, service: XdsService): void {
    const serial = call.getAuthContext?.()?.sslPeerCertificate?.serialNumber;
    const stream: FakeStream = { id: ++this.streamSeq, service, delta, call, types: new Map(), open: true, ...(serial ? { peerCertSerial: serial.toUpperCase() } : {}) };
    this.streams.push(stream);
    call.on('data', (msg: object) => this.onRequest(stream, msg));
    call.on('end', () => {
      if (stream.open) {
        stream.open = false;
        call.end();
      }
    });
    call.on('error', () => {
      stream.open = false;
    });
    call.on('cancelled', () => {
      stream.open = false;
    });
  }

  private onRequest(stream: FakeStream, msg: object): void {
    const t = adsMessageTypes();
    const request = (stream.delta ? t.deltaRequest : t.request).toObject(msg as never, { defaults: true, arrays: true, objects: true, longs: String });
    const rec: RecordedRequest = { seq: this.seq++, streamId: stream.id, service: stream.service, ...(stream.peerCertSerial ? { peerCertSerial: stream.peerCertSerial } : {}), delta: stream.delta, typeUrl: request.typeUrl, request };
    this.requests.push(rec);
    for (const w of [...this.waiters]) {
      if (w.pred(rec)) {
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve(rec);
      }
    }
    if (!stream.open) return;
    if (stream.delta) this.onDeltaRequest(stream, request);
    else this.onSotwRequest(stream, request);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private onSotwRequest(stream: FakeStream, req: Record<string, any>): void {
    const typeUrl: string = req.typeUrl;
    const names: string[] = req.resourceNames ?? [];
    const wildcard = names.includes('*') || (names.length === 0 && isWildcardType(typeUrl));
    const named = new Set(names.filter((n) => n !== '*'));
    let st = stream.types.get(typeUrl);
    if (!st) {
      // istiod: an unknown type on a stream is an initial request, whatever nonce it carries.
      st = { wildcard, names: named, lastNonce: '', sent: new Map() };
      stream.types.set(typeUrl, st);
      if (this.autoRespond) this.sendSotw(stream, typeUrl, st);
      return;
    }
    if (req.errorDetail) return; // NACK: istiod records it and sends nothing
    if (req.responseNonce !== st.lastNonce) return; // stale nonce: ignored entirely
    const added = [...named].filter((n) => !st!.names.has(n));
    const changed = added.length > 0 || named.size !== st.names.size || wildcard !== st.wildcard;
    st.names = named;
    st.wildcard = wildcard;
    if (!changed || !this.autoRespond) return; // plain ACK
    // Wildcard types answer in full; named types only when names were added, with only those.
    if (wildcard || isWildcardType(typeUrl)) this.sendSotw(stream, typeUrl, st);
    else if (added.length > 0) this.sendSotw(stream, typeUrl, st, added);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private onDeltaRequest(stream: FakeStream, req: Record<string, any>): void {
    const typeUrl: string = req.typeUrl;
    const sub: string[] = req.resourceNamesSubscribe ?? [];
    const unsub: string[] = req.resourceNamesUnsubscribe ?? [];
    let st = stream.types.get(typeUrl);
    if (!st) {
      const initial: Record<string, string> = req.initialResourceVersions ?? {};
      const wildcard = sub.includes('*') || (sub.length === 0 && isWildcardType(typeUrl));
      const names = new Set([...sub.filter((n) => n !== '*'), ...(wildcard ? [] : Object.keys(initial))]);
      st = { wildcard, names, lastNonce: '', sent: new Map(Object.entries(initial)) };
      stream.types.set(typeUrl, st);
      if (this.autoRespond) this.sendDelta(stream, typeUrl, st);
      return;
    }
    if (req.responseNonce) return; // ACK or NACK
    const added: string[] = [];
    for (const n of sub) {
      if (n === '*') st.wildcard = true;
      else if (!st.names.has(n)) {
        st.names.add(n);
        added.push(n);
      }
    }
    for (const n of unsub) {
      if (n === '*') st.wildcard = false;
      else {
        st.names.delete(n);
        st.sent.delete(n);
      }
    }
    if (this.autoRespond && added.length > 0) this.sendDelta(stream, typeUrl, st, added);
  }

  private wanted(typeUrl: string, st: StreamTypeState, only?: readonly string[]): FakeResource[] {
    const set = this.sets.get(typeUrl);
    if (!set) return [];
    const out: FakeResource[] = [];
    // A Set: "only these names" can be a whole-mesh EDS subscription (10,000 names in the bench).
    const onlySet = only ? new Set(only) : undefined;
    for (const r of set.resources.values()) {
      if (onlySet && !onlySet.has(r.name)) continue;
      if (st.wildcard || st.names.has(r.name)) out.push(r);
    }
    return out;
  }

  private nextNonce(version: string): string {
    return `${version}/${++this.nonceSeq}`;
  }

  private sendSotw(stream: FakeStream, typeUrl: string, st: StreamTypeState, only?: readonly string[]): boolean {
    const set = this.sets.get(typeUrl);
    if (!set) return false;
    const resources = this.wanted(typeUrl, st, only);
    // Named types with nothing to send stay silent (istiod sends nothing for them).
    if (resources.length === 0 && !st.wildcard) return false;
    const nonce = this.nextNonce(set.version);
    st.lastNonce = nonce;
    const response = {
      versionInfo: set.version,
      typeUrl,
      nonce,
      resources: resources.map((r) => ({ typeUrl: r.anyTypeUrl ?? typeUrl, value: r.value })),
    };
    stream.call.write(adsMessageTypes().response.fromObject(response));
    this.responses.push({ streamId: stream.id, delta: false, typeUrl, nonce, version: set.version, names: resources.map((r) => r.name), removed: [] });
    return true;
  }

  private sendDelta(stream: FakeStream, typeUrl: string, st: StreamTypeState, only?: readonly string[]): boolean {
    const set = this.sets.get(typeUrl);
    if (!set) return false;
    const resources = this.wanted(typeUrl, st, only);
    // Names the client holds that the server no longer has (and the client still watches).
    const removed = only ? [] : [...st.sent.keys()].filter((n) => !set.resources.has(n) && (st.wildcard || st.names.has(n)));
    if (resources.length === 0 && removed.length === 0) return false;
    const nonce = this.nextNonce(set.version);
    st.lastNonce = nonce;
    for (const r of resources) st.sent.set(r.name, r.version ?? '');
    for (const n of removed) st.sent.delete(n);
    const response = {
      systemVersionInfo: set.version,
      typeUrl,
      nonce,
      resources: resources.map((r) => ({ name: r.name, version: r.version ?? '', resource: { typeUrl: r.anyTypeUrl ?? typeUrl, value: r.value } })),
      removedResources: removed,
    };
    stream.call.write(adsMessageTypes().deltaResponse.fromObject(response));
    this.responses.push({ streamId: stream.id, delta: true, typeUrl, nonce, version: set.version, names: resources.map((r) => r.name), removed });
    return true;
  }
}

// ---- corpus fixtures ----

/** ../shared/corpus relative to the repository root. */
export const CORPUS_DIR = resolve(__dirname, '..', '..', '..', 'shared', 'corpus');

export interface CorpusResponse {
  readonly typeUrl: string;
  readonly versionInfo: string;
  readonly resources: FakeResource[];
}

/**
 * Loads a DiscoveryResponse-shaped protojson file (e.g. derived/xds-from-dumps/.../cds.json),
 * turning each Any into binary with protojson and our root; fields starting with `_` are notes.
 */
export function loadCorpusResponse(relPath: string): CorpusResponse {
  const json = JSON.parse(readFileSync(join(CORPUS_DIR, relPath), 'utf8')) as Record<string, unknown>;
  const clean: Record<string, unknown> = {};
  for (const k of ['version_info', 'type_url', 'resources', 'nonce']) if (k in json) clean[k] = json[k];
  const msg = protojson.fromJson(adsMessageTypes().response, clean) as unknown as {
    typeUrl: string;
    versionInfo: string;
    resources: { typeUrl: string; value: Uint8Array }[];
  };
  const type = typeForUrl(msg.typeUrl);
  if (!type) throw new Error(`corpus: unknown type ${msg.typeUrl}`);
  const field = nameFieldFor(msg.typeUrl);
  const resources = msg.resources.map((a) => {
    const value = new Uint8Array(a.value);
    const name = (type.decode(value) as unknown as Record<string, string>)[field];
    if (!name) throw new Error(`corpus: ${relPath}: resource without ${field}`);
    return { name, value };
  });
  return { typeUrl: msg.typeUrl, versionInfo: msg.versionInfo, resources };
}

/** The real Istio 1.26 frontend sidecar's resources (corpus), per type URL, as DiscoveryResponses. */
export const FRONTEND_CORPUS_DIR = 'derived/xds-from-dumps/istio-1.26.2-sidecar-frontend';
export const FRONTEND_CORPUS_FILES: Readonly<Record<string, string>> = {
  [CLUSTER_TYPE_URL]: 'cds.json',
  [ENDPOINT_TYPE_URL]: 'eds.reconstructed.json',
  [LISTENER_TYPE_URL]: 'lds.json',
  [ROUTE_TYPE_URL]: 'rds.json',
  [SECRET_TYPE_URL]: 'sds.json',
};
/** A node like the frontend pod's. */
export const FRONTEND_NODE = { id: 'sidecar~10.244.1.7~frontend-abc.demo~demo.svc.cluster.local', cluster: 'frontend.demo' };

export function loadFrontendCorpus(): Map<string, CorpusResponse> {
  const out = new Map<string, CorpusResponse>();
  for (const [typeUrl, file] of Object.entries(FRONTEND_CORPUS_FILES)) out.set(typeUrl, loadCorpusResponse(`${FRONTEND_CORPUS_DIR}/${file}`));
  return out;
}

/** A resource from its proto3 JSON (snake_case or camelCase), named by `name` or `cluster_name`. */
export function protoResource(typeName: string, json: Record<string, unknown>): FakeResource {
  const t = lookupType(typeName);
  const name = String(json.name ?? json.cluster_name);
  return { name, value: t.encode(fromProtoJson(t, json)).finish() };
}

/** An api_config_source (transport V3) naming one envoy_grpc cluster, as a bootstrap or resource carries it. */
export function apiConfigSource(clusterName: string, apiType: 'GRPC' | 'DELTA_GRPC' = 'GRPC', setNodeOnFirstMessageOnly = true): object {
  return { api_config_source: { api_type: apiType, transport_api_version: 'V3', set_node_on_first_message_only: setNodeOnFirstMessageOnly, grpc_services: [{ envoy_grpc: { cluster_name: clusterName } }] }, resource_api_version: 'V3', initial_fetch_timeout: '0s' };
}
