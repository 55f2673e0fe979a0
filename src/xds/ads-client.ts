// AdsClient: one aggregated xDS stream to one management server (an ADS config source), the
// first stage of the control-side pipeline xds -> translate -> store (STYLE 2 steps 1, 2, 5).
// It keeps per-type subscription state, decodes each response, hands it to the consumer one at
// a time, and turns the consumer's per-resource verdict into an ACK or NACK. It reconnects with
// jittered backoff and re-sends every subscription, as grpc-js-xds's AdsCallState and Envoy's
// GrpcMuxImpl/NewGrpcMuxImpl do. With `service: 'sds'` the same machinery speaks
// SecretDiscoveryService/StreamSecrets (one type, Secret) to an SDS server such as pilot-agent's
// sds-grpc socket; the messages and the ACK/NACK rules are the same.
//
//   watch()/unwatch() --mark--> per-type state --(idle: next tick)--> subscription requests
//   stream data --> lane queue (arrival order) --> decode --> onResponse() --> ACK/NACK --> flush
//
// Two lanes, each handing responses over strictly one at a time in arrival order: endpoints
// (EDS) and everything else. LDS/RDS/CDS/SDS keep Envoy's order among themselves (a listener
// never overtakes the clusters pushed before it), but an EDS response does not wait for them:
// while the consumer works through a large CDS response (it yields to the event loop between
// slices), an EDS response that arrived behind it is handed over, applied and ACKed (the issue:
// EDS is never blocked by a CDS apply in progress; ACKs are per type, each with its own nonce).
import { EventEmitter } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import { adsMessageTypes, adsMethod, createAdsChannelClient, type XdsService } from './ads-grpc';
import type {
  AdsApiType,
  AdsClientCounters,
  AdsLogger,
  AdsTypeCounters,
  AdsUpdate,
  AdsUpdateHandler,
  AdsUpdateResult,
  DecodedMessage,
} from './ads-types';
import { Backoff, type BackoffOptions } from './backoff';
import { DeltaTypeState } from './delta-state';
import { buildNackMessage, GRPC_STATUS_INTERNAL, type ResourceError } from './nack-message';
import { decodeDeltaResourcesInSlices, decodeSotwResourcesInSlices, shallowResponseDeserializer } from './resource-decoder';
import { SotwTypeState } from './sotw-state';
import { ENDPOINT_TYPE_URL, shortTypeName } from './type-urls';

export interface AdsClientOptions {
  /** `unix:///abs/path`, `unix:relative/path` or `host:port`. */
  readonly target: string;
  /** envoy.config.core.v3.Node, decoded or as a plain object (lowerCamelCase fields). */
  readonly node: DecodedMessage;
  readonly apiType?: AdsApiType;
  /**
   * The discovery service to call: 'ads' (default, AggregatedDiscoveryService) or a per-type
   * service for an api_config_source stream ('sds': SecretDiscoveryService, Istio's sds-grpc;
   * 'lds', 'cds', 'rds', 'eds').
   */
  readonly service?: XdsService;
  /** Envoy's ads_config.set_node_on_first_message_only (Istio sets it). */
  readonly setNodeOnFirstMessageOnly?: boolean;
  readonly backoff?: BackoffOptions;
  readonly logger?: AdsLogger;
  readonly onResponse: AdsUpdateHandler;
  /** Plaintext when unset. */
  readonly credentials?: grpc.ChannelCredentials;
  /** Extra channel options (TLS: grpc.ssl_target_name_override for SNI). */
  readonly channelOptions?: grpc.ChannelOptions;
  /** Identity of `credentials`' material (TLS certificates, CA, SAN matchers). */
  readonly credentialsKey?: string;
  /**
   * Called before each reconnect: current credentials (e.g. certificates re-read from rotated
   * files). When their key differs, the next stream goes over a new channel with them, as Envoy
   * uses a rotated certificate for new connections.
   */
  readonly refreshCredentials?: () => { readonly credentials: grpc.ChannelCredentials; readonly channelOptions?: grpc.ChannelOptions; readonly key: string } | undefined;
}

