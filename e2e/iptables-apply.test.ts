// End-to-end test of `meshproxy-iptables` (src/init) with the real iptables in a network
// namespace standing in for a pod: apply the Helm-default sidecar rule set with
// iptables-restore, read it back with iptables-save, check the Istio chains, key rules and that
// outbound TCP really lands on the proxy port; re-run (must be a no-op), clean up (everything
// gone); the same for IPv6 with ip6tables and the ::6 loopback address; TPROXY with policy routing.
// Needs root, iproute2 and iptables; skips with the reason otherwise.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Netns, netnsUnavailable } from './support/netns';

const REPO = path.resolve(__dirname, '..');
const BIN = path.join(REPO, 'bin', 'meshproxy-iptables');

function skipReason(): string | null {
  const ns = netnsUnavailable();
  if (ns) return ns;
  for (const cmd of ['iptables-restore', 'ip6tables-restore', 'iptables-save']) {
    if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) return `${cmd} is not installed (package iptables)`;
  }
  if (!existsSync(path.join(REPO, 'dist', 'init', 'main.js'))) return 'dist/init/main.js missing: run `make build` first';
  return null;
}

const reason = skipReason();
const suite = reason ? describe.skip : describe;
if (reason) {
  // eslint-disable-next-line no-console
  console.warn(`e2e/iptables-apply: skipped: ${reason}`);
}

