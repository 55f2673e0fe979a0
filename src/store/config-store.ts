// ConfigStore: the control side's whole xDS state (STYLE 2 steps 4 and 6). Five TypeStores
// (LDS, RDS, CDS, EDS, SDS) plus the bootstrap's static listeners and clusters, the dependency
// tracker that derives RDS/EDS/SDS subscriptions from live config, and warming: a listener or
// cluster is published ("active") only once what it names has arrived, while an older active
// version keeps serving (Envoy's make-before-break: listener_manager_impl.cc warming list,
// cluster_manager_impl.cc warming clusters; xds_protocol "Resource warming").
//
// SDS secrets come from the ADS stream or from api_config_source SDS streams (Istio: `default`
// and `ROOTCA` over the sds-grpc cluster). Both land in the one `sds` TypeStore keyed by name,
// as workers resolve secrets by name; sdsApiSources() tells the control side which streams to
// hold and which names each must watch, and applySecrets() takes one stream's responses.
//
//   apply(kind, update) -> TypeStore.apply -> (LDS/CDS) recompute references -> subscription diff
//                       -> promote warm listeners/clusters -> StoreChange {full, endpoints}
//
// The snapshot builder reads the active set through parts(); an EDS-only change of an active
// cluster is reported as endpoint names so it can travel as a per-cluster delta.
import type { ClusterConfig, EndpointSetConfig } from '../config/model/cluster';
import type { ListenerConfig } from '../config/model/listener';
import type { RouteConfigurationConfig } from '../config/model/route';
import type { SecretConfig } from '../config/model/secret';
import { clusterEdsName, clusterEdsSource, clusterSecretRefs, defaultSecretRefs, listenerRdsRefs, listenerSecretRefs, type RdsRef, type SecretRef, type SecretRefExtractor } from './dependencies';
import { TypeStore, type IncomingUpdate, type ResourceTranslator, type TypeApplyOutcome } from './type-store';

export type XdsKind = 'lds' | 'rds' | 'cds' | 'eds' | 'sds';
/** Types subscribed by name, derived from what listeners and clusters refer to. */
export type NamedKind = 'rds' | 'eds' | 'sds';
export const XDS_KINDS: readonly XdsKind[] = ['lds', 'rds', 'cds', 'eds', 'sds'];
const NAMED_KINDS: readonly NamedKind[] = ['rds', 'eds', 'sds'];

export interface StoreTranslators {
  readonly lds: ResourceTranslator<ListenerConfig>;
  readonly rds: ResourceTranslator<RouteConfigurationConfig>;
  readonly cds: ResourceTranslator<ClusterConfig>;
  readonly eds: ResourceTranslator<EndpointSetConfig>;
  readonly sds: ResourceTranslator<SecretConfig>;
}

export interface ConfigStoreOptions {
  readonly staticListeners: readonly ListenerConfig[];
  readonly staticClusters: readonly ClusterConfig[];
  /** static_resources.secrets: always present, never replaced over SDS. */
  readonly staticSecrets?: readonly SecretConfig[];
  readonly translators: StoreTranslators;
  /**
   * Envoy's initial_fetch_timeout per named type: after this long without the resource, a
   * listener or cluster waiting for it warms anyway. 0 = wait forever (Istio's choice for RDS and
   * EDS; contract 3.5). ClusterConfig does not carry eds_config.initial_fetch_timeout yet.
   */
  readonly initialFetchTimeoutMs?: Partial<Record<NamedKind, number>>;
  readonly secretRefs?: SecretRefExtractor;
  /**
   * Whether the control side can open an SDS stream for an api_config_source cluster (a static
   * cluster with one pipe or socket endpoint). Secrets of a source it cannot serve do not hold
   * listeners and clusters warming: they would wait forever. Default: every source is served.
   */
  readonly sdsSourceServed?: (cluster: string) => boolean;
  /**
   * The same for RDS and EDS api_config_sources (keys from apiSourceKey): names of a source the
   * control side cannot open do not hold warming. Default: every source is served.
   */
  readonly apiSourceServed?: (kind: 'rds' | 'eds', source: string) => boolean;
  readonly now?: () => number;
  /** Called when a dependency timed out and the active set changed outside an apply(). */
  readonly onAsyncChange?: (change: StoreChange) => void;
}