/** What admin and tests can read about one type's subscription. */
export interface AdsSubscriptionInfo {
  readonly typeUrl: string;
  readonly wildcard: boolean;
  readonly names: readonly string[];
  /** SotW: last ACKed version_info. Delta: last ACKed system_version_info. */
  readonly version: string;
  /** Delta only: versions of the resources we hold. */
  readonly resourceVersions?: Readonly<Record<string, string>>;
}

interface ActiveStream {
  readonly id: number;
  readonly call: grpc.ClientDuplexStream<object, protobuf.Message>;
  /** Responses waiting, per lane (laneOf), in arrival order. */
  readonly queues: Map<string, DecodedMessage[]>;
  /** Type URLs of responses queued or being processed, with counts (SotW holds their requests). */
  readonly busy: Map<string, number>;
  live: boolean;
  ended: boolean;
  /** Lanes whose queue is being worked through. */
  readonly processing: Set<string>;
  sentFirst: boolean;
}

/** EDS responses have a lane of their own; every other type shares one (see the header). */
function laneOf(typeUrl: string): string {
  return typeUrl === ENDPOINT_TYPE_URL ? 'eds' : 'main';
}

const NOOP_LOGGER: AdsLogger = { info() {}, warn() {}, debug() {} };

/**
 * Events: 'connected' (stream id), 'disconnected' ({streamId, code, details}), 'ack' and 'nack'
 * ({typeUrl, nonce, version, message?}), 'request' (the request object, before it is written).
 */
export class AdsClient extends EventEmitter {
  private readonly delta: boolean;
  private readonly node: protobuf.Message;
  private readonly logger: AdsLogger;
  private readonly backoff: Backoff;
  private readonly sotw = new Map<string, SotwTypeState>();
  private readonly deltaStates = new Map<string, DeltaTypeState>();
  private client: grpc.Client | undefined;
  private credentialsKey: string | undefined;
  private stream: ActiveStream | undefined;
  private streamSeq = 0;
  private started = false;
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private flushScheduled = false;
  /** Consumer callbacks running (one per lane at most): subscription changes wait for their ACK. */
  private inCallback = 0;
  readonly counters: AdsClientCounters = { connected: 0, disconnected: 0, connected_state: 0, types: new Map() };

  constructor(private readonly options: AdsClientOptions) {
    super();
    this.delta = (options.apiType ?? 'GRPC') === 'DELTA_GRPC';
    this.node = adsMessageTypes().node.fromObject(options.node);
    this.logger = options.logger ?? NOOP_LOGGER;
    this.backoff = new Backoff(options.backoff);
  }

  get service(): XdsService {
    return this.options.service ?? 'ads';
  }

  get isDelta(): boolean {
    return this.delta;
  }

  get isConnected(): boolean {
    return this.stream?.live === true && !this.stream.ended;
  }

  /** Subscribes to names of a type (or '*'); takes effect on the wire on the next tick. */
  watch(typeUrl: string, names: readonly string[] | '*'): void {
    const changed = this.delta ? this.deltaState(typeUrl).watch(names) : this.sotwState(typeUrl).watch(names);
    if (changed) this.scheduleFlush();
  }

  unwatch(typeUrl: string, names: readonly string[] | '*'): void {
    const state = this.delta ? this.deltaStates.get(typeUrl) : this.sotw.get(typeUrl);
    if (state?.unwatch(names)) this.scheduleFlush();
  }

  subscription(typeUrl: string): AdsSubscriptionInfo | undefined {
    if (this.delta) {
      const s = this.deltaStates.get(typeUrl);
      if (!s) return undefined;
      return { typeUrl, wildcard: s.isWildcard, names: s.subscribedNames(), version: s.systemVersion, resourceVersions: Object.fromEntries(s.versions) };
    }
    const s = this.sotw.get(typeUrl);
    return s && { typeUrl, wildcard: s.isWildcard, names: s.subscribedNames(), version: s.version };
  }

