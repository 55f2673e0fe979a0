// ApiSourceStreams: the control side's streams for one resource type's api_config_sources, the
// non-ADS half of the xDS transport (Envoy opens a subscription of its own per ConfigSource
// that is not `ads {}`). One stream per distinct source, on the type's own discovery service
// (ListenerDiscoveryService/StreamListeners, ... SecretDiscoveryService/StreamSecrets; delta
// with api_type DELTA_GRPC), watching exactly the names live config loads from it (LDS/CDS:
// wildcard). Responses go to the same store path as ADS (XdsController -> ConfigStore), and each
// stream's AdsClient ACKs/NACKs them per resource, keeps its subscriptions across reconnects
// (jittered backoff) and speaks TLS when the source's cluster has a transport socket.
//
//   ConfigStore.apiSources(kind) --sync()--> one AdsClient{service: kind} per source --watch(names)
//        ^                                        |
//        +------------- onResponse(source, update) <--- DiscoveryResponse
//
// Sources are keys: apiSourceKey() of the ApiConfigSource for LDS/CDS/RDS/EDS; for SDS the
// cluster name (Istio's sds-grpc: SotW, node on the first request only). Envoy opens one stream
// per SdsSecretConfig; pilot-agent answers any number of names on one stream (sdsservice.go),
// so one stream per source is enough. EDS likewise shares one stream per source among clusters.
import type { Logger } from 'pino';
import type { BootstrapConfig } from '../config/model/bootstrap';
import type { ApiConfigSourceConfig } from '../config/model/config-source';
import { AdsClient } from '../xds/ads-client';
import type { XdsService } from '../xds/ads-grpc';
import type { AdsUpdate, AdsUpdateResult, DecodedMessage } from '../xds/ads-types';
import type { BackoffOptions } from '../xds/backoff';
import { channelClientOptions, resolveGrpcService, type GrpcTarget } from './grpc-target';

/** Watch every resource of the type (LDS/CDS) rather than names. */
export const WILDCARD = '*';

export interface ApiSourceStreamsOptions {
  /** The type these streams carry; also the discovery service they call. */
  readonly kind: Exclude<XdsService, 'ads'>;
  readonly typeUrl: string;
  readonly bootstrap: BootstrapConfig;
  /** envoy.config.core.v3.Node sent on the first request of each stream. */
  readonly node: DecodedMessage;
  readonly log: Logger;
  readonly backoff?: BackoffOptions;
  /** The ApiConfigSource a source key stands for; undefined = not a source we can open. */
  readonly sourceConfig: (source: string) => ApiConfigSourceConfig | undefined;
  readonly onResponse: (source: string, update: AdsUpdate) => AdsUpdateResult | Promise<AdsUpdateResult>;
  /** A stream to `source` ended (not by stop); `names` were watched on it. */
  readonly onDisconnected?: (source: string, names: readonly string[]) => void;
  /** A stream to `source` was opened for `names`, or these names were added to it. */
  readonly onSubscribed?: (source: string, names: readonly string[]) => void;
}

interface SourceStream {
  readonly client: AdsClient;
  readonly target: string;
  names: Set<string>;
}

type Resolved = { readonly api: ApiConfigSourceConfig; readonly grpc: GrpcTarget } | { readonly error: string };

export class ApiSourceStreams {
  private readonly streams = new Map<string, SourceStream>();
  /** Resolution per source, cached: the bootstrap's static clusters never change. */
  private readonly resolved = new Map<string, Resolved>();
  private stopped = false;

  constructor(private readonly options: ApiSourceStreamsOptions) {}

  /** Whether a stream can be opened for this source (a static cluster with one endpoint, usable TLS). */
  canServe(source: string): boolean {
    return 'grpc' in this.resolve(source);
  }

  /** Why no stream can be opened for this source, or undefined when one can. */
  problem(source: string): string | undefined {
    const r = this.resolve(source);
    return 'error' in r ? r.error : undefined;
  }

