// Create half of envoy.filters.listener.http_inspector: tells plaintext HTTP from other bytes so
// Istio's auto-detected ports can pick the HTTP chain (application_protocols http/1.1, h2c)
// or the TCP one. Like Envoy: skipped when the TLS inspector already found TLS; the HTTP/2
// connection preface gives "h2c"; a request line "<METHOD> <target> HTTP/1.x" gives "http/1.1"
// (or "http/1.0"); anything that stops looking like either is decided at once as not HTTP, so
// a client-first non-HTTP protocol is classified on its first bytes. Envoy reads at most 8 KiB.
import type { Counter } from '../../../../stats/counter';
import type { StatsScope } from '../../../../stats/stats-store';
import type { InspectionResult, InspectOutcome, ListenerInspector } from '../inspector';

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const HTTP_INSPECT_MAX_BYTES = 8192;

// llhttp's request methods (Envoy's HTTP/1 codecs accept these).
const METHODS = [
  'DELETE', 'GET', 'HEAD', 'POST', 'PUT', 'CONNECT', 'OPTIONS', 'TRACE', 'COPY', 'LOCK', 'MKCOL', 'MOVE', 'PROPFIND', 'PROPPATCH', 'SEARCH', 'UNLOCK', 'BIND', 'REBIND', 'UNBIND', 'ACL',
  'REPORT', 'MKACTIVITY', 'CHECKOUT', 'MERGE', 'M-SEARCH', 'NOTIFY', 'SUBSCRIBE', 'UNSUBSCRIBE', 'PATCH', 'PURGE', 'MKCALENDAR', 'LINK', 'UNLINK', 'SOURCE', 'QUERY',
];
const METHOD_SET = new Set(METHODS);
const MAX_METHOD = Math.max(...METHODS.map((m) => m.length));

export type HttpDetect = 'more' | 'none' | 'h2c' | 'http/1.1' | 'http/1.0';

/** Classifies the first bytes of a plaintext connection. */
export function detectHttp(data: Buffer): HttpDetect {
  // HTTP/2 prior knowledge preface (compare what we have).
  const n = Math.min(data.length, H2_PREFACE.length);
  if (data.compare(H2_PREFACE, 0, n, 0, n) === 0) return n === H2_PREFACE.length ? 'h2c' : 'more';
  // Method: upper-case token followed by a space.
  let i = 0;
  while (i < data.length && i <= MAX_METHOD) {
    const c = data[i]!;
    if (c === 0x20) break;
    if (!((c >= 0x41 && c <= 0x5a) || c === 0x2d)) return 'none';
    i++;
  }
  if (i >= data.length) return i > MAX_METHOD ? 'none' : METHODS.some((m) => m.startsWith(data.toString('latin1', 0, i))) ? 'more' : 'none';
  if (data[i] !== 0x20 || !METHOD_SET.has(data.toString('latin1', 0, i))) return 'none';
  // Target up to the next space; no control characters.
  let j = i + 1;
  while (j < data.length && data[j] !== 0x20) {
    const c = data[j]!;
    if (c < 0x21 || c === 0x7f) return 'none';
    j++;
  }
  if (j >= data.length) return data.length >= HTTP_INSPECT_MAX_BYTES ? 'none' : 'more';
  if (j === i + 1) return 'none';
  // Version "HTTP/1.x\r\n" (a bare \n is tolerated, as Envoy's parser does).
  const v = data.toString('latin1', j + 1, Math.min(data.length, j + 11));
  const want = 'HTTP/1.';
  const head = v.slice(0, want.length);
  if (!want.startsWith(head)) return 'none';
  if (v.length < want.length + 2) return 'more';
  const minor = v[want.length];
  const eol = v.slice(want.length + 1);
  if (!eol.startsWith('\n') && !(eol.startsWith('\r') && (eol.length < 2 || eol[1] === '\n'))) return 'none';
  if (eol === '\r') return 'more';
  if (minor === '1') return 'http/1.1';
  if (minor === '0') return 'http/1.0';
  return 'none';
}

interface HttpInspectorStats {
  readonly http10Found: Counter;
  readonly http11Found: Counter;
  readonly http2Found: Counter;
  readonly httpNotFound: Counter;
}

export class HttpInspector implements ListenerInspector {
  readonly name = 'envoy.filters.listener.http_inspector';
  readonly maxReadBytes = HTTP_INSPECT_MAX_BYTES;
  private readonly stats: HttpInspectorStats;

  constructor(scope: StatsScope) {
    const s = scope.scope('http_inspector.');
    this.stats = { http10Found: s.counter('http10_found'), http11Found: s.counter('http11_found'), http2Found: s.counter('http2_found'), httpNotFound: s.counter('http_not_found') };
  }

  inspect(data: Buffer, result: InspectionResult): InspectOutcome {
    if (result.transportProtocol && result.transportProtocol !== 'raw_buffer') return 'done';
    const d = detectHttp(data);
    switch (d) {
      case 'more':
        return 'more';
      case 'none':
        this.stats.httpNotFound.inc();
        return 'done';
      case 'h2c':
        this.stats.http2Found.inc();
        break;
      case 'http/1.1':
        this.stats.http11Found.inc();
        break;
      case 'http/1.0':
        this.stats.http10Found.inc();
        break;
    }
    result.applicationProtocols = [d];
    return 'done';
  }

  giveUp(): void {
    this.stats.httpNotFound.inc();
  }
}
