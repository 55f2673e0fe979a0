// Two "pods" as network namespaces joined by a veth, each with Istio's default capture rules
// applied by meshproxy-iptables and our proxy running as uid 1337 on an istiod-shaped sidecar
// config. Pod A's plain curl to pod B is captured by A's virtualOutbound (15001), sent to B by
// the original destination, captured by B's virtualInbound (15006) and delivered to B's app from
// 127.0.0.6 (::6 for IPv6). Also: excluded inbound ports bypass the proxy, the proxy's own
// traffic (uid 1337) is not re-captured, ALLOW_ANY passes unknown destinations through and
// REGISTRY_ONLY blackholes them. Needs root, iproute2, iptables, curl and setpriv.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { netnsUnavailable } from './support/netns';
import { podPair, REPO, type Pod } from './support/pod';

function skipReason(): string | null {
  const ns = netnsUnavailable();
  if (ns) return ns;
  for (const cmd of ['iptables-restore', 'ip6tables-restore', 'curl', 'setpriv']) {
    if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) return `${cmd} is not installed`;
  }
  if (!existsSync(path.join(REPO, 'dist', 'main.js'))) return 'dist/ missing: run `make build` first';
  return null;
}
const reason = skipReason();
const suite = reason ? describe.skip : describe;
if (reason) console.warn(`e2e/two-pod: skipped: ${reason}`);

suite.each([
  ['IPv4', '192.0.2.1', '192.0.2.2', 24, '127.0.0.6', (ip: string) => ip],
  ['IPv6', '2001:db8::1', '2001:db8::2', 64, '::6', (ip: string) => `[${ip}]`],
] as const)('two pods over %s with our proxy and init tool', (_fam, aIp, bIp, prefix, inboundSource, host) => {
  let a: Pod;
  let b: Pod;
  beforeAll(async () => {
    [a, b] = podPair(aIp, bIp, prefix);
    for (const p of [a, b]) p.applyInit();
    await b.startApp(8080);
    await a.startProxy('ALLOW_ANY');
    await b.startProxy('ALLOW_ANY');
  }, 60_000);
  afterAll(() => {
    a?.destroy();
    b?.destroy();
  });

  it("routes A's plain curl through both proxies; B's app sees the proxy's inbound source address", () => {
    const before = { out: a.stat('tcp.PassthroughCluster.downstream_cx_total'), in: b.stat('tcp.InboundPassthroughCluster.downstream_cx_total') };
    const r = a.curl(`http://${host(bIp)}:8080/hello`);
    expect(r.body).toBe(`b:8080 saw ${inboundSource}`);
    expect(a.stat('tcp.PassthroughCluster.downstream_cx_total')).toBe(before.out + 1);
    expect(b.stat('tcp.InboundPassthroughCluster.downstream_cx_total')).toBe(before.in + 1);
  });

  it('an excluded inbound port (15020) bypasses the proxy: the app sees the client pod address', () => {
    const before = b.stat('tcp.InboundPassthroughCluster.downstream_cx_total');
    const r = a.curl(`http://${host(bIp)}:15020/`);
    // A's outbound is still captured (only B's inbound excludes 15020); B's app sees A's address.
    expect(r.body).toBe(`b:15020 saw ${aIp}`);
    expect(b.stat('tcp.InboundPassthroughCluster.downstream_cx_total')).toBe(before);
  });

  it("traffic from uid 1337 in A is not re-captured by A's outbound listener", () => {
    const outboundListener = `listener.${aIp.includes(':') ? '[__]' : '0.0.0.0'}_15001.downstream_cx_total`;
    const before = a.stat(outboundListener);
    expect(before).toBeGreaterThan(0); // the app's own curls above went through it
    const r = a.curl(`http://${host(bIp)}:8080/`, 1337);
    expect(r.body).toBe(`b:8080 saw ${inboundSource}`);
    expect(a.stat(outboundListener)).toBe(before);
  });

  it('REGISTRY_ONLY blackholes unknown destinations; ALLOW_ANY passes them', async () => {
    await a.startProxy('REGISTRY_ONLY');
    const blocked = a.curl(`http://${host(bIp)}:8080/`);
    expect(blocked.code).not.toBe(0);
    expect(a.stat('cluster.BlackHoleCluster.upstream_cx_none_healthy')).toBeGreaterThanOrEqual(1);
    await a.startProxy('ALLOW_ANY');
    expect(a.curl(`http://${host(bIp)}:8080/`).body).toBe(`b:8080 saw ${inboundSource}`);
  }, 30_000);
});
