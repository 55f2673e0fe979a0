// SdsStreams: the control side's SDS streams for api_config_source secrets (Istio: `default` and
// `ROOTCA` with sds_config.api_config_source -> envoy_grpc sds-grpc, pilot-agent's Unix socket;
// contract 5.2). One SotW SecretDiscoveryService/StreamSecrets stream per source cluster, watching
// exactly the names live config loads from it; responses go to the same store path as ADS secrets
// (XdsController -> ConfigStore.applySecrets), and the client ACKs/NACKs them per resource.
//
//   ConfigStore.sdsApiSources() --sync()--> one AdsClient{service:'sds'} per cluster --watch(names)
//        ^                                        |
//        +------------- onResponse(source, update) <--- DiscoveryResponse (Secret)
//
// Envoy opens one subscription (and so one gRPC stream) per SdsSecretConfig; pilot-agent answers
// any number of names on one stream (sdsservice.go), so one stream per source is enough and
// halves the streams. The agent fails a stream when it cannot sign a certificate; the client
// reconnects with backoff and re-sends its names.
import type { Logger } from 'pino';
import type { BootstrapConfig } from '../config/model/bootstrap';
import { AdsClient } from '../xds/ads-client';
import type { AdsUpdate, AdsUpdateResult, DecodedMessage } from '../xds/ads-types';
import type { BackoffOptions } from '../xds/backoff';
import { SECRET_TYPE_URL } from '../xds/type-urls';
import { resolveClusterTarget } from './grpc-target';

export interface SdsStreamsOptions {
  readonly bootstrap: BootstrapConfig;
  /** envoy.config.core.v3.Node sent on the first request of each stream. */
  readonly node: DecodedMessage;
  readonly log: Logger;
  readonly backoff?: BackoffOptions;
  readonly onResponse: (source: string, update: AdsUpdate) => AdsUpdateResult | Promise<AdsUpdateResult>;
  /** A stream to `source` ended (not by stop); `names` were watched on it. */
  readonly onDisconnected?: (source: string, names: readonly string[]) => void;
  /** A stream to `source` was opened for `names` (stats create their counters here). */
  readonly onSubscribed?: (source: string, names: readonly string[]) => void;
}

interface SourceStream {
  readonly client: AdsClient;
  readonly target: string;
  names: Set<string>;
}

export class SdsStreams {
  private readonly streams = new Map<string, SourceStream>();
  /** Resolution per source cluster, cached: the bootstrap's static clusters never change. */
  private readonly targets = new Map<string, { target: string } | { error: string }>();
  private stopped = false;

  constructor(private readonly options: SdsStreamsOptions) {}

  /** Whether a stream can be opened for this source cluster (static, one pipe/socket endpoint). */
  canServe(cluster: string): boolean {
    return 'target' in this.resolve(cluster);
  }

  /** The client of a source's stream (tests, admin). */
  client(cluster: string): AdsClient | undefined {
    return this.streams.get(cluster)?.client;
  }

  /** Source clusters with an open (or reconnecting) stream. */
  sources(): string[] {
    return [...this.streams.keys()];
  }

  /**
   * Brings the streams in line with what live config loads: opens streams for new sources,
   * re-subscribes changed name sets, and closes streams nothing loads from any more.
   */
  sync(wanted: ReadonlyMap<string, ReadonlySet<string>>): void {
    if (this.stopped) return;
    for (const [source, s] of this.streams) {
      if ((wanted.get(source)?.size ?? 0) > 0) continue;
      this.options.log.info({ source, target: s.target }, 'sds: no secrets loaded from this source any more; closing its stream');
      this.streams.delete(source);
      s.client.stop();
    }
    for (const [source, names] of wanted) {
      if (names.size === 0) continue;
      const existing = this.streams.get(source);
      if (existing) {
        const gone = [...existing.names].filter((n) => !names.has(n));
        const added = [...names].filter((n) => !existing.names.has(n));
        if (gone.length) existing.client.unwatch(SECRET_TYPE_URL, gone);
        if (added.length) {
          existing.client.watch(SECRET_TYPE_URL, added);
          this.options.onSubscribed?.(source, added);
        }
        existing.names = new Set(names);
        continue;
      }
      const r = this.resolve(source);
      if ('error' in r) continue;
      this.open(source, r.target, names);
    }
  }

  stop(): void {
    this.stopped = true;
    const all = [...this.streams.values()];
    this.streams.clear();
    for (const s of all) s.client.stop();
  }

  private resolve(cluster: string): { target: string } | { error: string } {
    let r = this.targets.get(cluster);
    if (!r) {
      const res = resolveClusterTarget(this.options.bootstrap, cluster, `sds config source '${cluster}'`);
      if ('error' in res) {
        // Logged once per source: listeners and clusters naming it do not wait for its secrets.
        this.options.log.error({ source: cluster }, `${res.error}; secrets from it are not loaded`);
        r = { error: res.error };
      } else {
        for (const w of res.warnings) this.options.log.warn(w);
        r = { target: res.target };
      }
      this.targets.set(cluster, r);
    }
    return r;
  }

  private open(source: string, target: string, names: ReadonlySet<string>): void {
    const client = new AdsClient({
      target,
      node: this.options.node,
      service: 'sds',
      // Istio's SdsSecretConfigs say set_node_on_first_message_only: true; the model does not
      // carry the flag per source, and every SDS server accepts the node on the first request.
      setNodeOnFirstMessageOnly: true,
      apiType: 'GRPC',
      logger: this.options.log,
      onResponse: (u) => this.options.onResponse(source, u),
      ...(this.options.backoff ? { backoff: this.options.backoff } : {}),
    });
    const stream: SourceStream = { client, target, names: new Set(names) };
    client.on('disconnected', () => {
      if (this.streams.get(source) === stream) this.options.onDisconnected?.(source, [...stream.names]);
    });
    this.streams.set(source, stream);
    client.watch(SECRET_TYPE_URL, [...names]);
    this.options.onSubscribed?.(source, [...names]);
    this.options.log.info({ source, target, names: [...names] }, 'sds: opening stream');
    client.start();
  }
}
