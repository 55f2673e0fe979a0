// Unit tests of the resource store: per-resource validation with valid siblings applied, last
// good kept, unchanged bytes dropped, SotW/delta removals, subscriptions derived from live
// config, warming of listeners (RDS) and clusters (EDS), EDS-only changes as endpoint deltas,
// debounced snapshots and the config history ring. Translators are stubs: the message is the value.
import { fail, ok, type Result } from '../common/result';
import type { ClusterConfig, EndpointSetConfig } from '../config/model/cluster';
import type { ListenerConfig } from '../config/model/listener';
import type { RouteConfigurationConfig } from '../config/model/route';
import { ConfigHistory } from './config-history';
import { ConfigStore, type StoreTranslators } from './config-store';
import { SnapshotBuilder, type Publication } from './snapshot-builder';
import type { IncomingResource } from './type-store';

// A stub message: the model value, or the errors the translator should report.
type Stub<T> = { value?: T; errors?: { path: string; reason: string }[] };
const stub = <T>(m: unknown): Result<T> => {
  const s = m as Stub<T>;
  return s.errors ? fail(s.errors) : ok(s.value as T);
};
const translators: StoreTranslators = { lds: stub, rds: stub, cds: stub, eds: stub, sds: stub };

function res<T>(name: string, value: T | undefined, tag = '', errors?: Stub<T>['errors']): IncomingResource {
  const message: Stub<T> = errors ? { errors } : { value: value as T };
  return { name, raw: new TextEncoder().encode(JSON.stringify(message) + tag), message };
}

function listener(name: string, rds: string[], port = 0): ListenerConfig {
  return {
    name,
    address: { kind: 'socket', protocol: 'TCP', address: '127.0.0.1', port, ipv4Compat: false },
    filterChains: rds.map((r, i) => ({
      name: `c${i}`,
      match: {} as never,
      filters: [{ name: 'envoy.filters.network.http_connection_manager', typeUrl: '', config: { statPrefix: `sp_${r}`, routeSource: { kind: 'rds', routeConfigName: r } } }],
    })),
  } as unknown as ListenerConfig;
}
const cluster = (name: string, eds = true): ClusterConfig => ({ name, type: eds ? 'EDS' : 'STATIC', edsServiceName: eds ? name : undefined }) as unknown as ClusterConfig;
const endpoints = (name: string, port: number): EndpointSetConfig => ({
  clusterName: name,
  overprovisioningFactor: 140,
  dropOverloads: [],
  localities: [{ locality: { region: '', zone: '', subZone: '' }, priority: 0, endpoints: [{ address: { kind: 'socket', protocol: 'TCP', address: '127.0.0.1', port, ipv4Compat: false }, hostname: '', healthStatus: 'HEALTHY', loadBalancingWeight: 1, metadata: {} }] }],
});
const route = (name: string, tag = ''): RouteConfigurationConfig => ({ name, virtualHosts: [], tag }) as unknown as RouteConfigurationConfig;
const update = (resources: IncomingResource[], versionInfo = 'v1', removed: string[] = []) => ({ versionInfo, nonce: `n-${versionInfo}`, resources, removed });

function newStore(staticClusters: ClusterConfig[] = []): ConfigStore {
  return new ConfigStore({ staticListeners: [], staticClusters, translators });
}

