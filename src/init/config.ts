// Configuration of the iptables init tool (src/init), the equivalent of istio-iptables'
// tools/common/config.Config. Flags and environment variables (args.ts) fill it, host facts
// (resolve.ts: proxy user, pod IP family, resolv.conf) complete it, and the rule builder
// (capture.ts) reads it. Values stay strings where Istio keeps strings, because several of them
// go verbatim into iptables arguments (`--uid-owner`, `--dport`) and `*` / `""` carry meaning.

/** Everything the capture rules depend on, plus how to apply them. Plain readonly data. */
export interface CaptureConfig {
  /** -p: outbound redirect port (REDIRECT target of ISTIO_REDIRECT). */
  readonly proxyPort: string;
  /** -z: inbound redirect / TPROXY port. */
  readonly inboundCapturePort: string;
  /** -e: HBONE tunnel port, never captured inbound. */
  readonly inboundTunnelPort: string;
  /** -u: comma-separated owners whose traffic is never captured. */
  readonly proxyUid: string;
  /** -g: comma-separated groups whose traffic is never captured (defaults to proxyUid). */
  readonly proxyGid: string;
  /** -m: `REDIRECT` (or empty, same thing) or `TPROXY`. */
  readonly inboundInterceptionMode: string;
  readonly inboundTProxyMark: string;
  readonly inboundTProxyRouteTable: string;
  /** -b: `*`, a port list, or empty (no inbound capture). */
  readonly inboundPortsInclude: string;
  /** -d: ports skipped when -b is `*`. */
  readonly inboundPortsExclude: string;
  /** ISTIO_OUTBOUND_OWNER_GROUPS: `*` or groups whose traffic is captured. */
  readonly ownerGroupsInclude: string;
  /** ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE: groups never captured (with include `*`). */
  readonly ownerGroupsExclude: string;
  readonly outboundPortsInclude: string;
  readonly outboundPortsExclude: string;
  /** -i: `*`, a CIDR list, or empty (no outbound capture). */
  readonly outboundIpRangesInclude: string;
  readonly outboundIpRangesExclude: string;
  /** -k: interfaces whose inbound traffic is handled as outbound. */
  readonly rerouteVirtualInterfaces: string;
  /** -c: interfaces never captured. */
  readonly excludeInterfaces: string;
  readonly iptablesProbePort: number;
  readonly probeTimeoutMs: number;
  readonly dryRun: boolean;
  readonly skipRuleApply: boolean;
  readonly runValidation: boolean;
  readonly redirectDns: boolean;
  readonly dropInvalid: boolean;
  readonly captureAllDns: boolean;
  /** Derived: the pod's address is IPv6 (or dual stack with an IPv6 address). */
  readonly enableIpv6: boolean;
  /** Derived from /etc/resolv.conf when DNS capture is on and not capture-all. */
  readonly dnsServersV4: readonly string[];
  readonly dnsServersV6: readonly string[];
  readonly networkNamespace: string;
  readonly cniMode: boolean;
  readonly dualStack: boolean;
  /** Derived: the pod address used to decide the IP family (empty when unknown). */
  readonly hostIp: string;
  /** ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR. */
  readonly hostIpv4LoopbackCidr: string;
  readonly reconcile: boolean;
  readonly cleanupOnly: boolean;
  readonly forceApply: boolean;
  readonly nativeNftables: boolean;
  /** `legacy`, `nft` or empty (detect). */
  readonly forceIptablesBinary: string;
}

/** Defaults of istio-iptables (config.DefaultConfig); proxyUid/proxyGid empty until resolved. */
export const DEFAULT_CONFIG: CaptureConfig = Object.freeze({
  proxyPort: '15001',
  inboundCapturePort: '15006',
  inboundTunnelPort: '15008',
  proxyUid: '',
  proxyGid: '',
  inboundInterceptionMode: '',
  inboundTProxyMark: '1337',
  inboundTProxyRouteTable: '133',
  inboundPortsInclude: '',
  inboundPortsExclude: '',
  ownerGroupsInclude: '*',
  ownerGroupsExclude: '',
  outboundPortsInclude: '',
  outboundPortsExclude: '',
  outboundIpRangesInclude: '',
  outboundIpRangesExclude: '',
  rerouteVirtualInterfaces: '',
  excludeInterfaces: '',
  iptablesProbePort: 15002,
  probeTimeoutMs: 5000,
  dryRun: false,
  skipRuleApply: false,
  runValidation: false,
  redirectDns: false,
  dropInvalid: false,
  captureAllDns: false,
  enableIpv6: false,
  dnsServersV4: [],
  dnsServersV6: [],
  networkNamespace: '',
  cniMode: false,
  dualStack: false,
  hostIp: '',
  hostIpv4LoopbackCidr: '127.0.0.1/32',
  reconcile: false,
  cleanupOnly: false,
  forceApply: false,
  nativeNftables: false,
  forceIptablesBinary: '',
});

/** Istio chain names (tools/istio-iptables/pkg/constants). */
export const Chains = Object.freeze({
  OUTPUT: 'ISTIO_OUTPUT',
  OUTPUT_DNS: 'ISTIO_OUTPUT_DNS',
  INBOUND: 'ISTIO_INBOUND',
  DIVERT: 'ISTIO_DIVERT',
  TPROXY: 'ISTIO_TPROXY',
  REDIRECT: 'ISTIO_REDIRECT',
  IN_REDIRECT: 'ISTIO_IN_REDIRECT',
  DROP: 'ISTIO_DROP',
});

/** Chains and targets iptables already knows: never created with -N, never flushed or deleted. */
export const BUILTIN_CHAINS_AND_TARGETS: ReadonlySet<string> = new Set([
  'INPUT',
  'OUTPUT',
  'FORWARD',
  'PREROUTING',
  'POSTROUTING',
  'ACCEPT',
  'RETURN',
  'DROP',
]);

/** Port where pilot-agent's DNS proxy listens. */
export const AGENT_DNS_PORT = '15053';
/** TPROXY: mark put on proxy-to-app loopback packets so they are not captured again. */
export const OUTBOUND_MARK = '1338';
