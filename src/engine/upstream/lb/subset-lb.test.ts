// SubsetLoadBalancer over hosts carrying envoy.lb metadata (version v1/v2, stage prod/canary):
// selection by route criteria, the cluster fallback policies, default subset, panic_mode_any,
// per-selector fallbacks (incl. KEYS_SUBSET), list_as_any, single_host_per_subset, the metadata
// fallback list, subset rebuilds on host changes with their stats, scale_locality_weight, and
// the route/weighted-cluster criteria merge.
import type { LbSubsetConfig, LbSubsetSelectorConfig } from '../../../config/model/cluster';
import { StatsStore } from '../../../stats/stats-store';
import type { HostHealth, LbContext, LbHost, LbOptions } from './lb-types';
import { compileMetadataMatch, mergeMetadataMatch, MetadataMatchCriteria, metadataMatchForRoute } from './metadata-match';
import { buildPrioritySet } from './priority-set';
import { SeededRandomGenerator } from './random-generator';
import { SubsetLoadBalancer, subsetLbStats } from './subset-lb';

class TestHost implements LbHost {
  activeRequests = 0;
  hostname = '';
  weight = 1;
  priority = 0;
  constructor(
    readonly addressKey: string,
    public metadata: Record<string, unknown>,
    public health: HostHealth = 'healthy',
    readonly localityKey = '',
    readonly localityWeight = 0,
  ) {}
}

const lbmd = (fields: Record<string, unknown>) => ({ 'envoy.lb': fields });
const v1prod = new TestHost('10.0.0.1:80', lbmd({ version: 'v1', stage: 'prod' }));
const v1canary = new TestHost('10.0.0.2:80', lbmd({ version: 'v1', stage: 'canary' }));
const v2prod = new TestHost('10.0.0.3:80', lbmd({ version: 'v2', stage: 'prod' }));
const v2canary = new TestHost('10.0.0.4:80', lbmd({ version: 'v2', stage: 'canary' }));
const plain = new TestHost('10.0.0.5:80', {});
const HOSTS = [v1prod, v1canary, v2prod, v2canary, plain];

const sel = (keys: string[], extra: Partial<LbSubsetSelectorConfig> = {}): LbSubsetSelectorConfig => ({ keys, singleHostPerSubset: false, fallbackPolicy: 'NOT_DEFINED', fallbackKeysSubset: [], ...extra });

function config(extra: Partial<LbSubsetConfig> = {}): LbSubsetConfig {
  return {
    fallbackPolicy: 'NO_FALLBACK',
    defaultSubset: {},
    subsetSelectors: [sel(['version']), sel(['stage', 'version'])],
    localityWeightAware: false,
    scaleLocalityWeight: false,
    panicModeAny: false,
    listAsAny: false,
    metadataFallbackPolicy: 'METADATA_NO_FALLBACK',
    ...extra,
  };
}

function setup(cfg: LbSubsetConfig, hosts: LbHost[] = HOSTS, options: LbOptions = { policy: 'ROUND_ROBIN' }) {
  const store = new StatsStore();
  const scope = store.scope('cluster.c.');
  const lb = new SubsetLoadBalancer(cfg, options, buildPrioritySet(hosts), subsetLbStats(scope), new SeededRandomGenerator(7));
  const stat = (n: string) => store.counter(`cluster.c.${n}`).value;
  const gauge = (n: string) => store.gauge(`cluster.c.${n}`).value;
  return { lb, stat, gauge };
}

const ctx = (fields: Record<string, unknown> | null): LbContext => ({ hasHash: false, hashHi: 0, hashLo: 0, attempt: 0, metadataMatch: fields ? MetadataMatchCriteria.fromFields(fields) : null });

/** Picks n times; the set of hosts seen ('none' for null). */
function picked(lb: SubsetLoadBalancer, c: LbContext | null, n = 40): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const k = lb.chooseHost(c)?.addressKey ?? 'none';
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}
const keys = (m: Map<string, number>) => [...m.keys()].sort();

