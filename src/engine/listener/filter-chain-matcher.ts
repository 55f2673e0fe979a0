// Filter chain selection with Envoy's precedence (listener_components.proto FilterChainMatch):
// destination port -> destination IP (longest prefix) -> server name (exact, then longest
// wildcard) -> transport protocol -> application protocols -> direct source IP -> source type ->
// source IP -> source port. At each level the most specific candidates win and the search never
// falls back to a less specific branch below that level (Envoy's documented behaviour); if
// nothing is left, the default filter chain (if any) is used.
//
// Built once per listener at materialize time; match() allocates only the small candidate arrays.
import { cidrContains, isLoopback, parseCidr, parseIp, type Cidr } from '../../common/ip';
import type { FilterChainConfig } from '../../config/model/listener';

/** What is known about a connection when its chain is chosen. */
export interface ConnectionMatchInfo {
  readonly destinationIp: string;
  readonly destinationPort: number;
  readonly sourceIp: string;
  readonly sourcePort: number;
  /** The peer address as seen by the socket (differs from sourceIp only with proxy protocol). */
  readonly directSourceIp: string;
  readonly serverName?: string;
  readonly transportProtocol?: string;
  readonly applicationProtocols?: readonly string[];
}

interface Compiled<T> {
  readonly chain: T;
  readonly config: FilterChainConfig;
  readonly prefixes: readonly Cidr[];
  readonly directSources: readonly Cidr[];
  readonly sources: readonly Cidr[];
}

function longestPrefixStage<T>(cands: Compiled<T>[], pick: (c: Compiled<T>) => readonly Cidr[], ip: Uint8Array | undefined): Compiled<T>[] {
  let best = -1;
  let out: Compiled<T>[] = [];
  const empty: Compiled<T>[] = [];
  for (const c of cands) {
    const list = pick(c);
    if (list.length === 0) {
      empty.push(c);
      continue;
    }
    if (!ip) continue;
    let len = -1;
    for (const r of list) if (r.bits > len && cidrContains(r, ip)) len = r.bits;
    if (len < 0) continue;
    if (len > best) {
      best = len;
      out = [c];
    } else if (len === best) out.push(c);
  }
  return best >= 0 ? out : empty;
}

export class FilterChainMatcher<T> {
  private readonly chains: Compiled<T>[];

  /** `chains` pairs each config with the runtime object to return for it. */
  constructor(chains: readonly { readonly config: FilterChainConfig; readonly chain: T }[], private readonly defaultChain: T | undefined) {
    const cidrs = (list: readonly { addressPrefix: string; prefixLen: number }[]) => list.map((r) => parseCidr(r.addressPrefix, r.prefixLen)).filter((c): c is Cidr => !!c);
    this.chains = chains.map(({ config, chain }) => ({
      chain,
      config,
      prefixes: cidrs(config.match.prefixRanges),
      directSources: cidrs(config.match.directSourcePrefixRanges),
      sources: cidrs(config.match.sourcePrefixRanges),
    }));
  }

  /** True when some chain's match needs the TLS or HTTP inspector's results. */
  needsInspection(): { serverName: boolean; transport: boolean; alpn: boolean } {
    let serverName = false;
    let transport = false;
    let alpn = false;
    for (const c of this.chains) {
      if (c.config.match.serverNames.length) serverName = true;
      if (c.config.match.transportProtocol) transport = true;
      if (c.config.match.applicationProtocols.length) alpn = true;
    }
    return { serverName, transport, alpn };
  }

  match(info: ConnectionMatchInfo): T | undefined {
    let cands = this.chains;
    // 1. destination port
    const withPort = cands.filter((c) => c.config.match.destinationPort === info.destinationPort);
    cands = withPort.length ? withPort : cands.filter((c) => c.config.match.destinationPort === undefined);
    // 2. destination IP
    if (cands.length) cands = longestPrefixStage(cands, (c) => c.prefixes, parseIp(info.destinationIp));
    // 3. server name: exact, then the longest matching wildcard (*.a.b), then chains without names
    if (cands.length) {
      const sni = (info.serverName ?? '').toLowerCase();
      let next: Compiled<T>[] = [];
      if (sni) {
        next = cands.filter((c) => c.config.match.serverNames.includes(sni));
        if (!next.length) {
          let bestLen = -1;
          for (const c of cands) {
            for (const n of c.config.match.serverNames) {
              if (n.startsWith('*.') && sni.endsWith(n.slice(1)) && n.length > bestLen) {
                bestLen = n.length;
                next = [c];
              } else if (n.startsWith('*.') && sni.endsWith(n.slice(1)) && n.length === bestLen && !next.includes(c)) next.push(c);
            }
          }
        }
      }
      cands = next.length ? next : cands.filter((c) => c.config.match.serverNames.length === 0);
    }
    // 4. transport protocol
    if (cands.length) {
      const tp = info.transportProtocol ?? '';
      const exact = tp ? cands.filter((c) => c.config.match.transportProtocol === tp) : [];
      cands = exact.length ? exact : cands.filter((c) => c.config.match.transportProtocol === '');
    }
    // 5. application protocols
    if (cands.length) {
      const aps = info.applicationProtocols ?? [];
      const exact = aps.length ? cands.filter((c) => c.config.match.applicationProtocols.some((p) => aps.includes(p))) : [];
      cands = exact.length ? exact : cands.filter((c) => c.config.match.applicationProtocols.length === 0);
    }
    // 6. direct source IP
    if (cands.length) cands = longestPrefixStage(cands, (c) => c.directSources, parseIp(info.directSourceIp));
    // 7. source type
    if (cands.length) {
      const src = parseIp(info.sourceIp);
      const local = !!src && (isLoopback(src) || info.sourceIp === info.destinationIp);
      const want = local ? 'SAME_IP_OR_LOOPBACK' : 'EXTERNAL';
      const exact = cands.filter((c) => c.config.match.sourceType === want);
      cands = exact.length ? exact : cands.filter((c) => c.config.match.sourceType === 'ANY');
    }
    // 8. source IP
    if (cands.length) cands = longestPrefixStage(cands, (c) => c.sources, parseIp(info.sourceIp));
    // 9. source port
    if (cands.length) {
      const exact = cands.filter((c) => c.config.match.sourcePorts.includes(info.sourcePort));
      cands = exact.length ? exact : cands.filter((c) => c.config.match.sourcePorts.length === 0);
    }
    return cands.length ? cands[0]!.chain : this.defaultChain;
  }
}
