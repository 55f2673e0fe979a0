// Test hosts as Linux network namespaces: create, wire with veth pairs, run commands inside,
// and tear down. Used by the e2e suites that need real iptables or several "pods". Requires
// root and iproute2; `netnsUnavailable()` says why not, so suites can skip with the reason.
// Addresses used by tests come from 192.0.2.0/24 and 198.51.100.0/24 (documentation ranges).
import { execFileSync, spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';

let seq = 0;

/** Null when network namespaces can be created here, else the reason they cannot. */
export function netnsUnavailable(): string | null {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'network namespaces need root';
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return `iproute2 not usable: ${r.error?.message ?? r.stderr}`;
  return null;
}

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export class Netns {
  private destroyed = false;
  private readonly children = new Set<ChildProcess>();

  private constructor(readonly name: string) {}

  /** Creates a namespace named `<prefix>-<pid>-<n>` with loopback up. */
  static create(prefix: string): Netns {
    const name = `${prefix}-${process.pid}-${++seq}`;
    execFileSync('ip', ['netns', 'add', name]);
    const ns = new Netns(name);
    ns.run(['ip', 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** Runs a command inside the namespace and waits; never throws on a non-zero exit. */
  exec(argv: readonly string[], input?: string): ExecResult {
    const r = spawnSync('ip', ['netns', 'exec', this.name, ...argv], { encoding: 'utf8', input, timeout: 60_000 });
    return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
  }

  /** Like exec, but throws with the command's stderr when it fails. */
  run(argv: readonly string[], input?: string): string {
    const r = this.exec(argv, input);
    if (r.code !== 0) throw new Error(`[${this.name}] ${argv.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** Starts a long-running process inside the namespace; it is killed by destroy(). */
  spawn(argv: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Kills processes started with spawn() and deletes the namespace (and its veth ends). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const c of this.children) {
      if (c.pid && c.exitCode === null) {
        try {
          c.kill('SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
    spawnSync('ip', ['netns', 'delete', this.name]);
  }
}

let vethSeq = 0;

/**
 * Joins two namespaces with a veth pair and assigns addresses (CIDR form, e.g. 192.0.2.1/24 or
 * 2001:db8::1/64). IPv6 addresses are added with nodad so they are usable at once.
 */
export function connectVeth(a: Netns, aCidr: string, b: Netns, bCidr: string): { aIf: string; bIf: string } {
  const id = `${process.pid % 10000}${++vethSeq}`;
  const aIf = `va${id}`;
  const bIf = `vb${id}`;
  execFileSync('ip', ['link', 'add', aIf, 'type', 'veth', 'peer', 'name', bIf]);
  execFileSync('ip', ['link', 'set', aIf, 'netns', a.name]);
  execFileSync('ip', ['link', 'set', bIf, 'netns', b.name]);
  for (const [ns, dev, cidr] of [
    [a, aIf, aCidr],
    [b, bIf, bCidr],
  ] as const) {
    ns.run(['ip', 'addr', 'add', cidr, 'dev', dev, ...(cidr.includes(':') ? ['nodad'] : [])]);
    ns.run(['ip', 'link', 'set', dev, 'up']);
  }
  return { aIf, bIf };
}
