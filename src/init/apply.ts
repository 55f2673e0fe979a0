// Applier of the iptables init tool (src/init): takes the rule set built by capture.ts and makes
// the kernel hold it, the way istio-iptables' executeCommands does (pkg/capture/run.go):
//
//   1. read the current state (iptables-save, ip6tables-save) and compare with the plan:
//      clean -> apply; same rules already there -> nothing to do (init container restart);
//      different Istio rules -> reconcile (clean up, then apply) only with --reconcile
//   2. --cleanup-only / reconcile: delete our jumps and flush+delete our chains, best effort,
//      with DROP guardrails in the filter table while a reconcile has the pod half-configured
//   3. apply: pipe the payload to `iptables-restore --noflush` (and ip6tables-restore), so the
//      built-in chains keep whatever else is in them and each table commits atomically
//   4. TPROXY policy routing and the IPv6 ::6 loopback address (`ip` commands; skipped in dry run)
import type { Rule, RuleSet } from './builder';
import type { CaptureConfig } from './config';
import type { InitLogger } from './logger';
import {
  isEmptyState,
  parseSaveState,
  renderChecks,
  renderCleanup,
  renderLeftoverCleanup,
  renderRestore,
  type TablesState,
} from './render';
import type { CommandRunner, IptablesBinaries } from './runner';

export interface ApplyDeps {
  readonly runner: CommandRunner;
  readonly log: InitLogger;
  readonly v4: IptablesBinaries;
  /** Null when no ip6tables binary was found (allowed only while IPv6 is off). */
  readonly v6: IptablesBinaries | null;
}

/** Raised when a required command fails; the message is the one line to print. */
export class ApplyError extends Error {}

interface Family {
  readonly name: 'IPv4' | 'IPv6';
  readonly bin: IptablesBinaries | null;
  readonly rules: readonly Rule[];
}

function families(cfg: CaptureConfig, rules: RuleSet, deps: ApplyDeps): Family[] {
  return [
    { name: 'IPv4', bin: deps.v4, rules: rules.v4 },
    { name: 'IPv6', bin: deps.v6, rules: rules.v6 },
  ].filter((f, i) => i === 0 || f.bin !== null || cfg.enableIpv6) as Family[];
}

/** Programs (or with cfg.cleanupOnly removes) the capture rules. Throws ApplyError on failure. */
export function applyRules(cfg: CaptureConfig, rules: RuleSet, deps: ApplyDeps): void {
  const fams = families(cfg, rules, deps);
  try {
    const { residue, delta, states } = verifyState(fams, deps);
    if (residue && delta && !cfg.reconcile) {
      deps.log.info('reconcile is recommended but no-reconcile flag is set. Unexpected behavior may occur due to preexisting iptables rules');
    }
    let guardrails: Family[] = [];
    try {
      if ((residue && delta && cfg.reconcile) || cfg.cleanupOnly) {
        if (!cfg.cleanupOnly) guardrails = addGuardrails(fams.filter((f) => f.name === 'IPv4' || cfg.enableIpv6), deps);
        deps.log.info('Performing cleanup of existing iptables');
        cleanup(fams.filter((f) => f.name === 'IPv4' || cfg.enableIpv6), states, deps);
      }
      if ((delta || cfg.forceApply) && !cfg.cleanupOnly) {
        deps.log.info('Applying iptables chains and rules');
        for (const f of fams) {
          if (f.name === 'IPv6' && !cfg.enableIpv6) continue;
          restore(f, deps);
        }
      }
    } finally {
      if (guardrails.length > 0) {
        deps.log.info('Removing guardrails');
        for (const f of guardrails) runEach(f.bin!, guardrailRules('-D'), deps, true);
      }
    }
    if (!delta && cfg.forceApply) {
      deps.log.warn('The forced apply of iptables changes succeeded despite the presence of conflicting rules or chains.');
    }
  } finally {
    // Final state, for the log (Istio does the same in a deferred call).
    for (const f of fams) {
      if (f.name === 'IPv6' && !cfg.enableIpv6) continue;
      if (!f.bin) continue;
      const r = deps.runner.run(f.bin.save, []);
      if (r.code === 0) deps.log.info(`Final iptables state (${f.name}):\n${r.stdout}`);
    }
  }
}

/**
 * Istio's VerifyIptablesState: residue = some family already has ISTIO_ chains or rules while we
 * plan rules for it; delta = the planned chains/rule counts/rules (checked with -C) differ.
 */
function verifyState(fams: Family[], deps: ApplyDeps): { residue: boolean; delta: boolean; states: Map<string, TablesState> } {
  let residue = false;
  let delta = false;
  const states = new Map<string, TablesState>();
  for (const f of fams) {
    if (!f.bin) continue;
    const expected = parseSaveState(renderRestore(f.rules));
    const planned = !isEmptyState(expected);
    const saved = deps.runner.run(f.bin.save, []);
    if (saved.code !== 0) {
      deps.log.warn(`[${f.name}] ${f.bin.save} failed (${saved.stderr.trim()}). Assuming clean state.`);
      if (planned) delta = true;
      continue;
    }
    const current = parseSaveState(saved.stdout);
    states.set(f.name, current);
    const famResidue = !isEmptyState(current);
    if (!famResidue) {
      if (planned) delta = true;
      continue;
    }
    if (planned) residue = true;
    else deps.log.info(`Ignoring residues because no rules are planned for ${f.name}`);
    if (stateDiffers(expected, current)) {
      delta = true;
      continue;
    }
    for (const check of renderChecks(f.rules)) {
      if (deps.runner.run(f.bin.iptables, withWait(f.bin, check)).code !== 0) {
        delta = true;
        break;
      }
    }
  }
  if (!residue) {
    deps.log.info('Clean-state detected, new iptables are needed');
    return { residue: false, delta: true, states };
  }
  deps.log.info(
    delta
      ? 'Found residues of old iptables rules/chains, reconciliation is recommended'
      : 'Found compatible residues of old iptables rules/chains, reconciliation not needed',
  );
  return { residue, delta, states };
}