describe('TypeStore via ConfigStore', () => {
  test('valid siblings apply, the invalid one is rejected with its reason, last good keeps serving', () => {
    const s = newStore();
    let c = s.apply('cds', update([res('a', cluster('a', false)), res('b', cluster('b', false))], 'v1'));
    expect(c.outcome.added).toEqual(['a', 'b']);
    expect(s.cds.versionInfo).toBe('v1');
    c = s.apply('cds', update([res('a', cluster('a', false), 'x'), res('b', undefined, '', [{ path: 'connect_timeout', reason: 'must be positive' }]), res('c', cluster('c', false))], 'v2'));
    expect(c.outcome.updated).toEqual(['a']);
    expect(c.outcome.added).toEqual(['c']);
    expect(c.outcome.errors).toEqual([{ name: 'b', reason: 'connect_timeout: must be positive' }]);
    // The version stays at the last fully accepted response (what the NACK carries).
    expect(s.cds.versionInfo).toBe('v1');
    const b = s.cds.get('b')!;
    expect(b.status).toBe('NACKED');
    expect(b.value.name).toBe('b');
    expect(b.lastError?.reason).toBe('connect_timeout: must be positive');
    expect(s.parts().clusters.map((x) => x.name).sort()).toEqual(['a', 'b', 'c']);
    // The fix is accepted and clears the error.
    c = s.apply('cds', update([res('a', cluster('a', false), 'x'), res('b', cluster('b', false), 'fixed'), res('c', cluster('c', false))], 'v3'));
    expect(c.outcome.errors).toEqual([]);
    expect(c.outcome.unchanged).toBe(2);
    expect(s.cds.get('b')!.status).toBe('ACKED');
    expect(s.cds.get('b')!.lastError).toBeUndefined();
    expect(s.cds.versionInfo).toBe('v3');
  });

  test('applyInSlices: a large CDS response yields to the loop, EDS applies in between, CDS commits at once; unchanged bytes are never decoded', async () => {
    const n = 3000;
    const names = Array.from({ length: n }, (_, i) => `c${i}`);
    // Second push: c0 changed, every other cluster re-sent with the same bytes and a message that
    // counts how often it is read (decoded); a slow translator makes the response span slices.
    let reads = 0;
    const counting = (r: IncomingResource): IncomingResource => ({ name: r.name, raw: r.raw, get message() {
      reads++;
      return r.message;
    } });
    const slow: StoreTranslators = { ...translators, cds: (m) => {
      const until = performance.now() + 0.05;
      while (performance.now() < until);
      return stub(m);
    } };
    const s2 = new ConfigStore({ staticListeners: [], staticClusters: [], translators: slow });
    s2.apply('cds', update(names.map((x) => res(x, cluster(x)))));
    s2.apply('eds', update(names.map((x) => res(x, endpoints(x, 1)))));
    expect(s2.activeClusterCount).toBe(n);
    const changed = names.map((x, i) => (i % 2 === 0 ? res(x, { ...cluster(x), tag: 2 } as unknown as ClusterConfig, '2') : counting(res(x, cluster(x)))));
    const events: string[] = [];
    const pending = s2.applyInSlices('cds', update(changed, 'v2')).then((c) => {
      events.push('cds committed');
      return c;
    });
    await new Promise((r) => setImmediate(r));
    // Mid-response: nothing of it is visible yet; an EDS update applies to the live clusters.
    expect(s2.cds.versionInfo).toBe('v1');
    expect((s2.cds.value('c0') as unknown as { tag?: number }).tag).toBeUndefined();
    const eds = s2.apply('eds', update([res('c1', endpoints('c1', 2))], 'e2'));
    events.push('eds applied');
    expect(eds.endpoints).toEqual(['c1']);
    expect(s2.isServiceActive('c1')).toBe(true);
    const c = await pending;
    expect(events).toEqual(['eds applied', 'cds committed']);
    expect(c.outcome.updated).toHaveLength(n / 2);
    expect(c.outcome.unchanged).toBe(n / 2);
    expect(reads).toBe(0);
    expect(s2.cds.versionInfo).toBe('v2');
    expect((s2.cds.value('c0') as unknown as { tag?: number }).tag).toBe(2);
    expect(s2.endpointsFor('c1').localities[0]!.endpoints[0]!.address).toMatchObject({ port: 2 });
  });

  test('unchanged bytes are not re-translated and change nothing', () => {
    const s = newStore();
    s.apply('cds', update([res('a', cluster('a', false))]));
    const c = s.apply('cds', update([res('a', cluster('a', false))], 'v2'));
    expect(c.outcome).toMatchObject({ added: [], updated: [], removed: [], unchanged: 1 });
    expect(c.full).toBe(false);
  });

  test('a name mismatch and a duplicate name are per-resource errors', () => {
    const s = newStore();
    const c = s.apply('cds', update([res('a', cluster('zzz', false)), res('b', cluster('b', false)), res('b', cluster('b', false))]));
    expect(c.outcome.errors.map((e) => e.name).sort()).toEqual(['a', 'b']);
    expect(s.cds.has('b')).toBe(true);
  });

  test('static clusters cannot be replaced over CDS', () => {
    const s = newStore([cluster('xds-grpc', false)]);
    const c = s.apply('cds', update([res('xds-grpc', cluster('xds-grpc', false))]));
    expect(c.outcome.errors[0]!.reason).toMatch(/static cluster 'xds-grpc' cannot be updated/);
    expect(s.parts().clusters).toHaveLength(1);
  });
});