/** What one apply() changed, for the publisher, the ADS client and the config history. */
export interface StoreChange {
  readonly kind: XdsKind;
  readonly outcome: TypeApplyOutcome;
  /** The active set (listeners, clusters, routes, secrets) changed: a new snapshot is due. */
  readonly full: boolean;
  /** EDS services whose endpoints changed (or were removed) for clusters already active. */
  readonly endpoints: readonly string[];
  /** Names to watch / stop watching on the ADS stream. */
  readonly subscribe: Readonly<Partial<Record<NamedKind, readonly string[]>>>;
  readonly unsubscribe: Readonly<Partial<Record<NamedKind, readonly string[]>>>;
  /** Listener and cluster names that left warming in this change. */
  readonly warmed: readonly string[];
}

export interface SnapshotParts {
  readonly listeners: readonly ListenerConfig[];
  readonly routeConfigs: readonly RouteConfigurationConfig[];
  readonly clusters: readonly ClusterConfig[];
  readonly endpoints: Readonly<Record<string, EndpointSetConfig>>;
  readonly secrets: readonly SecretConfig[];
  readonly versions: Readonly<Record<string, string>>;
}

/** Envoy treats a removed ClusterLoadAssignment as an empty one (all hosts gone). */
export function emptyEndpointSet(serviceName: string): EndpointSetConfig {
  return { clusterName: serviceName, localities: [], overprovisioningFactor: 140, dropOverloads: [] };
}

function byName<T>(m: ReadonlyMap<string, T>): T[] {
  return [...m.keys()].sort().map((k) => m.get(k)!);
}

export class ConfigStore {
  readonly lds: TypeStore<ListenerConfig>;
  readonly rds: TypeStore<RouteConfigurationConfig>;
  readonly cds: TypeStore<ClusterConfig>;
  readonly eds: TypeStore<EndpointSetConfig>;
  readonly sds: TypeStore<SecretConfig>;
  private readonly staticListenerNames: ReadonlySet<string>;
  private readonly staticClusterNames: ReadonlySet<string>;
  private readonly activeListeners = new Map<string, ListenerConfig>();
  private readonly activeClusters = new Map<string, ClusterConfig>();
  /** EDS service name -> number of active (static or dynamic) clusters loading it. */
  private readonly activeServices = new Map<string, number>();
  private readonly warmingListeners = new Set<string>();
  private readonly warmingClusters = new Set<string>();
  /** Current subscriptions per named type. */
  private readonly wanted: Record<NamedKind, Set<string>> = { rds: new Set(), eds: new Set(), sds: new Set() };
  /**
   * Names loaded over api_config_sources, per type: source -> names. SDS sources are keyed by
   * cluster (or `path:<file>`), RDS/EDS sources by apiSourceKey. `wanted` holds the ADS names.
   */
  private wantedApi: Record<NamedKind, Map<string, Set<string>>> = { rds: new Map(), eds: new Map(), sds: new Map() };
  /** Named resources whose initial fetch timed out ("does not exist" for warming). */
  private readonly timedOut: Record<NamedKind, Set<string>> = { rds: new Set(), eds: new Set(), sds: new Set() };
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly secretRefs: SecretRefExtractor;
  private rdsRefs: readonly RdsRef[] = [];

  constructor(private readonly options: ConfigStoreOptions) {
    const now = options.now ?? Date.now;
    const t = options.translators;
    this.lds = new TypeStore(t.lds, (v) => v.name, now);
    this.rds = new TypeStore(t.rds, (v) => v.name, now);
    this.cds = new TypeStore(t.cds, (v) => v.name, now);
    this.eds = new TypeStore(t.eds, (v) => v.clusterName, now);
    this.sds = new TypeStore(t.sds, (v) => v.name, now);
    this.staticListenerNames = new Set(options.staticListeners.map((l) => l.name));
    this.staticClusterNames = new Set(options.staticClusters.map((c) => c.name));
    this.secretRefs = options.secretRefs ?? defaultSecretRefs;
    for (const c of options.staticClusters) this.countService(c, 1);
    // Static listeners and clusters may name RDS/EDS/SDS resources too (Envoy allows EDS static clusters).
    this.recomputeReferences();
  }

