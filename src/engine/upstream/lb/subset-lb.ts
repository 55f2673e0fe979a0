// Cluster.lb_subset_config: the subset load balancer (Envoy source/extensions/
// load_balancing_policies/subset/subset_lb.cc), worker side, in front of the cluster's own LB.
//
//   router -> ClusterRuntime.chooseHost(ctx with metadataMatch) -> SubsetLoadBalancer
//     subset whose name=value set equals the criteria   -> its inner LB   (lb_subsets_selected)
//     else the selector with exactly the criteria's keys -> its fallback_policy
//          (NO_FALLBACK, ANY_ENDPOINT, DEFAULT_SUBSET, or KEYS_SUBSET: retry with fewer keys)
//     else the cluster fallback_policy: default subset / any endpoint (lb_subsets_fallback),
//          then with panic_mode_any every host (lb_subsets_fallback_panic)
//
// Subsets come from endpoint metadata under `envoy.lb`: for each selector, a host with a value
// for every key joins the subset named by those key=value pairs (with list_as_any, a list value
// puts it in one subset per element). Every subset keeps its hosts' priorities, health and
// localities (a PrioritySet of its own) and an inner LB of the cluster's policy, so health,
// panic and priority failover work inside a subset as in Envoy. Subsets are recomputed on every
// refresh (membership, health, weight or metadata change); a subset that stays keeps its inner
// LB (round-robin cursors survive), one that loses its last host is removed.
//
// chooseHost() allocates nothing once the criteria's derived forms are cached.
import type { LbSubsetConfig, LbSubsetSelectorConfig } from '../../../config/model/cluster';
import type { Counter } from '../../../stats/counter';
import type { Gauge } from '../../../stats/gauge';
import type { StatsScope } from '../../../stats/stats-store';
import { createLoadBalancer } from './create-load-balancer';
import { newLbStats, type LbContext, type LbEnvironment, type LbHost, type LbOptions, type LbPolicyKind, type LbStats, type LoadBalancer, type RandomGenerator } from './lb-types';
import { envoyLbFields, namesKey, subsetKeyPart, valueKey, type MetadataMatchCriteria } from './metadata-match';
import { buildPrioritySet, type HostSet, type PrioritySet } from './priority-set';
import { MathRandomGenerator } from './random-generator';

/** Envoy's subset stats (cluster.<name>.lb_subsets_*). */
export interface SubsetLbStats {
  readonly active: Gauge;
  readonly created: Counter;
  readonly removed: Counter;
  readonly selected: Counter;
  readonly fallback: Counter;
  readonly fallbackPanic: Counter;
  readonly singleHostPerSubsetDuplicate: Gauge;
}

export function subsetLbStats(clusterScope: StatsScope): SubsetLbStats {
  return {
    active: clusterScope.gauge('lb_subsets_active'),
    created: clusterScope.counter('lb_subsets_created'),
    removed: clusterScope.counter('lb_subsets_removed'),
    selected: clusterScope.counter('lb_subsets_selected'),
    fallback: clusterScope.counter('lb_subsets_fallback'),
    fallbackPanic: clusterScope.counter('lb_subsets_fallback_panic'),
    singleHostPerSubsetDuplicate: clusterScope.gauge('lb_subsets_single_host_per_subset_duplicate'),
  };
}

/** A subset key made readable: `stage="prod",version="v1"`. */
export function describeSubsetKey(key: string): string {
  const parts: string[] = [];
  for (const piece of key.split('\u0001')) {
    if (piece === '') continue;
    const i = piece.indexOf('\u0000');
    const vk = piece.slice(i + 1);
    const t = vk[0];
    const v = t === 's' ? JSON.stringify(vk.slice(1)) : t === 'n' ? vk.slice(1) : t === 'b' ? String(vk === 'bt') : t === 'z' ? 'null' : vk.slice(1);
    parts.push(`${piece.slice(0, i)}=${v}`);
  }
  return parts.join(',');
}

