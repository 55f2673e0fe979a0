// XdsController: wires one ADS stream into the resource store (STYLE 2 steps 1-7 on the control
// side). It starts an AdsClient for the bootstrap's ads_config, watches CDS and then LDS
// (wildcard) when cds_config/lds_config say `ads {}`, applies every response through the
// ConfigStore, turns the store's verdict into the ACK/NACK, follows the store's derived
// RDS/EDS/SDS subscriptions, records config history and Envoy's xDS stats, and reports when
// initial configuration is complete (Envoy's init manager: clusters first, including their
// warming, then listeners; server.cc starts LDS only once the cluster manager initialized).
// A type whose config source is an api_config_source comes over a stream of its own
// (ApiSourceStreams, one per distinct source): LDS/CDS from the bootstrap's lds/cds_config, RDS
// from an HCM's rds.config_source, EDS from a cluster's eds_config, and secrets whose sds_config
// names one (Istio's sds-grpc); named types follow the store's apiSources() after every change.
// ADS and these streams can mix (CDS over ADS, EDS over its own stream, ...).
//
//   AdsClient --update--> ConfigStore.apply --change--> SnapshotBuilder --publication--> publisher
//        ^                     |  subscribe/unsubscribe
//        +---------------------+
//   ApiSourceStreams[kind] --(source, update)--> ConfigStore.apply/applyFrom --change--> ...
//        ^                     |  apiSources(kind)
//        +---------------------+
import { fail, type Result } from '../common/result';
import { clusterEdsSource, listenerRdsRefs, PATH_SOURCE_PREFIX } from '../store/dependencies';
import { FileSource } from './file-source';
import type { Logger } from 'pino';
import type { BootstrapConfig, ConfigSourceConfig } from '../config/model/bootstrap';
import { parseApiSourceKey, apiSourceKey } from '../config/model/config-source';
import { ConfigStore, type NamedKind, type StoreChange, type StoreTranslators, type XdsKind } from '../store/config-store';
import { ConfigHistory } from '../store/config-history';
import { SnapshotBuilder, type Publication } from '../store/snapshot-builder';
import type { StatsStore } from '../stats/stats-store';
import { AdsClient } from '../xds/ads-client';
import type { AdsUpdate, AdsUpdateResult, DecodedMessage } from '../xds/ads-types';
import type { BackoffOptions } from '../xds/backoff';
import { CLUSTER_TYPE_URL, ENDPOINT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_TYPE_URL, SECRET_TYPE_URL } from '../xds/type-urls';
import { channelClientOptions, resolveGrpcService, type GrpcTargetResult } from './grpc-target';
import { ApiSourceStreams, WILDCARD } from './api-source-streams';
import { xdsTranslators } from './resource-translators';

const TYPE_URLS: Readonly<Record<XdsKind, string>> = { lds: LISTENER_TYPE_URL, rds: ROUTE_TYPE_URL, cds: CLUSTER_TYPE_URL, eds: ENDPOINT_TYPE_URL, sds: SECRET_TYPE_URL };
const KINDS: ReadonlyMap<string, XdsKind> = new Map(Object.entries(TYPE_URLS).map(([k, u]) => [u, k as XdsKind]));

/** Envoy's per-subscription counters (config/subscription docs: update_attempt ... update_time). */
const UPDATE_COUNTERS = ['update_attempt', 'update_success', 'update_rejected', 'update_failure'] as const;

export interface XdsControllerOptions {
  readonly bootstrap: BootstrapConfig;
  /** envoy.config.core.v3.Node as sent on the stream (decoded bootstrap node with flag overrides). */
  readonly node: DecodedMessage;
  readonly stats: StatsStore;
  readonly log: Logger;
  readonly historySize: number;
  readonly publish: (p: Publication) => void;
  /** Generation of the snapshot already published (the static one). */
  readonly generation: number;
  readonly debounceMs?: number;
  readonly backoff?: BackoffOptions;
  readonly initialFetchTimeoutMs?: Partial<Record<NamedKind, number>>;
}

