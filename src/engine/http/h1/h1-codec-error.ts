// Typed HTTP/1.1 codec errors. The parser reports every protocol violation as one H1CodecError
// with a stable code; the HTTP connection manager maps it to a local reply in one place, using
// the status and response-code details Envoy would send for the same input.
//
// Envoy references (source/common/http/http1/codec_impl.cc, balsa_parser.cc):
//  - most parse failures: 400 "http1.codec_error", message "http/1.1 protocol error: HPE_*";
//  - header block / count over the limit: 431 "http1.headers_too_large" / "http1.too_many_headers";
//  - bad bytes in a header value: 400 "http1.invalid_characters";
//  - Content-Length together with Transfer-Encoding: 400 "http1.content_length_and_chunked_not_allowed";
//  - Transfer-Encoding other than a single "chunked" (or any on CONNECT): 501
//    "http1.invalid_transfer_encoding";
//  - CONNECT with a non-zero Content-Length: 400 "http1.body_disallowed";
//  - anything but HTTP/1.1 when HTTP/1.0 is not accepted: 426 "low_version".
// On the client (upstream) side every codec error resets the upstream request; Envoy answers the
// downstream with 502, details "upstream_reset_before_response_started{protocol_error}" and the
// UPE response flag, so response-parser errors carry that status and details instead.

export type H1ErrorCode =
  | 'INVALID_METHOD'
  | 'INVALID_URL'
  | 'INVALID_VERSION'
  | 'UNSUPPORTED_VERSION'
  | 'INVALID_CONSTANT'
  | 'INVALID_STATUS'
  | 'INVALID_HEADER_TOKEN'
  | 'INVALID_HEADER_VALUE'
  | 'OBS_FOLD'
  | 'CR_EXPECTED'
  | 'LF_EXPECTED'
  | 'REQUEST_LINE_TOO_LONG'
  | 'HEADERS_TOO_LARGE'
  | 'TOO_MANY_HEADERS'
  | 'INVALID_CONTENT_LENGTH'
  | 'MULTIPLE_CONTENT_LENGTH'
  | 'CONTENT_LENGTH_AND_CHUNKED'
  | 'INVALID_TRANSFER_ENCODING'
  | 'BODY_DISALLOWED'
  | 'TRANSFER_ENCODING_NOT_ALLOWED'
  | 'CONTENT_LENGTH_NOT_ALLOWED'
  | 'INVALID_CHUNK_SIZE'
  | 'INVALID_CHUNK_EXTENSION'
  | 'MISSING_CHUNK_CRLF'
  | 'PREMATURE_EOF'
  | 'INVALID_OUTBOUND_HEADER';

interface ErrorSpec {
  readonly status: number;
  readonly details: string;
  readonly message: string;
}

const CODEC_ERROR = 'http1.codec_error';

