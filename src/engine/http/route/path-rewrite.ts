// Path and URL computations a matched route implies, evaluated by the router per request:
// prefix_rewrite / regex_rewrite of the upstream :path, host_rewrite_path_regex, and the
// Location of a redirect. Worker side. Regex substitutions use RE2 GlobalReplace semantics
// (`\N` = capture group N, `\\` = backslash), precompiled into literal/group parts.
import { RE2JS } from 're2js';
import type { RegexMatchAndSubstituteConfig } from '../../../config/model/matchers';
import type { RedirectActionConfig } from '../../../config/model/route';
import { portStart } from './vhost-selector';

/** Index where the query string or fragment starts, or the path length. */
export function pathEnd(path: string): number {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 63 /* ? */ || c === 35 /* # */) return i;
  }
  return path.length;
}

/** A compiled RegexMatchAndSubstitute. */
export class RegexSubstitution {
  private readonly re: RE2JS;
  /** Literal strings and group numbers (as numbers) in order. */
  private readonly parts: (string | number)[] = [];

  constructor(config: RegexMatchAndSubstituteConfig) {
    this.re = RE2JS.compile(config.pattern);
    let lit = '';
    const s = config.substitution;
    for (let i = 0; i < s.length; i++) {
      const c = s[i]!;
      if (c === '\\' && i + 1 < s.length) {
        const n = s[i + 1]!;
        i++;
        if (n >= '0' && n <= '9') {
          if (lit !== '') this.parts.push(lit);
          lit = '';
          this.parts.push(Number(n));
          continue;
        }
        lit += n;
        continue;
      }
      lit += c;
    }
    if (lit !== '') this.parts.push(lit);
  }

  /** Replaces every non-overlapping match in `input` (RE2::GlobalReplace). */
  replaceAll(input: string): string {
    const m = this.re.matcher(input);
    let out = '';
    let last = 0;
    let found = false;
    while (m.find()) {
      found = true;
      out += input.slice(last, m.start());
      for (let i = 0; i < this.parts.length; i++) {
        const p = this.parts[i]!;
        out += typeof p === 'number' ? (m.group(p) ?? '') : p;
      }
      last = m.end();
    }
    return found ? out + input.slice(last) : input;
  }
}

/**
 * Envoy's currentUrlPathAfterRewriteWithMatchedPath for prefix_rewrite: replace the first
 * `matchedLength` characters of :path (the matched prefix, or the whole path before the query
 * for path/regex matches) by `prefix`; the rest, query included, is kept.
 */
export function rewritePrefix(path: string, matchedLength: number, prefix: string): string {
  return prefix + path.slice(matchedLength);
}

/** regex_rewrite of :path: substitutes in the path part only and keeps the query string. */
export function rewriteRegex(path: string, sub: RegexSubstitution): string {
  const end = pathEnd(path);
  return end === path.length ? sub.replaceAll(path) : sub.replaceAll(path.slice(0, end)) + path.slice(end);
}

/** The request facts a redirect needs. */
export interface RedirectRequest {
  readonly authority: string;
  /** :path after the route's prefix/regex redirect rewrite, if any. */
  readonly path: string;
  /** Effective scheme (x-forwarded-proto). */
  readonly scheme: string;
}

/**
 * Removes the request's port from the host when a port redirect is set, or when the scheme
 * changes and the port is the default of the old scheme (Envoy processRequestHost), so that
 * http://foo:80 redirected to https becomes https://foo.
 */
function requestHostFor(req: RedirectRequest, newScheme: string, newPort: string): string {
  const host = req.authority;
  if (host === '') return host;
  let end: number;
  if (host.startsWith('[')) {
    end = host.lastIndexOf(']:');
    if (end >= 0) end += 1;
  } else {
    end = portStart(host);
  }
  if (end < 0) return host;
  const port = host.slice(end);
  let remove = newPort !== '';
  if (newScheme !== req.scheme) {
    remove ||= req.scheme === 'https' && port === ':443';
    remove ||= req.scheme === 'http' && port === ':80';
  }
  return remove ? host.slice(0, end) : host;
}

/**
 * The Location of a redirect route, following Envoy's Http::Utility::newUri. `req.path` must
 * already carry the prefix_rewrite / regex_rewrite of the redirect, when it has one.
 */
export function redirectLocation(redirect: RedirectActionConfig, req: RedirectRequest): string {
  const scheme = redirect.scheme ?? req.scheme;
  const port = redirect.port !== 0 ? `:${redirect.port}` : '';
  const host = redirect.host !== '' ? redirect.host : requestHostFor(req, scheme, port);
  let path: string;
  let pathHasQuery = false;
  if (redirect.path?.kind === 'path') {
    // A query in path_redirect wins over the request's and is never stripped.
    const configured = redirect.path.path;
    pathHasQuery = configured.includes('?');
    if (pathHasQuery) path = configured;
    else {
      const q = req.path.indexOf('?');
      path = q >= 0 ? configured + req.path.slice(q) : configured;
    }
  } else {
    path = req.path;
  }
  if (!path.startsWith('/')) path = `/${path}`;
  if (!pathHasQuery && redirect.stripQuery) {
    const q = path.indexOf('?');
    if (q >= 0) path = path.slice(0, q);
  }
  return `${scheme}://${host}${port}${path}`;
}