describe('dependencies and warming', () => {
  test('clusters warm until their EDS arrives; EDS names are subscribed and unsubscribed', () => {
    const s = newStore();
    let c = s.apply('cds', update([res('a', cluster('a')), res('b', cluster('b'))]));
    expect([...(c.subscribe.eds ?? [])].sort()).toEqual(['a', 'b']);
    expect(s.warmingClusterCount).toBe(2);
    expect(c.full).toBe(false);
    expect(s.parts().clusters).toEqual([]);
    c = s.apply('eds', update([res('a', endpoints('a', 1))]));
    expect(c.warmed).toEqual(['a']);
    expect(c.full).toBe(true);
    expect(s.parts().clusters.map((x) => x.name)).toEqual(['a']);
    // An EDS resource never asked for is ignored, not stored.
    s.apply('eds', update([res('nope', endpoints('nope', 1))]));
    expect(s.eds.has('nope')).toBe(false);
    // SotW CDS without 'b': removed, and its EDS name unsubscribed.
    c = s.apply('cds', update([res('a', cluster('a'))], 'v2', ['b']));
    expect(c.outcome.removed).toEqual(['b']);
    expect(c.unsubscribe.eds).toEqual(['b']);
    expect(s.warmingClusterCount).toBe(0);
  });

  test('an EDS-only change of an active cluster is an endpoint delta, not a full snapshot', () => {
    const s = newStore();
    s.apply('cds', update([res('a', cluster('a'))]));
    s.apply('eds', update([res('a', endpoints('a', 1))]));
    const c = s.apply('eds', update([res('a', endpoints('a', 2))], 'v2'));
    expect(c.full).toBe(false);
    expect(c.endpoints).toEqual(['a']);
    expect(s.isServiceActive('a')).toBe(true);
    // SotW EDS responses carrying only some names never remove the others.
    s.apply('cds', update([res('a', cluster('a')), res('b', cluster('b'))], 'v3'));
    s.apply('eds', update([res('b', endpoints('b', 3))], 'v4'));
    expect(s.eds.has('a')).toBe(true);
    // Delta removal of an EDS resource.
    const r = s.apply('eds', update([], 'v5', ['a']));
    expect(r.endpoints).toEqual(['a']);
    expect(s.endpointsFor('a').localities).toEqual([]);
  });

  test('listeners warm until their route configs arrive; an updated listener keeps the old version active', () => {
    const s = newStore();
    let c = s.apply('lds', update([res('l1', listener('l1', ['80']))]));
    expect(c.subscribe.rds).toEqual(['80']);
    expect(s.parts().listeners).toEqual([]);
    expect(s.rdsReferences()).toEqual([{ routeConfigName: '80', statPrefix: 'sp_80' }]);
    c = s.apply('rds', update([res('80', route('80'))]));
    expect(c.warmed).toEqual(['l1']);
    expect(s.parts().listeners.map((l) => l.name)).toEqual(['l1']);
    // Update l1 to name route '90': it warms, the version naming '80' keeps serving.
    c = s.apply('lds', update([res('l1', listener('l1', ['90']))], 'v2'));
    expect(c.subscribe.rds).toEqual(['90']);
    expect(c.unsubscribe.rds).toBeUndefined();
    expect(s.isWarming('lds', 'l1')).toBe(true);
    expect(listenerRoute(s.parts().listeners[0]!)).toBe('80');
    c = s.apply('rds', update([res('90', route('90'))], 'v2'));
    expect(c.warmed).toEqual(['l1']);
    expect(listenerRoute(s.parts().listeners[0]!)).toBe('90');
    // A route change is a full snapshot change.
    c = s.apply('rds', update([res('90', route('90', 'changed'))], 'v3'));
    expect(c.full).toBe(true);
    // '80' is no longer referenced once l1 moved on: the next LDS recompute drops it.
    c = s.apply('lds', update([res('l1', listener('l1', ['90']))], 'v3'));
    expect(s.subscriptions('rds').has('80')).toBe(false);
  });

  test('initial_fetch_timeout lets a cluster warm without its endpoints', async () => {
    const changes: string[][] = [];
    const s = new ConfigStore({ staticListeners: [], staticClusters: [], translators, initialFetchTimeoutMs: { eds: 30 }, onAsyncChange: (c) => changes.push([...c.warmed]) });
    s.apply('cds', update([res('a', cluster('a'))]));
    expect(s.warmingClusterCount).toBe(1);
    await new Promise((r) => setTimeout(r, 80));
    expect(changes).toEqual([['a']]);
    expect(s.warmingClusterCount).toBe(0);
    s.close();
  });
});