  typeStore(kind: XdsKind): TypeStore<unknown> {
    return this[kind] as TypeStore<unknown>;
  }

  /** Names currently subscribed for a named type (SDS: over ADS only; see sdsApiSources). */
  subscriptions(kind: NamedKind): ReadonlySet<string> {
    return this.wanted[kind];
  }

  /**
   * SDS api_config_sources named by static, active and warming listeners and clusters: the
   * source's cluster -> the secret names to watch on its stream. Changes after apply() of LDS or
   * CDS; the control side compares and re-subscribes.
   */
  sdsApiSources(): ReadonlyMap<string, ReadonlySet<string>> {
    return this.wantedApi.sds;
  }

  /** api_config_sources of a named type -> the names to watch on each source's stream. */
  apiSources(kind: NamedKind): ReadonlyMap<string, ReadonlySet<string>> {
    return this.wantedApi[kind];
  }

  get warmingListenerCount(): number {
    return this.warmingListeners.size;
  }

  get warmingClusterCount(): number {
    return this.warmingClusters.size;
  }

  get activeListenerCount(): number {
    return this.staticListenerNames.size + this.activeListeners.size;
  }

  get activeClusterCount(): number {
    return this.staticClusterNames.size + this.activeClusters.size;
  }

  isStatic(kind: 'lds' | 'cds', name: string): boolean {
    return (kind === 'lds' ? this.staticListenerNames : this.staticClusterNames).has(name);
  }

  isWarming(kind: XdsKind, name: string): boolean {
    if (kind === 'lds') return this.warmingListeners.has(name);
    if (kind === 'cds') return this.warmingClusters.has(name);
    return false;
  }

  /** RDS references with the HCM stat prefixes that use them (for http.<prefix>.rds.<name> stats). */
  rdsReferences(): readonly RdsRef[] {
    return this.rdsRefs;
  }

  apply(kind: XdsKind, update: IncomingUpdate): StoreChange {
    switch (kind) {
      case 'lds':
        return this.applyWildcard('lds', update);
      case 'cds':
        return this.applyWildcard('cds', update);
      case 'rds':
      case 'sds':
      case 'eds':
        return this.applyNamed(kind, update);
    }
  }

  /**
   * apply() for a large response: LDS/CDS are translated in slices that yield to the event loop
   * (TypeStore.prepare), so EDS/RDS updates arriving meanwhile are applied in between, and then
   * committed at once, exactly as apply() would. Other kinds apply synchronously.
   */
  async applyInSlices(kind: XdsKind, update: IncomingUpdate): Promise<StoreChange> {
    if (kind !== 'lds' && kind !== 'cds') return this.apply(kind, update);
    const { input, guard } = this.wildcardInput(kind, update);
    const store = this.typeStore(kind);
    const prepared = await store.prepare(input, guard);
    return this.afterWildcard(kind, store.commit(prepared));
  }

  private wildcardInput(kind: 'lds' | 'cds', update: IncomingUpdate): { input: IncomingUpdate; guard: (name: string) => string | undefined } {
    const statics = kind === 'lds' ? this.staticListenerNames : this.staticClusterNames;
    const what = kind === 'lds' ? 'listener' : 'cluster';
    // Envoy refuses to add, update or remove a bootstrap resource over xDS.
    const guard = (name: string) => (statics.has(name) ? `static ${what} '${name}' cannot be updated or removed over ${kind.toUpperCase()}` : undefined);
    // A static name in a removal is ignored: the server cannot remove what it never owned.
    return { input: { ...update, removed: update.removed.filter((n) => !statics.has(n)) }, guard };
  }

  private applyWildcard(kind: 'lds' | 'cds', update: IncomingUpdate): StoreChange {
    const { input, guard } = this.wildcardInput(kind, update);
    return this.afterWildcard(kind, this.typeStore(kind).apply(input, guard));
  }

