// Rule model and rule builder of the iptables init tool (src/init). capture.ts and dns.ts call it
// in the exact order istio-iptables' IptablesRuleBuilder is called (run.go), and the renderer
// (render.ts) turns the collected rules into iptables-restore payloads, `iptables` command lines,
// `-C` checks and cleanup commands. Rules are data: table, chain, append/insert, arguments.
// IPv6 rules are only collected when IPv6 is enabled, as in Istio (AppendRuleV6 is a no-op
// otherwise), so the rule lists are final and need no later filtering.

export type Table = 'filter' | 'nat' | 'mangle' | 'raw';

/** One iptables rule. `args` excludes the `-A chain` / `-I chain pos` prefix. */
export interface Rule {
  readonly table: Table;
  readonly chain: string;
  /** Append to the chain, or insert at `position` (1-based). */
  readonly op: 'append' | 'insert';
  readonly position?: number;
  readonly args: readonly string[];
}

/** All rules of one run, per IP family, in build order (the order iptables-restore gets them). */
export interface RuleSet {
  readonly v4: readonly Rule[];
  readonly v6: readonly Rule[];
}

/** Marks the argument that AppendVersionedRule replaces with an IPv4 or IPv6 value. */
export const IP_VERSION_SPECIFIC = '\u0000ip-version-specific';

/** The `-A chain` / `-I chain pos` words that start a rule's parameters. */
export function ruleParams(r: Rule): string[] {
  return r.op === 'append' ? ['-A', r.chain, ...r.args] : ['-I', r.chain, String(r.position ?? 1), ...r.args];
}

/** Collects rules for IPv4 and (when enabled) IPv6. */
export class RuleBuilder {
  private readonly v4: Rule[] = [];
  private readonly v6: Rule[] = [];

  constructor(private readonly enableIpv6: boolean) {}

  appendV4(chain: string, table: Table, ...args: string[]): this {
    this.v4.push({ table, chain, op: 'append', args });
    return this;
  }

  appendV6(chain: string, table: Table, ...args: string[]): this {
    if (this.enableIpv6) this.v6.push({ table, chain, op: 'append', args });
    return this;
  }

  /** Appends the same rule to both families. */
  append(chain: string, table: Table, ...args: string[]): this {
    return this.appendV4(chain, table, ...args).appendV6(chain, table, ...args);
  }

  insertV4(chain: string, table: Table, position: number, ...args: string[]): this {
    this.v4.push({ table, chain, op: 'insert', position, args });
    return this;
  }

  insertV6(chain: string, table: Table, position: number, ...args: string[]): this {
    if (this.enableIpv6) this.v6.push({ table, chain, op: 'insert', position, args });
    return this;
  }

  insert(chain: string, table: Table, position: number, ...args: string[]): this {
    return this.insertV4(chain, table, position, ...args).insertV6(chain, table, position, ...args);
  }

  /** Appends to both families, with IP_VERSION_SPECIFIC replaced by `v4Value` / `v6Value`. */
  appendVersioned(v4Value: string, v6Value: string, chain: string, table: Table, ...args: string[]): this {
    const sub = (value: string) => args.map((a) => (a === IP_VERSION_SPECIFIC ? value : a));
    return this.appendV4(chain, table, ...sub(v4Value)).appendV6(chain, table, ...sub(v6Value));
  }

  /** The rules collected so far, frozen. */
  build(): RuleSet {
    const freeze = (rules: Rule[]) => Object.freeze(rules.map((r) => Object.freeze({ ...r, args: Object.freeze([...r.args]) })));
    return Object.freeze({ v4: freeze(this.v4), v6: freeze(this.v6) });
  }
}
