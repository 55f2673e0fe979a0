// Golden tests of the iptables init tool against Istio's own capture goldens
// (../shared/corpus/istio/iptables/capture/*.golden, cases in cases.yaml). Each case runs the
// whole CLI in dry-run (argv + env -> parse -> resolve -> build -> render -> transcript) and the
// transcript must equal istio-iptables' DependenciesStub output byte for byte. The inputs Istio's
// Go test sets without flags (IPv6 on, nameservers) are given as host facts: a pod address of
// the right family and a resolv.conf with those nameservers.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { main } from './main';
import type { HostFacts } from './resolve';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const CAPTURE_DIR = path.join(REPO_ROOT, '..', 'shared', 'corpus', 'istio', 'iptables', 'capture');

interface FlagInfo {
  readonly long: string | null;
  readonly short: string | null;
  readonly env: string | null;
}

interface GoldenCase {
  readonly name: string;
  readonly golden: string;
  readonly extra_argv: string[];
  readonly extra_env: Record<string, string>;
  readonly derived_inputs: { EnableIPv6?: boolean; DNSServersV4?: string[]; DNSServersV6?: string[] };
}

interface CasesFile {
  readonly base_argv: string[];
  readonly field_to_flag: Record<string, FlagInfo>;
  readonly cases: GoldenCase[];
}

const file = parse(readFileSync(path.join(CAPTURE_DIR, 'cases.yaml'), 'utf8')) as CasesFile;

function hostFor(c: GoldenCase): HostFacts {
  const d = c.derived_inputs;
  const servers = [...(d.DNSServersV4 ?? []), ...(d.DNSServersV6 ?? [])];
  return {
    lookupUid: () => null,
    addresses: () => ['127.0.0.1', '::1', d.EnableIPv6 ? '2001:db8::10' : '192.0.2.10'],
    resolvConf: () => servers.map((s) => `nameserver ${s}\n`).join(''),
  };
}

async function runDry(argv: string[], env: Record<string, string>, host: HostFacts) {
  let stdout = '';
  let stderr = '';
  const code = await main([...argv, '--dry-run', '--log_output_level=default:none'], {
    env,
    host,
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
  });
  return { code, stdout, stderr };
}

const golden = (c: GoldenCase) => readFileSync(path.join(CAPTURE_DIR, c.golden), 'utf8');

describe('istio-iptables capture goldens', () => {
  it('has every case of cases.yaml', () => {
    expect(file.cases.length).toBe(27);
  });

  for (const c of file.cases) {
    it(`${c.name}: argv in long form`, async () => {
      const r = await runDry([...file.base_argv, ...c.extra_argv], c.extra_env, hostFor(c));
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(golden(c));
    });
  }

  // The same cases with every long flag of extra_argv spelled as its shorthand, where one exists.
  const shortOf = new Map(
    Object.values(file.field_to_flag)
      .filter((f) => f.long && f.short)
      .map((f) => [f.long!, f.short!]),
  );
  for (const c of file.cases) {
    it(`${c.name}: argv in short form`, async () => {
      const argv = c.extra_argv.map((a) => shortOf.get(a) ?? a);
      const r = await runDry([...file.base_argv, ...argv], c.extra_env, hostFor(c));
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(golden(c));
    });
  }

  // And with every flag of extra_argv given as its environment variable instead.
  const envOf = new Map(
    Object.values(file.field_to_flag)
      .filter((f) => f.long && f.env)
      .map((f) => [f.long!, f.env!.split(' / ')[0]!]),
  );
  const boolFlags = new Set(['--dry-run', '--redirect-dns', '--drop-invalid', '--dual-stack', '--capture-all-dns']);
  for (const c of file.cases) {
    it(`${c.name}: flags as environment variables`, async () => {
      const env: Record<string, string> = { ...c.extra_env };
      const viaEnv = new Set<string>();
      for (let i = 0; i < c.extra_argv.length; i++) {
        const flag = c.extra_argv[i]!;
        const name = envOf.get(flag);
        if (!name) throw new Error(`no env for ${flag}`);
        viaEnv.add(shortOf.get(flag) ?? flag);
        env[name] = boolFlags.has(flag) ? 'true' : c.extra_argv[++i]!;
      }
      // Flags beat env (as in Istio), so base flags that the case sets by env are left out.
      const base: string[] = [];
      for (let i = 0; i < file.base_argv.length; i += 2) {
        if (!viaEnv.has(file.base_argv[i]!)) base.push(file.base_argv[i]!, file.base_argv[i + 1]!);
      }
      const r = await runDry(base, env, hostFor(c));
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(golden(c));
    });
  }
});
