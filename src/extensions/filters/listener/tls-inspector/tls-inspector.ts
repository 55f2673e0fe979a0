// Create half of envoy.filters.listener.tls_inspector: classifies the connection as "tls" when
// its first bytes are a ClientHello and records the SNI and the offered ALPN list for filter
// chain matching (Envoy matches application_protocols against the offered list, not the
// negotiated one). Anything else is left unset, so the runner's default "raw_buffer" applies.
import type { Counter } from '../../../../stats/counter';
import type { StatsScope } from '../../../../stats/stats-store';
import type { InspectionResult, InspectOutcome, ListenerInspector } from '../inspector';
import { parseClientHello } from './client-hello';
import { MAX_CLIENT_HELLO_BYTES } from './config';

interface TlsInspectorStats {
  readonly tlsFound: Counter;
  readonly tlsNotFound: Counter;
  readonly sniFound: Counter;
  readonly sniNotFound: Counter;
  readonly alpnFound: Counter;
  readonly alpnNotFound: Counter;
  readonly clientHelloTooLarge: Counter;
}

export class TlsInspector implements ListenerInspector {
  readonly name = 'envoy.filters.listener.tls_inspector';
  readonly maxReadBytes = MAX_CLIENT_HELLO_BYTES + 5 * 8;
  private readonly stats: TlsInspectorStats;

  constructor(scope: StatsScope) {
    const s = scope.scope('tls_inspector.');
    this.stats = {
      tlsFound: s.counter('tls_found'),
      tlsNotFound: s.counter('tls_not_found'),
      sniFound: s.counter('sni_found'),
      sniNotFound: s.counter('sni_not_found'),
      alpnFound: s.counter('alpn_found'),
      alpnNotFound: s.counter('alpn_not_found'),
      clientHelloTooLarge: s.counter('client_hello_too_large'),
    };
  }

  inspect(data: Buffer, result: InspectionResult): InspectOutcome {
    const r = parseClientHello(data, MAX_CLIENT_HELLO_BYTES);
    switch (r.kind) {
      case 'more':
        return 'more';
      case 'not_tls':
        this.stats.tlsNotFound.inc();
        return 'done';
      case 'too_large':
        this.stats.clientHelloTooLarge.inc();
        return 'close';
      case 'tls':
        this.stats.tlsFound.inc();
        result.transportProtocol = 'tls';
        if (r.serverName) {
          result.serverName = r.serverName;
          this.stats.sniFound.inc();
        } else this.stats.sniNotFound.inc();
        if (r.alpn && r.alpn.length) {
          result.applicationProtocols = r.alpn;
          this.stats.alpnFound.inc();
        } else this.stats.alpnNotFound.inc();
        return 'done';
    }
  }
}
