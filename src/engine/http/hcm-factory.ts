// Create half of envoy.filters.network.http_connection_manager: the network filter factory of a
// filter chain. Built once per chain (HcmRuntime: compiled inline routes, HTTP filter factories,
// access loggers, stats); per connection it picks the codec — HTTP/1.1, HTTP/2 (prior
// knowledge), or for AUTO by looking for the HTTP/2 connection preface in the first bytes, as
// Envoy's AUTO codec does — and hands the raw socket to it. Over TLS a negotiated ALPN of h2
// selects HTTP/2 without sniffing (Envoy's autoCreateCodec checks nextProtocol() first; any
// other ALPN still sniffs the preface); istio-h2 counts as h2 for servers listing Istio's values.
import type { ExtensionInstanceConfig } from '../../config/model/listener';
import type { HttpConnectionManagerConfig } from '../../extensions/filters/network/http-connection-manager/config';
import type { DownstreamConnection, FilterFactoryContext, NetworkFilterFactory } from '../api/network-filter';
import { H1ServerConnection } from './h1-server-connection';
import { H2ServerCodec } from './h2-server-connection';
import { HcmRuntime } from './hcm-runtime';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

function looksLikeH2(chunk: Buffer): boolean {
  const n = Math.min(chunk.length, PREFACE.length);
  return n > 0 && chunk.compare(PREFACE, 0, n, 0, n) === 0;
}

export class HttpConnectionManagerFactory implements NetworkFilterFactory {
  readonly terminal = true;
  readonly runtime: HcmRuntime;
  private h2: H2ServerCodec | null = null;

  constructor(
    readonly name: string,
    config: HttpConnectionManagerConfig,
    ctx: FilterFactoryContext,
  ) {
    this.runtime = new HcmRuntime(config, ctx.stats, ctx.log);
  }

  private h2Codec(): H2ServerCodec {
    return (this.h2 ??= new H2ServerCodec(this.runtime));
  }

  onNewConnection(conn: DownstreamConnection): void {
    const codec = this.runtime.config.codecType;
    if (codec === 'HTTP2') {
      this.h2Codec().accept(conn, null);
      return;
    }
    if (codec === 'HTTP1') {
      new H1ServerConnection(this.runtime, conn).start(null);
      return;
    }
    const socket = conn.socket;
    const alpn = (socket as { alpnProtocol?: string | false | null }).alpnProtocol;
    if (alpn === 'h2' || alpn === 'istio-h2') {
      this.h2Codec().accept(conn, null);
      return;
    }
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      if (looksLikeH2(chunk)) this.h2Codec().accept(conn, chunk);
      else new H1ServerConnection(this.runtime, conn).start(chunk);
    });
    socket.resume();
  }
}

export function createHttpConnectionManagerFactory(inst: ExtensionInstanceConfig, ctx: FilterFactoryContext): NetworkFilterFactory {
  return new HttpConnectionManagerFactory(inst.name, inst.config as HttpConnectionManagerConfig, ctx);
}
