// Entry point of `meshproxy-iptables` (bin/meshproxy-iptables -> dist/init/main.js), the init
// container step that runs before the proxy starts: flags and env (args.ts) -> host facts and
// validation (resolve.ts) -> rule set (capture.ts) -> apply with iptables-restore, or in dry run
// print the istio-iptables transcript (apply.ts, runner.ts) -> optional validation probe.
// Exit codes as istio-iptables: 0 ok, 1 bad input or failed apply, 126 failed validation.
import { writeFileSync } from 'node:fs';
import { applyRules, ApplyError, configureRoutes } from './apply';
import { parseArgs, usage } from './args';
import { buildCaptureRules } from './capture';
import { systemHostFacts } from './host';
import { createLogger, levelFromFlag } from './logger';
import { resolveConfig, type HostFacts } from './resolve';
import { detectBinaries, RecordingRunner, stubBinaries, SystemRunner, type CommandRunner } from './runner';
import { runValidation } from './validate';

/** Where main reads and writes; tests pass their own. */
export interface MainIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly host?: HostFacts;
  /** Runner for real (non dry-run) mode; defaults to SystemRunner in --network-namespace. */
  readonly runner?: CommandRunner;
}

const PROG = 'meshproxy-iptables';
export const VALIDATION_ERROR_CODE = 126;

/** Runs the tool; resolves to the process exit code. Never throws. */
export async function main(argv: readonly string[], io: MainIo): Promise<number> {
  const parsed = parseArgs(argv, io.env);
  if (!parsed.ok) {
    io.stderr(`${PROG}: ${parsed.error}\n`);
    return 1;
  }
  if (parsed.args.help) {
    io.stdout(usage());
    return 0;
  }
  const log = createLogger(levelFromFlag(parsed.args.logLevel), parsed.args.logAsJson, io.stderr);
  const resolved = resolveConfig(parsed.args.config, io.env, io.host ?? systemHostFacts);
  if (!resolved.ok) {
    io.stderr(`${PROG}: ${resolved.error}\n`);
    return 1;
  }
  const cfg = resolved.config;
  log.info(`Istio config: ${JSON.stringify(cfg)}`);

  if (!cfg.skipRuleApply) {
    const rules = buildCaptureRules(cfg);
    try {
      if (cfg.dryRun) {
        log.info('running iptables in dry-run mode, no rule changes will be made');
        const rec = new RecordingRunner();
        applyRules(cfg, rules, { runner: rec, log, v4: stubBinaries(false), v6: stubBinaries(true) });
        const text = rec.transcript.map((l) => `${l}\n`).join('');
        io.stdout(text);
        const file = io.env.DRY_RUN_FILE_PATH;
        if (file) writeFileSync(file, text);
      } else {
        const runner = io.runner ?? new SystemRunner(cfg.networkNamespace);
        const path = io.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
        const v4 = detectBinaries(runner, false, cfg.forceIptablesBinary, path, (m) => log.error(m));
        if (!v4) throw new ApplyError('no usable iptables binary found');
        const v6 = detectBinaries(runner, true, cfg.forceIptablesBinary, path, (m) =>
          cfg.enableIpv6 ? log.error(m) : log.warn(`${m}; continuing because IPv6 is disabled`),
        );
        if (!v6 && cfg.enableIpv6) throw new ApplyError('no usable ip6tables binary found');
        applyRules(cfg, rules, { runner, log, v4, v6 });
        if (!cfg.cleanupOnly) configureRoutes(cfg, runner, log);
      }
    } catch (e) {
      io.stderr(`${PROG}: ${e instanceof ApplyError ? e.message : String(e)}\n`);
      return 1;
    }
  }

  if (cfg.runValidation) {
    const err = await runValidation(cfg, log);
    if (err) {
      io.stderr(`${PROG}: iptables validation failed; workload is not ready for Istio: ${err}\n`);
      return VALIDATION_ERROR_CODE;
    }
  }
  return 0;
}

/** Process entry: real argv, env, stdio; sets the exit code. */
export function run(): void {
  main(process.argv.slice(2), {
    env: process.env,
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`${PROG}: ${String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