/** Where an ADS config points: a gRPC target (with TLS credentials), or why it cannot be used. */
export function resolveAdsTarget(bootstrap: BootstrapConfig): GrpcTargetResult {
  const ads = bootstrap.dynamicResources.ads;
  if (!ads || ads.targets.length === 0) return { error: 'ads_config has no grpc_services' };
  const warnings: string[] = [];
  // Envoy uses the first grpc_service of an ApiConfigSource; the rest are ignored.
  if (ads.targets.length > 1) warnings.push('ads_config lists several grpc_services; only the first is used');
  const r = resolveGrpcService(bootstrap, ads.targets[0]!, 'ads_config');
  return 'error' in r ? r : { ...r, warnings: [...warnings, ...r.warnings] };
}

/** Kinds with api_config_source streams; LDS/CDS watch everything on theirs. */
const STREAM_KINDS: readonly XdsKind[] = ['lds', 'cds', 'rds', 'eds', 'sds'];

export class XdsController {
  readonly store: ConfigStore;
  readonly history: ConfigHistory;
  readonly builder: SnapshotBuilder;
  private client: AdsClient | undefined;
  /** api_config_source streams per type (SDS: Istio's sds-grpc). */
  readonly streams: Readonly<Record<XdsKind, ApiSourceStreams>>;
  private readonly log: Logger;
  private cdsResponded = false;
  private ldsResponded = false;
  private cdsDone = false;
  private readonly files: FileSource[] = [];
  private readonly secretFiles = new Map<string, FileSource>();
  private ldsStarted = false;
  private ldsDone = false;
  private initTimers: NodeJS.Timeout[] = [];
  private resolveInit!: () => void;
  /** Resolves when initial CDS (with cluster warming) and then LDS (with listener warming) completed. */
  readonly initialized: Promise<void>;
  private isInitialized = false;

  constructor(private readonly options: XdsControllerOptions) {
    this.log = options.log;
    this.initialized = new Promise((r) => (this.resolveInit = r));
    const { bootstrap } = options;
    const streams = {} as Record<XdsKind, ApiSourceStreams>;
    for (const kind of STREAM_KINDS) {
      streams[kind] = new ApiSourceStreams({
        kind,
        typeUrl: TYPE_URLS[kind],
        bootstrap,
        node: options.node,
        log: options.log,
        // SDS sources are the cluster names Istio's SdsSecretConfigs give (SotW, node once).
        sourceConfig: kind === 'sds' ? (cluster) => ({ apiType: 'GRPC', setNodeOnFirstMessageOnly: true, target: { kind: 'envoy_grpc', clusterName: cluster } }) : parseApiSourceKey,
        ...(options.backoff ? { backoff: options.backoff } : {}),
        onResponse: (source, u) => this.onApiResponse(kind, source, u),
        onDisconnected: (_source, names) => this.countConnectionFailure(this.prefixesFor(kind, names).map((p) => p.prefix)),
        onSubscribed: (_source, names) => {
          // Envoy creates a subscription's stats with it: they read 0 until the first update.
          for (const p of this.prefixesFor(kind, names)) for (const c of UPDATE_COUNTERS) this.options.stats.counter(`${p.prefix}.${c}`);
        },
      });
    }
    this.streams = streams;
    this.store = new ConfigStore({
      sdsSourceServed: (cluster) => cluster.startsWith(PATH_SOURCE_PREFIX) || this.streams.sds.canServe(cluster),
      apiSourceServed: (kind, source) => this.streams[kind].canServe(source),
      staticListeners: bootstrap.staticListeners,
      staticClusters: bootstrap.staticClusters,
      staticSecrets: bootstrap.staticSecrets,
      translators: this.translators(),
      ...(options.initialFetchTimeoutMs ? { initialFetchTimeoutMs: options.initialFetchTimeoutMs } : {}),
      onAsyncChange: (change) => {
        this.log.info({ type: change.kind, warmed: change.warmed }, 'xds: initial fetch timed out; warming without it');
        this.builder.note(change);
        this.syncApiSources();
        this.updateGauges();
        this.checkInit();
      },
    });
    this.history = new ConfigHistory(options.historySize);
    this.builder = new SnapshotBuilder(this.store, options.publish, { generation: options.generation, ...(options.debounceMs !== undefined ? { debounceMs: options.debounceMs } : {}) });
    this.updateGauges();
  }