  private afterWildcard(kind: 'lds' | 'cds', outcome: TypeApplyOutcome): StoreChange {
    let full = false;
    const warming = kind === 'lds' ? this.warmingListeners : this.warmingClusters;
    for (const name of [...outcome.added, ...outcome.updated]) warming.add(name);
    for (const name of outcome.removed) {
      warming.delete(name);
      if (kind === 'lds') {
        if (this.activeListeners.delete(name)) full = true;
      } else if (this.activeClusters.has(name)) {
        this.setActiveCluster(name, undefined);
        full = true;
      }
    }
    const subs = this.recomputeReferences();
    const warmed = this.promote();
    if (warmed.length > 0) full = true;
    return { kind, outcome, full, endpoints: [], ...subs, warmed };
  }

  /**
   * One response of the api_config_source SDS stream to `source` (a cluster name): same
   * translation, store and warming as ADS-delivered secrets, but only names that source serves.
   */
  applySecrets(source: string, update: IncomingUpdate): StoreChange {
    return this.applyFrom('sds', source, update);
  }

  /** One response of the api_config_source stream `source` for a named type: only its names apply. */
  applyFrom(kind: NamedKind, source: string, update: IncomingUpdate): StoreChange {
    return this.applyNamed(kind, update, this.wantedApi[kind].get(source) ?? new Set());
  }

  private applyNamed(kind: NamedKind, update: IncomingUpdate, want: ReadonlySet<string> = this.wanted[kind]): StoreChange {
    // A SotW response for a named type may carry names we no longer (or never) asked for:
    // Envoy ignores those rather than holding resources nothing refers to.
    const filtered: IncomingUpdate = {
      ...update,
      resources: update.resources.filter((r) => want.has(r.name)),
      removed: update.removed,
    };
    const outcome = this.typeStore(kind).apply(filtered);
    for (const n of [...outcome.added, ...outcome.updated]) this.timedOut[kind].delete(n);
    const warmed = this.promote();
    let full = warmed.length > 0;
    let endpoints: string[] = [];
    if (kind === 'eds') {
      // Clusters that just warmed reach workers in the next snapshot, endpoints included.
      const warmedServices = new Set(warmed.map((n) => this.cds.value(n)).map((c) => (c ? clusterEdsName(c) : undefined)));
      endpoints = [...outcome.added, ...outcome.updated, ...outcome.removed].filter((n) => !warmedServices.has(n));
    } else if (outcome.added.length + outcome.updated.length + outcome.removed.length > 0) {
      full = true;
    }
    return { kind, outcome, full, endpoints, subscribe: {}, unsubscribe: {}, warmed };
  }

