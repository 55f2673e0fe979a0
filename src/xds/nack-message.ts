// Builds the error_detail text of a NACK from per-resource failures. One line per failed
// resource "<name>: <reason>", sorted, joined with "; ", and kept under the gRPC status message
// limit with a count of what was cut, as Envoy's truncateGrpcStatusMessage does
// (source/common/config/utility.h: status messages are capped at 4096 bytes).

/** One rejected resource: its name (or `resources[i]` when it has none) and why. */
export interface ResourceError {
  readonly name: string;
  readonly reason: string;
}

/** Envoy caps NACK messages at 4 KiB; we stay a little under it to leave room for the suffix. */
export const NACK_MESSAGE_MAX_BYTES = 4096;

/** google.rpc.Code INTERNAL, which Envoy puts in every NACK's error_detail. */
export const GRPC_STATUS_INTERNAL = 13;

export function buildNackMessage(errors: readonly ResourceError[], maxBytes = NACK_MESSAGE_MAX_BYTES): string {
  const lines = errors.map((e) => `${e.name}: ${oneLine(e.reason)}`).sort();
  const full = lines.join('; ');
  if (Buffer.byteLength(full) <= maxBytes) return full;
  // Keep whole lines while "<kept lines>; ... (N more)" fits. When line i does not fit, the text
  // kept so far plus its suffix was already checked at step i-1, so the result always fits.
  let out = '';
  let kept = 0;
  for (let i = 0; i < lines.length; i++) {
    const candidate = kept === 0 ? lines[i]! : `${out}; ${lines[i]!}`;
    if (Buffer.byteLength(candidate + moreSuffix(lines.length - i - 1)) > maxBytes) break;
    out = candidate;
    kept++;
  }
  if (kept === 0) {
    // Even the first line alone is too long: clip it, still saying how many were left out.
    const suffix = moreSuffix(lines.length - 1);
    return clipBytes(lines[0]!, maxBytes - Buffer.byteLength(suffix)) + suffix;
  }
  return out + moreSuffix(lines.length - kept);
}

function moreSuffix(count: number): string {
  return count > 0 ? `; ... (${count} more)` : '';
}

function oneLine(reason: string): string {
  return reason.replace(/[\r\n]+/g, ' ');
}

/** Cuts a string to at most maxBytes UTF-8 bytes without splitting a character. */
function clipBytes(s: string, maxBytes: number): string {
  if (maxBytes <= 0) return '';
  const buf = Buffer.from(s);
  if (buf.length <= maxBytes) return s;
  let end = maxBytes;
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString();
}