/** The injector's istio-init arguments with Helm defaults (spec section 8.1). */
const HELM_ARGS = ['-p', '15001', '-z', '15006', '-u', '1337', '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '*', '-d', '15090,15021,15020', '--log_output_level=default:warn'];

/** A pod-like namespace: lo plus a veth with the given addresses and a default route. */
function podNamespace(cidrs: string[]): Netns {
  const ns = Netns.create('mpipt');
  ns.run(['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0']);
  for (const c of cidrs) ns.run(['ip', 'addr', 'add', c, 'dev', 'eth0', ...(c.includes(':') ? ['nodad'] : [])]);
  ns.run(['ip', 'link', 'set', 'eth0', 'up']);
  ns.run(['ip', 'link', 'set', 'peer0', 'up']);
  for (const c of cidrs) ns.run(['ip', ...(c.includes(':') ? ['-6'] : ['-4']), 'route', 'add', 'default', 'dev', 'eth0']);
  return ns;
}

function tool(ns: Netns, args: string[]) {
  return ns.exec([process.execPath, BIN, ...args]);
}

/** Rule lines per chain of one table, from iptables-save / ip6tables-save. */
function chains(save: string, table: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let cur = '';
  for (const line of save.split('\n')) {
    if (line.startsWith('*')) cur = line.slice(1);
    if (cur !== table) continue;
    if (line.startsWith(':')) out.set(line.slice(1).split(' ')[0]!, out.get(line.slice(1).split(' ')[0]!) ?? []);
    if (line.startsWith('-A ')) {
      const chain = line.split(' ')[1]!;
      out.set(chain, [...(out.get(chain) ?? []), line]);
    }
  }
  return out;
}

const istioNames = (save: string) => (save.match(/ISTIO_[A-Z_]+/g) ?? []).length;

suite('meshproxy-iptables with real iptables in a network namespace', () => {
  const made: Netns[] = [];
  afterAll(() => made.forEach((n) => n.destroy()));

  it('applies the default IPv4 rule set, is idempotent, captures outbound TCP, and cleans up', async () => {
    const ns = podNamespace(['192.0.2.10/24']);
    made.push(ns);
    const r = tool(ns, HELM_ARGS);
    expect(r.stderr).not.toMatch(/meshproxy-iptables:/);
    expect(r.code).toBe(0);

    const save = ns.run(['iptables-save']);
    const nat = chains(save, 'nat');
    for (const c of ['ISTIO_INBOUND', 'ISTIO_REDIRECT', 'ISTIO_IN_REDIRECT', 'ISTIO_OUTPUT']) expect(nat.has(c)).toBe(true);
    expect(nat.get('PREROUTING')).toEqual(['-A PREROUTING -p tcp -j ISTIO_INBOUND']);
    expect(nat.get('OUTPUT')).toEqual(['-A OUTPUT -j ISTIO_OUTPUT']);
    expect(nat.get('ISTIO_REDIRECT')).toEqual(['-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001']);
    expect(nat.get('ISTIO_IN_REDIRECT')).toEqual(['-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006']);
    // iptables-save re-spells rules (adds -m tcp, reorders matches); the order within the chain stays.
    expect(nat.get('ISTIO_INBOUND')).toEqual([
      '-A ISTIO_INBOUND -p tcp -m tcp --dport 15008 -j RETURN',
      '-A ISTIO_INBOUND -p tcp -m tcp --dport 15090 -j RETURN',
      '-A ISTIO_INBOUND -p tcp -m tcp --dport 15021 -j RETURN',
      '-A ISTIO_INBOUND -p tcp -m tcp --dport 15020 -j RETURN',
      '-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT',
    ]);
    const out = nat.get('ISTIO_OUTPUT')!;
    expect(out).toHaveLength(9);
    expect(out[0]).toBe('-A ISTIO_OUTPUT -s 127.0.0.6/32 -o lo -j RETURN');
    expect(out[1]).toMatch(/! -d 127\.0\.0\.1\/32 -o lo -p tcp .*! --dport 15008 -m owner --uid-owner 1337 -j ISTIO_IN_REDIRECT$/);
    expect(out[3]).toBe('-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN');
    expect(out[6]).toBe('-A ISTIO_OUTPUT -m owner --gid-owner 1337 -j RETURN');
    expect(out[8]).toBe('-A ISTIO_OUTPUT -j ISTIO_REDIRECT');

    // Re-running (init container restart) finds compatible rules and changes nothing.
    const again = tool(ns, [...HELM_ARGS.slice(0, -1), '--log_output_level=default:info']);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('Found compatible residues');
    const norm = (s: string) => s.replace(/^#.*\n/gm, '').replace(/\[\d+:\d+\]/g, '');
    expect(norm(ns.run(['iptables-save', '-t', 'nat']))).toBe(norm(save).match(/\*nat\n[\s\S]*?COMMIT\n/)![0]);

    // Outbound TCP from an app (uid 0) to any address reaches the proxy's port 15001.
    const proxy = ns.spawn([process.execPath, '-e', `
      const s = require('net').createServer((c) => { c.end('captured'); });
      s.listen(15001, '0.0.0.0', () => console.log('ready'));
      setTimeout(() => process.exit(0), 20000);`]);
    await new Promise<void>((resolve, reject) => {
      proxy.stdout!.once('data', () => resolve());
      proxy.once('exit', (code) => reject(new Error(`proxy stub exited ${code}`)));
    });
    const client = ns.exec([process.execPath, '-e', `
      const c = require('net').connect({ host: '198.51.100.7', port: 80 });
      let got = ''; c.on('data', (d) => (got += d)); c.on('end', () => { console.log(got); process.exit(0); });
      c.on('error', (e) => { console.log('error ' + e.message); process.exit(1); });
      setTimeout(() => { console.log('timeout'); process.exit(1); }, 5000);`]);
    expect(client.stdout.trim()).toBe('captured');
    proxy.kill();

    const clean = tool(ns, [...HELM_ARGS, '--cleanup-only']);
    expect(clean.code).toBe(0);
    const after = ns.run(['iptables-save']);
    expect(istioNames(after)).toBe(0);
    expect(after).not.toMatch(/^-A /m);
  });

  it('programs ip6tables for an IPv6 pod, adds ::6 on lo, and cleans up', () => {
    const ns = podNamespace(['2001:db8::10/64']);
    made.push(ns);
    const r = tool(ns, [...HELM_ARGS, '--redirect-dns', '--capture-all-dns']);
    expect(r.stderr).not.toMatch(/meshproxy-iptables:/);
    expect(r.code).toBe(0);

    const save6 = ns.run(['ip6tables-save']);
    const nat6 = chains(save6, 'nat');
    for (const c of ['ISTIO_INBOUND', 'ISTIO_REDIRECT', 'ISTIO_IN_REDIRECT', 'ISTIO_OUTPUT', 'ISTIO_OUTPUT_DNS']) expect(nat6.has(c)).toBe(true);
    expect(nat6.get('ISTIO_OUTPUT')![0]).toBe('-A ISTIO_OUTPUT -s ::6/128 -o lo -j RETURN');
    expect(nat6.get('ISTIO_OUTPUT')).toContain('-A ISTIO_OUTPUT -d ::1/128 -j RETURN');
    expect(nat6.get('ISTIO_OUTPUT_DNS')).toContain('-A ISTIO_OUTPUT_DNS -p udp -m udp --dport 53 -j REDIRECT --to-ports 15053');
    expect(chains(save6, 'raw').get('ISTIO_OUTPUT_DNS')).toContain('-A ISTIO_OUTPUT_DNS -p udp -m udp --dport 53 -j CT --zone 2');
    // IPv4 is programmed too (same rules, IPv4 loopback addresses).
    expect(chains(ns.run(['iptables-save']), 'nat').get('ISTIO_OUTPUT')![0]).toBe('-A ISTIO_OUTPUT -s 127.0.0.6/32 -o lo -j RETURN');
    expect(ns.run(['ip', '-6', 'addr', 'show', 'dev', 'lo'])).toContain('inet6 ::6/128');

    const clean = tool(ns, [...HELM_ARGS, '--redirect-dns', '--capture-all-dns', '--cleanup-only']);
    expect(clean.code).toBe(0);
    expect(istioNames(ns.run(['ip6tables-save']))).toBe(0);
    expect(istioNames(ns.run(['iptables-save']))).toBe(0);
  });

  it('--run-validation passes when capture works (as the proxy uid) and fails with 126 when it does not', () => {
    if (spawnSync('sh', ['-c', 'command -v setpriv']).status !== 0) {
      // eslint-disable-next-line no-console
      console.warn('setpriv (util-linux) missing: validation test not run');
      return;
    }
    const ns = podNamespace(['192.0.2.10/24']);
    made.push(ns);
    const asProxy = (args: string[]) =>
      ns.exec(['setpriv', '--reuid', '1337', '--regid', '1337', '--clear-groups', process.execPath, BIN, ...args]);
    const validate = ['--skip-rule-apply', '--run-validation', '--probe-timeout', '2s', '--log_output_level=default:warn'];
    // No rules yet: the probe to 127.0.0.6:15002 is not redirected.
    const before = asProxy(validate);
    expect(before.code).toBe(126);
    expect(before.stderr).toContain('validation timeout');
    expect(tool(ns, HELM_ARGS).code).toBe(0);
    const after = asProxy(validate);
    expect(after.stderr).toBe('');
    expect(after.code).toBe(0);
  });

  it('TPROXY mode: mangle chains and policy routing; --reconcile replaces a different rule set', () => {
    const ns = podNamespace(['192.0.2.10/24']);
    made.push(ns);
    const tproxyArgs = HELM_ARGS.map((a) => (a === 'REDIRECT' ? 'TPROXY' : a));
    const r = tool(ns, tproxyArgs);
    if (r.code !== 0 && /TPROXY|No chain\/target\/match/.test(r.stderr)) {
      // eslint-disable-next-line no-console
      console.warn(`TPROXY target not available in this kernel: ${r.stderr.trim()}`);
      return;
    }
    expect(r.code).toBe(0);
    const mangle = chains(ns.run(['iptables-save']), 'mangle');
    expect(mangle.get('ISTIO_DIVERT')).toEqual(['-A ISTIO_DIVERT -j MARK --set-xmark 0x539/0xffffffff', '-A ISTIO_DIVERT -j ACCEPT']);
    expect(mangle.get('ISTIO_TPROXY')![0]).toMatch(/-j TPROXY --on-port 15006 .*--tproxy-mark 0x539\/0xffffffff/);
    expect(mangle.get('ISTIO_INBOUND')![0]).toBe('-A ISTIO_INBOUND -p tcp -m mark --mark 0x539 -j RETURN');
    expect(ns.run(['ip', 'rule'])).toMatch(/fwmark 0x539 lookup 133/);
    expect(ns.run(['ip', 'route', 'show', 'table', '133'])).toMatch(/^local default dev lo/m);

    // A different rule set over it fails without --reconcile (chains exist), works with it.
    const redirect = [...HELM_ARGS, '-b', '8080'];
    expect(tool(ns, redirect).code).toBe(1);
    expect(tool(ns, [...redirect, '--reconcile']).code).toBe(0);
    const save = ns.run(['iptables-save']);
    expect(chains(save, 'mangle').has('ISTIO_DIVERT')).toBe(false);
    expect(chains(save, 'nat').get('ISTIO_INBOUND')).toContain('-A ISTIO_INBOUND -p tcp -m tcp --dport 8080 -j ISTIO_IN_REDIRECT');
    // The reconcile guardrails (DROP in filter) are gone again.
    expect(chains(save, 'filter').get('OUTPUT') ?? []).toEqual([]);
  });
});
