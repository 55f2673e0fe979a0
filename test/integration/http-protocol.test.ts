// Protocol edges of the HCM with real clients: malformed HTTP/1.1 answered with Envoy's status
// and nothing forwarded; curl over HTTP/1.1 and h2c prior knowledge; gRPC unary and streaming
// (@grpc/grpc-js both ends, HTTP/2 upstream cluster) with status and trailers preserved;
// WebSocket-style upgrade per upgrade_configs; access logs (Istio's format, JSON); fault and
// local rate limit filters.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { flushAccessLogs } from '../../src/extensions/access-loggers/log-sink';
import { cluster, hcmBootstrap, parseResponse, rawRequest, startHarness, upstream, type HttpHarness } from '../support/http-harness';

const run = promisify(execFile);
const ISTIO_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n';

const identity = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
const SERVICE = {
  unary: { path: '/test.Echo/Unary', requestStream: false, responseStream: false, requestSerialize: identity.serialize, requestDeserialize: identity.deserialize, responseSerialize: identity.serialize, responseDeserialize: identity.deserialize },
  stream: { path: '/test.Echo/Stream', requestStream: true, responseStream: true, requestSerialize: identity.serialize, requestDeserialize: identity.deserialize, responseSerialize: identity.serialize, responseDeserialize: identity.deserialize },
} as const;


/**
 * Opens a raw connection, sends `head`, sends `payload` once after the response head arrived,
 * and resolves with everything read as soon as it ends with `until` (the upstream's echo).
 */
function tunnel(port: number, head: string, payload: string, until: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1');
    let buf = '';
    let sent = false;
    c.on('error', reject);
    c.on('data', (d) => {
      buf += d.toString();
      if (!sent && buf.includes('\r\n\r\n')) {
        sent = true;
        c.write(payload);
      }
      if (buf.endsWith(until)) {
        c.destroy();
        resolve(buf);
      }
    });
    c.write(head);
  });
}