describe('SubsetLoadBalancer: selection', () => {
  test('builds one subset per selector and distinct key=value set; criteria pick only matching hosts', () => {
    const { lb, stat, gauge } = setup(config());
    expect([...lb.subsetSizes()].sort()).toEqual([
      ['stage="canary",version="v1"', 1],
      ['stage="canary",version="v2"', 1],
      ['stage="prod",version="v1"', 1],
      ['stage="prod",version="v2"', 1],
      ['version="v1"', 2],
      ['version="v2"', 2],
    ]);
    expect(gauge('lb_subsets_active')).toBe(6);
    expect(stat('lb_subsets_created')).toBe(6);
    const v2 = picked(lb, ctx({ version: 'v2' }));
    expect(keys(v2)).toEqual([v2prod.addressKey, v2canary.addressKey]);
    expect(v2.get(v2prod.addressKey)).toBe(20); // round robin inside the subset
    expect(keys(picked(lb, ctx({ stage: 'canary', version: 'v1' })))).toEqual([v1canary.addressKey]);
    expect(stat('lb_subsets_selected')).toBe(80);
    expect(stat('lb_subsets_fallback')).toBe(0);
  });

  test('values compare by type: the number 2 does not match the string "2"', () => {
    const h = new TestHost('10.0.1.1:80', lbmd({ version: 2 }));
    const { lb } = setup(config({ subsetSelectors: [sel(['version'])] }), [h]);
    expect(lb.chooseHost(ctx({ version: '2' }))).toBeNull();
    expect(lb.chooseHost(ctx({ version: 2 }))).toBe(h);
  });

  test('a matching subset decides even when all its hosts are unhealthy (inner panic, no fallback)', () => {
    const sick = new TestHost('10.0.1.2:80', lbmd({ version: 'v3' }), 'unhealthy');
    const { lb, stat } = setup(config({ fallbackPolicy: 'ANY_ENDPOINT' }), [...HOSTS, sick]);
    expect(keys(picked(lb, ctx({ version: 'v3' }), 5))).toEqual([sick.addressKey]);
    expect(lb.stats.lbHealthyPanic).toBe(5);
    expect(stat('lb_subsets_fallback')).toBe(0);
  });
});

describe('SubsetLoadBalancer: cluster fallback_policy', () => {
  test('NO_FALLBACK: no criteria or no matching subset -> no host', () => {
    const { lb, stat } = setup(config());
    expect(lb.chooseHost(null)).toBeNull();
    expect(lb.chooseHost(ctx({ version: 'v9' }))).toBeNull();
    expect(stat('lb_subsets_fallback')).toBe(0);
  });

  test('ANY_ENDPOINT: every host, with or without metadata; counts lb_subsets_fallback', () => {
    const { lb, stat } = setup(config({ fallbackPolicy: 'ANY_ENDPOINT' }));
    expect(keys(picked(lb, ctx({ version: 'v9' }), 50))).toEqual(HOSTS.map((h) => h.addressKey).sort());
    expect(keys(picked(lb, null, 5)).length).toBe(5);
    expect(stat('lb_subsets_fallback')).toBe(55);
  });

  test('DEFAULT_SUBSET: hosts matching default_subset', () => {
    const { lb, stat } = setup(config({ fallbackPolicy: 'DEFAULT_SUBSET', defaultSubset: { stage: 'prod' } }));
    expect(keys(picked(lb, ctx({ version: 'v9' })))).toEqual([v1prod.addressKey, v2prod.addressKey]);
    expect(keys(picked(lb, null))).toEqual([v1prod.addressKey, v2prod.addressKey]);
    expect(stat('lb_subsets_fallback')).toBe(80);
  });

  test('DEFAULT_SUBSET matching no host: no host, or any host with panic_mode_any (lb_subsets_fallback_panic)', () => {
    const none = setup(config({ fallbackPolicy: 'DEFAULT_SUBSET', defaultSubset: { stage: 'qa' } }));
    expect(none.lb.chooseHost(null)).toBeNull();
    const panic = setup(config({ fallbackPolicy: 'DEFAULT_SUBSET', defaultSubset: { stage: 'qa' }, panicModeAny: true }));
    expect(keys(picked(panic.lb, ctx({ version: 'v9' }), 50)).length).toBe(5);
    expect(panic.stat('lb_subsets_fallback')).toBe(0);
    expect(panic.stat('lb_subsets_fallback_panic')).toBe(50);
  });

  test('an empty default_subset matches every host', () => {
    const { lb } = setup(config({ fallbackPolicy: 'DEFAULT_SUBSET' }));
    expect(keys(picked(lb, null, 50)).length).toBe(5);
  });
});