function stateDiffers(expected: TablesState, current: TablesState): boolean {
  for (const [table, chains] of expected) {
    const cur = current.get(table);
    if (!cur) return true;
    for (const [chain, rules] of chains) {
      const have = cur.get(chain);
      if (!have || (chain.startsWith('ISTIO_') && have.length !== rules.length)) return true;
    }
  }
  for (const [table, chains] of current) {
    for (const chain of chains.keys()) {
      if (chain.startsWith('ISTIO_') && !expected.get(table)?.has(chain)) return true;
    }
  }
  return false;
}

function withWait(bin: IptablesBinaries, args: readonly string[]): string[] {
  return bin.legacy ? [...args, '--wait=30'] : [...args];
}

function runEach(bin: IptablesBinaries, commands: readonly (readonly string[])[], deps: ApplyDeps, bestEffort: boolean): void {
  for (const c of commands) {
    const r = deps.runner.run(bin.iptables, withWait(bin, c));
    if (r.code !== 0 && !bestEffort) {
      throw new ApplyError(`${bin.iptables} ${c.join(' ')} failed: ${firstLine(r.stderr)}`);
    }
  }
}

/** DROP all TCP/UDP in filter INPUT/FORWARD/OUTPUT while a reconcile rewrites the rules. */
function guardrailRules(op: '-I' | '-D'): string[][] {
  const out: string[][] = [];
  for (const chain of ['INPUT', 'FORWARD', 'OUTPUT']) {
    for (const proto of ['tcp', 'udp']) {
      out.push(op === '-I' ? ['-t', 'filter', '-I', chain, '1', '-p', proto, '-j', 'DROP'] : ['-t', 'filter', '-D', chain, '-p', proto, '-j', 'DROP']);
    }
  }
  return out;
}

function addGuardrails(fams: Family[], deps: ApplyDeps): Family[] {
  deps.log.info('Setting up guardrails');
  const added: Family[] = [];
  for (const f of fams) {
    if (!f.bin) continue;
    runEach(f.bin, guardrailRules('-D'), deps, true);
    added.push(f);
    runEach(f.bin, guardrailRules('-I'), deps, false);
  }
  return added;
}

/**
 * Removes our rules: first the planned set's own cleanup (Istio's BuildCleanupV4/V6), then, if
 * the state read earlier showed Istio chains, whatever is still left (rules of an earlier run
 * with other flags), read afresh.
 */
function cleanup(fams: Family[], states: Map<string, TablesState>, deps: ApplyDeps): void {
  for (const f of fams) {
    if (!f.bin) continue;
    runEach(f.bin, renderCleanup(f.rules), deps, true);
    const before = states.get(f.name);
    if (!before || isEmptyState(before)) continue;
    const after = deps.runner.run(f.bin.save, []);
    if (after.code !== 0) continue;
    const left = renderLeftoverCleanup(parseSaveState(after.stdout));
    if (left.length > 0) {
      deps.log.info(`[${f.name}] removing ${left.length} leftover Istio rules/chains`);
      runEach(f.bin, left, deps, true);
    }
  }
}

function restore(f: Family, deps: ApplyDeps): void {
  if (!f.bin) throw new ApplyError(`no ${f.name === 'IPv6' ? 'ip6tables' : 'iptables'} binary available`);
  const payload = renderRestore(f.rules);
  if (payload === '') return;
  deps.log.info(`Running ${f.bin.restore} with the following input:\n${payload.trim()}`);
  const r = deps.runner.run(f.bin.restore, withWait(f.bin, ['--noflush']), payload);
  if (r.code !== 0) throw new ApplyError(`${f.bin.restore} --noflush failed: ${firstLine(r.stderr)}`);
}

function firstLine(s: string): string {
  return s.trim().split('\n')[0] ?? '';
}

/**
 * The netlink side of capture (tools/common/tproxy/run_linux.go), with `ip`: the ::6 source
 * address the proxy binds for inbound passthrough over IPv6, and for TPROXY the policy route
 * that delivers marked packets locally. "File exists" is fine (re-run).
 */
export function configureRoutes(cfg: CaptureConfig, runner: CommandRunner, log: InitLogger): void {
  const must = (args: string[]) => {
    const r = runner.run('ip', args);
    if (r.code !== 0 && !/file exists/i.test(r.stderr)) throw new ApplyError(`ip ${args.join(' ')} failed: ${firstLine(r.stderr)}`);
  };
  if (cfg.enableIpv6) {
    must(['-6', 'addr', 'add', '::6/128', 'dev', 'lo']);
    log.info('Added ::6 address on the loopback iface');
  }
  if (cfg.inboundPortsInclude !== '' && cfg.inboundInterceptionMode === 'TPROXY') {
    const fams = cfg.enableIpv6 ? ['-4', '-6'] : ['-4'];
    for (const fam of fams) {
      must([fam, 'rule', 'add', 'fwmark', cfg.inboundTProxyMark, 'lookup', cfg.inboundTProxyRouteTable]);
    }
    for (const fam of fams) {
      must([fam, 'route', 'add', 'local', fam === '-4' ? '0.0.0.0/0' : '::/0', 'dev', 'lo', 'table', cfg.inboundTProxyRouteTable]);
    }
  }
}
