// Byte classification tables for the HTTP/1.1 codec (parser and serializer). Hot path: every byte
// of a message head goes through one of these lookups, so they are flat Uint8Arrays indexed by
// byte value rather than regexes or string checks.
//
// Grammar references are RFC 9110 5.1/5.5 (token, field-value) and RFC 9112 3.2 (request-target).

/** tchar (RFC 9110 5.6.2): legal in methods and header field names. */
export const TOKEN = new Uint8Array(256);
/** field-vchar / SP / HTAB / obs-text: legal inside a header field value and a reason phrase. */
export const FIELD_VALUE = new Uint8Array(256);
/**
 * Bytes we accept in a request-target: visible ASCII only. Envoy's Balsa adapter also rejects
 * bytes >= 0x80 in the URL (source/common/http/http1/balsa_parser.cc isUrlValid); we are a little
 * stricter and reject HTAB/FF as well.
 */
export const URL_CHAR = new Uint8Array(256);
/** Hex digit value + 1 (0 means "not a hex digit"), for chunk sizes. */
export const HEX_VALUE = new Uint8Array(256);

(function fillTables(): void {
  const tokenExtras = "!#$%&'*+-.^_`|~";
  for (let c = 0; c < 256; c++) {
    const alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    TOKEN[c] = alnum || tokenExtras.indexOf(String.fromCharCode(c)) >= 0 ? 1 : 0;
    FIELD_VALUE[c] = c === 0x09 || (c >= 0x20 && c !== 0x7f) ? 1 : 0;
    URL_CHAR[c] = c >= 0x21 && c <= 0x7e ? 1 : 0;
    if (c >= 0x30 && c <= 0x39) HEX_VALUE[c] = c - 0x30 + 1;
    else if (c >= 0x41 && c <= 0x46) HEX_VALUE[c] = c - 0x41 + 11;
    else if (c >= 0x61 && c <= 0x66) HEX_VALUE[c] = c - 0x61 + 11;
  }
})();

export const CR = 0x0d;
export const LF = 0x0a;
export const SP = 0x20;
export const HTAB = 0x09;
export const COLON = 0x3a;
export const SEMI = 0x3b;
export const COMMA = 0x2c;
