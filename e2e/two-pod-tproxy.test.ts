// Two "pods" (network namespaces on a veth) in Istio's TPROXY interception mode (contract 8.5):
// meshproxy-iptables programs `-m TPROXY` (inbound in the mangle table, TPROXY to 15006 with mark
// 1337, policy routing table 133) and our proxy runs as uid 0 / gid 1337 on istiod's TPROXY
// shape: transparent virtual listeners, the original_src listener filter (mark 1337) on
// virtualInbound, and an InboundPassthroughCluster without the 127.0.0.6 bind. A's curl to B is
// captured by A's outbound (REDIRECT, as in every mode), TPROXY'd into B's transparent 15006
// listener (the original destination is the socket's local address), and sent to B's app from
// A's own address by original_src. Needs root, iproute2, iptables with the TPROXY target, curl
// and setpriv.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Netns, netnsUnavailable } from './support/netns';
import { podPair, REPO, type Pod } from './support/pod';

/** Whether this kernel has the TPROXY target (xt_TPROXY), tried in a throwaway namespace. */
function tproxyUnavailable(): string | null {
  const ns = Netns.create('mptpx');
  try {
    const r = ns.exec(['iptables', '-t', 'mangle', '-A', 'PREROUTING', '-p', 'tcp', '-j', 'TPROXY', '--on-port', '1', '--tproxy-mark', '1']);
    return r.code === 0 ? null : `the TPROXY iptables target is not available: ${r.stderr.trim()}`;
  } finally {
    ns.destroy();
  }
}

function skipReason(): string | null {
  const ns = netnsUnavailable();
  if (ns) return ns;
  for (const cmd of ['iptables-restore', 'ip6tables-restore', 'curl', 'setpriv']) {
    if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) return `${cmd} is not installed`;
  }
  if (!existsSync(path.join(REPO, 'dist', 'main.js'))) return 'dist/ missing: run `make build` first';
  return tproxyUnavailable();
}
const reason = skipReason();
const suite = reason ? describe.skip : describe;
if (reason) console.warn(`e2e/two-pod-tproxy: skipped: ${reason}`);

suite.each([
  ['IPv4', '192.0.2.1', '192.0.2.2', 24, (ip: string) => ip, '0.0.0.0_15006'],
  ['IPv6', '2001:db8::1', '2001:db8::2', 64, (ip: string) => `[${ip}]`, '[__]_15006'],
] as const)('two pods over %s in TPROXY mode', (_fam, aIp, bIp, prefix, host, inboundStat) => {
  let a: Pod;
  let b: Pod;
  beforeAll(async () => {
    [a, b] = podPair(aIp, bIp, prefix);
    for (const p of [a, b]) p.applyInit([], 'TPROXY');
    await b.startApp(8080, [15020, 8081]);
    await a.startProxy('ALLOW_ANY', 'TPROXY');
    await b.startProxy('ALLOW_ANY', 'TPROXY');
  }, 60_000);
  afterAll(() => {
    a?.destroy();
    b?.destroy();
  });

  it("B's transparent virtualInbound accepts the TPROXY'd connection and B's app answers A's curl", () => {
    const before = { out: a.stat('tcp.PassthroughCluster.downstream_cx_total'), in: b.stat('tcp.InboundPassthroughCluster.downstream_cx_total'), listener: b.stat(`listener.${inboundStat}.downstream_cx_total`) };
    const r = a.curl(`http://${host(bIp)}:8080/hello`);
    expect(r.body).toMatch(/^b:8080 saw /);
    expect(a.stat('tcp.PassthroughCluster.downstream_cx_total')).toBe(before.out + 1);
    expect(b.stat(`listener.${inboundStat}.downstream_cx_total`)).toBe(before.listener + 1);
    expect(b.stat('tcp.InboundPassthroughCluster.downstream_cx_total')).toBe(before.in + 1);
    expect(b.stat('cluster.InboundPassthroughCluster.upstream_cx_total')).toBeGreaterThanOrEqual(1);
  });

  it("original_src: B's app sees A's real address", () => {
    const r = a.curl(`http://${host(bIp)}:8080/src`);
    expect(r.body).toBe(`b:8080 saw ${aIp}`);
  });

  it("original_src through the HTTP connection manager: B's app sees A's real address on pooled HTTP connections", () => {
    const before = b.stat('http.inbound_0.0.0.0_8081.downstream_rq_total');
    for (let i = 0; i < 3; i++) expect(a.curl(`http://${host(bIp)}:8081/http`).body).toBe(`b:8081 saw ${aIp}`);
    expect(b.stat('http.inbound_0.0.0.0_8081.downstream_rq_total')).toBe(before + 3);
  });

  it('an excluded inbound port (15020) is not TPROXYed: B\'s proxy does not see it', () => {
    const before = b.stat(`listener.${inboundStat}.downstream_cx_total`);
    expect(a.curl(`http://${host(bIp)}:15020/`).body).toBe(`b:15020 saw ${aIp}`);
    expect(b.stat(`listener.${inboundStat}.downstream_cx_total`)).toBe(before);
  });
});
