// RouteAction.hash_policy compiled once per route: the request hash that RING_HASH and MAGLEV
// clusters pick hosts with (Envoy source/common/http/hash_policy.cc). Each policy yields a
// 64-bit hash or nothing:
//   header             xxHash64 of the header's value; several values of the header are
//                      rewritten (regex_rewrite), sorted, and hashed chained (each result seeds
//                      the next XXH64), so value order does not matter
//   cookie             xxHash64 of the cookie's value; when the cookie is absent and a ttl is
//                      set, a cookie is generated (hex xxHash64 of the connection's remote and
//                      local addresses), sent back in Set-Cookie, and its value hashed
//   connection_properties.source_ip   xxHash64 of the downstream remote IP (no port)
//   query_parameter    xxHash64 of the first value of the parameter (not URL-decoded, the
//                      matchers' firstQueryValue)
//   filter_state       xxHash64 of the string filter state object under the key
// Policies are combined in order: hash = rotl64(hash, 1) ^ next (the first one as is); a
// terminal policy that leaves a hash stops the evaluation. Every XXH64 uses seed 0, so the same
// request maps to the same ring/maglev host as in Envoy. Worker side; evaluation allocates
// nothing for single-valued headers, cookies, query parameters and addresses.
import { xxhash64Into, xxhash64IntoSeeded } from '../../../common/hash/xxhash64';
import type { HashPolicyConfig } from '../../../config/model/route';
import type { HeaderMap } from '../header-map';
import { firstQueryValue } from './matchers';
import { RegexSubstitution } from './path-rewrite';

/** What hash policies read from a request (implemented by the HCM's ActiveStream). */
export interface HashPolicyRequest {
  readonly requestHeaders: HeaderMap;
  readonly method: string;
  readonly authority: string;
  readonly path: string;
  readonly scheme: string;
  /** The downstream remote IP as Envoy sees it (the XFF-derived one when configured), no port. */
  readonly downstreamRemoteIp: string;
  /** Address strings of the connection itself, Envoy's asString(): "ip:port" / "[v6]:port". */
  readonly downstreamDirectRemoteAddress: string;
  readonly downstreamLocalAddress: string;
  /** A string filter state value by key, or undefined. */
  filterState(key: string): string | undefined;
}

/** Receives Set-Cookie values that cookie policies generated (the router adds them to the response). */
export interface HashCookieSink {
  addDownstreamSetCookie(value: string): void;
}

/** Scratch for one policy's result. */
const ONE = new Uint32Array(2);

abstract class HashMethod {
  constructor(readonly terminal: boolean) {}
  /** Writes the hash into out[0] (hi), out[1] (lo) and returns true, or returns false. */
  abstract evaluate(req: HashPolicyRequest, out: Uint32Array, sink: HashCookieSink): boolean;
}

/** A header value by lower-case name; pseudo-headers come from the stream's fields. */
function pseudoHeader(req: HashPolicyRequest, name: string): string | undefined {
  switch (name) {
    case ':authority':
      return req.authority === '' ? undefined : req.authority;
    case ':path':
      return req.path === '' ? undefined : req.path;
    case ':method':
      return req.method;
    case ':scheme':
      return req.scheme;
    default:
      return undefined;
  }
}

class HeaderHashMethod extends HashMethod {
  private readonly rewrite: RegexSubstitution | null;
  constructor(
    terminal: boolean,
    private readonly name: string,
    rewrite: RegexSubstitution | null,
  ) {
    super(terminal);
    this.rewrite = rewrite;
  }

  evaluate(req: HashPolicyRequest, out: Uint32Array): boolean {
    const name = this.name;
    if (name.charCodeAt(0) === 58 /* : */) {
      const v = pseudoHeader(req, name);
      if (v === undefined) return false;
      xxhash64Into(this.rewrite === null ? v : this.rewrite.replaceAll(v), out, 0);
      return true;
    }
    // Envoy hashes every value of the header (each header line), not the joined string.
    const h = req.requestHeaders;
    const n = h.size;
    let first = -1;
    let more: string[] | null = null;
    for (let j = 0; j < n; j++) {
      if (h.lowerNameAt(j) !== name) continue;
      if (first < 0) first = j;
      else (more ??= [this.value(h.valueAt(first))]).push(this.value(h.valueAt(j)));
    }
    if (first < 0) return false;
    if (more === null) {
      xxhash64Into(this.value(h.valueAt(first)), out, 0);
      return true;
    }
    more.sort();
    let hi = 0;
    let lo = 0;
    for (let i = 0; i < more.length; i++) {
      xxhash64IntoSeeded(more[i]!, out, hi, lo);
      hi = out[0]!;
      lo = out[1]!;
    }
    return true;
  }

  private value(v: string): string {
    return this.rewrite === null ? v : this.rewrite.replaceAll(v);
  }
}

/**
 * Envoy Http::Utility::parseCookieValue: the first `name=value` pair over every Cookie header
 * (pairs split on ';', leading blanks trimmed), with one level of double quotes removed; ''
 * when absent.
 */
export function parseCookieValue(headers: HeaderMap, name: string): string {
  const n = headers.size;
  for (let j = 0; j < n; j++) {
    if (headers.lowerNameAt(j) !== 'cookie') continue;
    const v = headers.valueAt(j);
    let start = 0;
    while (start < v.length) {
      let end = v.indexOf(';', start);
      if (end < 0) end = v.length;
      let k = start;
      while (k < end && (v.charCodeAt(k) === 32 || v.charCodeAt(k) === 9)) k++;
      const eq = v.indexOf('=', k);
      if (eq >= 0 && eq < end && eq - k === name.length && v.startsWith(name, k)) {
        let value = v.slice(eq + 1, end);
        if (value.length >= 2 && value.charCodeAt(0) === 34 && value.charCodeAt(value.length - 1) === 34) value = value.slice(1, -1);
        return value;
      }
      start = end + 1;
    }
  }
  return '';
}