describe('HTTP protocol edges through the HCM', () => {
  let up: Awaited<ReturnType<typeof upstream>>;
  let ws: net.Server;
  let connectUp: http.Server;
  let grpcServer: grpc.Server;
  let grpcPort: number;
  let h: HttpHarness;
  const dir = mkdtempSync(join(tmpdir(), 'meshproxy-al-'));
  const textLog = join(dir, 'text.log');
  const jsonLog = join(dir, 'json.log');

  beforeAll(async () => {
    up = await upstream((req, res) => res.end(`ok ${req.body.length}`));
    ws = net.createServer((s) => {
      s.once('data', () => {
        s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
        s.on('data', (d) => s.write(d));
      });
      s.on('error', () => {});
    });
    await new Promise<void>((r) => ws.listen(0, '127.0.0.1', r));
    connectUp = http.createServer();
    connectUp.on('connect', (_req: http.IncomingMessage, sock: net.Socket) => {
      sock.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      sock.on('data', (d) => sock.write(Buffer.concat([Buffer.from('tunnel:'), d])));
      sock.on('error', () => {});
      sock.on('end', () => sock.end());
    });
    await new Promise<void>((r) => connectUp.listen(0, '127.0.0.1', r));
    grpcServer = new grpc.Server();
    grpcServer.addService(SERVICE as unknown as grpc.ServiceDefinition, {
      unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        if (call.request.toString() === 'fail') {
          const md = new grpc.Metadata();
          md.set('x-detail', 'boom');
          cb({ code: grpc.status.FAILED_PRECONDITION, details: 'precondition', metadata: md });
          return;
        }
        const md = new grpc.Metadata();
        md.set('x-trailer', 'kept');
        cb(null, Buffer.concat([Buffer.from('echo:'), call.request]), md);
      },
      stream: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        call.on('data', (d: Buffer) => call.write(Buffer.concat([Buffer.from('s:'), d])));
        call.on('end', () => call.end());
      },
    });
    grpcPort = await new Promise<number>((res, rej) => grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    h = await startHarness(
      hcmBootstrap({
        clusters: [
          cluster('up', [up.port]),
          cluster('ws', [(ws.address() as net.AddressInfo).port]),
          cluster('connect', [(connectUp.address() as net.AddressInfo).port]),
          cluster('grpc', [grpcPort], { typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', explicit_http_config: { http2_protocol_options: {} } } } }),
        ],
        hcm: {
          upgrade_configs: [{ upgrade_type: 'websocket' }, { upgrade_type: 'CONNECT' }],
          access_log: [
            { name: 'envoy.access_loggers.file', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog', path: textLog, log_format: { text_format_source: { inline_string: ISTIO_FORMAT } } } },
            { name: 'envoy.access_loggers.file', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog', path: jsonLog, log_format: { json_format: { code: '%RESPONSE_CODE%', flags: '%RESPONSE_FLAGS%', path: '%REQ(:PATH)%' } } } },
          ],
        },
        httpFilters: [
          { name: 'envoy.filters.http.fault', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault', abort: { header_abort: {}, percentage: { numerator: 100 } } } },
          {
            name: 'envoy.filters.http.local_ratelimit',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
              stat_prefix: 'rl',
              token_bucket: { max_tokens: 1000, tokens_per_fill: 1000, fill_interval: '60s' },
              filter_enabled: { runtime_key: 'e', default_value: { numerator: 100 } },
              filter_enforced: { runtime_key: 'f', default_value: { numerator: 100 } },
            },
          },
        ],
        virtualHosts: [
          {
            name: 'all',
            domains: ['*'],
            routes: [
              { match: { connect_matcher: {} }, route: { cluster: 'connect' } },
              { match: { prefix: '/test.Echo/' }, route: { cluster: 'grpc', timeout: '0s' } },
              { match: { prefix: '/ws' }, route: { cluster: 'ws' } },
              { match: { prefix: '/' }, route: { cluster: 'up' } },
            ],
          },
        ],
      }),
    );
  });

  afterAll(async () => {
    h.close();
    grpcServer.forceShutdown();
    await up.close();
    await new Promise((r) => ws.close(r));
    connectUp.closeAllConnections();
    await new Promise((r) => connectUp.close(r));
  });

  it.each([
    ['Content-Length with Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
    ['bad chunk size', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n', 400],
    ['unsupported transfer-encoding', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n', 501],
    ['invalid header value byte', 'GET / HTTP/1.1\r\nHost: a\r\nX-Bad: a\x01b\r\n\r\n', 400],
    ['oversized headers', `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(70 * 1024)}\r\n\r\n`, 431],
  ])('%s: answered with the status Envoy sends, nothing forwarded upstream', async (_name, raw, status) => {
    const before = up.seen.length;
    const r = parseResponse(await rawRequest(h.port(), raw));
    expect(r.status).toBe(status);
    expect(r.headers.connection).toBe('close');
    expect(up.seen.length).toBe(before);
  });

  it('curl over HTTP/1.1 (chunked upload, 100-continue) and h2c prior knowledge', async () => {
    const base = `http://127.0.0.1:${h.port()}`;
    const r1 = await run('curl', ['-s', '-H', 'Expect: 100-continue', '-H', 'Transfer-Encoding: chunked', '--data-binary', 'x'.repeat(5000), `${base}/upload`]);
    expect(r1.stdout).toBe('ok 5000');
    const r2 = await run('curl', ['-s', '-i', '--http2-prior-knowledge', `${base}/h2`]);
    expect(r2.stdout).toMatch(/^HTTP\/2 200/);
    expect(r2.stdout).toMatch(/server: envoy/);
    expect(r2.stdout).toMatch(/ok 0$/);
  });

  it('gRPC unary and bidi streaming through the proxy keep status, messages and trailers', async () => {
    const Client = grpc.makeGenericClientConstructor(SERVICE as unknown as grpc.ServiceDefinition, 'Echo');
    const client = new Client(`127.0.0.1:${h.port()}`, grpc.credentials.createInsecure()) as unknown as {
      unary(req: Buffer, cb: (e: grpc.ServiceError | null, r?: Buffer) => void): grpc.ClientUnaryCall;
      stream(): grpc.ClientDuplexStream<Buffer, Buffer>;
      close(): void;
    };
    const trailers = await new Promise<{ reply: string; trailer: unknown }>((resolve, reject) => {
      let reply = '';
      const call = client.unary(Buffer.from('hi'), (e, r) => (e ? reject(e) : (reply = r!.toString())));
      call.on('status', (s: grpc.StatusObject) => resolve({ reply, trailer: s.metadata.get('x-trailer')[0] }));
    });
    expect(trailers).toEqual({ reply: 'echo:hi', trailer: 'kept' });
    const err = await new Promise<grpc.ServiceError>((resolve) => client.unary(Buffer.from('fail'), (e) => resolve(e!)));
    expect([err.code, err.details]).toEqual([grpc.status.FAILED_PRECONDITION, 'precondition']);
    expect(err.details).toBe('precondition');
    expect(err.metadata.get('x-detail')[0]).toBe('boom');
    const got = await new Promise<string[]>((resolve, reject) => {
      const out: string[] = [];
      const call = client.stream();
      call.on('data', (d: Buffer) => out.push(d.toString()));
      call.on('error', reject);
      call.on('end', () => resolve(out));
      for (const m of ['1', '2', '3']) call.write(Buffer.from(m));
      call.end();
    });
    expect(got).toEqual(['s:1', 's:2', 's:3']);
    client.close();
  });

  it('upgrade: websocket per upgrade_configs is tunnelled both ways', async () => {
    const got = await tunnel(h.port(), 'GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n', 'ping', 'ping');
    expect(got).toMatch(/^HTTP\/1\.1 101 Switching Protocols/);
    expect(got.endsWith('ping')).toBe(true);
  });

  it('CONNECT is forwarded upstream and tunnels after the 2xx', async () => {
    const got = await tunnel(h.port(), 'CONNECT backend.example:443 HTTP/1.1\r\nHost: backend.example:443\r\n\r\n', 'x', 'tunnel:x');
    expect(got).toMatch(/^HTTP\/1\.1 200 /);
    expect(got.endsWith('tunnel:x')).toBe(true);
  });

  it('fault abort from headers, then access logs in Istio text format and JSON', async () => {
    const f = parseResponse(await rawRequest(h.port(), 'GET /faulty HTTP/1.1\r\nHost: a\r\nx-envoy-fault-abort-request: 503\r\nConnection: close\r\n\r\n'));
    expect(f.status).toBe(503);
    expect(f.body).toBe('fault filter abort');
    expect(h.counter('http.ingress.fault.aborts_injected')).toBe(1);
    expect(h.counter('rl.http_local_rate_limit.ok')).toBeGreaterThan(0);
    flushAccessLogs(true);
    const lines = readFileSync(textLog, 'utf8').trim().split('\n');
    const faulty = lines.find((l) => l.includes('/faulty'))!;
    expect(faulty).toMatch(/^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] "GET \/faulty HTTP\/1\.1" 503 FI fault_filter_abort - "-" 0 18 \d+ - "-" "-" "[0-9a-f-]{36}" "a" "-" - - 127\.0\.0\.1:\d+ 127\.0\.0\.1:\d+ - -$/);
    const json = readFileSync(jsonLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { code: number; flags: string | null; path: string });
    expect(json).toContainEqual({ code: 503, flags: 'FI', path: '/faulty' });
    expect(json).toContainEqual({ code: 200, flags: null, path: '/h2' });
  });
});