interface SubsetEntry {
  /** single_host_per_subset: the one host, picked whatever its health (Envoy SingleHostLbSubset). */
  single: LbHost | null;
  lb: LoadBalancer | null;
  hostCount: number;
  readonly singleHostMode: boolean;
}

interface SelectorFallback {
  readonly policy: LbSubsetSelectorConfig['fallbackPolicy'];
  readonly keys: readonly string[];
  readonly keysId: string;
}

export class SubsetLoadBalancer implements LoadBalancer {
  readonly policy: LbPolicyKind;
  /** lbHealthyPanic sums the inner LBs' panics; the hashing gauges mirror the any-endpoint LB. */
  readonly stats: LbStats = newLbStats();
  private readonly selectors: readonly LbSubsetSelectorConfig[];
  private readonly selectorFallbacks = new Map<string, SelectorFallback>();
  private readonly innerOptions: LbOptions;
  private readonly needAny: boolean;
  private readonly needDefault: boolean;
  private readonly defaultSubset: readonly (readonly [string, string])[];
  private subsets = new Map<string, SubsetEntry>();
  private anyLb: LoadBalancer | null = null;
  private defaultLb: LoadBalancer | null = null;

  constructor(
    private readonly config: LbSubsetConfig,
    options: LbOptions,
    prioritySet: PrioritySet,
    private readonly subsetStats: SubsetLbStats,
    private readonly random: RandomGenerator = new MathRandomGenerator(),
    /** Clock, local cluster and zone counters for the inner LBs (Envoy hands subsets the local
     * priority set too, so they route by zone; slow start runs per subset LB). */
    private readonly env: LbEnvironment = {},
  ) {
    this.policy = options.policy;
    // locality_weight_aware off: subsets carry no locality weights (Envoy), so the inner LBs do
    // not pick by locality even when the cluster asks for locality weighted LB.
    this.innerOptions = { ...options, localityWeightedLb: !!options.localityWeightedLb && config.localityWeightAware };
    this.selectors = config.subsetSelectors.map((s) => ({ ...s, keys: [...s.keys].sort(), fallbackKeysSubset: [...s.fallbackKeysSubset].sort() }));
    // Envoy keeps selector fallbacks in a trie by sorted keys, and only the selector that
    // creates a key path's last node sets its fallback: a later selector whose keys are a prefix
    // of an earlier one's (or repeat them) keeps NOT_DEFINED. Replicated here.
    const created = new Set<string>();
    for (const sel of this.selectors) {
      let path = '';
      sel.keys.forEach((k, i) => {
        path += `${k}\u0001`;
        if (created.has(path)) return;
        created.add(path);
        if (i === sel.keys.length - 1) this.selectorFallbacks.set(path, { policy: sel.fallbackPolicy, keys: sel.fallbackKeysSubset, keysId: namesKey(sel.fallbackKeysSubset) });
      });
    }
    const selPolicies = this.selectors.map((s) => s.fallbackPolicy);
    this.needAny = config.fallbackPolicy === 'ANY_ENDPOINT' || config.panicModeAny || selPolicies.includes('ANY_ENDPOINT');
    this.needDefault = config.fallbackPolicy === 'DEFAULT_SUBSET' || selPolicies.includes('DEFAULT_SUBSET');
    this.defaultSubset = Object.entries(config.defaultSubset).map(([k, v]) => [k, valueKey(v)] as const);
    this.refresh(prioritySet);
  }

