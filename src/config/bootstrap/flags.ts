// Envoy's command line, as pilot-agent passes it (contract §1.2) plus the rest of Envoy's flags.
// Parsing is strict like Envoy's (TCLAP): unknown flags and bad values are one-line errors and
// exit code 1. Flags we accept for compatibility but that have no effect in this proxy
// (hot restart, core dumps, base ids) are parsed, validated and reported by /server_info.
import { availableParallelism } from 'node:os';
import { isEnvoyLevel, type EnvoyLevel } from '../../log/logger';

export interface Flags {
  readonly configPath?: string;
  readonly configYaml?: string;
  readonly mode: 'serve' | 'validate' | 'init_only';
  readonly drainTimeS: number;
  readonly drainStrategy: 'gradual' | 'immediate';
  readonly parentShutdownTimeS: number;
  readonly localAddressIpVersion: 'v4' | 'v6';
  readonly fileFlushIntervalMsec: number;
  readonly fileFlushMinSizeKb: number;
  readonly disableHotRestart: boolean;
  readonly allowUnknownStaticFields: boolean;
  readonly rejectUnknownDynamicFields: boolean;
  readonly ignoreUnknownDynamicFields: boolean;
  readonly logLevel: EnvoyLevel;
  readonly componentLogLevels: ReadonlyMap<string, EnvoyLevel>;
  readonly logFormat?: string;
  readonly logPath?: string;
  readonly concurrency: number;
  readonly skipDeprecatedLogs: boolean;
  readonly serviceNode?: string;
  readonly serviceCluster?: string;
  readonly serviceZone?: string;
  readonly baseId: number;
  readonly restartEpoch: number;
  readonly enableCoreDump: boolean;
  readonly adminAddressPath?: string;
  /** Beyond Envoy: how many updates per xDS type /config_history keeps. */
  readonly configHistorySize: number;
  readonly version: boolean;
  readonly help: boolean;
}

export class FlagError extends Error {}

type Kind = 'string' | 'int' | 'bool';
interface Spec {
  readonly long: string;
  readonly short?: string;
  readonly kind: Kind;
  readonly help: string;
}