describe('SubsetLoadBalancer: selector fallback_policy', () => {
  test('KEYS_SUBSET retries with the listed keys only', () => {
    const cfg = config({ subsetSelectors: [sel(['stage', 'version'], { fallbackPolicy: 'KEYS_SUBSET', fallbackKeysSubset: ['version'] }), sel(['version'])] });
    const { lb, stat } = setup(cfg);
    const c = ctx({ version: 'v2', stage: 'qa' });
    expect(keys(picked(lb, c))).toEqual([v2prod.addressKey, v2canary.addressKey]);
    expect(stat('lb_subsets_selected')).toBe(40);
    // Still no host when the reduced criteria match nothing either (cluster NO_FALLBACK).
    expect(lb.chooseHost(ctx({ version: 'v9', stage: 'qa' }))).toBeNull();
  });

  test('NO_FALLBACK on the selector overrides the cluster ANY_ENDPOINT; other key sets keep the cluster policy', () => {
    const cfg = config({ fallbackPolicy: 'ANY_ENDPOINT', subsetSelectors: [sel(['stage', 'version'], { fallbackPolicy: 'NO_FALLBACK' }), sel(['version'])] });
    const { lb } = setup(cfg);
    expect(lb.chooseHost(ctx({ version: 'v1', stage: 'qa' }))).toBeNull();
    expect(lb.chooseHost(ctx({ version: 'v9' }))).not.toBeNull();
  });

  test('ANY_ENDPOINT and DEFAULT_SUBSET on selectors (not counted as lb_subsets_fallback)', () => {
    const cfg = config({
      defaultSubset: { version: 'v1' },
      subsetSelectors: [sel(['version'], { fallbackPolicy: 'ANY_ENDPOINT' }), sel(['stage'], { fallbackPolicy: 'DEFAULT_SUBSET' })],
    });
    const { lb, stat } = setup(cfg);
    expect(keys(picked(lb, ctx({ version: 'v9' }), 50)).length).toBe(5);
    expect(keys(picked(lb, ctx({ stage: 'qa' })))).toEqual([v1prod.addressKey, v1canary.addressKey]);
    expect(stat('lb_subsets_fallback')).toBe(0);
  });
});

describe('SubsetLoadBalancer: variants', () => {
  test('list_as_any: a list value puts the host in one subset per element, and matches default_subset', () => {
    const both = new TestHost('10.0.2.1:80', lbmd({ version: ['v1', 'v2'] }));
    const only2 = new TestHost('10.0.2.2:80', lbmd({ version: 'v2' }));
    const cfg = config({ listAsAny: true, subsetSelectors: [sel(['version'])], fallbackPolicy: 'DEFAULT_SUBSET', defaultSubset: { version: 'v1' } });
    const { lb } = setup(cfg, [both, only2]);
    expect(keys(picked(lb, ctx({ version: 'v1' })))).toEqual([both.addressKey]);
    expect(keys(picked(lb, ctx({ version: 'v2' })))).toEqual([both.addressKey, only2.addressKey]);
    expect(keys(picked(lb, null))).toEqual([both.addressKey]);
    // Without list_as_any the list is one value of its own.
    const plainList = setup(config({ subsetSelectors: [sel(['version'])] }), [both, only2]);
    expect(plainList.lb.chooseHost(ctx({ version: 'v1' }))).toBeNull();
    expect(plainList.lb.chooseHost(ctx({ version: ['v1', 'v2'] }))).toBe(both);
  });

  test('single_host_per_subset: one host per value (duplicates counted), returned whatever its health', () => {
    const a = new TestHost('10.0.3.1:80', lbmd({ id: 'a' }), 'unhealthy');
    const a2 = new TestHost('10.0.3.2:80', lbmd({ id: 'a' }));
    const b = new TestHost('10.0.3.3:80', lbmd({ id: 'b' }));
    const { lb, gauge } = setup(config({ subsetSelectors: [sel(['id'], { singleHostPerSubset: true })] }), [a, a2, b]);
    expect(keys(picked(lb, ctx({ id: 'a' }), 5))).toEqual([a.addressKey]);
    expect(lb.chooseHost(ctx({ id: 'b' }))).toBe(b);
    expect(gauge('lb_subsets_single_host_per_subset_duplicate')).toBe(1);
  });

  test('metadata_fallback_policy FALLBACK_LIST: tries each fallback_list entry merged over the rest', () => {
    const cfg = config({ metadataFallbackPolicy: 'FALLBACK_LIST' });
    const { lb } = setup(cfg);
    const c = ctx({ version: 'v9', fallback_list: [{ version: 'v8' }, { stage: 'canary', version: 'v2' }, { version: 'v1' }] });
    expect(keys(picked(lb, c))).toEqual([v2canary.addressKey]);
    // An empty list: the criteria without fallback_list.
    expect(keys(picked(lb, ctx({ version: 'v1', fallback_list: [] })))).toEqual([v1prod.addressKey, v1canary.addressKey]);
    // Without the policy, fallback_list is an ordinary key (no subset has it).
    expect(setup(config()).lb.chooseHost(c)).toBeNull();
  });
});

