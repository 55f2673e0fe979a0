// Diagnostic logging: one pino root logger, one child per component (Envoy's log components:
// main, config, upstream, connection, http, admin, ...), levels from -l and
// --component-log-level. Envoy level names map onto pino's; `critical` is pino's `fatal`,
// `off` silences. JSON lines by default; with --log-format (or the bootstrap's
// application_log_config text format) lines are rendered in Envoy's text layout instead.
import pino, { type Logger, type LevelWithSilent } from 'pino';

export type EnvoyLevel = 'trace' | 'debug' | 'info' | 'warning' | 'warn' | 'error' | 'critical' | 'off';

export const ENVOY_LEVELS: readonly EnvoyLevel[] = ['trace', 'debug', 'info', 'warning', 'warn', 'error', 'critical', 'off'];

export function isEnvoyLevel(s: string): s is EnvoyLevel {
  return (ENVOY_LEVELS as readonly string[]).includes(s);
}

export function toPinoLevel(level: EnvoyLevel): LevelWithSilent {
  switch (level) {
    case 'warning':
    case 'warn':
      return 'warn';
    case 'critical':
      return 'fatal';
    case 'off':
      return 'silent';
    default:
      return level;
  }
}

export function fromPinoLevel(level: string): EnvoyLevel {
  switch (level) {
    case 'warn':
      return 'warning';
    case 'fatal':
      return 'critical';
    case 'silent':
      return 'off';
    default:
      return level as EnvoyLevel;
  }
}

export interface LogOptions {
  readonly level: EnvoyLevel;
  readonly componentLevels: ReadonlyMap<string, EnvoyLevel>;
  /** Envoy-style text format string (from --log-format); undefined means JSON lines. */
  readonly textFormat?: string;
  /** Extra bindings on every line (e.g. worker id). */
  readonly bindings?: Record<string, unknown>;
}

const PINO_NUM_TO_ENVOY: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warning', 50: 'error', 60: 'critical' };

/**
 * Renders one pino JSON line in an Envoy-like text layout. Supported flags (Envoy/spdlog):
 * %Y-%m-%d %T %e/%f (ms/us), %l level, %n logger (component), %v message, %t thread (pid/worker),
 * %_ nothing, %% percent; fields other than msg are appended as key=value.
 */
export function renderText(format: string, obj: Record<string, unknown>): string {
  const time = new Date(typeof obj.time === 'number' ? obj.time : Date.now());
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const level = PINO_NUM_TO_ENVOY[obj.level as number] ?? String(obj.level);
  const extras: string[] = [];
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'level' || k === 'time' || k === 'msg' || k === 'pid' || k === 'hostname' || k === 'component' || k === 'worker') continue;
    extras.push(`${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  }
  const msg = String(obj.msg ?? '') + (extras.length ? ` ${extras.join(' ')}` : '');
  return format.replace(/%([A-Za-z_%#!@])/g, (_m, f: string) => {
    switch (f) {
      case 'Y':
        return String(time.getUTCFullYear());
      case 'm':
        return pad(time.getUTCMonth() + 1);
      case 'd':
        return pad(time.getUTCDate());
      case 'T':
        return `${pad(time.getUTCHours())}:${pad(time.getUTCMinutes())}:${pad(time.getUTCSeconds())}`;
      case 'H':
        return pad(time.getUTCHours());
      case 'M':
        return pad(time.getUTCMinutes());
      case 'S':
        return pad(time.getUTCSeconds());
      case 'e':
        return pad(time.getUTCMilliseconds(), 3);
      case 'f':
        return pad(time.getUTCMilliseconds() * 1000, 6);
      case 'l':
        return level;
      case 'L':
        return level[0]!.toUpperCase();
      case 'n':
        return String(obj.component ?? 'main');
      case 'v':
        return msg;
      case 't':
        return String(obj.worker ?? obj.pid ?? process.pid);
      case 'P':
        return String(process.pid);
      case '%':
        return '%';
      default:
        return '';
    }
  });
}

/** The process's logging root: component children with their own levels, changeable at run time. */
export class LogRoot {
  readonly root: Logger;
  private readonly children = new Map<string, Logger>();
  private readonly componentLevels = new Map<string, EnvoyLevel>();
  private baseLevel: EnvoyLevel;

  constructor(opts: LogOptions, destination?: pino.DestinationStream) {
    this.baseLevel = opts.level;
    for (const [k, v] of opts.componentLevels) this.componentLevels.set(k, v);
    const dest =
      destination ??
      (opts.textFormat
        ? textDestination(opts.textFormat)
        : pino.destination({ dest: 2, sync: true }));
    this.root = pino({ level: 'trace', base: { pid: process.pid, ...(opts.bindings ?? {}) }, timestamp: pino.stdTimeFunctions.epochTime }, dest);
  }

  /** Child logger for an Envoy log component (created once, level tracked). */
  component(name: string): Logger {
    let child = this.children.get(name);
    if (!child) {
      child = this.root.child({ component: name });
      child.level = toPinoLevel(this.componentLevels.get(name) ?? this.baseLevel);
      this.children.set(name, child);
    }
    return child;
  }

  setLevel(level: EnvoyLevel): void {
    this.baseLevel = level;
    this.componentLevels.clear();
    for (const [, child] of this.children) child.level = toPinoLevel(level);
  }

  setComponentLevel(name: string, level: EnvoyLevel): void {
    this.componentLevels.set(name, level);
    this.component(name).level = toPinoLevel(level);
  }

  /** Current level per known component (admin /logging). */
  levels(): Map<string, EnvoyLevel> {
    const out = new Map<string, EnvoyLevel>();
    for (const [name, child] of this.children) out.set(name, fromPinoLevel(child.level));
    return out;
  }

  get level(): EnvoyLevel {
    return this.baseLevel;
  }
}

function textDestination(format: string): pino.DestinationStream {
  return {
    write(line: string) {
      let obj: Record<string, unknown>;
      try {
        obj = JSON.parse(line) as Record<string, unknown>;
      } catch {
        process.stderr.write(line);
        return;
      }
      process.stderr.write(renderText(format, obj) + '\n');
    },
  };
}
