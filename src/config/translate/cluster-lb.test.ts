// Translation of slow_start_config (round_robin_lb_config, least_request_lb_config and the typed
// RoundRobin / LeastRequest policies), zone_aware_lb_config (common_lb_config and the typed
// LocalityLbConfig) and common_lb_config.update_merge_window: Envoy's defaults, the lb_config
// oneof, and invalid values rejected with their field paths.
import { translateClusterJson } from '../../../test/support/translate-cluster';

const T = 'type.googleapis.com/envoy.extensions.load_balancing_policies.';

function translate(extra: object) {
  return translateClusterJson({ name: 'c', type: 'STATIC', connect_timeout: '1s', ...extra });
}

function typed(policy: string, config: object) {
  return { load_balancing_policy: { policies: [{ typed_extension_config: { name: 'p', typed_config: { '@type': `${T}${policy}`, ...config } } }] } };
}

describe('slow_start_config', () => {
  test('round_robin_lb_config: window, aggression and min_weight_percent; Envoy defaults 1.0 and 10%', () => {
    expect(translate({ round_robin_lb_config: { slow_start_config: { slow_start_window: '30s', aggression: { default_value: 2, runtime_key: 'k' }, min_weight_percent: { value: 25 } } } }).c!.lb!.slowStart).toEqual({ windowMs: 30000, aggression: 2, minWeightPercent: 25 });
    expect(translate({ round_robin_lb_config: { slow_start_config: { slow_start_window: '1.5s' } } }).c!.lb!.slowStart).toEqual({ windowMs: 1500, aggression: 1, minWeightPercent: 10 });
  });

  test('least_request_lb_config with lb_policy LEAST_REQUEST; a zero window leaves slow start off', () => {
    expect(translate({ lb_policy: 'LEAST_REQUEST', least_request_lb_config: { slow_start_config: { slow_start_window: '5s' } } }).c!.lb!.slowStart).toEqual({ windowMs: 5000, aggression: 1, minWeightPercent: 10 });
    expect(translate({ round_robin_lb_config: { slow_start_config: { slow_start_window: '0s' } } }).c!.lb!.slowStart).toBeUndefined();
    expect(translate({}).c!.lb!.slowStart).toBeUndefined();
  });

  test('typed RoundRobin / LeastRequest policies carry their own slow_start_config', () => {
    expect(translate(typed('round_robin.v3.RoundRobin', { slow_start_config: { slow_start_window: '10s', aggression: { default_value: 1.5, runtime_key: 'a' } } })).c!.lb!.slowStart).toEqual({ windowMs: 10000, aggression: 1.5, minWeightPercent: 10 });
    const lr = translate(typed('least_request.v3.LeastRequest', { slow_start_config: { slow_start_window: '2s', min_weight_percent: { value: 50 } } })).c!;
    expect(lr.lbPolicy).toBe('LEAST_REQUEST');
    expect(lr.lb!.slowStart).toEqual({ windowMs: 2000, aggression: 1, minWeightPercent: 50 });
  });

  test('invalid values are rejected with field paths', () => {
    const bad = translate({ round_robin_lb_config: { slow_start_config: { slow_start_window: '-1s', min_weight_percent: { value: 150 } } } });
    expect(bad.c).toBeUndefined();
    expect(bad.errors.map((e) => e.path)).toEqual(['round_robin_lb_config.slow_start_config.slow_start_window', 'round_robin_lb_config.slow_start_config.min_weight_percent.value']);
    const badTyped = translate(typed('least_request.v3.LeastRequest', { slow_start_config: { slow_start_window: '1s', min_weight_percent: { value: -5 } } }));
    expect(badTyped.errors).toEqual([{ path: 'load_balancing_policy.policies[0].typed_extension_config.typed_config.slow_start_config.min_weight_percent.value', reason: 'must be within [0, 100]' }]);
  });
});

describe('zone_aware_lb_config', () => {
  test('common_lb_config: Envoy defaults (routing_enabled 100%, min_cluster_size 6) and explicit values', () => {
    expect(translate({ common_lb_config: { zone_aware_lb_config: {} } }).c!.lb!.zoneAware).toEqual({ routingEnabledPct: 100, minClusterSize: 6, failTrafficOnPanic: false, forceLocalityDirectRouting: false });
    expect(translate({ common_lb_config: { zone_aware_lb_config: { routing_enabled: { value: 42.6 }, min_cluster_size: 3, fail_traffic_on_panic: true } } }).c!.lb!.zoneAware).toEqual({ routingEnabledPct: 43, minClusterSize: 3, failTrafficOnPanic: true, forceLocalityDirectRouting: false });
    expect(translate({}).c!.lb!.zoneAware).toBeUndefined();
  });

  test('typed policy locality_lb_config.zone_aware_lb_config', () => {
    const c = translate(typed('round_robin.v3.RoundRobin', { locality_lb_config: { zone_aware_lb_config: { min_cluster_size: 2, fail_traffic_on_panic: true } } })).c!;
    expect(c.lb!.zoneAware).toEqual({ routingEnabledPct: 100, minClusterSize: 2, failTrafficOnPanic: true, forceLocalityDirectRouting: false });
  });

  test('routing_enabled outside [0, 100] is rejected with its field path', () => {
    const bad = translate({ common_lb_config: { zone_aware_lb_config: { routing_enabled: { value: 120 } } } });
    expect(bad.c).toBeUndefined();
    expect(bad.errors).toEqual([{ path: 'common_lb_config.zone_aware_lb_config.routing_enabled.value', reason: 'must be within [0, 100]' }]);
  });
});

describe('update_merge_window', () => {
  test('taken in ms; absent means Envoy default (1 s, applied by the runtime); 0 kept (disables merging)', () => {
    expect(translate({ common_lb_config: { update_merge_window: '0.25s' } }).c!.lb!.updateMergeWindowMs).toBe(250);
    expect(translate({ common_lb_config: { update_merge_window: '0s' } }).c!.lb!.updateMergeWindowMs).toBe(0);
    expect(translate({}).c!.lb!.updateMergeWindowMs).toBeUndefined();
  });

  test('a negative window is rejected with its field path', () => {
    expect(translate({ common_lb_config: { update_merge_window: '-2s' } }).errors).toEqual([{ path: 'common_lb_config.update_merge_window', reason: 'must not be negative' }]);
  });
});