/** One row per code: what a server-side (downstream) codec error turns into. */
export const H1_ERRORS: { readonly [K in H1ErrorCode]: ErrorSpec } = {
  INVALID_METHOD: { status: 400, details: CODEC_ERROR, message: 'HPE_INVALID_METHOD' },
  INVALID_URL: { status: 400, details: CODEC_ERROR, message: 'HPE_INVALID_URL' },
  INVALID_VERSION: { status: 400, details: CODEC_ERROR, message: 'HPE_INVALID_VERSION' },
  UNSUPPORTED_VERSION: { status: 426, details: 'low_version', message: 'Upgrade required for HTTP/1.0 or HTTP/0.9' },
  INVALID_CONSTANT: { status: 400, details: CODEC_ERROR, message: 'HPE_INVALID_CONSTANT' },
  INVALID_STATUS: { status: 400, details: CODEC_ERROR, message: 'HPE_INVALID_STATUS' },
  INVALID_HEADER_TOKEN: { status: 400, details: CODEC_ERROR, message: 'HPE_INVALID_HEADER_TOKEN' },
  INVALID_HEADER_VALUE: { status: 400, details: 'http1.invalid_characters', message: 'header value contains invalid chars' },
  OBS_FOLD: { status: 400, details: CODEC_ERROR, message: 'HPE_INVALID_HEADER_TOKEN (obs-fold)' },
  CR_EXPECTED: { status: 400, details: CODEC_ERROR, message: 'HPE_CR_EXPECTED (bare LF)' },
  LF_EXPECTED: { status: 400, details: CODEC_ERROR, message: 'HPE_LF_EXPECTED (bare CR)' },
  REQUEST_LINE_TOO_LONG: { status: 431, details: 'http1.headers_too_large', message: 'request line size exceeds limit' },
  HEADERS_TOO_LARGE: { status: 431, details: 'http1.headers_too_large', message: 'headers size exceeds limit' },
  TOO_MANY_HEADERS: { status: 431, details: 'http1.too_many_headers', message: 'headers count exceeds limit' },
  INVALID_CONTENT_LENGTH: { status: 400, details: CODEC_ERROR, message: 'HPE_INVALID_CONTENT_LENGTH' },
  MULTIPLE_CONTENT_LENGTH: { status: 400, details: CODEC_ERROR, message: 'HPE_UNEXPECTED_CONTENT_LENGTH' },
  CONTENT_LENGTH_AND_CHUNKED: {
    status: 400,
    details: 'http1.content_length_and_chunked_not_allowed',
    message: "both 'Content-Length' and 'Transfer-Encoding' are set.",
  },
  INVALID_TRANSFER_ENCODING: { status: 501, details: 'http1.invalid_transfer_encoding', message: 'unsupported transfer encoding' },
  BODY_DISALLOWED: { status: 400, details: 'http1.body_disallowed', message: 'unsupported content length' },
  TRANSFER_ENCODING_NOT_ALLOWED: {
    status: 502,
    details: 'http1.transfer_encoding_not_allowed',
    message: 'transfer encoding not allowed in 1xx or 204',
  },
  CONTENT_LENGTH_NOT_ALLOWED: {
    status: 502,
    details: 'http1.content_length_not_allowed',
    message: 'content length not allowed in 1xx or 204',
  },
  INVALID_CHUNK_SIZE: { status: 400, details: CODEC_ERROR, message: 'HPE_INVALID_CHUNK_SIZE' },
  INVALID_CHUNK_EXTENSION: { status: 400, details: CODEC_ERROR, message: 'HPE_INVALID_CHUNK_EXTENSIONS' },
  MISSING_CHUNK_CRLF: { status: 400, details: CODEC_ERROR, message: 'HPE_STRICT (missing CRLF after chunk data)' },
  PREMATURE_EOF: { status: 400, details: CODEC_ERROR, message: 'HPE_INVALID_EOF_STATE' },
  INVALID_OUTBOUND_HEADER: { status: 500, details: 'http1.invalid_outbound_header', message: 'invalid header name or value to encode' },
};

/** Envoy's details for any upstream codec error (router reset reason ProtocolError, flag UPE). */
export const UPSTREAM_PROTOCOL_ERROR_DETAILS = 'upstream_reset_before_response_started{protocol_error}';

/**
 * A protocol violation found by the parser (or an invalid header handed to the serializer).
 * Never thrown by the parser: delivered once through H1ParserHandler.onError.
 */
export class H1CodecError extends Error {
  /** Stable code, for tests, stats and logs. */
  readonly code: H1ErrorCode;
  /** HTTP status of the local reply the HCM should send (downstream) or 502 (upstream). */
  readonly status: number;
  /** Envoy response code details string for access logs (%RESPONSE_CODE_DETAILS%). */
  readonly details: string;
  /** True when the error was found in a response from an upstream. */
  readonly upstream: boolean;

  constructor(code: H1ErrorCode, upstream: boolean, extra?: string) {
    const spec = H1_ERRORS[code];
    super(`http/1.1 protocol error: ${spec.message}${extra ? ` (${extra})` : ''}`);
    this.name = 'H1CodecError';
    this.code = code;
    this.upstream = upstream;
    this.status = upstream ? 502 : spec.status;
    this.details = upstream ? UPSTREAM_PROTOCOL_ERROR_DETAILS : spec.details;
  }
}
