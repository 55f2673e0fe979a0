// Minimal logger of the iptables init tool (src/init). The init tool is a separate short-lived
// binary that may only import src/common, so it does not use the proxy's pino logger; it writes
// Istio-style lines (`<time>\t<level>\t<message>`, or JSON with --log_as_json) to stderr, leaving
// stdout to the dry-run transcript. Levels follow --log_output_level (`default:info` form).

export type Level = 'debug' | 'info' | 'warn' | 'error' | 'none';

export interface InitLogger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

const ORDER: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3, none: 4 };

/** Level named by a `--log_output_level` value such as `default:info,all:debug` (the `default` or `all` scope). */
export function levelFromFlag(flag: string): Level {
  let level: Level = 'info';
  for (const part of flag.split(',')) {
    const [scope, lvl] = part.includes(':') ? part.split(':', 2) : ['default', part];
    if ((scope === 'default' || scope === 'all') && lvl && lvl in ORDER) level = lvl as Level;
  }
  return level;
}

/** A logger writing to `write` (normally process.stderr) at `level` and above. */
export function createLogger(level: Level, json: boolean, write: (line: string) => void): InitLogger {
  const emit = (lvl: Exclude<Level, 'none'>, msg: string) => {
    if (ORDER[lvl] < ORDER[level]) return;
    const time = new Date().toISOString();
    write(json ? `${JSON.stringify({ level: lvl, time, scope: 'default', msg })}\n` : `${time}\t${lvl}\t${msg}\n`);
  };
  return {
    debug: (m) => emit('debug', m),
    info: (m) => emit('info', m),
    warn: (m) => emit('warn', m),
    error: (m) => emit('error', m),
  };
}
