// Dry-run transcripts of the CLI (main.ts -> apply.ts with RecordingRunner) beyond the capture
// goldens: --cleanup-only prints the best-effort cleanup commands Istio would run, and
// DRY_RUN_FILE_PATH receives the same transcript as stdout.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from './main';
import type { HostFacts } from './resolve';

const host: HostFacts = { lookupUid: () => null, addresses: () => ['192.0.2.10'], resolvConf: () => '' };

async function dry(argv: string[], env: Record<string, string> = {}) {
  let stdout = '';
  const code = await main(['--dry-run', '--log_output_level=default:none', ...argv], { env, host, stdout: (s) => (stdout += s), stderr: () => undefined });
  return { code, lines: stdout.split('\n').filter((l) => l !== '') };
}

describe('dry run', () => {
  it('--cleanup-only lists the undo commands and no restore payload', async () => {
    const r = await dry(['-b', '*', '-i', '*', '--cleanup-only']);
    expect(r.code).toBe(0);
    expect(r.lines).toEqual([
      'iptables-save',
      'ip6tables-save',
      'iptables -t nat -D ISTIO_OUTPUT -j ISTIO_REDIRECT',
      'iptables -t nat -D ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ! --dport 15008 -m owner --gid-owner 1337 -j ISTIO_IN_REDIRECT',
      'iptables -t nat -D ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ! --dport 15008 -m owner --uid-owner 1337 -j ISTIO_IN_REDIRECT',
      'iptables -t nat -D OUTPUT -j ISTIO_OUTPUT',
      'iptables -t nat -D ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT',
      'iptables -t nat -D PREROUTING -p tcp -j ISTIO_INBOUND',
      'iptables -t nat -F ISTIO_OUTPUT',
      'iptables -t nat -X ISTIO_OUTPUT',
      'iptables -t nat -F ISTIO_INBOUND',
      'iptables -t nat -X ISTIO_INBOUND',
      'iptables -t nat -F ISTIO_IN_REDIRECT',
      'iptables -t nat -X ISTIO_IN_REDIRECT',
      'iptables -t nat -F ISTIO_REDIRECT',
      'iptables -t nat -X ISTIO_REDIRECT',
      'iptables-save',
    ]);
  });

  it('writes the transcript to DRY_RUN_FILE_PATH too', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mpipt-'));
    try {
      const file = path.join(dir, 'out.txt');
      const r = await dry(['-b', '8080'], { DRY_RUN_FILE_PATH: file });
      expect(r.code).toBe(0);
      const text = readFileSync(file, 'utf8');
      expect(text.split('\n').filter((l) => l !== '')).toEqual(r.lines);
      expect(text).toContain('-A ISTIO_INBOUND -p tcp --dport 8080 -j ISTIO_IN_REDIRECT\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--skip-rule-apply runs nothing', async () => {
    const r = await dry(['--skip-rule-apply']);
    expect(r).toEqual({ code: 0, lines: [] });
  });
});
