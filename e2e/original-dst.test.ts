// End-to-end check of original-destination recovery under a real iptables REDIRECT, the way an
// Istio pod captures outbound traffic (nat OUTPUT -> REDIRECT to 15001). A "pod" network namespace
// is joined by veth to a peer namespace so 192.0.2.0/24 and 2001:db8::/64 are routable; inside the
// pod, e2e/support/orig-dst-echo.js listens on the redirect ports and answers each connection with
// what src/platform/original-dst.ts recovered. Needs root, iproute2 and iptables/ip6tables;
// otherwise the suite is skipped with the reason.
import { spawnSync, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { Netns, connectVeth, netnsUnavailable } from './support/netns';

const HELPER = path.join(__dirname, 'support', 'orig-dst-echo.js');
const MARK = 1337;

function iptablesUnavailable(): string | null {
  for (const cmd of ['iptables', 'ip6tables']) {
    const r = spawnSync(cmd, ['--version'], { encoding: 'utf8' });
    if (r.error || r.status !== 0) return `${cmd} not usable (install package iptables; make test's system-deps does): ${r.error?.message ?? r.stderr}`;
  }
  return null;
}

const skipReason = netnsUnavailable() ?? iptablesUnavailable();
const suite = skipReason ? describe.skip : describe;

interface Answer {
  readonly local: { readonly address: string; readonly port: number };
  readonly original: { readonly address: string; readonly port: number; readonly family: number } | null;
  readonly mark?: number;
  readonly transparent?: boolean;
  readonly error?: string;
}

/** Resolves with the first stdout line starting with `ready`, or rejects with the helper's stderr. */
function waitReady(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`listener not ready after ${timeoutMs} ms: ${err}`)), timeoutMs);
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('ready '));
      if (line) {
        clearTimeout(timer);
        resolve(line.slice('ready '.length));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`listener exited ${code}: ${err}`));
    });
  });
}

/** Packet count of the filter OUTPUT rule that matches SO_MARK 1337 (added in beforeAll). */
function markedPackets(ns: Netns, cmd: 'iptables' | 'ip6tables'): number {
  const listing = ns.run([cmd, '-t', 'filter', '-L', 'OUTPUT', '-v', '-n', '-x']);
  const line = listing.split('\n').find((l) => /mark match 0x539\b/.test(l));
  if (!line) throw new Error(`no mark rule in ${cmd} OUTPUT:\n${listing}`);
  return Number(line.trim().split(/\s+/)[0]);
}

suite(`original destination under iptables REDIRECT${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let pod: Netns;
  let peer: Netns;
  let ready: { transparent: boolean[] };

  function connectFromPod(host: string, port: number): Answer {
    const out = pod.run([process.execPath, HELPER, 'connect', host, String(port)]);
    const answer = JSON.parse(out) as Answer;
    if (answer.error) throw new Error(`listener failed for ${host}:${port}: ${answer.error}`);
    return answer;
  }

  beforeAll(async () => {
    pod = Netns.create('origdst-pod');
    peer = Netns.create('origdst-peer');
    const { aIf } = connectVeth(pod, '192.0.2.1/24', peer, '192.0.2.2/24');
    pod.run(['ip', 'addr', 'add', '2001:db8::1/64', 'dev', aIf, 'nodad']);

    const nat = (cmd: 'iptables' | 'ip6tables', dst: string, dport: number, toPort: number): void => {
      pod.run([cmd, '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-d', dst, '--dport', String(dport), '-j', 'REDIRECT', '--to-ports', String(toPort)]);
    };
    // 15001: like Istio's virtualOutbound, with separate IPv4 and IPv6-only listeners.
    nat('iptables', '192.0.2.10', 8080, 15001);
    nat('ip6tables', '2001:db8::10', 8080, 15001);
    // 15006: one dual-stack [::] listener, so IPv4 arrives on v4-mapped IPv6 sockets.
    nat('iptables', '192.0.2.11', 9090, 15006);
    nat('ip6tables', '2001:db8::11', 9090, 15006);
    for (const cmd of ['iptables', 'ip6tables'] as const) {
      pod.run([cmd, '-t', 'filter', '-A', 'OUTPUT', '-m', 'mark', '--mark', String(MARK), '-j', 'ACCEPT']);
    }

    const listener = pod.spawn([process.execPath, HELPER, 'listen', '0.0.0.0:15001', '[::]:15001/v6only', '[::]:15006']);
    ready = JSON.parse(await waitReady(listener, 30_000)) as { transparent: boolean[] };
  }, 60_000);

  afterAll(() => {
    pod?.destroy();
    peer?.destroy();
  });

  test('IPv4: the listener recovers 192.0.2.10:8080', () => {
    const a = connectFromPod('192.0.2.10', 8080);
    expect(a.local).toEqual({ address: '127.0.0.1', port: 15001 });
    expect(a.original).toEqual({ address: '192.0.2.10', port: 8080, family: 4 });
  });

  test('IPv6: the listener recovers [2001:db8::10]:8080', () => {
    const a = connectFromPod('2001:db8::10', 8080);
    expect(a.local).toEqual({ address: '::1', port: 15001 });
    expect(a.original).toEqual({ address: '2001:db8::10', port: 8080, family: 6 });
  });

  test('dual-stack listener: IPv4 on a v4-mapped socket and IPv6 both recover their destinations', () => {
    const v4 = connectFromPod('192.0.2.11', 9090);
    expect(v4.local).toEqual({ address: '::ffff:127.0.0.1', port: 15006 });
    expect(v4.original).toEqual({ address: '192.0.2.11', port: 9090, family: 4 });
    const v6 = connectFromPod('2001:db8::11', 9090);
    expect(v6.original).toEqual({ address: '2001:db8::11', port: 9090, family: 6 });
  });

  test('a connection that was not redirected yields its own local address (conntrack tracks it here)', () => {
    // The nat table makes this namespace track every connection, so the entry exists and its
    // original destination is simply where the client connected (see original-dst.ts header).
    expect(connectFromPod('127.0.0.1', 15001).original).toEqual({ address: '127.0.0.1', port: 15001, family: 4 });
    expect(connectFromPod('::1', 15001).original).toEqual({ address: '::1', port: 15001, family: 6 });
  });

  test('as root, IP_TRANSPARENT and SO_MARK take effect on listeners and accepted sockets', () => {
    expect(ready.transparent).toEqual([true, true, true]);
    const before4 = markedPackets(pod, 'iptables');
    const before6 = markedPackets(pod, 'ip6tables');
    const v4 = connectFromPod('192.0.2.10', 8080);
    const v6 = connectFromPod('2001:db8::10', 8080);
    for (const a of [v4, v6]) {
      expect(a.mark).toBe(MARK);
      expect(a.transparent).toBe(true);
    }
    // The listener's reply (data and FIN) left with the mark: the mark-matching rule counted it.
    expect(markedPackets(pod, 'iptables')).toBeGreaterThan(before4);
    expect(markedPackets(pod, 'ip6tables')).toBeGreaterThan(before6);
  });
});