const SPECS: readonly Spec[] = [
  { long: 'config-path', short: 'c', kind: 'string', help: 'Path to the bootstrap file (.json, .yaml, .yml, .pb_text not supported)' },
  { long: 'config-yaml', kind: 'string', help: 'Bootstrap YAML/JSON merged over the file' },
  { long: 'mode', kind: 'string', help: 'serve (default), validate, or init_only' },
  { long: 'drain-time-s', kind: 'int', help: 'Seconds listeners drain for (default 600)' },
  { long: 'drain-strategy', kind: 'string', help: 'gradual (default) or immediate' },
  { long: 'parent-shutdown-time-s', kind: 'int', help: 'Hot restart parent shutdown time (accepted, no effect)' },
  { long: 'local-address-ip-version', kind: 'string', help: 'v4 (default) or v6' },
  { long: 'file-flush-interval-msec', kind: 'int', help: 'Access log flush interval in ms (default 10000)' },
  { long: 'file-flush-min-size-kb', kind: 'int', help: 'Access log flush size threshold in KiB (default 64)' },
  { long: 'disable-hot-restart', kind: 'bool', help: 'Disable hot restart (always off here)' },
  { long: 'allow-unknown-static-fields', kind: 'bool', help: 'Ignore unknown fields in the bootstrap' },
  { long: 'reject-unknown-dynamic-fields', kind: 'bool', help: 'Reject xDS resources with unknown fields' },
  { long: 'ignore-unknown-dynamic-fields', kind: 'bool', help: 'Ignore unknown fields in xDS resources silently' },
  { long: 'log-level', short: 'l', kind: 'string', help: 'trace|debug|info|warning|error|critical|off (default info)' },
  { long: 'component-log-level', kind: 'string', help: 'Comma-separated component:level list' },
  { long: 'log-format', kind: 'string', help: 'Envoy-style text log format; JSON lines when absent' },
  { long: 'log-format-escaped', kind: 'bool', help: 'Escape control characters in log lines (accepted)' },
  { long: 'log-path', kind: 'string', help: 'Write diagnostic logs to this file instead of stderr' },
  { long: 'concurrency', kind: 'int', help: 'Worker event loops (default: hardware threads)' },
  { long: 'skip-deprecated-logs', kind: 'bool', help: 'Do not log deprecated-feature warnings' },
  { long: 'service-node', kind: 'string', help: 'Overrides node.id' },
  { long: 'service-cluster', kind: 'string', help: 'Overrides node.cluster' },
  { long: 'service-zone', kind: 'string', help: 'Overrides node.locality.zone' },
  { long: 'base-id', kind: 'int', help: 'Shared memory base id (accepted, no effect)' },
  { long: 'use-dynamic-base-id', kind: 'bool', help: 'Accepted, no effect' },
  { long: 'base-id-path', kind: 'string', help: 'Accepted, no effect' },
  { long: 'restart-epoch', kind: 'int', help: 'Hot restart epoch (only 0 is supported)' },
  { long: 'enable-core-dump', kind: 'bool', help: 'Accepted, no effect' },
  { long: 'admin-address-path', kind: 'string', help: 'Write the bound admin address to this file' },
  { long: 'config-history-size', kind: 'int', help: 'Updates kept per xDS type for /config_history (default 32)' },
  { long: 'disable-extensions', kind: 'string', help: 'Accepted, no effect' },
  { long: 'enable-fine-grain-logging', kind: 'bool', help: 'Accepted, no effect' },
  { long: 'cpuset-threads', kind: 'bool', help: 'Accepted, no effect' },
  { long: 'stats-tag', kind: 'string', help: 'Accepted, no effect' },
  { long: 'version', kind: 'bool', help: 'Print the version and exit' },
  { long: 'help', short: 'h', kind: 'bool', help: 'Print this help and exit' },
];

const BY_LONG = new Map(SPECS.map((s) => [s.long, s]));
const BY_SHORT = new Map(SPECS.filter((s) => s.short).map((s) => [s.short!, s]));

export function usage(): string {
  const lines = ['Usage: meshproxy [options]', '', 'Options (Envoy-compatible):'];
  for (const s of SPECS) {
    const name = `${s.short ? `-${s.short}, ` : '    '}--${s.long}${s.kind === 'bool' ? '' : ' <value>'}`;
    lines.push(`  ${name.padEnd(44)}${s.help}`);
  }
  return lines.join('\n');
}

function parseIntStrict(flag: string, v: string, min = 0): number {
  if (!/^-?\d+$/.test(v)) throw new FlagError(`invalid value for --${flag}: '${v}' is not an integer`);
  const n = Number(v);
  if (n < min) throw new FlagError(`invalid value for --${flag}: ${v} (must be >= ${min})`);
  return n;
}

export function parseComponentLevels(v: string): Map<string, EnvoyLevel> {
  const out = new Map<string, EnvoyLevel>();
  if (v.trim() === '') return out;
  for (const item of v.split(',')) {
    const parts = item.split(':');
    if (parts.length !== 2 || !parts[0] || !parts[1]) throw new FlagError(`invalid value for --component-log-level: '${item}' is not component:level`);
    const level = parts[1].trim();
    if (!isEnvoyLevel(level)) throw new FlagError(`invalid value for --component-log-level: unknown level '${level}' in '${item}'`);
    out.set(parts[0].trim(), level);
  }
  return out;
}