/** Envoy Hex::uint64ToHex: 16 lower-case hex digits, most significant first. */
export function uint64ToHex(hi: number, lo: number): string {
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

class CookieHashMethod extends HashMethod {
  /** Everything after the value in the Set-Cookie header (Max-Age, Path, attributes, HttpOnly). */
  private readonly setCookieTail: string | null;

  constructor(
    terminal: boolean,
    private readonly name: string,
    ttlMs: number | undefined,
    path: string,
    attributes: readonly { readonly name: string; readonly value: string }[],
  ) {
    super(terminal);
    if (ttlMs === undefined) {
      this.setCookieTail = null;
      return;
    }
    // Envoy Http::Utility::makeSetCookieValue(key, value, path, max_age, httponly=true, attributes).
    const maxAgeS = Math.floor(ttlMs / 1000);
    let tail = '"';
    if (maxAgeS !== 0) tail += `; Max-Age=${maxAgeS}`;
    if (path !== '') tail += `; Path=${path}`;
    for (const a of attributes) tail += a.value === '' ? `; ${a.name}` : `; ${a.name}=${a.value}`;
    this.setCookieTail = `${tail}; HttpOnly`;
  }

  evaluate(req: HashPolicyRequest, out: Uint32Array, sink: HashCookieSink): boolean {
    const value = parseCookieValue(req.requestHeaders, this.name);
    if (value !== '') {
      xxhash64Into(value, out, 0);
      return true;
    }
    if (this.setCookieTail === null) return false;
    // Router::addDownstreamSetCookie: one value per connection, so streams racing on a new
    // connection agree on it.
    xxhash64Into(req.downstreamDirectRemoteAddress + req.downstreamLocalAddress, out, 0);
    const generated = uint64ToHex(out[0]!, out[1]!);
    sink.addDownstreamSetCookie(`${this.name}="${generated}${this.setCookieTail}`);
    xxhash64Into(generated, out, 0);
    return true;
  }
}

class SourceIpHashMethod extends HashMethod {
  evaluate(req: HashPolicyRequest, out: Uint32Array): boolean {
    const ip = req.downstreamRemoteIp;
    if (ip === '') return false;
    xxhash64Into(ip, out, 0);
    return true;
  }
}

class QueryParameterHashMethod extends HashMethod {
  constructor(
    terminal: boolean,
    private readonly name: string,
  ) {
    super(terminal);
  }

  evaluate(req: HashPolicyRequest, out: Uint32Array): boolean {
    const v = firstQueryValue(req.path, this.name);
    if (v === undefined) return false;
    xxhash64Into(v, out, 0);
    return true;
  }
}

class FilterStateHashMethod extends HashMethod {
  constructor(
    terminal: boolean,
    private readonly key: string,
  ) {
    super(terminal);
  }

  evaluate(req: HashPolicyRequest, out: Uint32Array): boolean {
    // Envoy asks the object for its hash(); string accessors hash their value with xxHash64.
    const v = req.filterState(this.key);
    if (v === undefined) return false;
    xxhash64Into(v, out, 0);
    return true;
  }
}

function compileMethod(c: HashPolicyConfig): HashMethod | null {
  switch (c.kind) {
    case 'header':
      return new HeaderHashMethod(c.terminal, c.headerName, c.regexRewrite ? new RegexSubstitution(c.regexRewrite) : null);
    case 'cookie':
      return new CookieHashMethod(c.terminal, c.name, c.ttlMs, c.path, c.attributes);
    case 'connection_properties':
      // Envoy adds a method only for source_ip: true.
      return c.sourceIp ? new SourceIpHashMethod(c.terminal) : null;
    case 'query_parameter':
      return new QueryParameterHashMethod(c.terminal, c.name);
    case 'filter_state':
      return new FilterStateHashMethod(c.terminal, c.key);
  }
}

/** A route's hash policies, compiled. */
export class CompiledHashPolicy {
  private readonly methods: readonly HashMethod[];

  constructor(configs: readonly HashPolicyConfig[]) {
    const methods: HashMethod[] = [];
    for (const c of configs) {
      const m = compileMethod(c);
      if (m !== null) methods.push(m);
    }
    this.methods = methods;
  }

  get empty(): boolean {
    return this.methods.length === 0;
  }

  /**
   * Envoy HashPolicyImpl::generateHash: writes the combined 64-bit hash into out[0] (hi) and
   * out[1] (lo) and returns true, or returns false when no policy produced a hash.
   */
  generate(req: HashPolicyRequest, out: Uint32Array, sink: HashCookieSink): boolean {
    let has = false;
    let hi = 0;
    let lo = 0;
    const methods = this.methods;
    for (let i = 0; i < methods.length; i++) {
      const m = methods[i]!;
      if (m.evaluate(req, ONE, sink)) {
        if (has) {
          // Rotate the running value left by one so duplicate policies do not cancel out.
          const rh = ((hi << 1) | (lo >>> 31)) >>> 0;
          const rl = ((lo << 1) | (hi >>> 31)) >>> 0;
          hi = (rh ^ ONE[0]!) >>> 0;
          lo = (rl ^ ONE[1]!) >>> 0;
        } else {
          hi = ONE[0]!;
          lo = ONE[1]!;
          has = true;
        }
      }
      if (m.terminal && has) break;
    }
    if (has) {
      out[0] = hi;
      out[1] = lo;
    }
    return has;
  }
}