  /** Current subsets, described as `k1=v1,k2=v2` (values as JSON), with their host counts. */
  subsetSizes(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [k, e] of this.subsets) out.set(describeSubsetKey(k), e.hostCount);
    return out;
  }

  refresh(ps: PrioritySet): void {
    const all: LbHost[] = [];
    for (const hs of ps.hostSets) for (const h of hs.hosts) all.push(h);
    if (this.needAny) {
      if (this.anyLb) this.anyLb.refresh(ps);
      else this.anyLb = createLoadBalancer(this.innerOptions, ps, this.random, this.env);
      const s = this.anyLb.stats;
      this.stats.ringSize = s.ringSize;
      this.stats.minHashesPerHost = s.minHashesPerHost;
      this.stats.maxHashesPerHost = s.maxHashesPerHost;
      this.stats.minEntriesPerHost = s.minEntriesPerHost;
      this.stats.maxEntriesPerHost = s.maxEntriesPerHost;
    }
    if (this.needDefault) {
      const sub = this.subsetPrioritySet(
        all.filter((h) => this.matchesDefault(h)),
        ps,
      );
      if (this.defaultLb) this.defaultLb.refresh(sub);
      else this.defaultLb = createLoadBalancer(this.innerOptions, sub, this.random, this.env);
    }

    // Group hosts by subset key, selector by selector (Envoy processSubsets).
    const groups = new Map<string, { hosts: LbHost[]; single: boolean }>();
    let duplicates = 0;
    for (const h of all) {
      const md = envoyLbFields(h.metadata);
      if (md === undefined) continue;
      for (const sel of this.selectors) {
        for (const key of this.subsetKeysOf(sel.keys, md)) {
          let g = groups.get(key);
          if (g === undefined) {
            g = { hosts: [], single: this.subsets.get(key)?.singleHostMode ?? sel.singleHostPerSubset };
            groups.set(key, g);
          }
          if (g.hosts[g.hosts.length - 1] === h) continue; // same host via another selector
          if (g.single && g.hosts.length > 0) {
            duplicates++;
            continue;
          }
          g.hosts.push(h);
        }
      }
    }
    const next = new Map<string, SubsetEntry>();
    for (const [key, g] of groups) {
      let e = this.subsets.get(key);
      if (e === undefined) {
        e = { single: null, lb: null, hostCount: 0, singleHostMode: g.single };
        this.subsetStats.created.inc();
      }
      e.hostCount = g.hosts.length;
      if (e.singleHostMode) {
        e.single = g.hosts[0]!;
      } else {
        const sub = this.subsetPrioritySet(g.hosts, ps);
        if (e.lb) e.lb.refresh(sub);
        else e.lb = createLoadBalancer(this.innerOptions, sub, this.random, this.env);
      }
      next.set(key, e);
    }
    for (const key of this.subsets.keys()) if (!next.has(key)) this.subsetStats.removed.inc();
    this.subsets = next;
    this.subsetStats.active.set(next.size);
    this.subsetStats.singleHostPerSubsetDuplicate.set(duplicates);
  }

  chooseHost(ctx: LbContext | null): LbHost | null {
    const mm = ctx === null ? null : ctx.metadataMatch ?? null;
    if (mm !== null && this.config.metadataFallbackPolicy === 'FALLBACK_LIST') {
      const fl = mm.fallbackList();
      if (fl !== null) {
        if (fl.list.length === 0) return this.chooseIteration(ctx, fl.base);
        for (let i = 0; i < fl.list.length; i++) {
          const h = this.chooseIteration(ctx, fl.list[i]!);
          if (h !== null) return h;
        }
        return null;
      }
    }
    return this.chooseIteration(ctx, mm);
  }

  /** Envoy chooseHostIteration. */
  private chooseIteration(ctx: LbContext | null, mm: MetadataMatchCriteria | null): LbHost | null {
    if (mm !== null) {
      const e = this.subsets.get(mm.key);
      if (e !== undefined) {
        // A matching subset decides, even when its LB finds no usable host.
        this.subsetStats.selected.inc();
        return e.single ?? this.pick(e.lb!, ctx);
      }
      const fb = this.selectorFallbacks.get(mm.namesKey);
      if (fb !== undefined && fb.policy !== 'NOT_DEFINED') {
        switch (fb.policy) {
          case 'ANY_ENDPOINT':
            return this.anyLb === null ? null : this.pick(this.anyLb, ctx);
          case 'DEFAULT_SUBSET':
            return this.defaultLb === null ? null : this.pick(this.defaultLb, ctx);
          case 'KEYS_SUBSET':
            return this.chooseIteration(ctx, mm.filter(fb.keys, fb.keysId));
          default:
            return null; // NO_FALLBACK
        }
      }
    }
    const fallback = this.config.fallbackPolicy === 'ANY_ENDPOINT' ? this.anyLb : this.config.fallbackPolicy === 'DEFAULT_SUBSET' ? this.defaultLb : null;
    if (fallback === null) return null;
    let h = this.pick(fallback, ctx);
    if (h !== null) {
      this.subsetStats.fallback.inc();
      return h;
    }
    if (this.config.panicModeAny && this.anyLb !== null) {
      h = this.pick(this.anyLb, ctx);
      if (h !== null) {
        this.subsetStats.fallbackPanic.inc();
        return h;
      }
    }
    return null;
  }

  private pick(lb: LoadBalancer, ctx: LbContext | null): LbHost | null {
    const before = lb.stats.lbHealthyPanic;
    const h = lb.chooseHost(ctx);
    const d = lb.stats.lbHealthyPanic - before;
    if (d !== 0) this.stats.lbHealthyPanic += d;
    return h;
  }

  /**
   * The subset keys a host belongs to for one selector (Envoy extractSubsetMetadata): none when a
   * key is missing; with list_as_any, one per combination of list elements.
   */
  private subsetKeysOf(keys: readonly string[], md: Readonly<Record<string, unknown>>): string[] {
    let acc = [''];
    for (const k of keys) {
      if (!Object.prototype.hasOwnProperty.call(md, k)) return [];
      const v = md[k];
      if (this.config.listAsAny && Array.isArray(v)) {
        const out: string[] = [];
        for (const prefix of acc) for (const item of v) out.push(prefix + subsetKeyPart(k, valueKey(item)));
        acc = out;
      } else {
        const part = subsetKeyPart(k, valueKey(v));
        for (let i = 0; i < acc.length; i++) acc[i] += part;
      }
      if (acc.length === 0) return acc;
    }
    return acc;
  }

  /** Envoy Config::Metadata::metadataLabelMatch over default_subset (empty matches every host). */
  private matchesDefault(h: LbHost): boolean {
    if (this.defaultSubset.length === 0) return true;
    const md = envoyLbFields(h.metadata);
    if (md === undefined) return false;
    for (const [k, want] of this.defaultSubset) {
      if (!Object.prototype.hasOwnProperty.call(md, k)) return false;
      const v = md[k];
      if (valueKey(v) === want) continue;
      if (this.config.listAsAny && Array.isArray(v) && v.some((x) => valueKey(x) === want)) continue;
      return false;
    }
    return true;
  }

  /**
   * A subset's PrioritySet: its hosts with their priorities, health and localities, the
   * cluster's overprovisioning factor, and with scale_locality_weight each locality's weight
   * scaled by the share of the locality's hosts in the subset, rounded (Envoy
   * HostSubsetImpl::determineLocalityWeights).
   */
  private subsetPrioritySet(hosts: readonly LbHost[], cluster: PrioritySet): PrioritySet {
    const first = cluster.hostSets[0];
    const local = cluster.hostSets.find((hs) => hs.hasLocalLocality);
    const ps = buildPrioritySet(hosts, {
      ...(first ? { overprovisioningFactor: first.overprovisioningFactor, weightedPriorityHealth: first.weightedPriorityHealth } : {}),
      ...(local ? { localLocalityKey: local.localityKeys[0]! } : {}),
    });
    if (!this.config.localityWeightAware || !this.config.scaleLocalityWeight) return ps;
    const hostSets: HostSet[] = ps.hostSets.map((hs) => {
      const orig = cluster.hostSets[hs.priority];
      if (!orig) return hs;
      const localityWeights = hs.localityKeys.map((lk, i) => {
        const oi = orig.localityKeys.indexOf(lk);
        const total = oi < 0 ? 0 : orig.hostsPerLocality[oi]!.length;
        if (total === 0) return 0;
        return Math.round((orig.localityWeights[oi]! * hs.hostsPerLocality[i]!.length) / total);
      });
      return { ...hs, localityWeights };
    });
    return { hostSets, hostCount: ps.hostCount };
  }
}
