// gRPC deadlines and stream durations through the HCM with a real @grpc/grpc-js client and a
// slow grpc-js server (HTTP/2 upstream), plus max_stream_duration on plain HTTP:
// - route max_stream_duration.grpc_timeout_header_max caps the client's grpc-timeout; the HCM
//   answers DEADLINE_EXCEEDED at the capped time and the upstream gets the capped grpc-timeout;
//   grpc_timeout_header_offset shortens it
// - legacy max_grpc_timeout caps the router's timeout and the grpc-timeout sent upstream
// - HCM common_http_protocol_options.max_stream_duration and route max_stream_duration on HTTP:
//   504 once the request was received, 408 while it is still arriving.
import * as grpc from '@grpc/grpc-js';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { cluster, hcmBootstrap, parseResponse, rawRequest, startHarness, upstream, type HttpHarness } from '../support/http-harness';

const identity = (b: Buffer): Buffer => b;
const method = (name: string) => ({ path: `/test.Slow/${name}`, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity });
const SERVICE = { capped: method('Capped'), held: method('Held'), offset: method('Offset'), legacy: method('Legacy'), plain: method('Plain') };

type Client = Record<keyof typeof SERVICE, (req: Buffer, md: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: Buffer) => void) => void>;

describe('gRPC timeouts and max_stream_duration', () => {
  let server: grpc.Server;
  let h: HttpHarness;
  let hcmLimited: HttpHarness;
  let slowHttp: Awaited<ReturnType<typeof upstream>>;
  let client: Client;
  /** A raw HTTP/2 upstream that records grpc-timeout and never answers: only the proxy can end
   * the call (a grpc-js server would race the proxy with the same capped deadline). */
  let held: http2.Http2Server;
  const heldSessions: http2.ServerHttp2Session[] = [];
  /** Time left until the deadline the upstream was given (ms; Infinity for none), per method. */
  const seenTimeout = new Map<string, number>();

  beforeAll(async () => {
    server = new grpc.Server();
    // Each handler answers after the delay (ms) in the request payload.
    const handler = (name: string) => (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const d = call.getDeadline();
      seenTimeout.set(name, (d instanceof Date ? d.getTime() : Number(d)) - Date.now());
      setTimeout(() => cb(null, Buffer.from('done')), Number(call.request.toString())).unref();
    };
    server.addService(SERVICE as unknown as grpc.ServiceDefinition, { capped: handler('capped'), offset: handler('offset'), legacy: handler('legacy'), plain: handler('plain') });
    held = http2.createServer();
    held.on('session', (sess) => heldSessions.push(sess));
    held.on('stream', (stream, headers) => {
      stream.on('error', () => {});
      const m = /^(\d+)([HMSmun])$/.exec(String(headers['grpc-timeout'] ?? ''));
      const unitMs: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };
      seenTimeout.set('held', m ? Number(m[1]) * unitMs[m[2]!]! : Infinity);
    });
    const heldPort = await new Promise<number>((r) => held.listen(0, '127.0.0.1', () => r((held.address() as net.AddressInfo).port)));
    const grpcPort = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    slowHttp = await upstream((req, res) => setTimeout(() => res.end('late'), Number(/delay=(\d+)/.exec(req.url)?.[1] ?? 0)).unref());
    const h2 = { typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', explicit_http_config: { http2_protocol_options: {} } } } };
    h = await startHarness(
      hcmBootstrap({
        clusters: [cluster('grpc', [grpcPort], h2), cluster('held', [heldPort], h2), cluster('http', [slowHttp.port])],
        virtualHosts: [
          {
            name: 'all',
            domains: ['*'],
            routes: [
              { match: { path: '/test.Slow/Capped' }, route: { cluster: 'grpc', max_stream_duration: { grpc_timeout_header_max: '0.3s' } } },
              { match: { path: '/test.Slow/Held' }, route: { cluster: 'held', max_stream_duration: { grpc_timeout_header_max: '0.3s' } } },
              { match: { path: '/test.Slow/Offset' }, route: { cluster: 'grpc', max_stream_duration: { grpc_timeout_header_max: '0s', grpc_timeout_header_offset: '0.2s' } } },
              { match: { path: '/test.Slow/Legacy' }, route: { cluster: 'grpc', max_grpc_timeout: '0.3s' } },
              { match: { path: '/test.Slow/Plain' }, route: { cluster: 'grpc', timeout: '0s' } },
              { match: { prefix: '/route-limited' }, route: { cluster: 'http', max_stream_duration: { max_stream_duration: '0.2s' } } },
              { match: { prefix: '/' }, route: { cluster: 'http' } },
            ],
          },
        ],
      }),
    );
    hcmLimited = await startHarness(
      hcmBootstrap({
        clusters: [cluster('http', [slowHttp.port])],
        hcm: { common_http_protocol_options: { max_stream_duration: '0.2s' } },
        virtualHosts: [
          {
            name: 'all',
            domains: ['*'],
            routes: [
              { match: { prefix: '/unlimited' }, route: { cluster: 'http', max_stream_duration: { max_stream_duration: '0s' } } },
              { match: { prefix: '/' }, route: { cluster: 'http' } },
            ],
          },
        ],
      }),
    );
    const Ctor = grpc.makeGenericClientConstructor(SERVICE as unknown as grpc.ServiceDefinition, 'Slow');
    client = new Ctor(`127.0.0.1:${h.port()}`, grpc.credentials.createInsecure()) as unknown as Client;
  });

  afterAll(async () => {
    (client as unknown as grpc.Client).close();
    h.close();
    hcmLimited.close();
    server.forceShutdown();
    for (const sess of heldSessions) sess.destroy();
    held.close();
    await slowHttp.close();
  });

  function call(name: keyof typeof SERVICE, delayMs: number, deadlineMs?: number): Promise<{ code: number; ms: number }> {
    const t0 = Date.now();
    const opts: grpc.CallOptions = deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs };
    return new Promise((resolve) => client[name](Buffer.from(String(delayMs)), new grpc.Metadata(), opts, (e) => resolve({ code: e ? e.code : grpc.status.OK, ms: Date.now() - t0 })));
  }

  it('grpc_timeout_header_max caps the client deadline: DEADLINE_EXCEEDED from the proxy at the cap', async () => {
    const before = h.counter('http.ingress.downstream_rq_max_duration_reached');
    const r = await call('held', 0, 10_000);
    expect(r.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(r.ms).toBeGreaterThanOrEqual(280);
    expect(r.ms).toBeLessThan(1500);
    expect(h.counter('http.ingress.downstream_rq_max_duration_reached')).toBe(before + 1);
    // The upstream was told the capped deadline (grpc-timeout: 300m, less the time already spent).
    expect(seenTimeout.get('held')).toBeLessThanOrEqual(300);
    expect(seenTimeout.get('held')).toBeGreaterThan(200);
  });

  it('a deadline under the cap is kept; a fast call succeeds', async () => {
    const fast = await call('capped', 10, 10_000);
    expect(fast).toEqual({ code: grpc.status.OK, ms: fast.ms });
    const r = await call('capped', 2000, 150);
    expect(r.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(r.ms).toBeLessThan(1000);
  });

  it('without grpc-timeout the route has no limit', async () => {
    expect((await call('capped', 500)).code).toBe(grpc.status.OK);
  });

  it('grpc_timeout_header_offset is taken off the header timeout (no cap with max 0)', async () => {
    const r = await call('offset', 2000, 600);
    expect(r.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(r.ms).toBeLessThan(580);
    expect(seenTimeout.get('offset')).toBeLessThanOrEqual(400);
  });

  it('legacy max_grpc_timeout caps the router timeout and the grpc-timeout sent upstream', async () => {
    const r = await call('legacy', 2000, 10_000);
    // The router's 504 (UNAVAILABLE, as Envoy maps 504) races the upstream's own deadline
    // (DEADLINE_EXCEEDED): both end the call at the capped 300 ms.
    expect([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]).toContain(r.code);
    expect(r.ms).toBeGreaterThanOrEqual(280);
    expect(r.ms).toBeLessThan(1500);
    expect(seenTimeout.get('legacy')).toBeLessThanOrEqual(300);
    expect(seenTimeout.get('legacy')).toBeGreaterThan(200);
  });

  it('a route without grpc limits passes the client deadline through unchanged', async () => {
    expect((await call('plain', 10, 5000)).code).toBe(grpc.status.OK);
    expect(seenTimeout.get('plain')).toBeGreaterThan(4000);
  });

  const get = async (harness: HttpHarness, path: string) => parseResponse(await rawRequest(harness.port(), `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));

  it('route max_stream_duration on HTTP: 504 downstream duration timeout', async () => {
    const t0 = Date.now();
    const r = await get(h, '/route-limited?delay=1000');
    expect(r.status).toBe(504);
    expect(r.body).toBe('downstream duration timeout');
    expect(Date.now() - t0).toBeLessThan(900);
    expect((await get(h, '/other?delay=300')).status).toBe(200);
  });

  it('HCM max_stream_duration: 504 after the request, 408 while it is still arriving; a route can turn it off', async () => {
    expect((await get(hcmLimited, '/x?delay=1000')).status).toBe(504);
    const partial = parseResponse(await rawRequest(hcmLimited.port(), 'POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab', 2000));
    expect(partial.status).toBe(408);
    expect((await get(hcmLimited, '/unlimited?delay=400')).status).toBe(200);
  });

  it('closes the slow connection cleanly (no leak of the partial request)', async () => {
    const c = net.connect(hcmLimited.port(), '127.0.0.1');
    const closed = new Promise<string>((resolve) => {
      let out = '';
      c.on('data', (d) => (out += d.toString()));
      c.on('close', () => resolve(out));
    });
    c.write('POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab');
    expect(await closed).toMatch(/^HTTP\/1\.1 408/);
  });
});
