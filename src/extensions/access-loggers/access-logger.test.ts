// Access log formatting: Envoy's default format and Istio's format render as Envoy renders them
// for an HTTP stream and for a TCP connection (missing values '-'), JSON keeps number types and
// null, unknown commands are config errors, and filters select records.
import { compileAccessLogFilter, createAccessLogger } from './access-logger';
import { ENVOY_DEFAULT_FORMAT, parseFormat } from './format-parse';
import { flushAccessLogs } from './log-sink';
import { TcpAccessLog } from './tcp-access-log';
import type { AccessLogRecord } from './access-log-record';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ISTIO =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n';

const headers = (o: Record<string, string>) => ({ getAll: (n: string) => o[n] });
const rec: AccessLogRecord = {
  startTimeMs: Date.UTC(2024, 0, 2, 3, 4, 5, 678), durationMs: 12, requestDurationMs: 1, responseDurationMs: 10,
  requestHeaders: headers({ 'user-agent': 'curl/8', 'x-request-id': 'rid', 'x-envoy-original-path': '/orig' }),
  responseHeaders: headers({ 'x-envoy-upstream-service-time': '7' }), responseTrailers: null,
  method: 'GET', path: '/p', authority: 'svc:80', scheme: 'http', protocol: 'HTTP/1.1', responseCode: 200, responseFlags: '',
  responseCodeDetails: 'via_upstream', connectionTerminationDetails: '', upstreamTransportFailureReason: '', bytesReceived: 0, bytesSent: 5,
  upstreamHost: '10.0.0.2:8080', upstreamCluster: 'outbound|80||svc', upstreamLocalAddress: '10.0.0.1:4000', downstreamLocalAddress: '10.0.0.1:80',
  downstreamRemoteAddress: '10.0.0.9:5555', downstreamDirectRemoteAddress: '10.0.0.9:5555', requestedServerName: '', routeName: 'default', connectionId: 3,
  isHealthCheck: false, attemptCount: 1,
};

function render(format: string, r: AccessLogRecord): string {
  const dir = mkdtempSync(join(tmpdir(), 'al-'));
  const path = join(dir, 'log');
  const p = parseFormat(format);
  if ('error' in p) throw new Error(p.error);
  createAccessLogger({ config: { sink: 'file', path, format: { text: p.parts, omitEmptyValues: false } } }).log(r);
  flushAccessLogs(true);
  return readFileSync(path, 'utf8');
}

it('renders Istio\'s default format exactly as Envoy does', () => {
  expect(render(ISTIO, rec)).toBe(
    '[2024-01-02T03:04:05.678Z] "GET /orig HTTP/1.1" 200 - via_upstream - "-" 0 5 12 7 "-" "curl/8" "rid" "svc:80" "10.0.0.2:8080" outbound|80||svc 10.0.0.1:4000 10.0.0.1:80 10.0.0.9:5555 - default\n',
  );
});

it("renders Envoy's default format", () => {
  expect(render(ENVOY_DEFAULT_FORMAT, rec)).toBe('[2024-01-02T03:04:05.678Z] "GET /orig HTTP/1.1" 200 - 0 5 12 7 "-" "curl/8" "rid" "svc:80" "10.0.0.2:8080"\n');
});

it('logs TCP connections with HTTP fields as "-"', () => {
  const dir = mkdtempSync(join(tmpdir(), 'al-'));
  const path = join(dir, 'tcp');
  const p = parseFormat(ISTIO);
  if ('error' in p) throw new Error(p.error);
  new TcpAccessLog([{ config: { sink: 'file', path, format: { text: p.parts, omitEmptyValues: false } } }]).log({
    startTimeMs: rec.startTimeMs, durationMs: 30, bytesReceived: 10, bytesSent: 20, upstreamHost: '10.0.0.2:9000', upstreamCluster: 'tcp', upstreamLocalAddress: '10.0.0.1:4001',
    downstreamLocalAddress: '10.0.0.1:9000', downstreamRemoteAddress: '10.0.0.9:6000', connectionId: 4, responseFlags: '',
  });
  flushAccessLogs(true);
  expect(readFileSync(path, 'utf8')).toBe('[2024-01-02T03:04:05.678Z] "- - -" 0 - - - "-" 10 20 30 - "-" "-" "-" "-" "10.0.0.2:9000" tcp 10.0.0.1:4001 10.0.0.1:9000 10.0.0.9:6000 - -\n');
});

it('rejects unknown commands and supports START_TIME formats, truncation and %%', () => {
  expect(parseFormat('%NOPE%')).toEqual({ error: 'Not supported field in StreamInfo: NOPE' });
  expect(render('%START_TIME(%Y/%m/%d %H:%M:%S.%3f)% %REQ(USER-AGENT):4% 100%%\n', rec)).toBe('2024/01/02 03:04:05.678 curl 100%\n');
});

it('access log filters', () => {
  expect(compileAccessLogFilter({ kind: 'status_code', op: 'GE', value: 400 })(rec)).toBe(false);
  expect(compileAccessLogFilter({ kind: 'or', filters: [{ kind: 'status_code', op: 'GE', value: 400 }, { kind: 'duration', op: 'GE', value: 10 }] })(rec)).toBe(true);
  expect(compileAccessLogFilter({ kind: 'response_flag', flags: ['UF'] })({ ...rec, responseFlags: 'UH,UF' })).toBe(true);
  expect(compileAccessLogFilter({ kind: 'not_health_check' })(rec)).toBe(true);
});