/** Parses argv (without node and script). Throws FlagError with a one-line message. */
export function parseFlags(argv: readonly string[]): Flags {
  const raw = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    let spec: Spec | undefined;
    let value: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      spec = BY_LONG.get(name);
      if (!spec) throw new FlagError(`unknown flag: --${name} (see --help)`);
      if (eq >= 0) value = arg.slice(eq + 1);
    } else if (arg.startsWith('-') && arg.length > 1) {
      spec = BY_SHORT.get(arg[1]!);
      if (!spec) throw new FlagError(`unknown flag: ${arg} (see --help)`);
      if (arg.length > 2) value = arg.slice(2);
    } else {
      throw new FlagError(`unexpected argument: '${arg}' (see --help)`);
    }
    if (spec.kind === 'bool') {
      if (value !== undefined && value !== 'true' && value !== 'false') throw new FlagError(`invalid value for --${spec.long}: '${value}' (true or false)`);
      if (value !== 'false') raw.set(spec.long, true);
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new FlagError(`missing value for --${spec.long}`);
      value = argv[++i]!;
    }
    raw.set(spec.long, value);
  }
  const str = (k: string) => (typeof raw.get(k) === 'string' ? (raw.get(k) as string) : undefined);
  const bool = (k: string) => raw.get(k) === true;
  const int = (k: string, def: number, min = 0) => (str(k) === undefined ? def : parseIntStrict(k, str(k)!, min));

  const mode = str('mode') ?? 'serve';
  if (mode !== 'serve' && mode !== 'validate' && mode !== 'init_only') throw new FlagError(`invalid value for --mode: '${mode}' (serve, validate or init_only)`);
  const drainStrategy = str('drain-strategy') ?? 'gradual';
  if (drainStrategy !== 'gradual' && drainStrategy !== 'immediate') throw new FlagError(`invalid value for --drain-strategy: '${drainStrategy}' (gradual or immediate)`);
  const ipv = str('local-address-ip-version') ?? 'v4';
  if (ipv !== 'v4' && ipv !== 'v6') throw new FlagError(`invalid value for --local-address-ip-version: '${ipv}' (v4 or v6)`);
  const level = str('log-level') ?? 'info';
  if (!isEnvoyLevel(level)) throw new FlagError(`invalid value for --log-level: '${level}' (trace, debug, info, warning, error, critical, off)`);
  const restartEpoch = int('restart-epoch', 0);
  if (restartEpoch !== 0 && !bool('version') && !bool('help')) throw new FlagError(`invalid value for --restart-epoch: ${restartEpoch} (hot restart is not supported; use 0)`);
  const concurrency = int('concurrency', Math.max(1, availableParallelism()));
  if (concurrency < 1) throw new FlagError('invalid value for --concurrency: must be >= 1');
  const mustHaveConfig = !bool('version') && !bool('help');
  if (mustHaveConfig && str('config-path') === undefined && str('config-yaml') === undefined) {
    throw new FlagError('no configuration: pass -c <bootstrap file> and/or --config-yaml <yaml>');
  }
  return {
    configPath: str('config-path'),
    configYaml: str('config-yaml'),
    mode,
    drainTimeS: int('drain-time-s', 600),
    drainStrategy,
    parentShutdownTimeS: int('parent-shutdown-time-s', 900),
    localAddressIpVersion: ipv,
    fileFlushIntervalMsec: int('file-flush-interval-msec', 10000, 1),
    fileFlushMinSizeKb: int('file-flush-min-size-kb', 64),
    disableHotRestart: bool('disable-hot-restart'),
    allowUnknownStaticFields: bool('allow-unknown-static-fields'),
    rejectUnknownDynamicFields: bool('reject-unknown-dynamic-fields'),
    ignoreUnknownDynamicFields: bool('ignore-unknown-dynamic-fields'),
    logLevel: level,
    componentLogLevels: parseComponentLevels(str('component-log-level') ?? ''),
    logFormat: str('log-format'),
    logPath: str('log-path'),
    concurrency,
    skipDeprecatedLogs: bool('skip-deprecated-logs'),
    serviceNode: str('service-node'),
    serviceCluster: str('service-cluster'),
    serviceZone: str('service-zone'),
    baseId: int('base-id', 0),
    restartEpoch,
    enableCoreDump: bool('enable-core-dump'),
    adminAddressPath: str('admin-address-path'),
    configHistorySize: int('config-history-size', 32, 1),
    version: bool('version'),
    help: bool('help'),
  };
}