  /** Re-derives RDS/EDS/SDS subscriptions from static + active + warming listeners and clusters. */
  private recomputeReferences(): { subscribe: Partial<Record<NamedKind, string[]>>; unsubscribe: Partial<Record<NamedKind, string[]>> } {
    const next: Record<NamedKind, Set<string>> = { rds: new Set(), eds: new Set(), sds: new Set() };
    const nextApi: Record<NamedKind, Map<string, Set<string>>> = { rds: new Map(), eds: new Map(), sds: new Map() };
    const addApi = (kind: NamedKind, source: string, name: string) => {
      let set = nextApi[kind].get(source);
      if (!set) nextApi[kind].set(source, (set = new Set()));
      set.add(name);
    };
    const addSecret = (r: SecretRef) => {
      if (r.source === 'ads') next.sds.add(r.name);
      else if (r.source === 'api' && r.cluster !== undefined) addApi('sds', r.cluster, r.name);
    };
    const rdsRefs: RdsRef[] = [];
    const seenRds = new Set<string>();
    const addListener = (l: ListenerConfig) => {
      for (const r of listenerRdsRefs(l)) {
        if (r.source === undefined) next.rds.add(r.routeConfigName);
        else addApi('rds', r.source, r.routeConfigName);
        const key = `${r.statPrefix}\u0000${r.routeConfigName}`;
        if (!seenRds.has(key)) {
          seenRds.add(key);
          rdsRefs.push(r);
        }
      }
      for (const s of listenerSecretRefs(l, this.secretRefs)) addSecret(s);
    };
    const addCluster = (c: ClusterConfig) => {
      const eds = clusterEdsName(c);
      const source = clusterEdsSource(c);
      if (eds !== undefined && source === undefined) next.eds.add(eds);
      else if (eds !== undefined && source !== undefined) addApi('eds', source, eds);
      for (const s of clusterSecretRefs(c, this.secretRefs)) addSecret(s);
    };
    for (const l of this.options.staticListeners) addListener(l);
    for (const e of this.lds.all()) addListener(e.value);
    for (const l of this.activeListeners.values()) addListener(l);
    for (const c of this.options.staticClusters) addCluster(c);
    for (const e of this.cds.all()) addCluster(e.value);
    for (const c of this.activeClusters.values()) addCluster(c);
    this.rdsRefs = rdsRefs;
    const namesOf = (m: ReadonlyMap<string, ReadonlySet<string>>) => {
      const all = new Set<string>();
      for (const set of m.values()) for (const n of set) all.add(n);
      return all;
    };
    const subscribe: Partial<Record<NamedKind, string[]>> = {};
    const unsubscribe: Partial<Record<NamedKind, string[]>> = {};
    for (const kind of NAMED_KINDS) {
      // Names any api_config_source still loads: the shared per-type store keeps those.
      const apiNames = namesOf(nextApi[kind]);
      const prevApiNames = namesOf(this.wantedApi[kind]);
      const prev = this.wanted[kind];
      const added = [...next[kind]].filter((n) => !prev.has(n));
      const gone = [...prev].filter((n) => !next[kind].has(n));
      if (added.length) subscribe[kind] = added;
      if (gone.length) unsubscribe[kind] = gone;
      // Nothing refers to them: forget them, so a later re-subscribe starts clean (Envoy drops
      // the subscription and its resources together). A name another source still loads stays.
      const forget = [...new Set([...gone, ...[...prevApiNames].filter((n) => !apiNames.has(n))])].filter((n) => !next[kind].has(n) && !apiNames.has(n));
      if (forget.length) {
        this.typeStore(kind).drop(forget);
        for (const n of forget) {
          this.timedOut[kind].delete(n);
          this.clearTimer(kind, n);
        }
      }
      const fresh = [...new Set([...added, ...[...apiNames].filter((n) => !prevApiNames.has(n) && !prev.has(n))])];
      this.wanted[kind] = next[kind];
      this.wantedApi[kind] = nextApi[kind];
      for (const n of fresh) this.startTimer(kind, n);
    }
    return { subscribe, unsubscribe };
  }

  private startTimer(kind: NamedKind, name: string): void {
    const ms = this.options.initialFetchTimeoutMs?.[kind] ?? 0;
    if (ms <= 0 || this.typeStore(kind).has(name)) return;
    const key = `${kind}\u0000${name}`;
    const t = setTimeout(() => {
      this.timers.delete(key);
      if (!this.isWanted(kind, name) || this.typeStore(kind).has(name)) return;
      this.timedOut[kind].add(name);
      const warmed = this.promote();
      if (warmed.length > 0) {
        this.options.onAsyncChange?.({ kind, outcome: { added: [], updated: [], removed: [], unchanged: 0, errors: [] }, full: true, endpoints: [], subscribe: {}, unsubscribe: {}, warmed });
      }
    }, ms);
    t.unref();
    this.timers.set(key, t);
  }

  private clearTimer(kind: NamedKind, name: string): void {
    const key = `${kind}\u0000${name}`;
    const t = this.timers.get(key);
    if (t) {
      clearTimeout(t);
      this.timers.delete(key);
    }
  }

  private isWanted(kind: NamedKind, name: string): boolean {
    if (this.wanted[kind].has(name)) return true;
    for (const set of this.wantedApi[kind].values()) if (set.has(name)) return true;
    return false;
  }

  private available(kind: NamedKind, name: string): boolean {
    return this.typeStore(kind).has(name) || this.timedOut[kind].has(name);
  }