function listenerRoute(l: ListenerConfig): string {
  return (l.filterChains[0]!.filters[0]!.config as { routeSource: { routeConfigName: string } }).routeSource.routeConfigName;
}

describe('SnapshotBuilder', () => {
  test('a burst of changes becomes one generation; EDS-only changes go out as deltas', async () => {
    const s = newStore();
    const pubs: Publication[] = [];
    const b = new SnapshotBuilder(s, (p) => pubs.push(p), { generation: 1, debounceMs: 10 });
    b.note(s.apply('cds', update([res('a', cluster('a'))])));
    b.note(s.apply('eds', update([res('a', endpoints('a', 1))])));
    b.note(s.apply('lds', update([res('l', listener('l', []))])));
    await new Promise((r) => setTimeout(r, 40));
    expect(pubs.map((p) => p.kind)).toEqual(['snapshot']);
    const snap = (pubs[0] as Extract<Publication, { kind: 'snapshot' }>).snapshot;
    expect(snap.generation).toBe(2);
    expect(snap.clusters.map((c) => c.name)).toEqual(['a']);
    expect(snap.listeners.map((l) => l.name)).toEqual(['l']);
    expect(snap.endpoints.a).toBeDefined();
    expect(snap.versions).toEqual({ lds: 'v1', cds: 'v1', eds: 'v1' });
    b.note(s.apply('eds', update([res('a', endpoints('a', 2))], 'v2')));
    await new Promise((r) => setTimeout(r, 20));
    expect(pubs.map((p) => p.kind)).toEqual(['snapshot', 'endpoints']);
    const d = pubs[1] as Extract<Publication, { kind: 'endpoints' }>;
    expect(d.generation).toBe(2);
    expect(d.updates.map((u) => u.serviceName)).toEqual(['a']);
    expect(d.versions.eds).toBe('v2');
    b.close();
  });
});

describe('ConfigHistory', () => {
  test('keeps the last N per type, newest first', () => {
    const h = new ConfigHistory(2);
    for (let i = 0; i < 3; i++) h.record({ time: `2024-01-01T00:00:0${i}.000Z`, type: 'cds', version: `v${i}`, nonce: `n${i}`, added: [], updated: [], removed: [], unchanged: 0, result: 'ACK', errors: [], apply_ms: 0 });
    h.record({ time: '2024-01-01T00:00:05.000Z', type: 'lds', version: 'l', nonce: 'x', added: ['a'], updated: [], removed: [], unchanged: 0, result: 'NACK', errors: [{ name: 'a', reason: 'bad' }], apply_ms: 1 });
    expect(h.entries('cds').map((e) => e.version)).toEqual(['v2', 'v1']);
    expect(h.entries().map((e) => e.version)).toEqual(['l', 'v2', 'v1']);
    expect(h.total).toBe(4);
  });
});

