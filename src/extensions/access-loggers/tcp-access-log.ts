// Access logging for tcp_proxy connections: turns what a TCP session knows at close into an
// AccessLogRecord (HTTP fields empty, so %REQ(...)% and %PROTOCOL% print '-') and hands it to
// the configured loggers. tcp_proxy builds one TcpAccessLog per filter chain from
// TcpProxyConfig.accessLogs and calls log() once when the downstream connection closes.
import type { AccessLogRecord } from './access-log-record';
import { createAccessLogger, type AccessLogger } from './access-logger';

/** What the TCP proxy reports about one finished connection: the record's connection-level
 * fields (responseFlags e.g. 'UF' connect failed, 'UH' no healthy host, 'NR'). */
export type TcpSessionInfo = Pick<
  AccessLogRecord,
  | 'startTimeMs'
  | 'durationMs'
  | 'bytesReceived'
  | 'bytesSent'
  | 'upstreamHost'
  | 'upstreamCluster'
  | 'upstreamLocalAddress'
  | 'downstreamLocalAddress'
  | 'downstreamRemoteAddress'
  | 'connectionId'
  | 'responseFlags'
> &
  Partial<Pick<AccessLogRecord, 'upstreamTransportFailureReason' | 'connectionTerminationDetails'>>;

/** The rest of a record for a TCP connection: what only HTTP streams have. */
const TCP_ONLY = {
  requestDurationMs: -1,
  responseDurationMs: -1,
  requestHeaders: null,
  responseHeaders: null,
  responseTrailers: null,
  method: '',
  path: '',
  authority: '',
  scheme: '',
  protocol: '',
  responseCode: 0,
  responseCodeDetails: '',
  requestedServerName: '',
  routeName: '',
  isHealthCheck: false,
  attemptCount: 1,
} as const;

function tcpRecord(i: TcpSessionInfo): AccessLogRecord {
  return {
    ...TCP_ONLY,
    ...i,
    downstreamDirectRemoteAddress: i.downstreamRemoteAddress,
    upstreamTransportFailureReason: i.upstreamTransportFailureReason ?? '',
    connectionTerminationDetails: i.connectionTerminationDetails ?? '',
  };
}

export class TcpAccessLog {
  private readonly loggers: readonly AccessLogger[];
  constructor(accessLogs: readonly { readonly config: unknown }[]) {
    this.loggers = accessLogs.map((a) => createAccessLogger(a));
  }
  get enabled(): boolean {
    return this.loggers.length > 0;
  }
  log(info: TcpSessionInfo): void {
    if (this.loggers.length === 0) return;
    const rec = tcpRecord(info);
    for (const l of this.loggers) l.log(rec);
  }
}
