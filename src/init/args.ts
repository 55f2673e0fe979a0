// Command-line and environment parsing of the iptables init tool (src/init), the first step of
// `meshproxy-iptables`. Accepts istio-iptables' flags (tools/istio-iptables/pkg/cmd/root.go) with
// pflag syntax (`-p 15001`, `-p=15001`, `-p15001`, `--envoy-port 15001`, `--dry-run`,
// `--dry-run=false`; a value flag takes the next word even when it is empty or starts with `-`)
// and the environment variables Istio binds to them (upper-snake of the long name, plus the
// extra names ISTIO_META_DNS_CAPTURE, INVALID_DROP, ISTIO_DUAL_STACK). Precedence as in Istio:
// default < env < extra env < command line. The log flags every Istio binary takes are accepted.
import { DEFAULT_CONFIG, type CaptureConfig } from './config';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Kind = 'string' | 'bool' | 'port' | 'duration';

interface FlagSpec {
  readonly long: string;
  readonly short?: string;
  readonly kind: Kind;
  /** Config field set by this flag; absent for log flags. */
  readonly key?: keyof CaptureConfig;
  /** Extra environment variables, applied after the upper-snake one (later wins). */
  readonly extraEnv?: readonly string[];
  /** No environment binding at all (envoy-port uses Bind, not BindEnv). */
  readonly noEnv?: boolean;
}

const FLAGS: readonly FlagSpec[] = [
  { long: 'envoy-port', short: 'p', kind: 'string', key: 'proxyPort', noEnv: true },
  { long: 'inbound-capture-port', short: 'z', kind: 'string', key: 'inboundCapturePort' },
  { long: 'inbound-tunnel-port', short: 'e', kind: 'string', key: 'inboundTunnelPort' },
  { long: 'proxy-uid', short: 'u', kind: 'string', key: 'proxyUid' },
  { long: 'proxy-gid', short: 'g', kind: 'string', key: 'proxyGid' },
  { long: 'istio-inbound-interception-mode', short: 'm', kind: 'string', key: 'inboundInterceptionMode' },
  { long: 'istio-inbound-ports', short: 'b', kind: 'string', key: 'inboundPortsInclude' },
  { long: 'istio-local-exclude-ports', short: 'd', kind: 'string', key: 'inboundPortsExclude' },
  { long: 'istio-exclude-interfaces', short: 'c', kind: 'string', key: 'excludeInterfaces' },
  { long: 'istio-service-cidr', short: 'i', kind: 'string', key: 'outboundIpRangesInclude' },
  { long: 'istio-service-exclude-cidr', short: 'x', kind: 'string', key: 'outboundIpRangesExclude' },
  { long: 'istio-outbound-ports', short: 'q', kind: 'string', key: 'outboundPortsInclude' },
  { long: 'istio-local-outbound-ports-exclude', short: 'o', kind: 'string', key: 'outboundPortsExclude' },
  { long: 'kube-virt-interfaces', short: 'k', kind: 'string', key: 'rerouteVirtualInterfaces' },
  { long: 'istio-inbound-tproxy-mark', short: 't', kind: 'string', key: 'inboundTProxyMark' },
  { long: 'istio-inbound-tproxy-route-table', short: 'r', kind: 'string', key: 'inboundTProxyRouteTable' },
  { long: 'dry-run', short: 'n', kind: 'bool', key: 'dryRun' },
  { long: 'iptables-probe-port', kind: 'port', key: 'iptablesProbePort' },
  { long: 'probe-timeout', kind: 'duration', key: 'probeTimeoutMs' },
  { long: 'skip-rule-apply', kind: 'bool', key: 'skipRuleApply' },
  { long: 'run-validation', kind: 'bool', key: 'runValidation' },
  { long: 'redirect-dns', kind: 'bool', key: 'redirectDns', extraEnv: ['ISTIO_META_DNS_CAPTURE'] },
  { long: 'drop-invalid', kind: 'bool', key: 'dropInvalid', extraEnv: ['INVALID_DROP'] },
  { long: 'dual-stack', kind: 'bool', key: 'dualStack', extraEnv: ['ISTIO_DUAL_STACK'] },
  { long: 'capture-all-dns', kind: 'bool', key: 'captureAllDns' },
  { long: 'network-namespace', kind: 'string', key: 'networkNamespace' },
  { long: 'cni-mode', kind: 'bool', key: 'cniMode' },
  { long: 'reconcile', kind: 'bool', key: 'reconcile' },
  { long: 'cleanup-only', kind: 'bool', key: 'cleanupOnly' },
  { long: 'force-apply', kind: 'bool', key: 'forceApply' },
  { long: 'native-nftables', kind: 'bool', key: 'nativeNftables' },
  { long: 'force-iptables-binary', kind: 'string', key: 'forceIptablesBinary' },
  // istio.io/istio/pkg/log options, registered on every Istio command.
  { long: 'log_output_level', kind: 'string', noEnv: true },
  { long: 'log_stacktrace_level', kind: 'string', noEnv: true },
  { long: 'log_target', kind: 'string', noEnv: true },
  { long: 'log_caller', kind: 'string', noEnv: true },
  { long: 'log_rotate', kind: 'string', noEnv: true },
  { long: 'log_rotate_max_age', kind: 'string', noEnv: true },
  { long: 'log_rotate_max_size', kind: 'string', noEnv: true },
  { long: 'log_rotate_max_backups', kind: 'string', noEnv: true },
  { long: 'log_as_json', kind: 'bool', noEnv: true },
  { long: 'help', short: 'h', kind: 'bool', noEnv: true },
];

