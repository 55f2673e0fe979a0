// The capture rule set of the iptables init tool (src/init): CaptureConfig in, RuleSet out, no
// I/O. It is istio-iptables' IptablesConfigurator.Run (tools/istio-iptables/pkg/capture/run.go)
// step by step, in the same order, because the order of rules inside a chain is the behaviour
// (first match wins) and the restore payload must equal Istio's goldens byte for byte.
//
// Traffic paths the rules implement (REDIRECT mode):
//
//   inbound:  PREROUTING -> ISTIO_INBOUND -(RETURN: 15008, excluded ports)-> app
//                                         -(captured ports)-> ISTIO_IN_REDIRECT -> :15006
//   outbound: OUTPUT -> ISTIO_OUTPUT -(proxy uid/gid, localhost, excluded CIDRs)-> RETURN
//                                    -(proxy to own pod IP over lo)-> ISTIO_IN_REDIRECT -> :15006
//                                    -(everything else / included CIDRs)-> ISTIO_REDIRECT -> :15001
//
// TPROXY mode moves inbound into the mangle table (ISTIO_DIVERT marks, ISTIO_TPROXY) and adds
// CONNMARK save/restore; DNS capture adds ISTIO_OUTPUT_DNS (dns.ts).
import { RuleBuilder, IP_VERSION_SPECIFIC, type RuleSet } from './builder';
import { separateV4V6, splitList, type NetworkRange } from './cidr';
import { Chains, OUTBOUND_MARK, type CaptureConfig } from './config';
import { addDnsRedirect } from './dns';

const V6_LOOPBACK = '::1/128';