  /**
   * The store's translators, plus Envoy's check that an RDS/EDS api_config_source names a
   * gRPC service we can stream from (a static cluster with one endpoint and usable TLS): Envoy
   * rejects such a listener or cluster when it creates the subscription, so it is NACKed with
   * the reason rather than left waiting for resources that can never come.
   */
  private translators(): StoreTranslators {
    const base = xdsTranslators((names) => this.log.warn({ extensions: names }, 'xds: optional extensions not supported, skipped'));
    const check = <T>(r: Result<T>, sources: (v: T) => { kind: 'rds' | 'eds'; source: string; path: string }[]): Result<T> => {
      if (!r.ok) return r;
      const errors = sources(r.value).flatMap((s) => {
        const problem = this.streams[s.kind].problem(s.source);
        return problem ? [{ path: s.path, reason: problem }] : [];
      });
      return errors.length ? fail(errors) : r;
    };
    return {
      ...base,
      lds: (m) => check(base.lds(m), (l) => listenerRdsRefs(l).flatMap((r) => (r.source === undefined ? [] : [{ kind: 'rds' as const, source: r.source, path: `rds.config_source.api_config_source (route_config_name '${r.routeConfigName}')` }]))),
      cds: (m) =>
        check(base.cds(m), (c) => {
          const source = clusterEdsSource(c);
          return source === undefined ? [] : [{ kind: 'eds' as const, source, path: 'eds_cluster_config.eds_config.api_config_source' }];
        }),
    };
  }

  get initDone(): boolean {
    return this.isInitialized;
  }

  get adsClient(): AdsClient | undefined {
    return this.client;
  }

  /** The api_config_source SDS streams (Istio's sds-grpc). */
  get sds(): ApiSourceStreams {
    return this.streams.sds;
  }

  start(): void {
    const { bootstrap } = this.options;
    const dyn = bootstrap.dynamicResources;
    const usesAds = (s: ConfigSourceConfig | undefined) => s?.kind === 'ads';
    if (!dyn.ads && (usesAds(dyn.cds) || usesAds(dyn.lds))) this.log.error('lds_config/cds_config say ads {} but the bootstrap has no ads_config');
    // Envoy sets up the ADS mux whenever ads_config is present: RDS/EDS/SDS may use it even
    // when LDS and CDS come from elsewhere.
    if (dyn.ads) {
      const resolved = resolveAdsTarget(bootstrap);
      if ('error' in resolved) {
        this.log.error(resolved.error);
      } else {
        for (const w of resolved.warnings) this.log.warn(w);
        this.client = new AdsClient({
          target: resolved.target,
          node: this.options.node,
          apiType: dyn.ads.apiType,
          setNodeOnFirstMessageOnly: dyn.ads.setNodeOnFirstMessageOnly,
          logger: this.log,
          onResponse: (u) => this.onAdsResponse(u),
          ...channelClientOptions(bootstrap, dyn.ads.targets[0]!, 'ads_config', resolved),
          ...(this.options.backoff ? { backoff: this.options.backoff } : {}),
        });
        this.client.on('disconnected', () => this.onDisconnected());
        this.client.on('connected', () => this.options.stats.gauge('control_plane.connected_state', 'NeverImport').set(1));
        // Static listeners/clusters may already name RDS/EDS resources.
        this.follow({ subscribe: Object.fromEntries([...(['rds', 'eds', 'sds'] as const)].map((k) => [k, [...this.store.subscriptions(k)]])), unsubscribe: {} });
        this.log.info({ target: resolved.target, delta: this.client.isDelta, tls: !!resolved.credentials }, 'xds: starting ADS');
        this.client.start();
      }
    }
    // Static listeners and clusters may load RDS/EDS/secrets from api_config_sources already.
    this.syncApiSources();
    if (this.client || dyn.cds?.kind === 'path' || dyn.lds?.kind === 'path' || dyn.cds?.kind === 'api' || dyn.lds?.kind === 'api') {
      // Envoy creates these with the subscription, so they read 0 (not absent) until the first update.
      for (const prefix of ['cluster_manager.cds', 'listener_manager.lds']) for (const c of UPDATE_COUNTERS) this.options.stats.counter(`${prefix}.${c}`);
    }
    if (!this.startWildcard('cds', dyn.cds)) this.cdsResponded = true;
    this.checkInit();
  }