describe('SDS from api_config_sources (Istio sds-grpc)', () => {
  // A transport socket as the TLS parse half describes it: sdsSources with each name's source.
  const tls = (sources: { name: string; source: string; clusterNames?: string[] }[]) => ({
    name: 'envoy.transport_sockets.tls',
    typeUrl: '',
    config: { adsSecretNames: sources.filter((s) => s.source === 'ads').map((s) => s.name), sdsSources: sources.map((s) => ({ clusterNames: [], ...s })) },
  });
  const istio = (cluster = 'sds-grpc') => tls([{ name: 'default', source: 'api', clusterNames: [cluster] }, { name: 'ROOTCA', source: 'api', clusterNames: [cluster] }]);
  const tlsListener = (name: string, ts: object): ListenerConfig =>
    ({ name, address: { kind: 'socket', protocol: 'TCP', address: '127.0.0.1', port: 0, ipv4Compat: false }, filterChains: [{ name: 'c', match: {}, filters: [], transportSocket: ts }] }) as unknown as ListenerConfig;
  const secret = (name: string, tag = '') => ({ name, kind: 'validation_context', validationContext: { trustedCaPem: `ca${tag}`, matchSubjectAltNames: [] } });

  test('a listener naming default/ROOTCA over sds-grpc warms until both arrive on that source; ADS subscriptions are untouched', () => {
    const s = newStore();
    let c = s.apply('lds', update([res('in', tlsListener('in', istio()))]));
    expect(c.subscribe.sds).toBeUndefined();
    expect(s.subscriptions('sds').size).toBe(0);
    expect([...s.sdsApiSources()].map(([k, v]) => [k, [...v].sort()])).toEqual([['sds-grpc', ['ROOTCA', 'default']]]);
    expect(s.warmingListenerCount).toBe(1);
    c = s.applySecrets('sds-grpc', update([res('default', secret('default'))], 's1'));
    expect(c.outcome.added).toEqual(['default']);
    expect(c.warmed).toEqual([]);
    // A name this source does not serve is ignored, not stored.
    c = s.applySecrets('other', update([res('ROOTCA', secret('ROOTCA'))], 's2'));
    expect(c.outcome.added).toEqual([]);
    c = s.applySecrets('sds-grpc', update([res('ROOTCA', secret('ROOTCA'))], 's3'));
    expect(c.warmed).toEqual(['in']);
    expect(c.full).toBe(true);
    expect(s.parts().secrets.map((x) => x.name)).toEqual(['ROOTCA', 'default']);
    // Rotation: new bytes for default are a full change (a new snapshot for workers).
    c = s.applySecrets('sds-grpc', update([res('default', secret('default', 'v2'))], 's4'));
    expect(c.outcome.updated).toEqual(['default']);
    expect(c.full).toBe(true);
    // The listener goes away: the source and its secrets are forgotten.
    s.apply('lds', update([], 'v2', ['in']));
    expect(s.sdsApiSources().size).toBe(0);
    expect(s.sds.size).toBe(0);
  });

  test('clusters warm on secrets named in transport_socket_matches; a source the control side cannot serve does not hold warming', () => {
    const served = new Set(['sds-grpc']);
    const s = new ConfigStore({ staticListeners: [], staticClusters: [], translators, sdsSourceServed: (c) => served.has(c) });
    const withMatches = { ...cluster('a', false), transportSocketMatches: [{ name: 'tlsMode-istio', match: { tlsMode: 'istio' }, transportSocket: istio() }] } as ClusterConfig;
    s.apply('cds', update([res('a', withMatches), res('b', { ...cluster('b', false), transportSocket: istio('nowhere') } as ClusterConfig)]));
    expect(s.isWarming('cds', 'a')).toBe(true);
    expect(s.isWarming('cds', 'b')).toBe(false);
    expect([...s.sdsApiSources().keys()].sort()).toEqual(['nowhere', 'sds-grpc']);
    s.applySecrets('sds-grpc', update([res('default', secret('default')), res('ROOTCA', secret('ROOTCA'))], 's1'));
    expect(s.isWarming('cds', 'a')).toBe(false);
  });

  test('a secret loaded both over ADS and from sds-grpc stays while either still loads it', () => {
    const s = newStore();
    s.apply('lds', update([res('x', tlsListener('x', tls([{ name: 'default', source: 'ads' }]))), res('y', tlsListener('y', istio()))]));
    expect([...s.subscriptions('sds')]).toEqual(['default']);
    s.applySecrets('sds-grpc', update([res('default', secret('default')), res('ROOTCA', secret('ROOTCA'))], 's1'));
    const c = s.apply('lds', update([res('y', tlsListener('y', istio()))], 'v2', ['x']));
    expect(c.unsubscribe.sds).toEqual(['default']);
    expect(s.sds.has('default')).toBe(true);
  });
});
