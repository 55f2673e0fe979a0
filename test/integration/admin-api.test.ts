// The admin server on a real loopback socket with a test view: Envoy's status codes and texts
// for wrong methods and unknown paths, /config_dump over HTTP, /config_history, and golden
// shape comparisons of /clusters?format=json and /listeners?format=json against real Envoy output.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { AdminServer } from '../../src/admin/admin-server';
import type { ClusterStatusView, EdsHealthStatus } from '../../src/admin/clusters-view';
import { CORPUS, corpusSource } from '../support/admin-corpus-source';
import { testAdminView } from '../support/admin-test-view';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type J = Record<string, any>;

const CLUSTERS_DIR = join(CORPUS, 'navigator', 'clusters-admin');

/** Real /clusters?format=json -> the plain view the server would have supplied for it. */
function viewsFromClustersJson(doc: J): ClusterStatusView[] {
  const addr = (a: J): string => (a.socket_address ? (a.socket_address.address.includes(':') ? `[${a.socket_address.address}]:${a.socket_address.port_value ?? 0}` : `${a.socket_address.address}:${a.socket_address.port_value ?? 0}`) : a.pipe ? a.pipe.path : `envoy://${a.envoy_internal_address.server_listener_name}/${a.envoy_internal_address.endpoint_id ?? ''}`);
  return (doc.cluster_statuses ?? []).map((c: J) => ({
    name: c.name,
    addedViaApi: c.added_via_api === true,
    observabilityName: c.observability_name ?? '',
    edsServiceName: c.eds_service_name,
    circuitBreakers: (c.circuit_breakers?.thresholds ?? []).map((t: J) => ({ priority: t.priority ?? 'DEFAULT', maxConnections: t.max_connections, maxPendingRequests: t.max_pending_requests, maxRequests: t.max_requests, maxRetries: t.max_retries })),
    hosts: (c.host_statuses ?? []).map((h: J) => {
      const stats: J = { cx_connect_fail: 0, cx_total: 0, rq_error: 0, rq_success: 0, rq_timeout: 0, rq_total: 0, cx_active: 0, rq_active: 0 };
      for (const s of h.stats ?? []) stats[s.name] = Number(s.value ?? 0);
      return {
        address: addr(h.address),
        hostname: h.hostname,
        weight: h.weight ?? 0,
        priority: h.priority ?? 0,
        locality: h.locality ? { region: h.locality.region, zone: h.locality.zone, subZone: h.locality.sub_zone } : undefined,
        stats,
        health: { edsHealthStatus: (h.health_status?.eds_health_status ?? 'UNKNOWN') as EdsHealthStatus, failedOutlierCheck: h.health_status?.failed_outlier_check, failedActiveHealthCheck: h.health_status?.failed_active_health_check },
        successRate: h.success_rate?.value,
      };
    }),
  }));
}

const navigatorClusters = JSON.parse(readFileSync(join(CLUSTERS_DIR, 'envoy_clusters.json'), 'utf8')) as J;

let server: AdminServer;
let base: string;
const t = testAdminView({
  configDump: corpusSource(),
  clusterStatuses: viewsFromClustersJson(navigatorClusters),
  listenerStatuses: [
    { name: 'virtualOutbound', localAddress: '0.0.0.0:15001' },
    { name: 'dual', localAddress: '0.0.0.0:8080', additionalLocalAddresses: ['[::]:8080'] },
  ],
  history: (type) => [{ type: type ?? 'lds', version_info: 'v1', nonce: 'n1', time: '2025-01-01T00:00:00Z', accepted: true, resources: ['a'] }],
});

beforeAll(async () => {
  server = new AdminServer(t.view, pino({ level: 'silent' }));
  base = `http://${await server.start({ kind: 'socket', address: '127.0.0.1', port: 0 } as never)}`;
});
afterAll(() => server.close());

async function call(path: string, method = 'GET'): Promise<{ status: number; body: string; type: string }> {
  const r = await fetch(base + path, { method });
  return { status: r.status, body: await r.text(), type: r.headers.get('content-type') ?? '' };
}

test('unknown path: 404 "invalid path. " + help; help marks POST endpoints', async () => {
  const r = await call('/nope');
  expect(r.status).toBe(404);
  expect(r.body.startsWith('invalid path. admin commands are:\n')).toBe(true);
  expect(r.body).toContain('  /quitquitquit (POST): exit the server\n');
  expect(r.body).toContain('  /config_dump: dump current Envoy configs (experimental)\n      resource: The resource to dump\n');
});

