// What a byte-inspecting listener filter (tls_inspector, http_inspector) looks like to the
// listener's filter runner (engine/listener/listener-filter-runner.ts). Node cannot MSG_PEEK, so
// the runner reads, shows every inspector the bytes read so far, and puts them back with
// socket.unshift() before the chosen chain (or TLS) reads the socket. Inspectors are stateless
// and made once per listener; per-connection results go into an InspectionResult.

/** What inspectors found; read by filter chain matching. */
export interface InspectionResult {
  transportProtocol?: string;
  serverName?: string;
  applicationProtocols?: string[];
}

/**
 * 'done': this inspector is finished (found something or decided it has nothing to say);
 * 'more': needs more bytes; 'close': the connection must be closed (Envoy closes on, e.g., a
 * ClientHello larger than the maximum).
 */
export type InspectOutcome = 'done' | 'more' | 'close';

export interface ListenerInspector {
  readonly name: string;
  /** Bytes after which the inspector must decide ('more' then counts as done). */
  readonly maxReadBytes: number;
  /** Looks at all bytes read so far. May set fields of `result`. */
  inspect(data: Buffer, result: InspectionResult): InspectOutcome;
  /** Called when the inspector gave up without enough bytes (timeout or max read). */
  giveUp?(result: InspectionResult): void;
}