  /**
   * Whether a listener or cluster waits for this secret: ADS secrets and secrets of an SDS
   * source the control side serves (Envoy's SDS init target; with initial_fetch_timeout 0s, as
   * Istio sets, it waits until the secret arrives). Path and unknown sources do not hold warming.
   */
  private secretReady(r: SecretRef): boolean {
    if (r.source === 'ads') return this.available('sds', r.name);
    if (r.source === 'api' && r.cluster !== undefined && (this.options.sdsSourceServed?.(r.cluster) ?? true)) return this.available('sds', r.name);
    return true;
  }

  /** Whether an RDS/EDS source (unset = ADS) is one the control side streams from. */
  private sourceServed(kind: 'rds' | 'eds', source: string | undefined): boolean {
    return source === undefined || (this.options.apiSourceServed?.(kind, source) ?? true);
  }

  /** Moves every warming listener/cluster whose dependencies are all present to active. */
  private promote(): string[] {
    const warmed: string[] = [];
    for (const name of this.warmingClusters) {
      const c = this.cds.value(name);
      if (!c) {
        this.warmingClusters.delete(name);
        continue;
      }
      const eds = clusterEdsName(c);
      if (eds !== undefined && !this.available('eds', eds) && this.sourceServed('eds', clusterEdsSource(c))) continue;
      if (!clusterSecretRefs(c, this.secretRefs).every((s) => this.secretReady(s))) continue;
      this.warmingClusters.delete(name);
      this.setActiveCluster(name, c);
      warmed.push(name);
    }
    for (const name of this.warmingListeners) {
      const l = this.lds.value(name);
      if (!l) {
        this.warmingListeners.delete(name);
        continue;
      }
      if (!listenerRdsRefs(l).every((r) => this.available('rds', r.routeConfigName) || !this.sourceServed('rds', r.source))) continue;
      if (!listenerSecretRefs(l, this.secretRefs).every((s) => this.secretReady(s))) continue;
      this.warmingListeners.delete(name);
      this.activeListeners.set(name, l);
      warmed.push(name);
    }
    return warmed;
  }

  /**
   * The active set for the snapshot builder: static resources first, then dynamic ones in name
   * order, so the same resources give the same snapshot whatever order they arrived in (delta
   * and SotW streams, reconnects).
   */
  parts(): SnapshotParts {
    const endpoints: Record<string, EndpointSetConfig> = {};
    for (const name of [...this.eds.names()].sort()) endpoints[name] = this.eds.value(name)!;
    const versions: Record<string, string> = {};
    for (const k of XDS_KINDS) {
      const v = this.typeStore(k).versionInfo;
      if (v) versions[k] = v;
    }
    return {
      listeners: [...this.options.staticListeners, ...byName(this.activeListeners)],
      routeConfigs: [...this.rds.names()].sort().map((n) => this.rds.value(n)!),
      clusters: [...this.options.staticClusters, ...byName(this.activeClusters)],
      endpoints,
      secrets: [...(this.options.staticSecrets ?? []), ...[...this.sds.names()].sort().map((n) => this.sds.value(n)!)],
      versions,
    };
  }

  /** Endpoints of one EDS service as workers should see them (empty when removed). */
  endpointsFor(serviceName: string): EndpointSetConfig {
    return this.eds.value(serviceName) ?? emptyEndpointSet(serviceName);
  }

  /** True when an active cluster loads this EDS service (only those need a worker delta). */
  isServiceActive(serviceName: string): boolean {
    return (this.activeServices.get(serviceName) ?? 0) > 0;
  }

  private setActiveCluster(name: string, c: ClusterConfig | undefined): void {
    const old = this.activeClusters.get(name);
    if (old) this.countService(old, -1);
    if (c) {
      this.activeClusters.set(name, c);
      this.countService(c, 1);
    } else {
      this.activeClusters.delete(name);
    }
  }

  private countService(c: ClusterConfig, delta: number): void {
    const s = clusterEdsName(c);
    if (s === undefined) return;
    const n = (this.activeServices.get(s) ?? 0) + delta;
    if (n > 0) this.activeServices.set(s, n);
    else this.activeServices.delete(s);
  }

  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