  /**
   * Starts LDS or CDS from its config source (ADS, its own stream, or a file), with the initial
   * fetch timeout; false when there is nothing to wait for.
   */
  private startWildcard(kind: 'lds' | 'cds', src: ConfigSourceConfig | undefined): boolean {
    const responded = () => {
      if (kind === 'cds') this.cdsResponded = true;
      else this.ldsResponded = true;
    };
    if (src?.kind === 'ads' && this.client) {
      this.client.watch(TYPE_URLS[kind], '*');
    } else if (src?.kind === 'api') {
      const key = apiSourceKey(src.api);
      if (!this.streams[kind].canServe(key)) return false;
      this.streams[kind].sync(new Map([[key, new Set([WILDCARD])]]));
    } else if (src?.kind === 'path') {
      this.startFileSource(src.path, TYPE_URLS[kind]);
      return true;
    } else {
      return false;
    }
    this.armInitTimeout(src, responded);
    return true;
  }

  /** File-based xDS (path_config_source): one FileSource per file, updates through the store. */
  private startFileSource(path: string, typeUrl: string): void {
    const src = new FileSource(path, typeUrl, true, (u) => this.onResponse(u), this.log);
    this.files.push(src);
    src.start();
  }

  stop(): void {
    for (const t of this.initTimers) clearTimeout(t);
    this.client?.stop();
    for (const f of this.files) f.stop();
    for (const f of this.secretFiles.values()) f.stop();
    for (const kind of STREAM_KINDS) this.streams[kind].stop();
    this.builder.close();
    this.store.close();
  }

  private armInitTimeout(src: ConfigSourceConfig, onTimeout: () => void): void {
    if (src.initialFetchTimeoutMs <= 0) return;
    const t = setTimeout(() => {
      this.log.warn({ ms: src.initialFetchTimeoutMs }, 'xds: initial fetch timeout; continuing initialization');
      onTimeout();
      this.checkInit();
    }, src.initialFetchTimeoutMs);
    t.unref();
    this.initTimers.push(t);
  }

  private startLds(): void {
    if (this.ldsStarted) return;
    this.ldsStarted = true;
    if (!this.startWildcard('lds', this.options.bootstrap.dynamicResources.lds)) this.ldsResponded = true;
  }

  private checkInit(): void {
    if (this.isInitialized) return;
    if (!this.cdsDone && this.cdsResponded && this.store.warmingClusterCount === 0) {
      this.cdsDone = true;
      this.log.info({ clusters: this.store.activeClusterCount }, 'cm init: all clusters initialized');
      this.startLds();
    }
    if (this.cdsDone && !this.ldsDone && this.ldsResponded && this.store.warmingListenerCount === 0) {
      this.ldsDone = true;
      this.isInitialized = true;
      this.log.info({ listeners: this.store.activeListenerCount }, 'all dependencies initialized. starting workers');
      this.resolveInit();
    }
  }

  private follow(change: Pick<StoreChange, 'subscribe' | 'unsubscribe'>): void {
    if (!this.client) return;
    for (const [kind, names] of Object.entries(change.unsubscribe) as [NamedKind, string[]][]) if (names.length) this.client.unwatch(TYPE_URLS[kind], names);
    for (const [kind, names] of Object.entries(change.subscribe) as [NamedKind, string[]][]) if (names.length) this.client.watch(TYPE_URLS[kind], names);
  }

