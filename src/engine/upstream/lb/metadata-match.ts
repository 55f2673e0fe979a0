// Route metadata_match criteria for the subset load balancer (Envoy Router::MetadataMatchCriteria
// and MetadataMatchCriteriaImpl, source/common/router/metadatamatchcriteria_impl.cc): the
// `envoy.lb` fields of RouteAction.metadata_match, merged with a weighted cluster entry's own
// metadata_match (the entry's values win, key by key), sorted by name.
//
// Data path: the HTTP router asks metadataMatchForRoute() once per host pick; the answer is
// compiled on first use and cached per compiled route / weighted entry (WeakMap), then travels in
// LbContext.metadataMatch to SubsetLoadBalancer, which looks subsets up by `key`. Criteria the
// subset LB derives at pick time (KEYS_SUBSET filtering) are cached on the criteria object, so
// steady-state picks allocate nothing.
import type { MetadataConfig } from '../../../config/model/route';

/** The metadata namespace subsets are defined in (Envoy MetadataFilters::ENVOY_LB). */
export const ENVOY_LB = 'envoy.lb';
/** The criterion naming the metadata fallback list (Envoy MetadataEnvoyLbKeys::FALLBACK_LIST). */
export const FALLBACK_LIST_KEY = 'fallback_list';

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/**
 * Identity of one metadata value. Envoy compares protobuf Values (HashedValue): a string "1" and
 * a number 1 differ, structs compare field by field whatever their order.
 */
export function valueKey(v: unknown): string {
  if (typeof v === 'string') return `s${v}`;
  if (typeof v === 'number') return `n${v}`;
  if (typeof v === 'boolean') return v ? 'bt' : 'bf';
  if (v === null || v === undefined) return 'z';
  return `j${stableJson(v)}`;
}

/** One "name=value" piece of a subset key; a subset key is these pieces in name order. */
export function subsetKeyPart(name: string, vkey: string): string {
  return `${name}\u0000${vkey}\u0001`;
}

/** The key of a set of names (for the per-selector fallback lookup). */
export function namesKey(names: readonly string[]): string {
  let s = '';
  for (const n of names) s += `${n}\u0001`;
  return s;
}

export class MetadataMatchCriteria {
  /** Criterion names, sorted. */
  readonly names: readonly string[];
  /** Values, parallel to names (JSON). */
  readonly values: readonly unknown[];
  /** Subset lookup key: every name=value in name order. */
  readonly key: string;
  /** The name set's key (selector fallback lookup). */
  readonly namesKey: string;
  private fallbacks: { readonly base: MetadataMatchCriteria | null; readonly list: readonly MetadataMatchCriteria[] } | null | undefined;
  private filtered: Map<string, MetadataMatchCriteria | null> | null = null;