describe('SubsetLoadBalancer: rebuilds on host changes', () => {
  test('subsets follow membership and metadata; removed subsets fall back; stats track it', () => {
    const h1 = new TestHost('10.0.4.1:80', lbmd({ version: 'v1' }));
    const h2 = new TestHost('10.0.4.2:80', lbmd({ version: 'v2' }));
    const { lb, stat, gauge } = setup(config({ subsetSelectors: [sel(['version'])], fallbackPolicy: 'DEFAULT_SUBSET', defaultSubset: { version: 'v1' } }), [h1, h2]);
    expect(gauge('lb_subsets_active')).toBe(2);
    lb.refresh(buildPrioritySet([h1]));
    expect(gauge('lb_subsets_active')).toBe(1);
    expect(stat('lb_subsets_removed')).toBe(1);
    expect(lb.chooseHost(ctx({ version: 'v2' }))).toBe(h1); // default subset now
    expect(stat('lb_subsets_fallback')).toBe(1);
    // h2 comes back as v3, and h1 is relabelled v2 (EDS metadata change).
    h2.metadata = lbmd({ version: 'v3' });
    h1.metadata = lbmd({ version: 'v2' });
    lb.refresh(buildPrioritySet([h1, h2]));
    expect([...lb.subsetSizes().keys()].sort()).toEqual(['version="v2"', 'version="v3"']);
    expect(stat('lb_subsets_created')).toBe(4);
    expect(stat('lb_subsets_removed')).toBe(2);
    expect(lb.chooseHost(ctx({ version: 'v2' }))).toBe(h1);
    expect(lb.chooseHost(ctx({ version: 'v3' }))).toBe(h2);
    expect(lb.chooseHost(ctx({ version: 'v1' }))).toBeNull(); // default subset (v1) is empty
  });

  test('health changes reach the subset LB: an unhealthy host leaves the pick while others are healthy', () => {
    const a = new TestHost('10.0.5.1:80', lbmd({ version: 'v2' }));
    const b = new TestHost('10.0.5.2:80', lbmd({ version: 'v2' }));
    const c = new TestHost('10.0.5.3:80', lbmd({ version: 'v2' }));
    const { lb } = setup(config({ subsetSelectors: [sel(['version'])] }), [a, b, c]);
    a.health = 'unhealthy';
    lb.refresh(buildPrioritySet([a, b, c]));
    expect(keys(picked(lb, ctx({ version: 'v2' })))).toEqual([b.addressKey, c.addressKey]);
  });
});

describe('SubsetLoadBalancer: locality weights', () => {
  // Locality A (weight 100): three v1 hosts and one v2; locality B (weight 100): one v2.
  const mk = (n: number, loc: string, version: string) => new TestHost(`10.1.${loc === 'A' ? 1 : 2}.${n}:80`, lbmd({ version }), 'healthy', loc, 100);
  const hosts = [mk(1, 'A', 'v1'), mk(2, 'A', 'v1'), mk(3, 'A', 'v1'), mk(4, 'A', 'v2'), mk(5, 'B', 'v2')];
  const share = (lb: SubsetLoadBalancer) => (picked(lb, ctx({ version: 'v2' }), 1000).get('10.1.2.5:80') ?? 0) / 1000;
  const opts: LbOptions = { policy: 'ROUND_ROBIN', localityWeightedLb: true };

  test('locality_weight_aware keeps the locality weights (50/50); scale_locality_weight scales them by the subset share (A 25, B 100)', () => {
    expect(share(setup(config({ subsetSelectors: [sel(['version'])], localityWeightAware: true }), hosts, opts).lb)).toBeCloseTo(0.5, 1);
    expect(share(setup(config({ subsetSelectors: [sel(['version'])], localityWeightAware: true, scaleLocalityWeight: true }), hosts, opts).lb)).toBeCloseTo(0.8, 1);
  });
});

