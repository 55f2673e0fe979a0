// Cluster.lb_subset_config translation: defaults, enums, sorted keys, Envoy's selector checks
// (fallback_keys_subset rules) and the combinations Envoy rejects.
import { translateClusterJson } from '../../../test/support/translate-cluster';

function translate(extra: object) {
  return translateClusterJson({ name: 'c', type: 'STATIC', connect_timeout: '1s', ...extra });
}

describe('lb_subset_config translation', () => {
  test('full config with Envoy enum names, keys sorted and de-duplicated', () => {
    const { c, errors } = translate({
      lb_subset_config: {
        fallback_policy: 'DEFAULT_SUBSET',
        default_subset: { stage: 'prod' },
        subset_selectors: [
          { keys: ['version', 'stage', 'version'], fallback_policy: 'KEYS_SUBSET', fallback_keys_subset: ['version'] },
          { keys: ['id'], single_host_per_subset: true },
          { keys: [] },
        ],
        locality_weight_aware: true,
        scale_locality_weight: true,
        panic_mode_any: true,
        list_as_any: true,
        metadata_fallback_policy: 'FALLBACK_LIST',
      },
    });
    expect(errors).toEqual([]);
    expect(c!.lbSubset).toEqual({
      fallbackPolicy: 'DEFAULT_SUBSET',
      defaultSubset: { stage: 'prod' },
      subsetSelectors: [
        { keys: ['stage', 'version'], singleHostPerSubset: false, fallbackPolicy: 'KEYS_SUBSET', fallbackKeysSubset: ['version'] },
        { keys: ['id'], singleHostPerSubset: true, fallbackPolicy: 'NOT_DEFINED', fallbackKeysSubset: [] },
      ],
      localityWeightAware: true,
      scaleLocalityWeight: true,
      panicModeAny: true,
      listAsAny: true,
      metadataFallbackPolicy: 'FALLBACK_LIST',
    });
  });

  test('defaults: NO_FALLBACK, METADATA_NO_FALLBACK; no selectors means no subset LB', () => {
    expect(translate({ lb_subset_config: { subset_selectors: [{ keys: ['v'] }] } }).c!.lbSubset).toMatchObject({ fallbackPolicy: 'NO_FALLBACK', metadataFallbackPolicy: 'METADATA_NO_FALLBACK', defaultSubset: {} });
    expect(translate({ lb_subset_config: { fallback_policy: 'ANY_ENDPOINT' } }).c!.lbSubset).toBeUndefined();
  });

  test.each([
    [{ keys: ['a'], fallback_keys_subset: ['a'] }, 'fallback_keys_subset can be set only for KEYS_SUBSET fallback_policy'],
    [{ keys: ['a', 'b'], fallback_policy: 'KEYS_SUBSET' }, 'fallback_keys_subset cannot be empty'],
    [{ keys: ['a', 'b'], fallback_policy: 'KEYS_SUBSET', fallback_keys_subset: ['c'] }, 'fallback_keys_subset must be a subset of selector keys'],
    [{ keys: ['a', 'b'], fallback_policy: 'KEYS_SUBSET', fallback_keys_subset: ['b', 'a'] }, 'fallback_keys_subset cannot be equal to keys'],
  ])('selector %j is rejected: %s', (selector, reason) => {
    const { c, errors } = translate({ lb_subset_config: { subset_selectors: [selector] } });
    expect(c).toBeUndefined();
    expect(errors).toEqual([{ path: 'lb_subset_config.subset_selectors[0].fallback_keys_subset', reason }]);
  });

  test('CLUSTER_PROVIDED and ORIGINAL_DST cannot be combined with lb_subset_config', () => {
    const sub = { subset_selectors: [{ keys: ['v'] }] };
    expect(translate({ lb_policy: 'CLUSTER_PROVIDED', lb_subset_config: sub }).errors.map((e) => e.path)).toEqual(['lb_policy']);
    expect(translate({ type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', lb_subset_config: sub }).errors.map((e) => e.path)).toContain('lb_subset_config');
  });
});