const BY_LONG = new Map(FLAGS.map((f) => [f.long, f]));
const BY_SHORT = new Map(FLAGS.filter((f) => f.short).map((f) => [f.short!, f]));

/** What the command line and environment asked for. */
export interface ParsedArgs {
  /** Defaults overlaid with env and flags; host-derived fields are filled by resolve.ts. */
  readonly config: CaptureConfig;
  /** Value of --log_output_level (e.g. `default:info`), empty when not given. */
  readonly logLevel: string;
  readonly logAsJson: boolean;
  readonly help: boolean;
}

/** Parse outcome: the arguments, or one line saying what is wrong. */
export type ParseResult = { readonly ok: true; readonly args: ParsedArgs } | { readonly ok: false; readonly error: string };

/** Go's strconv.ParseBool. */
export function parseBool(v: string): boolean | null {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return null;
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration (`5s`, `1m30s`, `250ms`, `0`), in milliseconds. */
export function parseDuration(v: string): number | null {
  if (v === '0') return 0;
  const re = /([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(v)) !== null) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    pos = re.lastIndex;
  }
  return pos === v.length && pos > 0 ? total : null;
}

function flagName(f: FlagSpec): string {
  return f.short ? `-${f.short}, --${f.long}` : `--${f.long}`;
}

function envNames(f: FlagSpec): string[] {
  if (f.noEnv) return [];
  return [f.long.toUpperCase().replace(/-/g, '_'), ...(f.extraEnv ?? [])];
}

/** Parses argv (without node and script) and env. Never throws; never reads the host. */
export function parseArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ParseResult {
  const cfg: Mutable<CaptureConfig> = { ...DEFAULT_CONFIG };
  let logLevel = '';
  let logAsJson = false;
  let help = false;

  const set = (f: FlagSpec, raw: string, source: string): string | null => {
    let value: string | number | boolean = raw;
    if (f.kind === 'bool') {
      const b = parseBool(raw);
      if (b === null) return `invalid value "${raw}" for ${source}: must be true or false`;
      value = b;
    } else if (f.kind === 'port') {
      if (!/^[0-9]+$/.test(raw) || Number(raw) > 65535) return `invalid value "${raw}" for ${source}: must be a number from 0 to 65535`;
      value = Number(raw);
    } else if (f.kind === 'duration') {
      const ms = parseDuration(raw);
      if (ms === null) return `invalid value "${raw}" for ${source}: must be a duration such as 5s or 500ms`;
      value = ms;
    }
    if (f.key) (cfg as Record<string, unknown>)[f.key] = value;
    else if (f.long === 'log_output_level') logLevel = raw;
    else if (f.long === 'log_as_json') logAsJson = value as boolean;
    else if (f.long === 'help') help = value as boolean;
    return null;
  };

  // Environment first (BindEnv happens before flags are parsed; later names override earlier).
  for (const f of FLAGS) {
    for (const name of envNames(f)) {
      const v = env[name];
      // An empty boolean variable is "unset"; Istio ignores values that do not parse, we refuse them.
      if (v === undefined || (v === '' && f.kind !== 'string')) continue;
      const err = set(f, v, `environment variable ${name}`);
      if (err) return { ok: false, error: err };
    }
  }

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      if (i + 1 < argv.length) return { ok: false, error: 'unexpected arguments after --: istio-iptables takes flags only' };
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      const f = BY_LONG.get(name);
      if (!f) return { ok: false, error: `unknown flag: --${name}` };
      let value: string;
      if (eq >= 0) value = a.slice(eq + 1);
      else if (f.kind === 'bool') value = 'true';
      else if (i + 1 < argv.length) value = argv[++i]!;
      else return { ok: false, error: `flag needs an argument: ${flagName(f)}` };
      const err = set(f, value, flagName(f));
      if (err) return { ok: false, error: err };
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      // A run of shorthands: bools may be combined (-nh), a value flag takes the rest or the next word.
      for (let j = 1; j < a.length; j++) {
        const f = BY_SHORT.get(a[j]!);
        if (!f) return { ok: false, error: `unknown shorthand flag: '${a[j]}' in ${a}` };
        let value: string;
        const rest = a.slice(j + 1);
        if (rest.startsWith('=')) value = rest.slice(1);
        else if (f.kind === 'bool') value = 'true';
        else if (rest !== '') value = rest;
        else if (i + 1 < argv.length) value = argv[++i]!;
        else return { ok: false, error: `flag needs an argument: ${flagName(f)}` };
        const err = set(f, value, flagName(f));
        if (err) return { ok: false, error: err };
        if (f.kind !== 'bool' || rest.startsWith('=')) break;
      }
      continue;
    }
    // `pilot-agent istio-iptables ...` spelling: the subcommand name may lead.
    if (a === 'istio-iptables' && i === 0) continue;
    return { ok: false, error: `unexpected argument "${a}": istio-iptables takes flags only` };
  }
  return { ok: true, args: { config: Object.freeze(cfg), logLevel, logAsJson, help } };
}

/** One line per flag, for --help. */
export function usage(): string {
  const lines = FLAGS.filter((f) => f.key || f.long === 'help').map((f) => {
    const envs = envNames(f);
    return `  ${flagName(f).padEnd(46)}${envs.length ? ` (env ${envs.join(', ')})` : ''}`;
  });
  return [
    'Usage: meshproxy-iptables [flags]',
    'Sets up iptables rules that send pod traffic through the sidecar (istio-iptables compatible).',
    '',
    'Flags:',
    ...lines,
    '',
    'Environment only: ISTIO_OUTBOUND_OWNER_GROUPS, ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE,',
    '  ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR, ENVOY_USER, DRY_RUN_FILE_PATH',
    '',
  ].join('\n');
}
