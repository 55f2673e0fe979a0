// DNS capture rules of the iptables init tool (src/init), istio-iptables' SetupDNSRedir and
// addDNSConntrackZones (tools/istio-iptables/pkg/capture/run.go). Port-53 traffic from the app
// goes to pilot-agent's DNS proxy on 15053 (nat ISTIO_OUTPUT_DNS); in the raw table UDP DNS is
// split into two conntrack zones so the agent's upstream queries (zone 1) and the app's queries
// to the agent (zone 2) never share a conntrack entry, which avoids the UDP conntrack races that
// drop DNS replies. Either only the nameservers of /etc/resolv.conf are captured (init
// container) or every destination (`--capture-all-dns`, what istio-cni uses).
import type { RuleBuilder } from './builder';
import { splitList } from './cidr';
import { AGENT_DNS_PORT, Chains, type CaptureConfig } from './config';

/** Adds the DNS redirect and conntrack-zone rules; called only when DNS capture is effective. */
export function addDnsRedirect(rb: RuleBuilder, cfg: CaptureConfig): void {
  const all = cfg.captureAllDns;
  const v4 = cfg.dnsServersV4;
  const v6 = cfg.dnsServersV6;

  // raw:OUTPUT needs its own jump; nat jumps only for families that have something to capture.
  rb.append('OUTPUT', 'raw', '-j', Chains.OUTPUT_DNS);
  if (all || v4.length > 0) rb.appendV4(Chains.OUTPUT, 'nat', '-j', Chains.OUTPUT_DNS);
  if (all || v6.length > 0) rb.appendV6(Chains.OUTPUT, 'nat', '-j', Chains.OUTPUT_DNS);

  // TCP first, then UDP. Note the UDP rules say `--to-port`, the TCP ones `--to-ports` (both are
  // accepted by iptables; kept as Istio writes them so the payload is identical).
  if (all) {
    rb.append(Chains.OUTPUT_DNS, 'nat', '-p', 'tcp', '--dport', '53', '-j', 'REDIRECT', '--to-ports', AGENT_DNS_PORT);
  } else {
    for (const s of v4) {
      rb.appendV4(Chains.OUTPUT_DNS, 'nat', '-p', 'tcp', '--dport', '53', '-d', `${s}/32`, '-j', 'REDIRECT', '--to-ports', AGENT_DNS_PORT);
    }
    for (const s of v6) {
      rb.appendV6(Chains.OUTPUT_DNS, 'nat', '-p', 'tcp', '--dport', '53', '-d', `${s}/128`, '-j', 'REDIRECT', '--to-ports', AGENT_DNS_PORT);
    }
  }
  if (all) {
    rb.append(Chains.OUTPUT_DNS, 'nat', '-p', 'udp', '--dport', '53', '-j', 'REDIRECT', '--to-port', AGENT_DNS_PORT);
  } else {
    for (const s of v4) {
      rb.appendV4(Chains.OUTPUT_DNS, 'nat', '-p', 'udp', '--dport', '53', '-d', `${s}/32`, '-j', 'REDIRECT', '--to-port', AGENT_DNS_PORT);
    }
    for (const s of v6) {
      rb.appendV6(Chains.OUTPUT_DNS, 'nat', '-p', 'udp', '--dport', '53', '-d', `${s}/128`, '-j', 'REDIRECT', '--to-port', AGENT_DNS_PORT);
    }
  }
  addConntrackZones(rb, cfg);
}

function addConntrackZones(rb: RuleBuilder, cfg: CaptureConfig): void {
  const owners: Array<[string, string]> = [
    ...splitList(cfg.proxyUid).map((u): [string, string] => ['--uid-owner', u]),
    ...splitList(cfg.proxyGid).map((g): [string, string] => ['--gid-owner', g]),
  ];
  for (const [match, owner] of owners) {
    // The agent's queries to upstream resolvers: zone 1. Its answers to the app: zone 2.
    rb.append(Chains.OUTPUT_DNS, 'raw', '-p', 'udp', '--dport', '53', '-m', 'owner', match, owner, '-j', 'CT', '--zone', '1');
    rb.append(Chains.OUTPUT_DNS, 'raw', '-p', 'udp', '--sport', AGENT_DNS_PORT, '-m', 'owner', match, owner, '-j', 'CT', '--zone', '2');
  }

  if (cfg.captureAllDns) {
    rb.append('PREROUTING', 'raw', '-j', Chains.INBOUND);
    // App queries (any destination): zone 2. Resolver replies: zone 1.
    rb.append(Chains.OUTPUT_DNS, 'raw', '-p', 'udp', '--dport', '53', '-j', 'CT', '--zone', '2');
    rb.append(Chains.INBOUND, 'raw', '-p', 'udp', '--sport', '53', '-j', 'CT', '--zone', '1');
    return;
  }
  // The PREROUTING jump only exists when the chain gets rules, so no jump to an empty chain.
  if (cfg.dnsServersV4.length > 0) rb.appendV4('PREROUTING', 'raw', '-j', Chains.INBOUND);
  for (const s of cfg.dnsServersV4) {
    rb.appendV4(Chains.OUTPUT_DNS, 'raw', '-p', 'udp', '--dport', '53', '-d', `${s}/32`, '-j', 'CT', '--zone', '2');
    rb.appendV4(Chains.INBOUND, 'raw', '-p', 'udp', '--sport', '53', '-s', `${s}/32`, '-j', 'CT', '--zone', '1');
  }
  if (cfg.dnsServersV6.length > 0) rb.appendV6('PREROUTING', 'raw', '-j', Chains.INBOUND);
  for (const s of cfg.dnsServersV6) {
    rb.appendV6(Chains.OUTPUT_DNS, 'raw', '-p', 'udp', '--dport', '53', '-d', `${s}/128`, '-j', 'CT', '--zone', '2');
    rb.appendV6(Chains.INBOUND, 'raw', '-p', 'udp', '--sport', '53', '-s', `${s}/128`, '-j', 'CT', '--zone', '1');
  }
}