  /** The client of a source's stream (tests, admin). */
  client(source: string): AdsClient | undefined {
    return this.streams.get(source)?.client;
  }

  /** Sources with an open (or reconnecting) stream. */
  sources(): string[] {
    return [...this.streams.keys()];
  }

  /**
   * Brings the streams in line with what live config loads: opens streams for new sources,
   * re-subscribes changed name sets, and closes streams nothing loads from any more.
   */
  sync(wanted: ReadonlyMap<string, ReadonlySet<string>>): void {
    if (this.stopped) return;
    const kind = this.options.kind;
    for (const [source, s] of this.streams) {
      if ((wanted.get(source)?.size ?? 0) > 0) continue;
      this.options.log.info({ source, target: s.target }, `${kind}: nothing loaded from this source any more; closing its stream`);
      this.streams.delete(source);
      s.client.stop();
    }
    for (const [source, names] of wanted) {
      if (names.size === 0) continue;
      const existing = this.streams.get(source);
      if (existing) {
        const gone = [...existing.names].filter((n) => !names.has(n));
        const added = [...names].filter((n) => !existing.names.has(n));
        if (gone.length) existing.client.unwatch(this.options.typeUrl, gone);
        if (added.length) {
          this.watch(existing.client, added);
          this.options.onSubscribed?.(source, added);
        }
        existing.names = new Set(names);
        continue;
      }
      const r = this.resolve(source);
      if ('error' in r) continue;
      this.open(source, r, names);
    }
  }

  stop(): void {
    this.stopped = true;
    const all = [...this.streams.values()];
    this.streams.clear();
    for (const s of all) s.client.stop();
  }

  private watch(client: AdsClient, names: readonly string[]): void {
    client.watch(this.options.typeUrl, names.includes(WILDCARD) ? WILDCARD : names);
  }

  private what(api: ApiConfigSourceConfig): string {
    return `${this.options.kind} config source '${api.target.kind === 'envoy_grpc' ? api.target.clusterName : api.target.targetUri}'`;
  }

  private resolve(source: string): Resolved {
    let r = this.resolved.get(source);
    if (!r) {
      const kind = this.options.kind;
      const api = this.options.sourceConfig(source);
      const res = api ? resolveGrpcService(this.options.bootstrap, api.target, this.what(api)) : { error: `${kind}: unknown config source '${source}'` };
      if ('error' in res) {
        // Logged once per source: what names it does not wait for it.
        this.options.log.error({ source }, `${res.error}; ${kind} resources from it are not loaded`);
        r = { error: res.error };
      } else {
        for (const w of res.warnings) this.options.log.warn(w);
        r = { api: api!, grpc: res };
      }
      this.resolved.set(source, r);
    }
    return r;
  }

  private open(source: string, r: { api: ApiConfigSourceConfig; grpc: GrpcTarget }, names: ReadonlySet<string>): void {
    const { kind } = this.options;
    const { target, credentials } = r.grpc;
    const client = new AdsClient({
      target,
      node: this.options.node,
      service: kind,
      setNodeOnFirstMessageOnly: r.api.setNodeOnFirstMessageOnly,
      apiType: r.api.apiType,
      logger: this.options.log,
      onResponse: (u) => this.options.onResponse(source, u),
      ...channelClientOptions(this.options.bootstrap, r.api.target, this.what(r.api), r.grpc),
      ...(this.options.backoff ? { backoff: this.options.backoff } : {}),
    });
    const stream: SourceStream = { client, target, names: new Set(names) };
    client.on('disconnected', () => {
      if (this.streams.get(source) === stream) this.options.onDisconnected?.(source, [...stream.names]);
    });
    this.streams.set(source, stream);
    this.watch(client, [...names]);
    this.options.onSubscribed?.(source, [...names]);
    this.options.log.info({ source, target, names: [...names], delta: client.isDelta, tls: !!credentials }, `${kind}: opening stream`);
    client.start();
  }
}