/** Builds every rule istio-iptables would apply for `cfg`, per IP family, in order. */
export function buildCaptureRules(cfg: CaptureConfig): RuleSet {
  const rb = new RuleBuilder(cfg.enableIpv6);
  const tproxy = cfg.inboundInterceptionMode === 'TPROXY';
  const loV4 = cfg.hostIpv4LoopbackCidr;
  const exclude = separateV4V6(cfg.outboundIpRangesExclude);
  const include = separateV4V6(cfg.outboundIpRangesInclude);

  // REDIRECT_DNS without capture-all and without any nameserver has nothing to redirect: Istio
  // turns it off entirely (including the port-53 exceptions below).
  const redirectDns =
    cfg.redirectDns && (cfg.captureAllDns || cfg.dnsServersV4.length > 0 || cfg.dnsServersV6.length > 0);

  // Excluded interfaces first, so nothing below ever sees their packets.
  for (const nic of splitList(cfg.excludeInterfaces)) {
    rb.append('PREROUTING', 'nat', '-i', nic, '-j', 'RETURN');
    rb.append('OUTPUT', 'nat', '-o', nic, '-j', 'RETURN');
  }
  if (tproxy) {
    for (const nic of splitList(cfg.excludeInterfaces)) {
      rb.append('PREROUTING', 'mangle', '-i', nic, '-j', 'RETURN');
      rb.append('OUTPUT', 'mangle', '-o', nic, '-j', 'RETURN');
    }
  }
  // Virtual interfaces (KubeVirt): their inbound is not inbound capture (it becomes outbound below).
  for (const nic of splitList(cfg.rerouteVirtualInterfaces)) {
    rb.insert('PREROUTING', 'nat', 1, '-i', nic, '-j', 'RETURN');
  }
  // Drop out-of-window packets instead of letting the stack answer them with a reset.
  if (cfg.dropInvalid) {
    rb.append('PREROUTING', 'mangle', '-m', 'conntrack', '--ctstate', 'INVALID', '-j', Chains.DROP);
    rb.append(Chains.DROP, 'mangle', '-j', 'DROP');
  }

  rb.append(Chains.INBOUND, 'nat', '-p', 'tcp', '--dport', cfg.inboundTunnelPort, '-j', 'RETURN');
  rb.append(Chains.REDIRECT, 'nat', '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', cfg.proxyPort);
  rb.append(Chains.IN_REDIRECT, 'nat', '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', cfg.inboundCapturePort);

  addInboundCapture(rb, cfg, tproxy);

  // All outbound traffic (TCP and UDP) goes through ISTIO_OUTPUT (1.25+; before, only TCP).
  rb.append('OUTPUT', 'nat', '-j', Chains.OUTPUT);
  for (const port of splitList(cfg.outboundPortsExclude)) {
    rb.append(Chains.OUTPUT, 'nat', '-p', 'tcp', '--dport', port, '-j', 'RETURN');
    rb.append(Chains.OUTPUT, 'nat', '-p', 'udp', '--dport', port, '-j', 'RETURN');
  }
  // The proxy's inbound passthrough connects to the app from 127.0.0.6 / ::6: leave it alone.
  rb.appendVersioned('127.0.0.6/32', '::6/128', Chains.OUTPUT, 'nat', '-o', 'lo', '-s', IP_VERSION_SPECIFIC, '-j', 'RETURN');

  const loopbackIncluded = include.v4.hasLoopbackIp || include.v6.hasLoopbackIp;
  for (const uid of splitList(cfg.proxyUid)) {
    addOwnerRules(rb, 'uid', uid, cfg, redirectDns, loopbackIncluded);
  }
  for (const gid of splitList(cfg.proxyGid)) {
    addOwnerRules(rb, 'gid', gid, cfg, redirectDns, loopbackIncluded);
  }

  addOwnerGroupFilter(rb, cfg.ownerGroupsInclude, cfg.ownerGroupsExclude);

  if (redirectDns) addDnsRedirect(rb, cfg);

  // Explicit localhost is the app talking to itself or to an Envoy-aware sidecar.
  rb.appendVersioned(loV4, V6_LOOPBACK, Chains.OUTPUT, 'nat', '-d', IP_VERSION_SPECIFIC, '-j', 'RETURN');
  // Excluded ranges must come before the included ones.
  for (const cidr of exclude.v4.cidrs) rb.appendV4(Chains.OUTPUT, 'nat', '-d', cidr, '-j', 'RETURN');
  for (const cidr of exclude.v6.cidrs) rb.appendV6(Chains.OUTPUT, 'nat', '-d', cidr, '-j', 'RETURN');

  for (const port of splitList(cfg.outboundPortsInclude)) {
    rb.append(Chains.OUTPUT, 'nat', '-p', 'tcp', '--dport', port, '-j', Chains.REDIRECT);
  }
  addOutboundInclude(rb, cfg, include.v4, 4);
  addOutboundInclude(rb, cfg, include.v6, 6);

  if (tproxy) addTproxyMarks(rb, cfg);
  return rb.build();
}

