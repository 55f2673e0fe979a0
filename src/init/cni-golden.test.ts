// The istio-cni plugin goldens (../shared/corpus/istio/iptables/cni-plugin/*.txt.golden) run the
// same rule builder from pod annotations (cni/pkg/plugin/plugin_dryrun_test.go). The CNI defaults
// are: include all inbound and outbound, exclude inbound 15020,15021,15090, exclude outbound
// 15020, capture-all DNS. The argv below is our translation of each test pod into
// istio-iptables flags (derived, not from the corpus); the IPv4 restore payload must match.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from './args';
import { buildCaptureRules } from './capture';
import { renderRestore } from './render';
import { resolveConfig } from './resolve';

const CNI_DIR = path.resolve(__dirname, '..', '..', '..', 'shared', 'corpus', 'istio', 'iptables', 'cni-plugin');
const CNI_BASE = ['-p', '15001', '-z', '15006', '-b', '*', '-d', '15020,15021,15090', '-i', '*', '-o', '15020', '--capture-all-dns'];

const cases: Array<[string, string[]]> = [
  ['basic', []],
  ['include-exclude-ip', ['-i', '127.0.0.0/8', '-x', '10.0.0.0/8']],
  ['include-exclude-ports', ['-b', '1111,2222', '-d', '3333,4444,15020,15021,15090', '-o', '5555,6666']],
  ['tproxy', ['-m', 'TPROXY']],
  ['dns', ['--redirect-dns']],
  ['invalid-drop', ['--drop-invalid']],
  ['custom-uid', ['-u', '1000670000', '-g', '1000670001']],
  ['custom-uid-tproxy', ['-m', 'TPROXY', '-u', '1000670000', '-g', '1000670001']],
];

describe('istio-cni plugin goldens (same builder, CNI defaults)', () => {
  for (const [name, extra] of cases) {
    it(name, () => {
      const p = parseArgs([...CNI_BASE, ...extra], {});
      if (!p.ok) throw new Error(p.error);
      const r = resolveConfig(p.args.config, {}, { lookupUid: () => '1337', addresses: () => ['192.0.2.10'], resolvConf: () => '' });
      if (!r.ok) throw new Error(r.error);
      expect(renderRestore(buildCaptureRules(r.config).v4)).toBe(readFileSync(path.join(CNI_DIR, `${name}.txt.golden`), 'utf8'));
    });
  }
});