test('state-changing endpoints with GET: 405 "Method GET not allowed, POST required."', async () => {
  for (const p of ['/quitquitquit', '/healthcheck/fail', '/drain_listeners?inboundonly', '/reset_counters', '/logging']) {
    expect(await call(p)).toMatchObject({ status: 405, body: 'Method GET not allowed, POST required.' });
  }
  expect(t.calls).toEqual([]);
  expect((await call('/drain_listeners?inboundonly&graceful', 'POST')).status).toBe(200);
  expect(t.calls).toEqual(['drain {"inboundOnly":true,"graceful":true,"skipExit":false}']);
});

test('/logging POST lists, and takes level=, paths= and <logger>=<level>', async () => {
  const r = await call('/logging?upstream=debug', 'POST');
  expect(r.status).toBe(200);
  expect(r.body).toContain('  upstream: debug\n');
  expect((await call('/logging?nosuchlogger=debug', 'POST')).status).toBe(404);
  expect((await call('/logging?paths=admin:trace', 'POST')).body).toContain('  admin: trace\n');
});

test('/config_dump over HTTP: JSON, istioctl masks, errors as text', async () => {
  const r = await call('/config_dump?mask=dynamic_listeners,static_listeners');
  expect(r.status).toBe(200);
  expect(r.type).toMatch(/^application\/json/);
  const j = JSON.parse(r.body) as J;
  expect(j.configs).toHaveLength(1);
  expect(j.configs[0].dynamic_listeners).toHaveLength(15);
  expect((await call('/config_dump?resource=nope')).body).toBe('nope not found in config dump');
});

test('/config_history: entries per type, 404 for an unknown type', async () => {
  const r = await call('/config_history?type=cds');
  expect(r.status).toBe(200);
  expect(JSON.parse(r.body)).toEqual({ type: 'cds', updates: [{ type: 'cds', version_info: 'v1', nonce: 'n1', time: '2025-01-01T00:00:00Z', accepted: true, resources: ['a'] }] });
  expect(await call('/config_history?type=xds')).toMatchObject({ status: 404, body: "unknown type 'xds': expected one of lds, rds, cds, eds, sds\n" });
});

test('/clusters?format=json reproduces real Envoy 1.34 output from the same data (golden)', async () => {
  const r = await call('/clusters?format=json');
  expect(r.status).toBe(200);
  expect(JSON.parse(r.body)).toEqual(navigatorClusters);
  // Same text, byte for byte (Envoy pretty-prints this one with one-space indents).
  expect(r.body.trim()).toBe(readFileSync(join(CLUSTERS_DIR, 'envoy_clusters.json'), 'utf8').trim());
});

test.each(['cluster_with_no_endpoints.json', 'unix_socket_cluster.json', 'cluster_with_priorities.json', 'generic_clusters_with_endpoints.json'])('/clusters json shape: %s', async (f) => {
  const doc = JSON.parse(readFileSync(join(CLUSTERS_DIR, f), 'utf8')) as J;
  const { renderClustersJson } = await import('../../src/admin/clusters-view');
  const ours = JSON.parse(renderClustersJson(viewsFromClustersJson(doc))) as J;
  // These small samples were written by hand for istioctl tests: compare the fields they carry.
  ours.cluster_statuses.forEach((c: J, i: number) => {
    const want = doc.cluster_statuses[i];
    expect(c.name).toBe(want.name);
    expect((c.host_statuses ?? []).map((h: J) => h.address)).toEqual((want.host_statuses ?? []).map((h: J) => h.address));
    expect((c.host_statuses ?? []).map((h: J) => h.health_status?.eds_health_status)).toEqual((want.host_statuses ?? []).map((h: J) => h.health_status?.eds_health_status ?? undefined));
  });
});

test('/clusters text: Envoy line layout', async () => {
  const r = await call('/clusters');
  const lines = r.body.split('\n');
  const c = 'outbound|15014||istiod.istio-system.svc.cluster.local';
  expect(lines).toContain(`${c}::default_priority::max_connections::4294967295`);
  expect(lines).toContain(`${c}::high_priority::max_retries::3`);
  expect(lines).toContain(`${c}::added_via_api::true`);
  expect(lines).toContain(`${c}::10.244.1.2:15014::cx_active::0`);
  expect(lines).toContain(`${c}::10.244.1.2:15014::health_flags::healthy`);
  expect(lines).toContain(`${c}::10.244.1.2:15014::success_rate::-1`);
});

test('/listeners text and json (envoy.admin.v3.Listeners)', async () => {
  expect((await call('/listeners')).body).toBe('virtualOutbound::0.0.0.0:15001\ndual::0.0.0.0:8080,[::]:8080\n');
  expect(JSON.parse((await call('/listeners?format=json')).body)).toEqual({
    listener_statuses: [
      { name: 'virtualOutbound', local_address: { socket_address: { address: '0.0.0.0', port_value: 15001 } } },
      { name: 'dual', local_address: { socket_address: { address: '0.0.0.0', port_value: 8080 } }, additional_local_addresses: [{ socket_address: { address: '::', port_value: 8080 } }] },
    ],
  });
});