  typeCounters(typeUrl: string): AdsTypeCounters {
    let c = this.counters.types.get(typeUrl);
    if (!c) {
      c = { update_attempt: 0, update_success: 0, update_rejected: 0, update_failure: 0 };
      this.counters.types.set(typeUrl, c);
    }
    return c;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.client = createAdsChannelClient(this.options.target, this.options.credentials, this.options.channelOptions);
    this.credentialsKey = this.options.credentialsKey;
    this.openStream();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const s = this.stream;
    if (s && !s.ended) {
      this.endStream(s, { code: 1, details: 'client stopped' });
      s.call.cancel();
    }
    this.client?.close();
  }

  private sotwState(typeUrl: string): SotwTypeState {
    let s = this.sotw.get(typeUrl);
    if (!s) {
      s = new SotwTypeState(typeUrl);
      this.sotw.set(typeUrl, s);
    }
    return s;
  }

  private deltaState(typeUrl: string): DeltaTypeState {
    let s = this.deltaStates.get(typeUrl);
    if (!s) {
      s = new DeltaTypeState(typeUrl);
      this.deltaStates.set(typeUrl, s);
    }
    return s;
  }

  // ---- stream lifecycle ----

  private openStream(): void {
    if (this.stopped || !this.client) return;
    const m = adsMethod(this.delta, this.options.service ?? 'ads');
    // Responses arrive with their resources still as bytes: they are decoded in time slices.
    const t = adsMessageTypes();
    const deserialize = shallowResponseDeserializer(this.delta ? t.deltaResponse : t.response);
    const call = this.client.makeBidiStreamRequest<object, protobuf.Message>(m.path, m.serializeRequest, deserialize as unknown as (b: Buffer) => protobuf.Message);
    const stream: ActiveStream = { id: ++this.streamSeq, call, queues: new Map(), busy: new Map(), live: false, ended: false, processing: new Set(), sentFirst: false };
    this.stream = stream;
    for (const s of this.sotw.values()) s.resetStream();
    for (const s of this.deltaStates.values()) s.resetStream();
    this.logger.debug({ stream: stream.id, target: this.options.target, delta: this.delta, service: this.service }, 'ads: opening stream');
    call.on('metadata', () => this.markLive(stream));
    call.on('data', (msg: protobuf.Message) => this.onData(stream, msg));
    call.on('status', (status: grpc.StatusObject) => this.endStream(stream, status));
    // grpc-js emits 'error' before 'status' for a non-OK end; 'status' does the work.
    call.on('error', (err: grpc.ServiceError) => this.endStream(stream, { code: err.code ?? 2, details: err.details ?? err.message }));
    this.flushSubscriptions();
  }

  private markLive(stream: ActiveStream): void {
    if (stream.live || stream.ended || stream !== this.stream) return;
    stream.live = true;
    this.counters.connected++;
    this.counters.connected_state = 1;
    this.logger.info({ stream: stream.id, target: this.options.target }, 'ads: stream connected');
    this.emit('connected', stream.id);
  }