  /**
   * Opens and closes RDS/EDS/SDS sources as live config names them: streams to
   * api_config_sources (ApiSourceStreams) and, for SDS, DiscoveryResponse files (`path:<file>`
   * keys, one FileSource each).
   */
  private syncApiSources(): void {
    this.streams.rds.sync(this.store.apiSources('rds'));
    this.streams.eds.sync(this.store.apiSources('eds'));
    const streams = new Map<string, ReadonlySet<string>>();
    const files = new Set<string>();
    for (const [source, names] of this.store.apiSources('sds')) {
      if (source.startsWith(PATH_SOURCE_PREFIX)) {
        if (names.size > 0) files.add(source);
      } else streams.set(source, names);
    }
    this.streams.sds.sync(streams);
    for (const [key, f] of this.secretFiles) {
      if (files.has(key)) continue;
      f.stop();
      this.secretFiles.delete(key);
    }
    for (const key of files) {
      if (this.secretFiles.has(key)) continue;
      const f = new FileSource(key.slice(PATH_SOURCE_PREFIX.length), SECRET_TYPE_URL, false, (u) => this.onApiResponse('sds', key, u), this.log);
      this.secretFiles.set(key, f);
      f.start();
    }
  }

  /** A response on the `kind` stream to `source`: same store, stats and history as over ADS. */
  private onApiResponse(kind: XdsKind, source: string, update: AdsUpdate): AdsUpdateResult {
    if (update.typeUrl !== TYPE_URLS[kind]) return { errors: [{ name: update.typeUrl, reason: `a ${kind.toUpperCase()} stream carries only ${TYPE_URLS[kind]} resources` }] };
    if (kind === 'lds' || kind === 'cds') return this.applyUpdate(kind, update, () => this.store.apply(kind, update));
    return this.applyUpdate(kind, update, () => this.store.applyFrom(kind, source, update));
  }

  private onResponse(update: AdsUpdate): AdsUpdateResult {
    const kind = KINDS.get(update.typeUrl);
    if (!kind) return { errors: [{ name: update.typeUrl, reason: 'resource type not supported' }] };
    return this.applyUpdate(kind, update, () => this.store.apply(kind, update));
  }

  /**
   * A response on the ADS stream. A large LDS/CDS response is translated in slices that yield
   * (ConfigStore.applyInSlices): the ADS client hands other types' responses over meanwhile, so
   * an EDS update is live before a 10,000-cluster CDS apply completes. The CDS ACK still goes out
   * only after the whole response was validated and committed.
   */
  private async onAdsResponse(update: AdsUpdate): Promise<AdsUpdateResult> {
    const kind = KINDS.get(update.typeUrl);
    if (!kind) return { errors: [{ name: update.typeUrl, reason: 'resource type not supported' }] };
    const t0 = performance.now();
    const change = await this.store.applyInSlices(kind, update);
    return this.applyUpdate(kind, update, () => change, t0);
  }

  private applyUpdate(kind: XdsKind, update: AdsUpdate, apply: () => StoreChange, t0 = performance.now()): AdsUpdateResult {
    const change = apply();
    this.follow(change);
    this.syncApiSources();
    this.builder.note(change);
    const applyMs = performance.now() - t0;
    const o = change.outcome;
    const allErrors = [...update.invalid, ...o.errors];
    this.history.record({
      time: new Date().toISOString(),
      type: kind,
      version: update.versionInfo,
      nonce: update.nonce,
      added: o.added,
      updated: o.updated,
      removed: o.removed,
      unchanged: o.unchanged,
      result: allErrors.length === 0 ? 'ACK' : 'NACK',
      errors: allErrors,
      apply_ms: Math.round(applyMs * 1000) / 1000,
    });
    this.countUpdate(kind, update, allErrors.map((e) => e.name));
    if (o.added.length + o.updated.length + o.removed.length > 0 || change.warmed.length > 0) {
      this.log.info(
        { version: update.versionInfo, added: o.added.length, updated: o.updated.length, removed: o.removed.length, unchanged: o.unchanged, rejected: o.errors.length, warmed: change.warmed.length, ms: Math.round(applyMs) },
        `${kind}: applied update`,
      );
    }
    if (kind === 'cds') {
      this.cdsResponded = true;
      this.countChanges('cluster_manager', 'cluster', o);
    } else if (kind === 'lds') {
      this.ldsResponded = true;
      this.countChanges('listener_manager', 'listener', o);
    }
    this.updateGauges();
    this.checkInit();
    return { errors: o.errors };
  }

