// Virtual host selection for a compiled route table, as Envoy's RouteMatcher::findVirtualHost
// does it (source/common/router/config_impl.cc). Worker side, once per request.
//
//   host (lower-cased, port stripped when ignore_port_in_host_matching)
//     1. exact domain            "www.foo.com"         Map lookup
//     2. suffix wildcard         "*.foo.com", "*-bar.foo.com"   longest first
//     3. prefix wildcard         "foo.*", "foo-*"      longest first
//     4. the single "*"
//
// Wildcard tables are grouped by the length of the fixed part, longest group first; for each
// group we cut that many characters off the host and do one Map lookup. A wildcard never
// matches the empty string: "*.foo.com" does not match ".foo.com".

/** Index of the ':' that starts a port in a Host value, or -1 (Envoy HeaderUtility::getPortStart). */
export function portStart(host: string): number {
  const colon = host.lastIndexOf(':');
  if (colon < 0) return -1;
  const v6End = host.lastIndexOf(']');
  if (v6End < 0 || v6End < colon) return colon;
  return -1;
}

interface WildcardGroup<T> {
  readonly length: number;
  readonly map: Map<string, T>;
}

/** A compiled domain table; T is the compiled virtual host. */
export class VirtualHostSelector<T> {
  private readonly exact = new Map<string, T>();
  private readonly suffixes: WildcardGroup<T>[];
  private readonly prefixes: WildcardGroup<T>[];
  private readonly fallback: T | null;
  private readonly onlyDefault: boolean;

  /** `hosts` pairs each compiled host with its (already lower-cased, validated unique) domains. */
  constructor(
    hosts: readonly { readonly host: T; readonly domains: readonly string[] }[],
    private readonly ignorePort: boolean,
  ) {
    const suffix = new Map<number, Map<string, T>>();
    const prefix = new Map<number, Map<string, T>>();
    let fallback: T | null = null;
    for (const { host, domains } of hosts) {
      for (const d of domains) {
        if (d === '*') {
          // Translate rejects a second '*'; keep the first to mirror Envoy if it slips through.
          if (fallback === null) fallback = host;
        } else if (d.startsWith('*')) {
          addTo(suffix, d.slice(1), host);
        } else if (d.endsWith('*')) {
          addTo(prefix, d.slice(0, -1), host);
        } else if (!this.exact.has(d)) {
          this.exact.set(d, host);
        }
      }
    }
    this.fallback = fallback;
    this.suffixes = groups(suffix);
    this.prefixes = groups(prefix);
    this.onlyDefault = this.exact.size === 0 && this.suffixes.length === 0 && this.prefixes.length === 0;
  }

  /** The virtual host for a request authority, or null when none matches. */
  select(authority: string): T | null {
    // Envoy fast path: with only a default host, the Host header is not even looked at.
    if (this.onlyDefault) return this.fallback;
    // Envoy returns no virtual host when the request has no Host/:authority at all.
    if (authority === '') return null;
    let host = authority;
    if (this.ignorePort) {
      const p = portStart(host);
      if (p >= 0) host = host.slice(0, p);
    }
    host = host.toLowerCase();
    const exact = this.exact.get(host);
    if (exact !== undefined) return exact;
    const n = host.length;
    for (let i = 0; i < this.suffixes.length; i++) {
      const g = this.suffixes[i]!;
      if (g.length >= n) continue;
      const hit = g.map.get(host.slice(n - g.length));
      if (hit !== undefined) return hit;
    }
    for (let i = 0; i < this.prefixes.length; i++) {
      const g = this.prefixes[i]!;
      if (g.length >= n) continue;
      const hit = g.map.get(host.slice(0, g.length));
      if (hit !== undefined) return hit;
    }
    return this.fallback;
  }
}

function addTo<T>(by: Map<number, Map<string, T>>, key: string, host: T): void {
  let m = by.get(key.length);
  if (!m) {
    m = new Map();
    by.set(key.length, m);
  }
  if (!m.has(key)) m.set(key, host);
}

function groups<T>(by: Map<number, Map<string, T>>): WildcardGroup<T>[] {
  return [...by.entries()].sort((a, b) => b[0] - a[0]).map(([length, map]) => ({ length, map }));
}