  private endStream(stream: ActiveStream, status: { code: number; details: string }): void {
    if (stream.ended) return;
    stream.ended = true;
    stream.queues.clear();
    if (stream !== this.stream) return;
    this.counters.disconnected++;
    this.counters.connected_state = 0;
    this.emit('disconnected', { streamId: stream.id, code: status.code, details: status.details });
    if (this.stopped) return;
    // Envoy counts a lost stream as a failed update attempt for every subscription
    // (onConfigUpdateFailed with ConnectionFailure); our own stop() is not a failure.
    for (const typeUrl of this.delta ? this.deltaStates.keys() : this.sotw.keys()) {
      const c = this.typeCounters(typeUrl);
      c.update_attempt++;
      c.update_failure++;
    }
    const delay = this.backoff.nextDelayMs();
    this.logger.warn({ stream: stream.id, code: status.code, details: status.details, retryMs: delay }, 'ads: stream closed, reconnecting');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.refreshChannel();
      this.openStream();
    }, delay);
  }

  /** Swaps the channel when the credentials' material changed since it was created. */
  private refreshChannel(): void {
    const fresh = this.options.refreshCredentials?.();
    if (!fresh || fresh.key === this.credentialsKey || this.stopped) return;
    this.logger.info({ target: this.options.target }, 'ads: channel credentials changed; reconnecting with the new ones');
    this.client?.close();
    this.client = createAdsChannelClient(this.options.target, fresh.credentials, fresh.channelOptions);
    this.credentialsKey = fresh.key;
  }

  private write(stream: ActiveStream, fields: object): void {
    if (stream.ended || stream !== this.stream) return;
    const t = adsMessageTypes();
    const req: Record<string, unknown> = { ...fields };
    // Istio sets set_node_on_first_message_only; Envoy otherwise repeats the node every time.
    if (!stream.sentFirst || !this.options.setNodeOnFirstMessageOnly) req.node = this.node;
    stream.sentFirst = true;
    const msg = (this.delta ? t.deltaRequest : t.request).fromObject(req);
    this.emit('request', msg);
    stream.call.write(msg);
  }

  // ---- subscriptions ----

  private scheduleFlush(): void {
    if (this.flushScheduled || !this.stream || this.stream.ended) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      // A running callback flushes after its ACK, so names it adds go out in one request per type.
      if (this.inCallback === 0) this.flushSubscriptions();
    });
  }

  /** Sends a request for each type whose subscription is due (first on stream, or changed). */
  private flushSubscriptions(): void {
    const stream = this.stream;
    if (!stream || stream.ended) return;
    if (this.delta) {
      for (const s of this.deltaStates.values()) if (s.needsSubscriptionRequest()) this.write(stream, s.buildSubscriptionRequest());
      return;
    }
    for (const s of this.sotw.values()) {
      // A SotW request carries the type's nonce: while a response of this type is queued or in the
      // callback, its ACK/NACK will carry the new names; sending now would ACK it early.
      if (stream.busy.has(s.typeUrl)) continue;
      if (s.needsRequest()) this.write(stream, s.buildRequest());
    }
  }

  // ---- responses ----

  private onData(stream: ActiveStream, msg: protobuf.Message): void {
    if (stream.ended || stream !== this.stream) return;
    this.markLive(stream);
    this.backoff.reset();
    const m = msg as unknown as DecodedMessage;
    const typeUrl = String(m.typeUrl ?? '');
    stream.busy.set(typeUrl, (stream.busy.get(typeUrl) ?? 0) + 1);
    const lane = laneOf(typeUrl);
    let queue = stream.queues.get(lane);
    if (!queue) stream.queues.set(lane, (queue = []));
    queue.push(m);
    void this.pump(stream, lane);
  }

  /** Hands one lane's responses over one at a time, in arrival order, each after the previous settled. */
  private async pump(stream: ActiveStream, lane: string): Promise<void> {
    if (stream.processing.has(lane)) return;
    stream.processing.add(lane);
    try {
      for (;;) {
        const queue = stream.queues.get(lane);
        if (!queue || queue.length === 0 || stream.ended) break;
        const m = queue.shift()!;
        const typeUrl = String(m.typeUrl ?? '');
        try {
          if (this.delta) await this.handleDelta(stream, typeUrl, m);
          else await this.handleSotw(stream, typeUrl, m);
        } finally {
          const n = (stream.busy.get(typeUrl) ?? 1) - 1;
          if (n <= 0) stream.busy.delete(typeUrl);
          else stream.busy.set(typeUrl, n);
        }
        // Names the consumer watched while handling this response go out now, after its ACK.
        this.flushSubscriptions();
      }
    } finally {
      stream.processing.delete(lane);
    }
  }

  private async consume(update: AdsUpdate): Promise<ResourceError[]> {
    let result: AdsUpdateResult;
    this.inCallback++;
    try {
      result = await this.options.onResponse(update);
    } catch (err) {
      // A throwing consumer rejects the whole response (Envoy NACKs with the exception text).
      const reason = `update failed: ${(err as Error)?.message ?? String(err)}`;
      this.logger.warn({ type: shortTypeName(update.typeUrl), err }, 'ads: consumer threw');
      return [...update.invalid, { name: shortTypeName(update.typeUrl), reason }];
    } finally {
      this.inCallback--;
    }
    return [...update.invalid, ...(result?.errors ?? [])];
  }

  private verdict(typeUrl: string, nonce: string, version: string, errors: readonly ResourceError[]): { code: number; message: string } | undefined {
    const c = this.typeCounters(typeUrl);
    const type = shortTypeName(typeUrl);
    if (errors.length === 0) {
      c.update_success++;
      this.logger.info({ type, version, nonce }, `${type}: ack`);
      this.emit('ack', { typeUrl, nonce, version });
      return undefined;
    }
    c.update_rejected++;
    const message = buildNackMessage(errors);
    this.logger.warn({ type, version, nonce, rejected: errors.length, reason: message }, `${type}: nack`);
    this.emit('nack', { typeUrl, nonce, version, message });
    return { code: GRPC_STATUS_INTERNAL, message };
  }

  private async handleSotw(stream: ActiveStream, typeUrl: string, m: DecodedMessage): Promise<void> {
    const state = this.sotw.get(typeUrl);
    // Envoy ignores responses for a type nobody subscribed to, without ACKing them. A full-state
    // type nobody watches any more is the same: its ACK would have to carry an empty name list,
    // which means wildcard again.
    if (!state || (state.fullState && !state.interested)) {
      this.logger.warn({ typeUrl }, 'ads: response for a type not watched, ignored');
      return;
    }
    this.typeCounters(typeUrl).update_attempt++;
    const versionInfo = String(m.versionInfo ?? '');
    const nonce = String(m.nonce ?? '');
    const decoded = await decodeSotwResourcesInSlices(typeUrl, (m.resources ?? []) as Uint8Array[]);
    const removed = state.removedBy(decoded.presentNames);
    const errors = await this.consume({
      typeUrl,
      versionInfo,
      nonce,
      resources: decoded.resources,
      invalid: decoded.invalid,
      removed,
      sotw: true,
    });
    const current = stream === this.stream && !stream.ended;
    state.settle(nonce, versionInfo, errors, current);
    const errorDetail = this.verdict(typeUrl, nonce, state.version, errors);
    if (current) this.write(stream, state.buildRequest(errorDetail));
  }

  private async handleDelta(stream: ActiveStream, typeUrl: string, m: DecodedMessage): Promise<void> {
    const state = this.deltaStates.get(typeUrl);
    if (!state) {
      this.logger.warn({ typeUrl }, 'ads: delta response for a type not watched, ignored');
      return;
    }
    this.typeCounters(typeUrl).update_attempt++;
    const systemVersion = String(m.systemVersionInfo ?? '');
    const nonce = String(m.nonce ?? '');
    const decoded = await decodeDeltaResourcesInSlices(typeUrl, (m.resources ?? []) as Uint8Array[]);
    const removed = ((m.removedResources ?? []) as string[]).slice();
    const errors = await this.consume({
      typeUrl,
      versionInfo: systemVersion,
      nonce,
      resources: decoded.resources,
      invalid: decoded.invalid,
      removed,
      sotw: false,
    });
    state.settle(systemVersion, decoded.resources, removed, errors);
    const errorDetail = this.verdict(typeUrl, nonce, systemVersion, errors);
    if (stream === this.stream && !stream.ended) this.write(stream, state.buildAck(nonce, errorDetail));
  }
}
