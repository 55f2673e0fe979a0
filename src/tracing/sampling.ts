// Envoy's tracing decision for a request (ConnectionManagerUtility / HttpTracerUtility): forced
// by x-envoy-force-trace, else client-sampled when x-client-trace-id is present (client_sampling
// %), else random-sampled (random_sampling %) keyed on x-request-id so every hop of a request
// agrees, and finally gated by overall_sampling %. A sampled flag carried by the incoming trace
// headers (B3 / W3C) overrides the local decision, as Envoy's Zipkin and OpenTelemetry drivers do.
import type { TraceHeaders } from './trace-context';
import type { TracingConfig } from './tracing-config';

export type TraceReason = 'forced' | 'client' | 'sampled' | 'not_traceable' | 'no_request_id';

/** A stable number in [0, 10000) from a request id (first 8 hex digits), random when not hex. */
export function requestIdBucket(requestId: string): number {
  let v = 0;
  let digits = 0;
  for (let i = 0; i < requestId.length && digits < 8; i++) {
    const c = requestId.charCodeAt(i);
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else if (c >= 65 && c <= 70) d = c - 55;
    else if (c === 45) continue;
    else break;
    v = v * 16 + d;
    digits++;
  }
  return digits === 8 ? v % 10000 : Math.floor(Math.random() * 10000);
}

function hit(percent: number, bucket: number): boolean {
  return bucket < Math.round(percent * 100);
}

export function tracingDecision(h: TraceHeaders, cfg: TracingConfig): TraceReason {
  const requestId = h.get('x-request-id');
  if (requestId === undefined || requestId === '') return 'no_request_id';
  const bucket = requestIdBucket(requestId);
  let reason: TraceReason;
  if (h.get('x-envoy-force-trace') !== undefined) reason = 'forced';
  else if (h.get('x-client-trace-id') !== undefined && hit(cfg.clientSampling, Math.floor(Math.random() * 10000))) reason = 'client';
  else if (hit(cfg.randomSampling, bucket)) reason = 'sampled';
  else reason = 'not_traceable';
  if (reason !== 'not_traceable' && reason !== 'forced' && !hit(cfg.overallSampling, Math.floor(Math.random() * 10000))) reason = 'not_traceable';
  return reason;
}