function addInboundCapture(rb: RuleBuilder, cfg: CaptureConfig, tproxy: boolean): void {
  // An empty include list means no inbound capture at all.
  if (cfg.inboundPortsInclude === '') return;
  const table = tproxy ? 'mangle' : 'nat';
  if (tproxy) {
    // ISTIO_DIVERT marks packets so policy routing (table 133) delivers them to lo; ISTIO_TPROXY
    // hands new connections to the inbound listener without rewriting the destination.
    rb.append(Chains.DIVERT, 'mangle', '-j', 'MARK', '--set-mark', cfg.inboundTProxyMark);
    rb.append(Chains.DIVERT, 'mangle', '-j', 'ACCEPT');
    rb.appendVersioned(cfg.hostIpv4LoopbackCidr, V6_LOOPBACK, Chains.TPROXY, 'mangle',
      '!', '-d', IP_VERSION_SPECIFIC, '-p', 'tcp', '-j', 'TPROXY',
      '--tproxy-mark', `${cfg.inboundTProxyMark}/0xffffffff`, '--on-port', cfg.inboundCapturePort);
  }
  rb.append('PREROUTING', table, '-p', 'tcp', '-j', Chains.INBOUND);

  if (cfg.inboundPortsInclude === '*') {
    for (const port of splitList(cfg.inboundPortsExclude)) {
      rb.append(Chains.INBOUND, table, '-p', 'tcp', '--dport', port, '-j', 'RETURN');
    }
    if (tproxy) {
      rb.append(Chains.INBOUND, 'mangle', '-p', 'tcp', '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', Chains.DIVERT);
      rb.append(Chains.INBOUND, 'mangle', '-p', 'tcp', '-j', Chains.TPROXY);
    } else {
      rb.append(Chains.INBOUND, 'nat', '-p', 'tcp', '-j', Chains.IN_REDIRECT);
    }
    return;
  }
  for (const port of splitList(cfg.inboundPortsInclude)) {
    if (tproxy) {
      rb.append(Chains.INBOUND, 'mangle', '-p', 'tcp', '--dport', port,
        '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', Chains.DIVERT);
      rb.append(Chains.INBOUND, 'mangle', '-p', 'tcp', '--dport', port, '-j', Chains.TPROXY);
    } else {
      rb.append(Chains.INBOUND, 'nat', '-p', 'tcp', '--dport', port, '-j', Chains.IN_REDIRECT);
    }
  }
}

/**
 * The three rules per proxy uid (or gid): proxy traffic to the pod's own non-localhost address
 * over lo goes to the inbound listener (app -> VIP -> proxy -> proxy -> app); other traffic over
 * lo that is not the proxy's returns (app to app); all other proxy traffic returns (no loop).
 */
function addOwnerRules(
  rb: RuleBuilder,
  kind: 'uid' | 'gid',
  owner: string,
  cfg: CaptureConfig,
  redirectDns: boolean,
  loopbackIncluded: boolean,
): void {
  const match = kind === 'uid' ? '--uid-owner' : '--gid-owner';
  // With DNS capture the uid rule also skips port 53, so app -> agent -> resolver never detours
  // through the inbound listener. Istio does this for uids only; the gid rule keeps the plain form.
  const portMatch =
    redirectDns && kind === 'uid'
      ? ['-m', 'multiport', '!', '--dports', `53,${cfg.inboundTunnelPort}`]
      : ['!', '--dport', cfg.inboundTunnelPort];
  rb.appendVersioned(cfg.hostIpv4LoopbackCidr, V6_LOOPBACK, Chains.OUTPUT, 'nat',
    '-o', 'lo', '!', '-d', IP_VERSION_SPECIFIC, '-p', 'tcp', ...portMatch,
    '-m', 'owner', match, owner, '-j', Chains.IN_REDIRECT);
  // A loopback range in -i means the user wants loopback captured: no app-to-app shortcut.
  if (!loopbackIncluded) {
    if (redirectDns) {
      // TCP to a resolver on localhost must still be captured, so port 53 is not returned.
      rb.append(Chains.OUTPUT, 'nat', '-o', 'lo', '-p', 'tcp', '!', '--dport', '53',
        '-m', 'owner', '!', match, owner, '-j', 'RETURN');
    } else {
      rb.append(Chains.OUTPUT, 'nat', '-o', 'lo', '-m', 'owner', '!', match, owner, '-j', 'RETURN');
    }
  }
  rb.append(Chains.OUTPUT, 'nat', '-m', 'owner', match, owner, '-j', 'RETURN');
}

/** ISTIO_OUTBOUND_OWNER_GROUPS(_EXCLUDE): capture only some groups, or all but some. */
function addOwnerGroupFilter(rb: RuleBuilder, include: string, exclude: string): void {
  if (include === '*') {
    for (const group of splitList(exclude)) {
      rb.append(Chains.OUTPUT, 'nat', '-m', 'owner', '--gid-owner', group, '-j', 'RETURN');
    }
    return;
  }
  // One rule: "owner is none of these groups" -> RETURN. Istio emits it even for an empty list.
  const matchers = splitList(include).flatMap((g) => ['-m', 'owner', '!', '--gid-owner', g]);
  rb.append(Chains.OUTPUT, 'nat', ...matchers, '-j', 'RETURN');
}

