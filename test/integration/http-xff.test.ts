// x-forwarded-for through the HCM with a real upstream: with use_remote_address and
// xff_num_trusted_hops the client address comes from XFF (x-envoy-external-address, the
// downstream remote address seen by %DOWNSTREAM_REMOTE_ADDRESS%), external requests lose their
// x-envoy-* control headers, internal ones get x-envoy-internal; without use_remote_address a
// single internal XFF address makes the request internal.
import { cluster, hcmBootstrap, parseResponse, rawRequest, startHarness, upstream, type HttpHarness, type SeenRequest } from '../support/http-harness';

describe('x-forwarded-for and internal/external requests', () => {
  let up: Awaited<ReturnType<typeof upstream>>;
  let edge: HttpHarness;
  let sidecar: HttpHarness;

  const vhosts = [
    {
      name: 'all',
      domains: ['*'],
      request_headers_to_add: [{ header: { key: 'x-client', value: '%DOWNSTREAM_REMOTE_ADDRESS%' } }, { header: { key: 'x-direct', value: '%DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT%' } }],
      routes: [{ match: { prefix: '/' }, route: { cluster: 'up' } }],
    },
  ];

  beforeAll(async () => {
    up = await upstream();
    edge = await startHarness(hcmBootstrap({ clusters: [cluster('up', [up.port])], hcm: { use_remote_address: true, xff_num_trusted_hops: 1 }, virtualHosts: vhosts }));
    sidecar = await startHarness(hcmBootstrap({ clusters: [cluster('up', [up.port])], virtualHosts: vhosts }));
  });

  afterAll(async () => {
    edge.close();
    sidecar.close();
    await up.close();
  });

  async function seen(h: HttpHarness, extra: string): Promise<SeenRequest['headers']> {
    const r = parseResponse(await rawRequest(h.port(), `GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nx-envoy-ip-tags: spoofed\r\nx-envoy-decorator-operation: spoofed\r\n${extra}\r\n`));
    expect(r.status).toBe(200);
    return up.seen[up.seen.length - 1]!.headers;
  }

  it('edge: the trusted hop\'s XFF entry is the client; it is external and sanitised', async () => {
    const h = await seen(edge, 'X-Forwarded-For: 198.51.100.7\r\nx-envoy-internal: true\r\n');
    expect(h['x-envoy-external-address']).toBe('198.51.100.7');
    expect(h['x-client']).toBe('198.51.100.7:0');
    expect(h['x-direct']).toBe('127.0.0.1');
    expect(String(h['x-forwarded-for']).split(',')).toHaveLength(2);
    expect(String(h['x-forwarded-for'])).toMatch(/^198\.51\.100\.7,/);
    expect(h['x-envoy-internal']).toBeUndefined();
    expect(h['x-envoy-ip-tags']).toBeUndefined();
    expect(h['x-envoy-decorator-operation']).toBeUndefined();
  });

  it('edge: a loopback peer without XFF is internal and keeps x-envoy-* headers', async () => {
    const h = await seen(edge, '');
    expect(h['x-envoy-internal']).toBe('true');
    expect(h['x-envoy-external-address']).toBeUndefined();
    expect(h['x-envoy-ip-tags']).toBe('spoofed');
    expect(h['x-forwarded-for']).toBeDefined();
  });

  it('sidecar (no use_remote_address): one internal XFF address makes the request internal', async () => {
    const h = await seen(sidecar, 'x-forwarded-for: 10.1.2.3\r\n');
    expect(h['x-envoy-internal']).toBe('true');
    expect(h['x-client']).toBe('10.1.2.3:0');
    expect(h['x-envoy-ip-tags']).toBe('spoofed');
    expect(h['x-forwarded-for']).toBe('10.1.2.3');
  });

  it('sidecar: an external XFF client is external (headers stripped, no external address set)', async () => {
    const h = await seen(sidecar, 'x-forwarded-for: 8.8.8.8\r\n');
    expect(h['x-envoy-internal']).toBeUndefined();
    expect(h['x-client']).toBe('8.8.8.8:0');
    expect(h['x-envoy-external-address']).toBeUndefined();
    expect(h['x-envoy-ip-tags']).toBeUndefined();
    // Not an edge request: decorator operation is only stripped at the edge.
    expect(h['x-envoy-decorator-operation']).toBe('spoofed');
  });
});
