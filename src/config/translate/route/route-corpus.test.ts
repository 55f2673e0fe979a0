// Corpus test: every real RouteConfiguration collected from Istio/Envoy dumps translates with no
// errors, and the Istio 1.26 sidecar tables route sample requests to the expected clusters.
// (A test may join translate and engine; production code in translate/ never imports engine/.)
import { corpusRouteConfigs, routeConfigFromJson } from './route-fixtures';
import { translateRouteConfiguration } from './route-config';
import { formatErrors } from '../../../common/result';
import { compileRouteTable, type RouteTable } from '../../../engine/http/route/route-table';
import type { RouteRequest } from '../../../engine/http/route/route-request';

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

describe('Istio 1.26.2 sidecar (frontend pod) route tables', () => {
  const tables = new Map<string, RouteTable>();
  beforeAll(() => {
    for (const c of corpusRouteConfigs().filter((x) => x.label.startsWith('istio-1.26.2-sidecar-frontend/'))) {
      const r = translateRouteConfiguration(routeConfigFromJson(c.json));
      if (!r.ok) throw new Error(formatErrors(r.errors));
      tables.set(r.value.name, compileRouteTable(r.value));
    }
  });
  const req = (authority: string, path = '/'): RouteRequest => ({ method: 'GET', authority, path, scheme: 'http', random: 42, header: () => undefined });

  test.each([
    ['80', 'istio-ingressgateway.istio-system.svc.cluster.local', 'outbound|80||istio-ingressgateway.istio-system.svc.cluster.local'],
    ['80', 'istio-ingressgateway.istio-system:80', 'outbound|80||istio-ingressgateway.istio-system.svc.cluster.local'],
    ['80', '10.96.240.89:80', 'outbound|80||istio-ingressgateway.istio-system.svc.cluster.local'],
    ['80', 'Istio-IngressGateway.istio-system.SVC', 'outbound|80||istio-ingressgateway.istio-system.svc.cluster.local'],
    ['80', 'example.org', 'PassthroughCluster'],
    ['15010', 'istiod.istio-system.svc:15010', 'outbound|15010||istiod.istio-system.svc.cluster.local'],
    ['15010', '10.96.245.191', 'outbound|15010||istiod.istio-system.svc.cluster.local'],
    ['15014', '10.96.245.191:15014', 'outbound|15014||istiod.istio-system.svc.cluster.local'],
    ['15014', 'other:15014', 'PassthroughCluster'],
    ['backend.demo.svc.cluster.local:8080', 'backend.demo.svc.cluster.local:8080', 'outbound|8080||backend.demo.svc.cluster.local'],
    ['database.demo.svc.cluster.local:8080', 'anything', 'outbound|8080||database.demo.svc.cluster.local'],
  ])('table %s: %s -> %s', (name, authority, cluster) => {
    const m = tables.get(name)!.route(req(authority, '/api/x?y=1'));
    expect(m?.cluster).toBe(cluster);
  });

  test('Istio defaults survive: timeout 0 (disabled), retry policy, decorator', () => {
    const m = tables.get('80')!.route(req('istio-ingressgateway.istio-system.svc.cluster.local'))!;
    const ra = m.route.routeAction!;
    expect(ra.timeoutMs).toBe(0);
    expect(ra.maxGrpcTimeoutMs).toBe(0);
    expect(m.route.retryPolicy).toMatchObject({
      retryOn: ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'],
      numRetries: 2,
      retryHostPredicates: ['envoy.retry_host_predicates.previous_hosts'],
      hostSelectionRetryMaxAttempts: 5,
    });
    expect(m.route.config.decorator?.operation).toBe('istio-ingressgateway.istio-system.svc.cluster.local:80/*');
    expect(m.virtualHost.config.includeRequestAttemptCount).toBe(true);
  });
});