  private constructor(entries: readonly (readonly [string, unknown])[]) {
    const sorted = [...entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    this.names = sorted.map((e) => e[0]);
    this.values = sorted.map((e) => e[1]);
    let key = '';
    for (const [n, v] of sorted) key += subsetKeyPart(n, valueKey(v));
    this.key = key;
    this.namesKey = namesKey(this.names);
  }

  /** Criteria from the `envoy.lb` struct; null when it has no fields (same as no criteria). */
  static fromFields(fields: Readonly<Record<string, unknown>> | undefined): MetadataMatchCriteria | null {
    if (!fields) return null;
    const entries = Object.entries(fields);
    return entries.length === 0 ? null : new MetadataMatchCriteria(entries);
  }

  /** Envoy mergeMatchCriteria: these criteria with `fields` added, replacing same-named ones. */
  merge(fields: Readonly<Record<string, unknown>>): MetadataMatchCriteria {
    const m = new Map<string, unknown>();
    this.names.forEach((n, i) => m.set(n, this.values[i]));
    for (const [k, v] of Object.entries(fields)) m.set(k, v);
    return new MetadataMatchCriteria([...m]);
  }

  /**
   * Envoy filterMatchCriteria: only the criteria named in `keys` (sorted); null when none is left.
   * Cached by `cacheKey` (the selector's key set), so repeated fallbacks do not allocate.
   */
  filter(keys: readonly string[], cacheKey: string): MetadataMatchCriteria | null {
    let cache = this.filtered;
    if (cache === null) cache = this.filtered = new Map();
    let out = cache.get(cacheKey);
    if (out !== undefined) return out;
    const entries: [string, unknown][] = [];
    this.names.forEach((n, i) => {
      if (keys.includes(n)) entries.push([n, this.values[i]]);
    });
    out = entries.length === 0 ? null : new MetadataMatchCriteria(entries);
    cache.set(cacheKey, out);
    return out;
  }

  /**
   * metadata_fallback_policy FALLBACK_LIST: when a `fallback_list` criterion holds a list, the
   * criteria without it (`base`) and, for each struct in the list, `base` merged with that struct
   * (Envoy SubsetLoadBalancer::chooseHost). null when there is no fallback_list criterion.
   */
  fallbackList(): { readonly base: MetadataMatchCriteria | null; readonly list: readonly MetadataMatchCriteria[] } | null {
    if (this.fallbacks !== undefined) return this.fallbacks;
    const i = this.names.indexOf(FALLBACK_LIST_KEY);
    if (i < 0) return (this.fallbacks = null);
    const rest: [string, unknown][] = [];
    this.names.forEach((n, j) => {
      if (j !== i) rest.push([n, this.values[j]]);
    });
    const base = rest.length === 0 ? null : new MetadataMatchCriteria(rest);
    const raw = this.values[i];
    const list: MetadataMatchCriteria[] = [];
    if (Array.isArray(raw)) {
      for (const item of raw) {
        const fields = item !== null && typeof item === 'object' && !Array.isArray(item) ? (item as Record<string, unknown>) : {};
        const merged = base ? base.merge(fields) : MetadataMatchCriteria.fromFields(fields);
        if (merged) list.push(merged);
      }
    }
    return (this.fallbacks = { base, list });
  }
}

/** The `envoy.lb` fields of a Metadata model, if it is a struct. */
export function envoyLbFields(md: MetadataConfig | Readonly<Record<string, unknown>> | undefined): Readonly<Record<string, unknown>> | undefined {
  const f = md?.[ENVOY_LB];
  return f !== null && typeof f === 'object' && !Array.isArray(f) ? (f as Record<string, unknown>) : undefined;
}

/** RouteAction.metadata_match -> criteria (Envoy RouteEntryImplBase). */
export function compileMetadataMatch(md: MetadataConfig | undefined): MetadataMatchCriteria | null {
  return MetadataMatchCriteria.fromFields(envoyLbFields(md));
}

/** A weighted cluster entry's criteria: its own `envoy.lb` merged over the route's (Envoy
 * WeightedClusterEntry), or the route's when it has none. */
export function mergeMetadataMatch(parent: MetadataMatchCriteria | null, md: MetadataConfig | undefined): MetadataMatchCriteria | null {
  const fields = envoyLbFields(md);
  if (!fields) return parent;
  return parent ? parent.merge(fields) : MetadataMatchCriteria.fromFields(fields);
}

const CACHE = new WeakMap<object, MetadataMatchCriteria | null>();

/**
 * Criteria for a route match, compiled once per route (`route` is the compiled route object,
 * `weighted` the chosen weighted cluster entry or null) and cached on those objects' identity.
 */
export function metadataMatchForRoute(
  route: object,
  routeMd: MetadataConfig | undefined,
  weighted: object | null,
  weightedMd: MetadataConfig | undefined,
): MetadataMatchCriteria | null {
  let c = CACHE.get(route);
  if (c === undefined) {
    c = compileMetadataMatch(routeMd);
    CACHE.set(route, c);
  }
  if (weighted === null || weightedMd === undefined) return c;
  let w = CACHE.get(weighted);
  if (w === undefined) {
    w = mergeMetadataMatch(c, weightedMd);
    CACHE.set(weighted, w);
  }
  return w;
}