  private countChanges(prefix: string, what: string, o: StoreChange['outcome']): void {
    const s = this.options.stats;
    if (o.added.length) s.counter(`${prefix}.${what}_added`).add(o.added.length);
    if (o.updated.length) s.counter(`${prefix}.${what}_modified`).add(o.updated.length);
    if (o.removed.length) s.counter(`${prefix}.${what}_removed`).add(o.removed.length);
  }

  /** Stat prefixes Envoy uses for a type's subscription(s) touched by this update. */
  private prefixesFor(kind: XdsKind, names: readonly string[]): { prefix: string; name?: string }[] {
    switch (kind) {
      case 'cds':
        return [{ prefix: 'cluster_manager.cds' }];
      case 'lds':
        return [{ prefix: 'listener_manager.lds' }];
      case 'rds': {
        // Envoy: http.<hcm stat_prefix>.rds.<route_config_name>.* per RDS subscription.
        const wanted = new Set(names);
        return this.store
          .rdsReferences()
          .filter((r) => wanted.has(r.routeConfigName))
          .map((r) => ({ prefix: `http.${r.statPrefix}.rds.${r.routeConfigName}`, name: r.routeConfigName }));
      }
      case 'sds':
        return names.map((n) => ({ prefix: `sds.${n}`, name: n }));
      case 'eds':
        // Envoy counts EDS under cluster.<name>.update_*; the worker's ClusterRuntime owns those.
        return [];
    }
  }

  private countUpdate(kind: XdsKind, update: AdsUpdate, failedNames: readonly string[]): void {
    const s = this.options.stats;
    const failed = new Set(failedNames);
    const names = update.resources.map((r) => r.name);
    for (const p of this.prefixesFor(kind, names)) {
      s.counter(`${p.prefix}.update_attempt`).inc();
      const bad = p.name === undefined ? failed.size > 0 : failed.has(p.name);
      if (bad) {
        s.counter(`${p.prefix}.update_rejected`).inc();
      } else {
        s.counter(`${p.prefix}.update_success`).inc();
        s.gauge(`${p.prefix}.update_time`, 'NeverImport').set(Date.now());
      }
    }
  }

  private onDisconnected(): void {
    const s = this.options.stats;
    s.gauge('control_plane.connected_state', 'NeverImport').set(0);
    // Envoy counts a lost stream as a failed attempt on every subscription (ConnectionFailure).
    const prefixes: string[] = [];
    for (const [kind, prefix] of [['cds', 'cluster_manager.cds'], ['lds', 'listener_manager.lds']] as const) {
      if (this.client?.subscription(TYPE_URLS[kind])) prefixes.push(prefix);
    }
    this.countConnectionFailure(prefixes);
    this.log.warn('xds: control plane disconnected; serving the last good configuration');
  }

  private countConnectionFailure(prefixes: readonly string[]): void {
    const s = this.options.stats;
    for (const prefix of prefixes) {
      s.counter(`${prefix}.update_attempt`).inc();
      s.counter(`${prefix}.update_failure`).inc();
    }
  }

  private updateGauges(): void {
    const s = this.options.stats;
    s.gauge('cluster_manager.active_clusters', 'NeverImport').set(this.store.activeClusterCount);
    s.gauge('cluster_manager.warming_clusters', 'NeverImport').set(this.store.warmingClusterCount);
    s.gauge('listener_manager.total_listeners_active', 'NeverImport').set(this.store.activeListenerCount);
    s.gauge('listener_manager.total_listeners_warming', 'NeverImport').set(this.store.warmingListenerCount);
  }
}
