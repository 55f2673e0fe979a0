// The parsed head of one HTTP/1.x message (request line or status line plus header block), handed
// by the H1Parser to its handler in onHeaders. One object per message, no per-header objects:
// headers stay a flat [name0, value0, name1, value1, ...] array of latin1 strings with the
// ORIGINAL name case (Envoy lowercases names; our users want case kept end to end).
// Framing facts the HTTP connection manager needs are precomputed here so it never re-scans
// headers for them.

/** Connection header tokens we act on, as bits of H1MessageHead.connectionFlags. */
export const CONNECTION_CLOSE = 1;
export const CONNECTION_KEEP_ALIVE = 2;
export const CONNECTION_UPGRADE = 4;

export class H1MessageHead {
  /** Request method (interned constant string for common methods); '' for responses. */
  method = '';
  /** Raw request-target as received (origin-, absolute-, authority- or asterisk-form). */
  url = '';
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minorVersion = 1;
  /** Response status code; 0 for requests. */
  statusCode = 0;
  /** Response reason phrase as received (may be ''). */
  reason = '';
  /** Flat name/value list in wire order, original case, values trimmed of surrounding OWS. */
  headers: string[] = [];
  /** Lower-cased header names, index i <-> headers[2i] (for HeaderMap); null when not built. */
  lowerNames: string[] | null = null;
  /** Content-Length value, or -1 when absent (or ignored, e.g. on a tunnel). */
  contentLength = -1;
  /** Body framed with Transfer-Encoding: chunked. */
  chunked = false;
  /** Connection may carry another message after this one (HTTP/1.1 default, HTTP/1.0 opt-in). */
  keepAlive = true;
  /**
   * Bytes after this head are an opaque tunnel, delivered through onBody until EOF: an Upgrade
   * request (not h2c), a CONNECT request, a 101 response, or a 2xx response to CONNECT.
   */
  upgrade = false;
  /** Request carries Expect: 100-continue (HTTP/1.1 only). */
  expectContinue = false;
  /** Bits CONNECTION_CLOSE | CONNECTION_KEEP_ALIVE | CONNECTION_UPGRADE. */
  connectionFlags = 0;
  /** All Connection header tokens, lowercased, or null when there is no Connection header. */
  connectionTokens: string[] | null = null;
}
