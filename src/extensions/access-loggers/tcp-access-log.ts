// Access logging for tcp_proxy connections: turns what a TCP session knows at close into an
// AccessLogRecord (HTTP fields empty, so %REQ(...)% and %PROTOCOL% print '-') and hands it to
// the configured loggers. tcp_proxy builds one TcpAccessLog per filter chain from
// TcpProxyConfig.accessLogs and calls log() once when the downstream connection closes.
import type { AccessLogRecord } from './access-log-record';
import { createAccessLogger, type AccessLogger } from './access-logger';

/** What the TCP proxy reports about one finished connection. */
export interface TcpSessionInfo {
  readonly startTimeMs: number;
  readonly durationMs: number;
  readonly bytesReceived: number;
  readonly bytesSent: number;
  readonly upstreamHost: string;
  readonly upstreamCluster: string;
  readonly upstreamLocalAddress: string;
  readonly downstreamLocalAddress: string;
  readonly downstreamRemoteAddress: string;
  readonly connectionId: number;
  /** Envoy flags, e.g. 'UF' (connect failed), 'UH' (no healthy host), 'NR'. */
  readonly responseFlags: string;
  readonly upstreamTransportFailureReason?: string;
  readonly connectionTerminationDetails?: string;
}

class TcpRecord implements AccessLogRecord {
  readonly requestDurationMs = -1;
  readonly responseDurationMs = -1;
  readonly requestHeaders = null;
  readonly responseHeaders = null;
  readonly responseTrailers = null;
  readonly method = '';
  readonly path = '';
  readonly authority = '';
  readonly scheme = '';
  readonly protocol = '';
  readonly responseCode = 0;
  readonly responseCodeDetails = '';
  readonly requestedServerName = '';
  readonly routeName = '';
  readonly isHealthCheck = false;
  readonly attemptCount = 1;
  readonly startTimeMs: number;
  readonly durationMs: number;
  readonly bytesReceived: number;
  readonly bytesSent: number;
  readonly upstreamHost: string;
  readonly upstreamCluster: string;
  readonly upstreamLocalAddress: string;
  readonly downstreamLocalAddress: string;
  readonly downstreamRemoteAddress: string;
  readonly downstreamDirectRemoteAddress: string;
  readonly connectionId: number;
  readonly responseFlags: string;
  readonly upstreamTransportFailureReason: string;
  readonly connectionTerminationDetails: string;
  constructor(i: TcpSessionInfo) {
    this.startTimeMs = i.startTimeMs;
    this.durationMs = i.durationMs;
    this.bytesReceived = i.bytesReceived;
    this.bytesSent = i.bytesSent;
    this.upstreamHost = i.upstreamHost;
    this.upstreamCluster = i.upstreamCluster;
    this.upstreamLocalAddress = i.upstreamLocalAddress;
    this.downstreamLocalAddress = i.downstreamLocalAddress;
    this.downstreamRemoteAddress = i.downstreamRemoteAddress;
    this.downstreamDirectRemoteAddress = i.downstreamRemoteAddress;
    this.connectionId = i.connectionId;
    this.responseFlags = i.responseFlags;
    this.upstreamTransportFailureReason = i.upstreamTransportFailureReason ?? '';
    this.connectionTerminationDetails = i.connectionTerminationDetails ?? '';
  }
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
    const rec = new TcpRecord(info);
    for (const l of this.loggers) l.log(rec);
  }
}