function addOutboundInclude(rb: RuleBuilder, cfg: CaptureConfig, range: NetworkRange, family: 4 | 6): void {
  const append = (chain: string, ...args: string[]) =>
    family === 4 ? rb.appendV4(chain, 'nat', ...args) : rb.appendV6(chain, 'nat', ...args);
  const insert = (chain: string, ...args: string[]) =>
    family === 4 ? rb.insertV4(chain, 'nat', 1, ...args) : rb.insertV6(chain, 'nat', 1, ...args);
  const virt = splitList(cfg.rerouteVirtualInterfaces);
  if (range.isWildcard) {
    append(Chains.OUTPUT, '-j', Chains.REDIRECT);
    for (const nic of virt) insert('PREROUTING', '-i', nic, '-j', Chains.REDIRECT);
    return;
  }
  for (const cidr of range.cidrs) {
    for (const nic of virt) insert('PREROUTING', '-i', nic, '-d', cidr, '-j', Chains.REDIRECT);
    append(Chains.OUTPUT, '-d', cidr, '-j', Chains.REDIRECT);
  }
}

/** TPROXY: connection marks so replies and proxy-to-app traffic route correctly. */
function addTproxyMarks(rb: RuleBuilder, cfg: CaptureConfig): void {
  const mark = cfg.inboundTProxyMark;
  // Save the mark the original_src listener filter put on upstream packets as a connection mark.
  rb.append('PREROUTING', 'mangle', '-p', 'tcp', '-m', 'mark', '--mark', mark, '-j', 'CONNMARK', '--save-mark');
  // Already marked (proxy to app): do not mark again.
  rb.append('OUTPUT', 'mangle', '-p', 'tcp', '-o', 'lo', '-m', 'mark', '--mark', mark, '-j', 'RETURN');
  // Proxy outbound to the pod IP (app called its own VIP): mark 1338 so inbound skips capture.
  for (const [match, owners] of [['--uid-owner', cfg.proxyUid], ['--gid-owner', cfg.proxyGid]] as const) {
    for (const owner of splitList(owners)) {
      rb.appendVersioned(cfg.hostIpv4LoopbackCidr, V6_LOOPBACK, 'OUTPUT', 'mangle',
        '!', '-d', IP_VERSION_SPECIFIC, '-p', 'tcp', '-o', 'lo',
        '-m', 'owner', match, owner, '-j', 'MARK', '--set-mark', OUTBOUND_MARK);
    }
  }
  // Replies of marked connections get the mark back, so policy routing sends them to lo.
  rb.append('OUTPUT', 'mangle', '-p', 'tcp', '-m', 'connmark', '--mark', mark, '-j', 'CONNMARK', '--restore-mark');
  // No endless redirect; nothing from 127.0.0.6; app to app over lo unless marked 1338.
  rb.insert(Chains.INBOUND, 'mangle', 1, '-p', 'tcp', '-m', 'mark', '--mark', mark, '-j', 'RETURN');
  rb.insertV4(Chains.INBOUND, 'mangle', 2, '-p', 'tcp', '-s', '127.0.0.6/32', '-i', 'lo', '-j', 'RETURN');
  rb.insertV6(Chains.INBOUND, 'mangle', 2, '-p', 'tcp', '-s', '::6/128', '-i', 'lo', '-j', 'RETURN');
  rb.insert(Chains.INBOUND, 'mangle', 3, '-p', 'tcp', '-i', 'lo', '-m', 'mark', '!', '--mark', OUTBOUND_MARK, '-j', 'RETURN');
}
