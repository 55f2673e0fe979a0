// The built proxy process (bin/meshproxy) serving HTTP: a bootstrap with an HCM listener in
// front of a loopback upstream, requests from curl over HTTP/1.1 and h2c, with one and two
// worker processes; Envoy's http.* and cluster.* stats visible on the admin API; a request
// timeout from the HCM. Needs `make build` (dist/).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startProxy, type ProxyProcess } from '../support/proxy-process';
import { cluster, hcmBootstrap, parseResponse, rawRequest, upstream } from '../support/http-harness';

const run = promisify(execFile);

describe.each([1, 2])('HTTP through the proxy process (--concurrency %i)', (concurrency) => {
  let up: Awaited<ReturnType<typeof upstream>>;
  let proxy: ProxyProcess;
  let port: number;

  beforeAll(async () => {
    up = await upstream((req, res) => res.end(`hello ${req.url}`));
    const b = hcmBootstrap({
      clusters: [cluster('up', [up.port])],
      virtualHosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'up' } }] }],
      hcm: { request_timeout: '0.3s' },
    }) as { admin?: object };
    b.admin = { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } };
    proxy = await startProxy(b, ['--concurrency', String(concurrency)]);
    port = (await proxy.listener('http')).port;
  }, 30_000);

  afterAll(async () => {
    expect(await proxy.stop()).toBe(0);
    await up.close();
  });

  it('serves HTTP/1.1 and h2c and counts Envoy stats', async () => {
    for (let i = 0; i < 4; i++) {
      const r1 = await run('curl', ['-s', `http://127.0.0.1:${port}/a${i}`]);
      expect(r1.stdout).toBe(`hello /a${i}`);
    }
    const r2 = await run('curl', ['-s', '--http2-prior-knowledge', `http://127.0.0.1:${port}/h2`]);
    expect(r2.stdout).toBe('hello /h2');
    let body = '';
    for (let i = 0; i < 40 && !/http\.ingress\.downstream_rq_2xx: 5/.test(body); i++) {
      body = (await proxy.get('/stats?filter=^(http\\.ingress\\.downstream_rq_2xx|cluster\\.up\\.upstream_rq_200)$')).body;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(body).toMatch(/^http\.ingress\.downstream_rq_2xx: 5$/m);
    expect(body).toMatch(/^cluster\.up\.upstream_rq_200: 5$/m);
  });

  it('request_timeout answers 408 when the body does not arrive', async () => {
    const r = parseResponse(await rawRequest(port, 'POST /slow HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc'));
    expect(r.status).toBe(408);
    expect(r.body).toBe('request timeout');
  });
});
