// Entry point: flags -> bootstrap -> control side (which starts workers and admin). Exit codes
// follow Envoy: 1 for bad flags or config, 0 for --version/--help/--mode validate success.
import { FlagError, parseFlags, usage, type Flags } from './config/bootstrap/flags';
import { BootstrapError, loadBootstrap } from './config/bootstrap/load-bootstrap';
import { Server } from './control/server';
import { VERSION } from './control/version';
import { LogRoot } from './log/logger';

export async function main(argv: readonly string[]): Promise<void> {
  let flags: Flags;
  try {
    flags = parseFlags(argv);
  } catch (err) {
    if (err instanceof FlagError) {
      process.stderr.write(`meshproxy: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  if (flags.help) {
    process.stdout.write(`${usage()}\n`);
    return;
  }
  if (flags.version) {
    process.stdout.write(`meshproxy version: ${VERSION}/envoy-compatible/RELEASE/Node.js ${process.version}\n`);
    return;
  }
  const logs = new LogRoot({ level: flags.logLevel, componentLevels: flags.componentLogLevels, ...(flags.logFormat ? { textFormat: flags.logFormat } : {}) });
  let bootstrap;
  try {
    bootstrap = loadBootstrap(flags);
  } catch (err) {
    if (err instanceof BootstrapError) {
      if (flags.mode === 'validate') {
        process.stderr.write(`error initializing configuration '${flags.configPath ?? '--config-yaml'}':\n${err.errors.map((e) => `  ${e.path ? `${e.path}: ` : ''}${e.reason}`).join('\n')}\n`);
      } else {
        logs.component('main').fatal({ errors: err.errors }, 'error initializing configuration');
        process.stderr.write(`meshproxy: error initializing configuration: ${err.message}\n`);
      }
      process.exit(1);
    }
    throw err;
  }
  if (flags.mode === 'validate') {
    for (const w of bootstrap.warnings) process.stderr.write(`warning: ${w}\n`);
    process.stdout.write(`configuration '${flags.configPath ?? '--config-yaml'}' OK\n`);
    return;
  }
  const server = new Server(flags, logs, bootstrap);
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => void server.shutdown(0));
  try {
    await server.start();
  } catch (err) {
    logs.component('main').fatal({ err: (err as Error).message }, 'startup failed');
    process.stderr.write(`meshproxy: startup failed: ${(err as Error).message}\n`);
    process.exit(1);
  }
  if (flags.mode === 'init_only') await server.shutdown(0);
}