describe('metadata match criteria', () => {
  test('route criteria come from envoy.lb only, sorted by key; empty is no criteria', () => {
    expect(compileMetadataMatch({ other: { a: 1 } })).toBeNull();
    expect(compileMetadataMatch({ 'envoy.lb': {} })).toBeNull();
    const c = compileMetadataMatch({ 'envoy.lb': { version: 'v1', stage: 'prod' } })!;
    expect(c.names).toEqual(['stage', 'version']);
  });

  test('a weighted cluster entry overrides the route criteria key by key', () => {
    const route = compileMetadataMatch({ 'envoy.lb': { version: 'v1', stage: 'prod' } });
    const merged = mergeMetadataMatch(route, { 'envoy.lb': { version: 'v2' } })!;
    expect(merged.key).toBe(MetadataMatchCriteria.fromFields({ stage: 'prod', version: 'v2' })!.key);
    expect(mergeMetadataMatch(route, undefined)).toBe(route);
    expect(mergeMetadataMatch(null, { 'envoy.lb': { version: 'v2' } })!.names).toEqual(['version']);
  });

  test('metadataMatchForRoute caches per route and per weighted entry', () => {
    const route = {};
    const entry = {};
    const a = metadataMatchForRoute(route, { 'envoy.lb': { version: 'v1' } }, null, undefined);
    expect(metadataMatchForRoute(route, undefined, null, undefined)).toBe(a);
    const w = metadataMatchForRoute(route, undefined, entry, { 'envoy.lb': { stage: 'canary' } })!;
    expect(w.names).toEqual(['stage', 'version']);
    expect(metadataMatchForRoute(route, undefined, entry, {})).toBe(w);
  });
});

describe('SubsetLoadBalancer: zone-aware routing inside a subset', () => {
  test('a subset LB routes by zone with the local cluster like a plain LB (Envoy hands subsets the local priority set)', () => {
    // v1 hosts: 3 in our zone a, 3 in b; the local cluster has all its members in a (and one in
    // b, so it has two localities): upstream 50% >= local 66% fails -> residual; route
    // 5000 * 10000 / 6666 = 7500 -> 75% stay in a.
    const hosts: LbHost[] = [];
    for (let i = 0; i < 6; i++) hosts.push(new TestHost(`10.1.0.${i}:80`, lbmd({ version: 'v1' }), 'healthy', i < 3 ? 'r/a/' : 'r/b/', 1));
    hosts.push(new TestHost('10.1.1.1:80', lbmd({ version: 'v2' }), 'healthy', 'r/c/', 1));
    const localPs = buildPrioritySet([new TestHost('10.2.0.1:80', {}, 'healthy', 'r/a/'), new TestHost('10.2.0.2:80', {}, 'healthy', 'r/a/'), new TestHost('10.2.0.3:80', {}, 'healthy', 'r/b/')], { localLocalityKey: 'r/a/' });
    const local = { version: 1, localHostSet: () => localPs.hostSets[0] };
    const store = new StatsStore();
    const run = (withLocal: boolean) => {
      const lb = new SubsetLoadBalancer(config(), { policy: 'ROUND_ROBIN' }, buildPrioritySet(hosts, { localLocalityKey: 'r/a/' }), subsetLbStats(store.scope('cluster.c.')), new SeededRandomGenerator(3), withLocal ? { local } : {});
      let inA = 0;
      for (let i = 0; i < 10000; i++) if (lb.chooseHost(ctx({ version: 'v1' }))!.localityKey === 'r/a/') inA++;
      return inA / 10000;
    };
    expect(run(true)).toBeCloseTo(0.75, 1);
    expect(run(false)).toBeCloseTo(0.5, 2);
  });
});
