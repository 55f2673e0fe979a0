// Process execution for the iptables init tool (src/init): the one seam between the applier
// (apply.ts) and the machine. SystemRunner runs real programs (optionally inside another network
// namespace via nsenter); RecordingRunner is dry-run: it runs nothing and keeps a transcript in
// the exact form of istio-iptables' DependenciesStub.ExecutedAll (command lines, or the stdin
// lines of a restore), which is also the format of Istio's capture goldens.
import { spawnSync } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs one program to completion. Never throws; a missing program is code 127. */
export interface CommandRunner {
  run(cmd: string, args: readonly string[], stdin?: string): ExecResult;
}

/** Dry run: records what would run, returns success with empty output. */
export class RecordingRunner implements CommandRunner {
  readonly transcript: string[] = [];

  run(cmd: string, args: readonly string[], stdin?: string): ExecResult {
    if (stdin !== undefined) {
      // Restore input is recorded line by line, like a bufio.Scanner over stdin.
      const lines = stdin.split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
      this.transcript.push(...lines);
    } else {
      this.transcript.push([cmd, ...args].join(' '));
    }
    return { code: 0, stdout: '', stderr: '' };
  }
}

/** Runs real programs; with `netnsPath`, inside that network namespace (nsenter --net=...). */
export class SystemRunner implements CommandRunner {
  constructor(private readonly netnsPath = '') {}

  run(cmd: string, args: readonly string[], stdin?: string): ExecResult {
    const [file, argv] = this.netnsPath ? ['nsenter', [`--net=${this.netnsPath}`, '--', cmd, ...args]] : [cmd, [...args]];
    const r = spawnSync(file, argv, { input: stdin ?? '', encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 });
    if (r.error) {
      const missing = (r.error as NodeJS.ErrnoException).code === 'ENOENT';
      return { code: missing ? 127 : -1, stdout: '', stderr: `${file}: ${r.error.message}` };
    }
    return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }
}

/** The three programs of one iptables variant. */
export interface IptablesBinaries {
  readonly iptables: string;
  readonly save: string;
  readonly restore: string;
  /** Legacy (xtables-lock) variant: write commands get `--wait=30`, as Istio does. */
  readonly legacy: boolean;
}

function variant(base: 'iptables' | 'ip6tables', suffix: '' | '-legacy' | '-nft'): IptablesBinaries {
  return { iptables: `${base}${suffix}`, save: `${base}${suffix}-save`, restore: `${base}${suffix}-restore`, legacy: suffix === '-legacy' };
}

/** The binaries dry-run pretends to use (Istio's stub names them the same way). */
export function stubBinaries(ipv6: boolean): IptablesBinaries {
  return variant(ipv6 ? 'ip6tables' : 'iptables', '');
}

function onPath(name: string, path: string): boolean {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), fsConstants.X_OK);
      return true;
    } catch {
      /* keep looking */
    }
  }
  return false;
}

/**
 * Picks the iptables variant like istio-iptables' DetectIptablesVersion: a forced one (`legacy` /
 * `nft`); else legacy when it already holds rules in this namespace; else nft when present; else
 * the plain name. Returns null when no usable binary exists (the reason goes to `why`).
 */
export function detectBinaries(
  runner: CommandRunner,
  ipv6: boolean,
  force: string,
  path: string,
  why: (msg: string) => void,
): IptablesBinaries | null {
  const base = ipv6 ? 'ip6tables' : 'iptables';
  const usable = (b: IptablesBinaries) => onPath(b.restore, path) && onPath(b.save, path) && onPath(b.iptables, path);
  if (force === 'legacy' || force === 'nft') {
    const b = variant(base, force === 'legacy' ? '-legacy' : '-nft');
    if (usable(b)) return b;
    why(`${b.restore} not found on PATH (forced ${force})`);
    return null;
  }
  const legacy = variant(base, '-legacy');
  if (usable(legacy)) {
    const saved = runner.run(legacy.save, []);
    if (saved.code === 0 && /^-A /m.test(saved.stdout)) return legacy;
  }
  const nft = variant(base, '-nft');
  if (usable(nft)) return nft;
  const plain = variant(base, '');
  if (usable(plain)) return plain;
  why(`no ${base}-restore binary found on PATH`);
  return null;
}
