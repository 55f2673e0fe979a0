// Completes and validates the configuration of the iptables init tool (src/init), between
// argument parsing (args.ts) and rule building (capture.ts). It does what istio-iptables'
// FillConfigFromEnvironment and Validate do (tools/common/config/config.go): environment-only
// settings, the proxy uid/gid defaults, the IP family from the pod's first usable address,
// nameservers from /etc/resolv.conf; then it checks every value that ends up inside an iptables
// rule, so a bad flag is one clear error line instead of a failed iptables-restore. Pure: the
// host is reached only through HostFacts (host.ts has the real one; tests pass fixed facts).
import { parseCidr, parseIpv4, parseIpv6, splitList } from './cidr';
import type { CaptureConfig } from './config';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** What resolve needs to know about the machine it runs on. */
export interface HostFacts {
  /** Numeric uid of a user name, or null when there is no such user. */
  lookupUid(name: string): string | null;
  /** The host's interface addresses, in interface order (loopback included). */
  addresses(): readonly string[];
  /** Contents of /etc/resolv.conf, or null when it cannot be read. */
  resolvConf(): string | null;
}

export type ResolveResult = { readonly ok: true; readonly config: CaptureConfig } | { readonly ok: false; readonly error: string };

const MAX_OWNER_GROUPS_INCLUDE = 64;

/** Fills derived fields and validates. `env` supplies the environment-only settings. */
export function resolveConfig(
  base: CaptureConfig,
  env: Readonly<Record<string, string | undefined>>,
  host: HostFacts,
): ResolveResult {
  const cfg: Mutable<CaptureConfig> = { ...base };
  // Environment-only settings. An empty value counts as unset here (Istio would take an empty
  // owner-group include list as "capture no group", which silently disables outbound capture).
  cfg.ownerGroupsInclude = nonEmpty(env.ISTIO_OUTBOUND_OWNER_GROUPS) ?? base.ownerGroupsInclude;
  cfg.ownerGroupsExclude = env.ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE ?? base.ownerGroupsExclude;
  cfg.hostIpv4LoopbackCidr = nonEmpty(env.ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR) ?? base.hostIpv4LoopbackCidr;

  if (cfg.proxyUid === '') cfg.proxyUid = host.lookupUid(nonEmpty(env.ENVOY_USER) ?? 'istio-proxy') ?? '1337';
  if (cfg.proxyGid === '') cfg.proxyGid = cfg.proxyUid;

  const ip = pickLocalIp(host.addresses(), cfg.dualStack);
  if (!ip) return { ok: false, error: 'no valid local IP address found' };
  cfg.hostIp = ip.address;
  cfg.enableIpv6 = ip.ipv6;

  if (cfg.redirectDns && !cfg.captureAllDns) {
    const text = host.resolvConf();
    if (text === null) return { ok: false, error: 'failed to load /etc/resolv.conf' };
    const servers = nameservers(text);
    cfg.dnsServersV4 = servers.filter((s) => parseIpv4(s) !== null);
    cfg.dnsServersV6 = servers.filter((s) => parseIpv4(s) === null);
  }

  const error = validateConfig(cfg);
  return error ? { ok: false, error } : { ok: true, config: Object.freeze(cfg) };
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

/**
 * istio-iptables' getLocalIP: the first address that is not loopback or link-local decides; with
 * dual stack, addresses are scanned until an IPv6 one is seen, which turns IPv6 on.
 */
export function pickLocalIp(addresses: readonly string[], dualStack: boolean): { address: string; ipv6: boolean } | null {
  let first: string | null = null;
  let ipv6 = false;
  for (const raw of addresses) {
    const a = raw.replace(/%.*$/, '');
    const v4 = parseIpv4(a.startsWith('::ffff:') ? a.slice(7) : a);
    const v6 = v4 ? null : parseIpv6(a);
    if (!v4 && !v6) continue;
    if (v4 && (v4[0] === 127 || (v4[0] === 169 && v4[1] === 254))) continue;
    if (v6 && (v6.slice(0, 7).every((g) => g === 0) && v6[7] === 1)) continue; // ::1
    if (v6 && (v6[0]! & 0xffc0) === 0xfe80) continue; // fe80::/10
    if (v6 && (v6[0]! & 0xff0f) === 0xff02) continue; // link-local multicast
    ipv6 = v6 !== null;
    first ??= a;
    if (!dualStack || ipv6) break;
  }
  return first === null ? null : { address: first, ipv6 };
}

/** `nameserver` entries of resolv.conf that are IP addresses, as written. */
export function nameservers(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] !== 'nameserver' || f.length < 2) continue;
    const name = f[1]!;
    const bare = name.replace(/%.*$/, '');
    if (parseIpv4(bare) || parseIpv6(bare)) out.push(name);
  }
  return out;
}

const PORT = /^[0-9]{1,5}$/;

function isPort(v: string): boolean {
  return PORT.test(v) && Number(v) >= 1 && Number(v) <= 65535;
}

/** A --dport value: a port or a `lo:hi` range. */
function isPortOrRange(v: string): boolean {
  const parts = v.split(':');
  return parts.length <= 2 && parts.every(isPort);
}

