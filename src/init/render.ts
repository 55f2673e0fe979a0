// Renderers of the iptables init tool (src/init): rules (builder.ts) in, text out. The
// iptables-restore payload is what apply.ts pipes to `iptables-restore --noflush`; the command
// forms are what cleanup and state checks run one by one with `iptables`. All of them follow
// istio-iptables' IptablesRuleBuilder (pkg/builder/iptables_builder_impl.go, helper.go) so that
// payloads, checks and cleanups match Istio's exactly.
import { ruleParams, type Rule } from './builder';
import { BUILTIN_CHAINS_AND_TARGETS } from './config';

/**
 * The iptables-restore input for one family: per table (sorted by name, empty tables left out)
 * `* table`, one `-N` per chain the rules use or jump to (first use order), the rules in build
 * order, `COMMIT`. Empty string when there are no rules.
 */
export function renderRestore(rules: readonly Rule[]): string {
  const perTable = new Map<string, string[]>();
  const lines = (table: string) => {
    let l = perTable.get(table);
    if (!l) perTable.set(table, (l = []));
    return l;
  };
  const created = new Set<string>();
  const declare = (table: string, chain: string) => {
    const key = `${chain}:${table}`;
    if (created.has(key)) return;
    created.add(key);
    if (!BUILTIN_CHAINS_AND_TARGETS.has(chain)) lines(table).push(`-N ${chain}`);
  };
  for (const r of rules) declare(r.table, r.chain);
  // Chains only jumped to (no rules of their own) must exist too, or the jump fails to load.
  for (const r of rules) {
    const n = r.args.length;
    if (n >= 2 && r.args[n - 2] === '-j') declare(r.table, r.args[n - 1]!);
  }
  for (const r of rules) lines(r.table).push(ruleParams(r).join(' '));

  let out = '';
  for (const table of [...perTable.keys()].sort()) {
    const body = perTable.get(table)!;
    if (body.length === 0) continue;
    out += `* ${table}\n${body.join('\n')}\nCOMMIT\n`;
  }
  return out;
}

/** `iptables` argument lists that create the chains then add the rules (`-t t -N c`, `-t t -A c ...`). */
export function renderCommands(rules: readonly Rule[]): string[][] {
  const out: string[][] = [];
  const created = new Set<string>();
  for (const r of rules) {
    const key = `${r.chain}:${r.table}`;
    if (created.has(key) || BUILTIN_CHAINS_AND_TARGETS.has(r.chain)) continue;
    created.add(key);
    out.push(['-t', r.table, '-N', r.chain]);
  }
  for (const r of rules) out.push(['-t', r.table, ...ruleParams(r)]);
  return out;
}

/** `iptables -C` argument lists: does each rule exist (insert positions dropped)? */
export function renderChecks(rules: readonly Rule[]): string[][] {
  return rules.map((r) => ['-t', r.table, '-C', r.chain, ...r.args]);
}

/**
 * Cleanup for a rule set, as istio-iptables' BuildCleanup: walk the rules backwards, delete each
 * rule that lives in a built-in chain or jumps to an ISTIO_ chain (the rest disappear with the
 * flush), then flush and delete every chain the rules live in. Run best effort, one by one.
 */
export function renderCleanup(rules: readonly Rule[]): string[][] {
  const reversed = [...rules].reverse();
  const out: string[][] = [];
  for (const r of reversed) {
    if (!undoNeeded(r.chain, r.args)) continue;
    out.push(['-t', r.table, '-D', r.chain, ...r.args]);
  }
  const seen = new Set<string>();
  for (const r of reversed) {
    const key = `${r.chain}:${r.table}`;
    if (seen.has(key) || BUILTIN_CHAINS_AND_TARGETS.has(r.chain)) continue;
    seen.add(key);
    out.push(['-t', r.table, '-F', r.chain], ['-t', r.table, '-X', r.chain]);
  }
  return out;
}

/** UndoRules' filter: rules inside ISTIO_ chains go away with the flush unless they jump to one. */
function undoNeeded(chain: string, args: readonly string[]): boolean {
  if (!chain.startsWith('ISTIO_')) return true;
  const j = args.findIndex((a) => a === '-j' || a === '--jump');
  return j >= 0 && (args[j + 1] ?? '').startsWith('ISTIO_');
}

/** table -> chain -> rule lines, for ISTIO_ chains and any chain that has rules in the text. */
export type TablesState = Map<string, Map<string, string[]>>;

const DEFAULT_TABLES = ['filter', 'nat', 'mangle', 'raw'];

/**
 * Reads iptables-save (or restore) text the way Istio's GetStateFromSave does: ISTIO_ chains are
 * recorded even when empty, other chains only through their rules; unknown tables are ignored.
 */
export function parseSaveState(text: string): TablesState {
  const state: TablesState = new Map(DEFAULT_TABLES.map((t) => [t, new Map<string, string[]>()]));
  let table = '';
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#') || line === 'COMMIT') continue;
    if (line.startsWith('*')) {
      table = line.slice(1).trim();
      continue;
    }
    const chains = state.get(table);
    if (!chains) continue;
    if (line.startsWith(':')) {
      if (!line.startsWith(':ISTIO')) continue;
      const chain = line.split(' ')[0]!.slice(1);
      if (!chains.has(chain)) chains.set(chain, []);
      continue;
    }
    const words = line.split(' ');
    let chain = '';
    let isRule = false;
    for (let i = 0; i + 1 < words.length; i++) {
      const w = words[i];
      if (w === '-A' || w === '--append' || w === '-I' || w === '--insert') {
        isRule = true;
        chain = unquote(words[i + 1]!);
      } else if ((w === '-N' || w === '--new') && unquote(words[i + 1]!).startsWith('ISTIO')) {
        chain = unquote(words[i + 1]!);
      }
    }
    if (chain === '') continue;
    if (!chains.has(chain)) chains.set(chain, []);
    if (isRule) chains.get(chain)!.push(line);
  }
  return state;
}

function unquote(s: string): string {
  return s.replace(/^['"]+|['"]+$/g, '');
}

/** True when no table has any chain recorded. */
export function isEmptyState(state: TablesState): boolean {
  for (const chains of state.values()) if (chains.size > 0) return false;
  return true;
}

/**
 * Cleanup from what is actually installed (Istio's HasIstioLeftovers + BuildCleanupFromState):
 * delete every rule that jumps to an ISTIO_ chain, then flush and delete every ISTIO_ chain.
 * Catches leftovers of an earlier run with different flags, which renderCleanup cannot know.
 */
export function renderLeftoverCleanup(state: TablesState): string[][] {
  const deletes: string[][] = [];
  const chainsOut: string[][] = [];
  for (const [table, chains] of state) {
    for (const [chain, rules] of chains) {
      for (const line of rules) {
        const words = line.trim().split(/\s+/);
        const j = words.findIndex((w) => w === '-j' || w === '--jump');
        if (j < 0 || !unquote(words[j + 1] ?? '').startsWith('ISTIO_')) continue;
        if (chain.startsWith('ISTIO_')) continue; // goes away with the flush below
        deletes.push(['-t', table, ...words.map((w) => (w === '-A' || w === '--append' ? '-D' : w))]);
      }
      if (chain.startsWith('ISTIO_')) chainsOut.push(['-t', table, '-F', chain], ['-t', table, '-X', chain]);
    }
  }
  // Flush every chain before deleting any: ISTIO_ chains may jump to each other.
  const flushes = chainsOut.filter((c) => c[2] === '-F');
  const removes = chainsOut.filter((c) => c[2] === '-X');
  return [...deletes, ...flushes, ...removes];
}