/** The first problem in `cfg`, as one line naming the flag, or null. */
export function validateConfig(cfg: CaptureConfig): string | null {
  const bad = (flag: string, value: string, why: string) => `invalid value "${value}" for ${flag}: ${why}`;
  for (const [flag, v] of [
    ['-p, --envoy-port', cfg.proxyPort],
    ['-z, --inbound-capture-port', cfg.inboundCapturePort],
    ['-e, --inbound-tunnel-port', cfg.inboundTunnelPort],
  ] as const) {
    if (!isPort(v)) return bad(flag, v, 'must be a port number (1-65535)');
  }
  if (!['', 'REDIRECT', 'TPROXY'].includes(cfg.inboundInterceptionMode)) {
    return bad('-m, --istio-inbound-interception-mode', cfg.inboundInterceptionMode, 'must be REDIRECT or TPROXY');
  }
  if (cfg.inboundPortsInclude !== '*') {
    const err = portList('-b, --istio-inbound-ports', cfg.inboundPortsInclude);
    if (err) return err;
  }
  for (const [flag, v] of [
    ['-d, --istio-local-exclude-ports', cfg.inboundPortsExclude],
    ['-q, --istio-outbound-ports', cfg.outboundPortsInclude],
    ['-o, --istio-local-outbound-ports-exclude', cfg.outboundPortsExclude],
  ] as const) {
    const err = portList(flag, v);
    if (err) return err;
  }
  for (const [flag, v] of [
    ['-u, --proxy-uid', cfg.proxyUid],
    ['-g, --proxy-gid', cfg.proxyGid],
    ['ISTIO_OUTBOUND_OWNER_GROUPS', cfg.ownerGroupsInclude === '*' ? '' : cfg.ownerGroupsInclude],
    ['ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE', cfg.ownerGroupsExclude],
  ] as const) {
    for (const item of splitList(v)) {
      if (!/^[A-Za-z0-9._-]+(-[0-9]+)?$/.test(item)) return bad(flag, v, `"${item}" is not a user/group name, id or id range`);
    }
  }
  if (cfg.ownerGroupsInclude !== '*' && splitList(cfg.ownerGroupsInclude).length > MAX_OWNER_GROUPS_INCLUDE) {
    return `number of owner groups whose outgoing traffic should be redirected to Envoy cannot exceed ${MAX_OWNER_GROUPS_INCLUDE}, got ${splitList(cfg.ownerGroupsInclude).length}`;
  }
  for (const [flag, v] of [
    ['-k, --kube-virt-interfaces', cfg.rerouteVirtualInterfaces],
    ['-c, --istio-exclude-interfaces', cfg.excludeInterfaces],
  ] as const) {
    for (const item of splitList(v)) {
      if (!/^[^\s/'"]{1,15}$/.test(item)) return bad(flag, v, `"${item}" is not an interface name`);
    }
  }
  if (cfg.outboundIpRangesInclude !== '*') {
    const err = cidrList('-i, --istio-service-cidr', cfg.outboundIpRangesInclude);
    if (err) return err;
  }
  if (cfg.outboundIpRangesExclude === '*') return 'invalid value for OUTBOUND_IP_RANGES_EXCLUDE';
  const exErr = cidrList('-x, --istio-service-exclude-cidr', cfg.outboundIpRangesExclude);
  if (exErr) return exErr;
  if (cfg.inboundInterceptionMode === 'TPROXY') {
    if (!/^[0-9]+$/.test(cfg.inboundTProxyMark) || Number(cfg.inboundTProxyMark) > 0xffffffff) {
      return bad('-t, --istio-inbound-tproxy-mark', cfg.inboundTProxyMark, 'must be a number');
    }
    if (!/^[0-9]+$/.test(cfg.inboundTProxyRouteTable) || Number(cfg.inboundTProxyRouteTable) > 0xffffffff) {
      return bad('-r, --istio-inbound-tproxy-route-table', cfg.inboundTProxyRouteTable, 'must be a number');
    }
  }
  const lo = parseCidr(cfg.hostIpv4LoopbackCidr);
  if (typeof lo === 'string') return `failed to parse CIDR ${cfg.hostIpv4LoopbackCidr}: ${lo}`;
  if (lo.family !== 4 || !lo.loopback) {
    return `expected valid IPv4 loopback address in CIDR ${cfg.hostIpv4LoopbackCidr}`;
  }
  const bits = Number(cfg.hostIpv4LoopbackCidr.split('/')[1]);
  if (bits < 8 || bits > 32) return `expected CIDR ${cfg.hostIpv4LoopbackCidr} to have mask in range [8, 32]; found ${bits}`;
  if (!['', 'legacy', 'nft'].includes(cfg.forceIptablesBinary)) {
    return `invalid FORCE_IPTABLES_BINARY value "${cfg.forceIptablesBinary}"`;
  }
  if (cfg.nativeNftables) return '--native-nftables is not supported by meshproxy-iptables (iptables only)';
  return null;
}

function portList(flag: string, v: string): string | null {
  for (const item of splitList(v)) {
    if (!isPortOrRange(item)) return `invalid value "${v}" for ${flag}: "${item}" is not a port (1-65535) or port range`;
  }
  return null;
}

function cidrList(flag: string, v: string): string | null {
  for (const item of splitList(v)) {
    const c = parseCidr(item);
    if (typeof c === 'string') return `invalid value "${v}" for ${flag}: ${c}`;
  }
  return null;
}
